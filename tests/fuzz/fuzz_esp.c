/*
 * fuzz_esp.c - libFuzzer target for everything that parses packets from
 * the network on the datapath: the NAT-T UDP demultiplexer, the raw IPv4
 * ESP socket path, ESP decapsulation and the inner-packet checks.
 *
 * The first byte picks the entry point.  Modes 0-2 feed the bytes as they
 * would arrive (2 with bit 6 set: as an AF_XDP frame).  Mode 3 seals the bytes as an ESP payload with a valid
 * ICV, so the fuzzer reaches the trailer, padding, inner-header and
 * selector checks behind the ICV.  Mode 4 checks a property: whatever is
 * encapsulated decapsulates back to the same inner packet.  Modes 5 and 6
 * drive the offload code: 5 cuts a "TSO or USO super-packet" (10 bytes of
 * metadata, then the packet) and coalesces the segments again, 6 feeds a
 * length-prefixed list of inner packets to receive coalescing (TCP, and
 * UDP when bit 1 of the length is set); both check that every packet put
 * in comes out exactly once.
 *
 * Modes 7-9 use "lanes": inbound SAs of several suites (GCM, ChaCha20,
 * CBC+HMAC, with and without ESN, raw and in UDP), each on its own
 * interface whose TUN is a socketpair, plus a lane whose SAs were
 * negotiated by two in-memory IKE engines (tests/inmem.h).  Byte 1 picks
 * the lane, byte 2 the delivery (bits 0-1: raw ESP, UDP, raw IPv4 with
 * its header, an Ethernet frame from AF_XDP, IPv6 outer with bit 5; bit 2: fix the inner IP length fields; bit 3: inner IPv6;
 * bit 4: deliver 33 times).  7: the rest is an ESP packet whose SPI is set
 * to the lane's.  8: the rest is an inner packet, encapsulated with the
 * lane's keys, so the inner checks, coalescing and the TUN write run.
 * 9: the rest is what the lane's TUN device gives (a virtio-net header
 * first where it offloads): TSO or USO cut, selectors, ESP encapsulation.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crypto/cipher.h"
#include "esp/datapath.h"
#include "esp/esp.h"
#include "esp/offload.h"
#include "esp/sadb.h"
#define INMEM_TUNNEL
#include "inmem.h"
#include "lib/csum.h"
#include "lib/cursor.h"

#define SPI_GCM 0x100
#define SPI_CBC 0x101
#define SPI_ESN 0x102

static struct datapath *dp;
static struct vif vif;
static struct sa *out_gcm, *in_gcm;
static struct sa *rt_out, *rt_in;	/* a private pair for mode 4 */
static struct aead *sealer;
static const uint8_t key[128] = { 0x42, 0x13, 0x37 };

static struct sa *mk(const char *name, uint32_t spi, bool in)
{
	struct esp_suite s;
	char why[64];

	if (esp_suite_parse(name, &s, why, sizeof(why)) < 0)
		abort();
	return sa_new(spi, in, &s, key, esp_suite_keymat_len(&s), 128);
}

/* An inbound SA to aim at, the outbound twin that seals for it, and the
 * interface (TUN: a socketpair, tun[1] the "kernel" end) it delivers to. */
/* Everything from here, to remote4 and remote6 (vif_set_ts). */
static void selectors(struct vif *v, const char *remote4, const char *remote6)
{
	struct prefix l[2], r[2];

	if (prefix_parse("0.0.0.0/0", &l[0]) || prefix_parse("::/0", &l[1]) ||
	    prefix_parse(remote4, &r[0]) || prefix_parse(remote6, &r[1]) ||
	    vif_set_ts(v, l, 2, r, 2))
		abort();
}

struct lane {
	struct datapath *dp;
	struct vif *vif;
	struct sa *in, *twin;
	int tun[2];
};

#define LANES 8
static struct lane lanes[LANES];
static unsigned nlanes;
static struct vif mvif[LANES];

static const struct {
	const char *suite;
	bool udp;
	uint8_t offload;
	unsigned mss;
} manual[] = {
	{ "aes128gcm16", false, TUN_OFFLOAD_ALL, 0 },
	{ "aes256gcm16-esn", true, 0, 1360 },
	{ "chacha20poly1305", true, TUN_OFFLOAD_HDR | TUN_OFFLOAD_TSO, 0 },
	{ "chacha20poly1305-esn", false, 0, 0 },
	{ "aes256-sha256", false, TUN_OFFLOAD_ALL, 1400 },
	{ "aes128-sha512-esn", true, 0, 0 },
	{ "aes256-sha384", true, TUN_OFFLOAD_ALL, 0 },
};

