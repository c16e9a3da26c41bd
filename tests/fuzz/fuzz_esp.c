/*
 * fuzz_esp.c - libFuzzer target for everything that parses packets from
 * the network on the datapath: the NAT-T UDP demultiplexer, the raw IPv4
 * ESP socket path, ESP decapsulation and the inner-packet checks.
 *
 * The first byte picks the entry point.  Modes 0-2 feed the bytes as they
 * would arrive.  Mode 3 seals the bytes as an ESP payload with a valid
 * ICV, so the fuzzer reaches the trailer, padding, inner-header and
 * selector checks behind the ICV.  Mode 4 checks a property: whatever is
 * encapsulated decapsulates back to the same inner packet.  Modes 5 and 6
 * drive the offload code: 5 cuts a "TSO super-packet" (10 bytes of
 * metadata, then the packet) and coalesces the segments again, 6 feeds a
 * length-prefixed list of inner packets to receive coalescing; both check
 * that every packet put in comes out exactly once.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/cipher.h"
#include "esp/datapath.h"
#include "esp/esp.h"
#include "esp/offload.h"
#include "esp/sadb.h"
#include "lib/cursor.h"

#define SPI_GCM 0x100
#define SPI_CBC 0x101
#define SPI_ESN 0x102

static struct datapath *dp;
static struct vif vif;
static struct sa *out_gcm, *in_gcm;
static struct sa *rt_out, *rt_in;	/* a private pair for mode 4 */
static struct aead *sealer;
static const uint8_t key[96] = { 0x42, 0x13, 0x37 };

static struct sa *mk(const char *name, uint32_t spi, bool in)
{
	struct esp_suite s;
	char why[64];

	if (esp_suite_parse(name, &s, why, sizeof(why)) < 0)
		abort();
	return sa_new(spi, in, &s, key, esp_suite_keymat_len(&s), 128);
}

static void setup(void)
{
	struct sadb *db;

	dp = dp_new(NULL);
	if (!dp)
		abort();
	db = dp_sadb(dp);
	strcpy(vif.name, "fuzz0");
	vif.tun_fd = -1;	/* delivery is counted, not written */
	vif.offload = true;	/* and goes through receive coalescing */
	prefix_parse("0.0.0.0/0", &vif.local_ts[0]);
	prefix_parse("::/0", &vif.local_ts[1]);
	prefix_parse("10.0.0.0/8", &vif.remote_ts[0]);
	prefix_parse("fd00::/8", &vif.remote_ts[1]);
	vif.n_local_ts = vif.n_remote_ts = 2;
	in_gcm = mk("aes128gcm16", SPI_GCM, true);
	if (sadb_add_in(db, &vif, in_gcm) || sadb_add_in(db, &vif, mk("aes256-sha256", SPI_CBC, true)) ||
	    sadb_add_in(db, &vif, mk("chacha20poly1305-esn", SPI_ESN, true)))
		abort();
	out_gcm = mk("aes128gcm16", SPI_GCM, false);
	sadb_set_out(&vif, out_gcm);
	sealer = aead_new(AEAD_AES_GCM, key, 16, true);
	rt_out = mk("aes256-sha384-esn", 0x200, false);
	rt_in = mk("aes256-sha384-esn", 0x200, true);
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
	static uint8_t seg[65536 + 64];
	struct gso_meta m;
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
	if (gso_iter_seg_max(&it) > sizeof(seg))
		abort();
	while ((n = gso_iter_next(&it, seg)) > 0) {
		gro_add(&gro, &vif, seg, n);
		segs++;
		bytes += n;
	}
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
		gro_add(&gro, n & 1 ? (void *)&vif : (void *)&gro, data + 2, n);
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
		setup();
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
	switch (data[0] % 7) {
	case 0: dp_input_udp(dp, copy, size - 1, &from); break;
	case 1: dp_input_ip4(dp, copy, size - 1); break;
	case 2: dp_input_esp(dp, copy, size - 1); break;
	case 3: sealed(copy, size - 1); break;
	case 4: round_trip(copy, size - 1); break;
	case 5: tso(copy, size - 1); break;
	case 6: coalesce(copy, size - 1); break;
	}
	dp_rx_flush(dp);
	free(copy);
	return 0;
}