static void lane_tun(struct lane *l)
{
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, l->tun) < 0 ||
	    fcntl(l->tun[0], F_SETFL, O_NONBLOCK) < 0 || fcntl(l->tun[1], F_SETFL, O_NONBLOCK) < 0)
		abort();
	l->vif->tun_fd = l->tun[0];
}

static void manual_lanes(void)
{
	unsigned i;

	for (i = 0; i < sizeof(manual) / sizeof(manual[0]); i++) {
		struct lane *l = &lanes[nlanes++];
		struct vif *v = &mvif[i];
		struct sa *out;

		snprintf(v->name, sizeof(v->name), "m%u", i);
		v->offload = manual[i].offload;
		v->mss_mtu = manual[i].mss;
		selectors(v, i & 1 ? "10.0.0.0/8" : "0.0.0.0/0", i & 1 ? "fd00::/8" : "::/0");
		l->dp = dp;
		l->vif = v;
		lane_tun(l);
		if (dp_add_vif(dp, v))
			abort();
		l->in = mk(manual[i].suite, 0x1000 + i, true);
		l->twin = mk(manual[i].suite, 0x1000 + i, false);
		out = mk(manual[i].suite, 0x2000 + i, false);
		out->encap = manual[i].udp ? ENCAP_UDP : ENCAP_RAW;
		sockaddr_set(&out->peer, "192.0.2.2", manual[i].udp ? 4500 : 0);
		if (sadb_add_in(dp_sadb(dp), v, l->in))
			abort();
		sadb_set_out(v, out);
	}
}

/* Node 1's Child SA, negotiated by IKE_AUTH with node 0 (whose outbound
 * SA seals for it). */
static void negotiated_lane(void)
{
	struct lane *l = &lanes[nlanes++];

	log_set_level(LOG_ERR);
	setup("psk = fuzz-secret\nesp = aes256gcm16-esn\n",
	      "psk = fuzz-secret\nesp = aes256gcm16-esn\n");
	settle();
	if (!nodes[0].t->vif.out)
		abort();
	l->dp = nodes[1].dp;
	l->vif = &nodes[1].t->vif;
	l->twin = nodes[0].t->vif.out;
	l->in = sadb_lookup(dp_sadb(l->dp), l->twin->spi);
	if (!l->in || dp_set_crypto_threads(l->dp, 2) < 0)
		abort();
	lane_tun(l);
}

static void drain(const struct lane *l)
{
	uint8_t junk[256];

	while (recv(l->tun[1], junk, sizeof(junk), MSG_TRUNC) >= 0)
		;
}

/* As an AF_XDP socket gives it: Ethernet, IPv4 (checksummed) or IPv6, ESP. */
/* An Ethernet frame around ESP packet pkt into f (room for 14 + 40 +
 * len bytes), as AF_XDP hands it over: its length. */
static size_t frame(uint8_t *f, bool v6, const uint8_t *pkt, size_t len)
{
	size_t hl = 14 + (v6 ? 40 : 20);

	memset(f, 0, hl);
	be16_put(f + 12, v6 ? 0x86dd : 0x0800);
	if (v6) {
		f[14] = 0x60;
		be16_put(f + 14 + 4, (uint16_t)len);
		f[14 + 6] = 50;
	} else {
		f[14] = 0x45;
		be16_put(f + 14 + 2, (uint16_t)(20 + len));
		f[14 + 9] = 50;
		csum_ip4_header(f + 14);
	}
	memcpy(f + hl, pkt, len);
	return hl + len;
}

/* Bytes 1 and 2, then the packet, for modes 7 and 8.  Thirty-three copies
 * (each in its own memory: it is decrypted in place) make a burst that
 * the crypto threads open together at dp_rx_flush. */
static void deliver_to(struct lane *l, uint8_t how, const uint8_t *pkt, size_t len)
{
	struct sockaddr_storage from;
	size_t stride = 14 + 40 + len;
	int n, copies = how & 16 ? 33 : 1;
	uint8_t *mem, *ip, *p;

	if (len > 65000 || !(mem = malloc(stride * (size_t)copies)))
		return;
	sockaddr_set(&from, "192.0.2.2", 4500);
	dp_rx_start(l->dp);
	for (n = 0; n < copies; n++) {
		ip = mem + (size_t)n * stride;
		p = ip + 20;
		memset(ip, 0, 20);
		ip[0] = 0x45;
		be16_put(ip + 2, (uint16_t)(20 + len));
		ip[9] = 50;
		memcpy(p, pkt, len);
		switch (how & 3) {
		case 1:
			dp_input_udp(l->dp, p, len, &from);
			break;
		case 2:
			dp_input_ip4(l->dp, ip, 20 + len);
			break;
		case 3:
			dp_input_frame(l->dp, ip, frame(ip, how & 32, pkt, len));
			break;
		default:
			dp_input_esp(l->dp, p, len);
			break;
		}
	}
	dp_rx_flush(l->dp);
	free(mem);
}

/* Mode 7: any ESP packet, with a live SPI. */
static void patched(const uint8_t *d, size_t len)
{
	struct lane *l;
	uint8_t *pkt;

	if (len < 6)
		return;
	l = &lanes[d[0] % nlanes];
	pkt = malloc(len - 2);
	if (!pkt)
		return;
	memcpy(pkt, d + 2, len - 2);
	be32_put(pkt, l->in->spi);
	deliver_to(l, d[1], pkt, len - 2);
	free(pkt);
	drain(l);
}

/* Mode 8: a fuzzed inner packet, sealed with the lane's keys. */
static void inner(const uint8_t *d, size_t len)
{
	struct lane *l;
	uint8_t *buf, *p, *pkt;
	size_t n, plen;

	if (len < 3 || len - 2 > 65000)
		return;
	l = &lanes[d[0] % nlanes];
	n = len - 2;
	buf = malloc(ESP_HEADROOM + n + ESP_TAILROOM);
	if (!buf)
		return;
	p = buf + ESP_HEADROOM;
	memcpy(p, d + 2, n);
	p[0] = (uint8_t)((d[1] & 8 ? 0x60 : 0x40) | (p[0] & 0x0f));
	if (d[1] & 4) {
		if (!(d[1] & 8) && n >= 20)
			be16_put(p + 2, (uint16_t)n);
		else if (d[1] & 8 && n >= 40)
			be16_put(p + 4, (uint16_t)(n - 40));
	}
	if (esp_encap(l->twin, p, n, &pkt, &plen) == ESP_OK)
		deliver_to(l, d[1], pkt, plen);
	free(buf);
	drain(l);
}

/* Mode 9: a packet from the lane's TUN device, out through ESP. */
static void outbound(const uint8_t *d, size_t len)
{
	struct lane *l;

	if (len < 1)
		return;
	l = &lanes[d[0] % nlanes];
	if (send(l->tun[1], d + 1, len - 1, 0) < 0)
		return;
	dp_output_tun(l->vif);
	drain(l);
}

static void setup_dp(void)
{
	struct sadb *db;

	dp = dp_new(NULL);
	/* Two crypto threads: bursts of TUN output (mode 9) and of
	 * delivered copies (bit 4) are sealed and opened on both. */
	if (!dp || dp_set_crypto_threads(dp, 2) < 0)
		abort();
	db = dp_sadb(dp);
	strcpy(vif.name, "fuzz0");
	vif.tun_fd = -1;	/* delivery is counted, not written */
	/* and goes through receive coalescing, UDP too */
	vif.offload = TUN_OFFLOAD_ALL;
	selectors(&vif, "10.0.0.0/8", "fd00::/8");
	in_gcm = mk("aes128gcm16", SPI_GCM, true);
	if (sadb_add_in(db, &vif, in_gcm) || sadb_add_in(db, &vif, mk("aes256-sha256", SPI_CBC, true)) ||
	    sadb_add_in(db, &vif, mk("chacha20poly1305-esn", SPI_ESN, true)))
		abort();
	out_gcm = mk("aes128gcm16", SPI_GCM, false);
	sadb_set_out(&vif, out_gcm);
	sealer = aead_new(AEAD_AES_GCM, key, 16, true);
	rt_out = mk("aes256-sha384-esn", 0x200, false);
	rt_in = mk("aes256-sha384-esn", 0x200, true);
	manual_lanes();
	negotiated_lane();
}

/* Mode 3: data = seq(4) || payload; sealed with a valid ICV. */
static void sealed(const uint8_t *data, size_t len)
{
	uint8_t *pkt, nonce[12];
	size_t plen;

	if (len < 4)
		return;
	plen = (len - 4) & ~(size_t)3;	/* GCM payload: 4-byte aligned */
	pkt = malloc(16 + plen + 16);
	if (!pkt)
		return;
	be32_put(pkt, SPI_GCM);
	memcpy(pkt + 4, data, 4);
	memset(pkt + 8, 0xa5, 8);
	memcpy(pkt + 16, data + 4, plen);
	memcpy(nonce, key + 16, 4);
	memcpy(nonce + 4, pkt + 8, 8);
	if (aead_seal(sealer, nonce, pkt, 8, NULL, 0, pkt + 16, plen, pkt + 16 + plen) == 0)
		dp_input_esp(dp, pkt, 16 + plen + 16);
	dp_rx_flush(dp);
	free(pkt);
}

/* Mode 4: encap then decap must give back the same inner packet. */
static void round_trip(const uint8_t *data, size_t len)
{
	uint8_t *buf, *pkt, *inner, nh;
	size_t plen, ilen;

	if (len == 0 || len > 4096)
		return;
	buf = malloc(ESP_HEADROOM + len + ESP_TAILROOM);
	if (!buf)
		return;
	memcpy(buf + ESP_HEADROOM, data, len);
	if (esp_encap(rt_out, buf + ESP_HEADROOM, len, &pkt, &plen) == ESP_OK) {
		if (esp_decap(rt_in, pkt, plen, &inner, &ilen, &nh) != ESP_OK ||
		    ilen != len || memcmp(inner, data, len) != 0)
			abort();
	}
	free(buf);
}

static struct gro gro;
static unsigned gro_segs;
static size_t gro_bytes;

static void gro_count(void *arg, void *owner, const struct gso_meta *m, uint8_t *pkt, size_t len,
		      unsigned segs, size_t bytes)
{
	(void)arg;
	(void)owner;
	(void)m;
	(void)pkt;
	(void)len;
	gro_segs += segs;
	gro_bytes += bytes;
}

static void gro_check(unsigned segs, size_t bytes)
{
	gro_flush(&gro);
	if (gro_segs != segs || gro_bytes != bytes)
		abort();
	gro_segs = 0;
	gro_bytes = 0;
}

/* Mode 5: metadata(10) || packet, cut and glued back. */
static void tso(uint8_t *data, size_t len)
{
	struct gso_meta m;
	uint8_t *seg;
	struct gso_iter it;
	unsigned segs = 0;
	size_t n, bytes = 0;

	if (len < 10)
		return;
	m.flags = data[0];
	m.type = data[1];
	m.hdr_len = be16_get(data + 2);
	m.size = be16_get(data + 4);
	m.csum_start = be16_get(data + 6);
	m.csum_offset = be16_get(data + 8);
	if (gso_csum_finish(data + 10, len - 10, &m) < 0 ||
	    gso_iter_init(&it, &m, data + 10, len - 10) < 0)
		return;
	/* Exactly the room gso_iter promises: ASan sees a write past it. */
	seg = malloc(gso_iter_seg_max(&it));
	if (!seg)
		abort();
	while ((n = gso_iter_next(&it, seg)) > 0) {
		gro_add(&gro, &vif, seg, n, true);
		segs++;
		bytes += n;
	}
	free(seg);
	gro_check(segs, bytes);
}

/* Mode 6: (len(2) || packet)*, each handed to receive coalescing. */
static void coalesce(uint8_t *data, size_t len)
{
	unsigned segs = 0;
	size_t n, bytes = 0;

	while (len >= 2) {
		n = be16_get(data) % 2048;
		if (n > len - 2)
			n = len - 2;
		gro_add(&gro, n & 1 ? (void *)&vif : (void *)&gro, data + 2, n, n & 2);
		segs++;
		bytes += n;
		data += 2 + n;
		len -= 2 + n;
	}
	gro_check(segs, bytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_storage from = { .ss_family = AF_INET };
	uint8_t *copy;

	if (!dp) {
		setup_dp();
		if (gro_init(&gro, gro_count, NULL) < 0)
			abort();
	}
	if (size < 1)
		return 0;
	/* An exact-size heap copy, so the sanitizer sees any overread. */
	copy = malloc(size - 1 ? size - 1 : 1);
	if (!copy)
		return 0;
	memcpy(copy, data + 1, size - 1);
	/* The SA table's sweep may have taken any SA's cipher contexts
	 * (sadb_sweep): every path also meets SAs that must make them again. */
	if (data[0] & 0x80) {
		sa_cool(in_gcm);
		sa_cool(out_gcm);
		sadb_sweep(dp_sadb(dp));
	}
	dp_rx_start(dp);
	switch (data[0] % 10) {
	case 0: dp_input_udp(dp, copy, size - 1, &from); break;
	case 1: dp_input_ip4(dp, copy, size - 1); break;
	case 2:
		if (data[0] & 0x40)
			dp_input_frame(dp, copy, size - 1);	/* from AF_XDP */
		else
			dp_input_esp(dp, copy, size - 1);
		break;
	case 3: sealed(copy, size - 1); break;
	case 4: round_trip(copy, size - 1); break;
	case 5: tso(copy, size - 1); break;
	case 6: coalesce(copy, size - 1); break;
	case 7: patched(copy, size - 1); break;
	case 8: inner(copy, size - 1); break;
	case 9: outbound(copy, size - 1); break;
	}
	dp_rx_flush(dp);
	free(copy);
	return 0;
}
