/*
 * test_offload.c - the Internet checksum against RFC 1071's example and a
 * plain reference, TSO and USO segmentation of IPv4 and IPv6 super-packets
 * (every segment's headers, checksums and payload), and receive
 * coalescing of TCP segments and UDP datagrams: what merges, what must
 * not, and that segments cut by gso_iter come back as the packet they
 * were cut from.
 */
#include <stdint.h>

#include "esp/offload.h"
#include "lib/csum.h"
#include "lib/cursor.h"
#include "pkt.h"
#include "test.h"

#define ACK 0x10
#define PSH 0x08
#define FIN 0x01
#define SYN 0x02
#define CWR 0x80

static void test_csum(void)
{
	/* RFC 1071 §3: the sum of these bytes is ddf2. */
	static const uint8_t rfc[8] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	/* An IPv4 header whose checksum is b861. */
	uint8_t ip[20];
	uint8_t buf[1501];
	size_t n, off;

	CHECK(csum_fold(csum_partial(rfc, 8, 0)) == 0xddf2, "RFC 1071 example: %04x",
	      csum_fold(csum_partial(rfc, 8, 0)));
	unhex("45000073000040004011b861c0a80001c0a800c7", ip, sizeof(ip));
	ip[10] = ip[11] = 0;
	csum_ip4_header(ip);
	CHECK(be16_get(ip + 10) == 0xb861, "IPv4 header checksum %04x", be16_get(ip + 10));
	for (n = 0; n < sizeof(buf); n++)
		buf[n] = (uint8_t)(n * 131 + 7);
	/* Every length and alignment against the byte-at-a-time reference. */
	for (off = 0; off < 4; off++)
		for (n = 0; n + off <= sizeof(buf); n += 37)
			CHECK(csum_fold(csum_partial(buf + off, n, 0)) ==
			      ref_fold(ref_sum16(buf + off, n, 0)),
			      "offset %zu length %zu", off, n);
	/* RFC 1624 §5: m 0x5555 -> 0x3285 turns HC 0xdd2f into 0x0000. */
	CHECK(csum_replace(0xdd2f, 0x5555, 0x3285) == 0x0000, "RFC 1624 §5 example");
}

/* A TCP packet: flow port, seq, ack, payload bytes (pattern from seq),
 * flags, IPv4 header length (20 or 24) or IPv6; checksum complete, or
 * partial as the kernel leaves it for TSO. */
struct spec {
	bool v6;
	uint16_t port;
	uint32_t seq, ack;
	size_t payload;
	uint8_t flags;
	size_t iphl;
	uint16_t window;
};

/* An IPv6 header (fd00::1 > fd00::2, hop limit 64), or an IPv4 one of ip
 * bytes (10.0.0.1 > 10.0.0.2, TTL 64) with ID and flags, for a packet of
 * len bytes carrying proto; the rest of the header is zero. */
static void ip_fill(uint8_t *p, bool v6, size_t ip, size_t len, uint8_t proto, uint8_t tos,
		    uint16_t id, uint16_t frag)
{
	if (v6) {
		p[0] = 0x60;
		p[1] = tos;
		be16_put(p + 4, (uint16_t)(len - 40));
		p[6] = proto;
		p[7] = 64;
		p[8] = 0xfd;
		p[23] = 1;
		p[24] = 0xfd;
		p[39] = 2;
		return;
	}
	p[0] = (uint8_t)(0x40 | ip / 4);
	p[1] = tos;
	be16_put(p + 2, (uint16_t)len);
	be16_put(p + 4, id);
	be16_put(p + 6, frag);
	p[8] = 64;
	p[9] = proto;
	memcpy(p + 12, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
	csum_ip4_header(p);
}

static size_t build(uint8_t *p, const struct spec *s, bool partial)
{
	size_t ip = s->v6 ? 40 : (s->iphl ? s->iphl : 20), thl = 32, len = ip + thl + s->payload;
	uint8_t *t = p + ip;
	size_t i;

	memset(p, 0, ip + thl);
	ip_fill(p, s->v6, ip, len, 6, 0, 0x1234, 0x4000);	/* DF */
	be16_put(t, s->port);
	be16_put(t + 2, 5201);
	be32_put(t + 4, s->seq);
	be32_put(t + 8, s->ack);
	t[12] = (uint8_t)(thl / 4) << 4;
	t[13] = s->flags;
	be16_put(t + 14, s->window ? s->window : 512);
	memcpy(t + 20, "\x01\x01\x08\x0a\x00\x00\x00\x01\x00\x00\x00\x02", 12);	/* timestamps */
	for (i = 0; i < s->payload; i++)
		t[thl + i] = (uint8_t)((s->seq + i) * 7 + 3);
	if (partial)	/* the pseudo-header sum, not complemented */
		be16_put(t + 16, ref_fold(ref_sum16(s->v6 ? p + 8 : p + 12, s->v6 ? 32 : 8, 0) +
					  6 + (uint32_t)(len - ip)));
	else
		be16_put(t + 16, (uint16_t)~ref_tcp_verify(p, len));
	return len;
}

static bool ip_ok(const uint8_t *p, size_t len)
{
	if (p[0] >> 4 == 6)
		return be16_get(p + 4) + 40u == len;
	return be16_get(p + 2) == len && ref_fold(ref_sum16(p, (size_t)(p[0] & 15) * 4, 0)) == 0xffff;
}

static uint8_t super[70000], segs[128][2048];
static size_t seg_len[128];

static const struct {
	int no;
	bool v6;
	size_t payload, mss, iphl;
	uint8_t flags;
	unsigned want_segs, want_gro;	/* segments, and packets after coalescing */
} gso_cases[] = {
	{ 1, false, 5000, 1400, 20, ACK, 4, 1 },
	{ 2, false, 5000, 1400, 20, ACK | PSH, 4, 1 },		/* PSH on the last only */
	{ 3, false, 4200, 1400, 20, ACK | FIN, 3, 2 },		/* FIN segment is not merged */
	{ 4, false, 2800, 1400, 20, ACK | CWR, 2, 2 },		/* CWR on the first only */
	{ 5, true, 5000, 1380, 40, ACK | PSH, 4, 1 },
	{ 6, true, 64000, 1380, 40, ACK, 47, 1 },
	{ 7, false, 60000, 536, 24, ACK, 112, 112 },		/* IP options: never merged */
	{ 8, false, 1000, 1400, 20, ACK, 1, 1 },
	{ 9, false, 65000 - 52, 1448, 20, ACK, 45, 1 },
};

static struct gso_meta got_m[128];
static uint8_t got[128][GRO_MAX];
static size_t got_len[128];
static unsigned got_segs[128], n_got;

static void capture(void *arg, void *owner, const struct gso_meta *m, uint8_t *pkt, size_t len,
		    unsigned nsegs, size_t bytes)
{
	(void)arg;
	(void)owner;
	(void)bytes;
	if (n_got < 128) {
		got_m[n_got] = *m;
		memcpy(got[n_got], pkt, len);
		got_len[n_got] = len;
		got_segs[n_got] = nsegs;
	}
	n_got++;
}

static void test_gso(void)
{
	struct gro g;
	size_t i;

	CHECK(gro_init(&g, capture, NULL) == 0, "gro_init");
	for (i = 0; i < sizeof(gso_cases) / sizeof(gso_cases[0]); i++) {
		const __typeof__(gso_cases[0]) *c = &gso_cases[i];
		struct spec s = { .v6 = c->v6, .port = 40000, .seq = 0xfffff000u, .ack = 77,
				  .payload = c->payload, .flags = c->flags, .iphl = c->iphl };
		struct gso_meta m = { .flags = GSO_F_NEEDS_CSUM, .type = c->v6 ? GSO_TCP6 : GSO_TCP4,
				      .size = (uint16_t)c->mss, .csum_start = (uint16_t)c->iphl,
				      .csum_offset = 16 };
		size_t len = build(super, &s, true), hdr = c->iphl + 32, off = hdr, k;
		struct gso_iter it;
		unsigned n = 0;

		m.hdr_len = (uint16_t)hdr;
		if (c->flags & CWR)
			m.type |= GSO_ECN;
		CHECK(gso_iter_init(&it, &m, super, len) == 0, "#%d: init", c->no);
		while (n < 128 && (seg_len[n] = gso_iter_next(&it, segs[n])) > 0)
			n++;
		CHECK(n == c->want_segs, "#%d: %u segments, want %u", c->no, n, c->want_segs);
		for (k = 0; k < n; k++) {
			const uint8_t *p = segs[k], *t = p + c->iphl;
			size_t pl = c->payload - k * c->mss < c->mss ? c->payload - k * c->mss : c->mss;
			uint8_t want = c->flags;

			if (k + 1 < n)
				want &= (uint8_t)~(FIN | PSH);
			if (k > 0)
				want &= (uint8_t)~CWR;
			CHECK(seg_len[k] == hdr + pl, "#%d seg %zu: length %zu", c->no, k, seg_len[k]);
			CHECK(ip_ok(p, seg_len[k]), "#%d seg %zu: IP length/checksum", c->no, k);
			CHECK(ref_tcp_verify(p, seg_len[k]) == 0xffff, "#%d seg %zu: TCP checksum",
			      c->no, k);
			CHECK(be32_get(t + 4) == s.seq + (uint32_t)(k * c->mss), "#%d seg %zu: seq",
			      c->no, k);
			CHECK(t[13] == want, "#%d seg %zu: flags %02x want %02x", c->no, k, t[13], want);
			CHECK(c->v6 || be16_get(p + 4) == 0x1234 + k, "#%d seg %zu: IPv4 ID", c->no, k);
			CHECK(memcmp(p + hdr, super + off, pl) == 0, "#%d seg %zu: payload", c->no, k);
			off += pl;
		}
		/* And back together. */
		n_got = 0;
		for (k = 0; k < n; k++)
			gro_add(&g, &g, segs[k], seg_len[k], true);
		gro_flush(&g);
		CHECK(n_got == c->want_gro, "#%d: %u packets after coalescing, want %u", c->no,
		      n_got, c->want_gro);
		for (k = 0, off = hdr; k < n_got && k < 128; k++) {
			size_t pl = got_len[k] - hdr;

			CHECK(gso_csum_finish(got[k], got_len[k], &got_m[k]) == 0, "#%d", c->no);
			CHECK(ip_ok(got[k], got_len[k]), "#%d out %zu: IP", c->no, k);
			CHECK(ref_tcp_verify(got[k], got_len[k]) == 0xffff, "#%d out %zu: TCP checksum",
			      c->no, k);
			CHECK(memcmp(got[k] + hdr, super + off, pl) == 0, "#%d out %zu: payload",
			      c->no, k);
			CHECK(got_segs[k] == 1 || (got_m[k].size == c->mss &&
						   got_m[k].hdr_len == hdr && got_m[k].csum_start == c->iphl),
			      "#%d out %zu: metadata", c->no, k);
			off += pl;
		}
		CHECK(off == len, "#%d: every byte came back (%zu of %zu)", c->no, off, len);
	}
	gro_free(&g);
}

/* Streams of packets and the packets (segment counts) coalescing makes. */
#define P(port, seq, pl, fl) { false, port, seq, 1, pl, fl, 0, 0 }
static const struct {
	int no;
	struct spec in[12];
	unsigned n_in;
	unsigned want[12];	/* segments per packet handed over, in order */
	unsigned n_want;
} gro_cases[] = {
	{ 1, { P(1, 0, 1000, ACK), P(1, 1000, 1000, ACK) }, 2, { 2 }, 1 },
	{ 2, { P(1, 0, 1000, ACK), P(1, 2000, 1000, ACK) }, 2, { 1, 1 }, 2 },		/* gap */
	{ 3, { P(1, 0, 1000, ACK), { false, 1, 1000, 2, 1000, ACK, 0, 0 } }, 2, { 1, 1 }, 2 },
	{ 4, { P(1, 0, 1000, ACK), P(2, 0, 1000, ACK), P(1, 1000, 1000, ACK), P(2, 1000, 1000, ACK) },
	  4, { 2, 2 }, 2 },								/* two flows */
	{ 5, { P(1, 0, 500, ACK), P(1, 500, 1000, ACK) }, 2, { 1, 1 }, 2 },		/* short first */
	{ 6, { P(1, 0, 1000, ACK), P(1, 1000, 500, ACK), P(1, 1500, 1000, ACK) }, 3, { 2, 1 }, 2 },
	{ 7, { P(1, 0, 1000, ACK), P(1, 1000, 1000, ACK | PSH), P(1, 2000, 1000, ACK) }, 3,
	  { 2, 1 }, 2 },								/* PSH ends it */
	{ 8, { P(1, 0, 0, SYN), P(1, 1, 1000, ACK), P(1, 1001, 0, ACK) }, 3, { 1, 1, 1 }, 3 },
	{ 9, { P(1, 0, 1000, ACK), { false, 1, 1000, 1, 1000, ACK, 0, 100 } }, 2, { 1, 1 }, 2 },
	{ 10, { P(1, 0, 100, ACK), P(2, 0, 100, ACK), P(3, 0, 100, ACK), P(4, 0, 100, ACK),
		P(5, 0, 100, ACK), P(6, 0, 100, ACK), P(7, 0, 100, ACK), P(8, 0, 100, ACK),
		P(9, 0, 100, ACK), P(1, 100, 100, ACK) }, 10, { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 }, 10 },
	/* 10: the ninth flow evicts the first, whose next segment starts anew */
	{ 11, { P(1, 0, 1000, ACK), P(1, 1000, 1000, ACK | FIN) }, 2, { 1, 1 }, 2 },
};

static void test_gro(void)
{
	static uint8_t pkt[2048];
	struct gro g;
	size_t i, k;

	CHECK(gro_init(&g, capture, NULL) == 0, "gro_init");
	for (i = 0; i < sizeof(gro_cases) / sizeof(gro_cases[0]); i++) {
		unsigned total = 0;

		n_got = 0;
		for (k = 0; k < gro_cases[i].n_in; k++)
			gro_add(&g, &g, pkt, build(pkt, &gro_cases[i].in[k], false), true);
		gro_flush(&g);
		CHECK(n_got == gro_cases[i].n_want, "#%d: %u packets, want %u", gro_cases[i].no,
		      n_got, gro_cases[i].n_want);
		for (k = 0; k < n_got && k < gro_cases[i].n_want; k++) {
			total += got_segs[k];
			if (gro_cases[i].no == 10)
				continue;	/* eviction order is not specified */
			CHECK(got_segs[k] == gro_cases[i].want[k], "#%d: packet %zu has %u segments",
			      gro_cases[i].no, k, got_segs[k]);
		}
		CHECK(total == gro_cases[i].n_in, "#%d: %u segments handed over", gro_cases[i].no,
		      total);
	}
	/* Not TCP: handed over at once, before what is pending. */
	n_got = 0;
	gro_add(&g, &g, pkt, build(pkt, &(struct spec)P(1, 0, 1000, ACK), false), true);
	pkt[9] = 17;
	gro_add(&g, &g, pkt, 60, true);
	CHECK(n_got == 1 && got_len[0] == 60, "UDP passes straight through");
	gro_flush(&g);
	CHECK(n_got == 2 && got_segs[1] == 1, "then the pending TCP segment");
	/* A segment whose TCP checksum is wrong is not glued to anything (the
	 * glued packet's checksum would be made anew): it passes as it came. */
	for (i = 0; i < 2; i++) {
		size_t len;

		n_got = 0;
		gro_add(&g, &g, pkt, build(pkt, &(struct spec)P(1, 0, 1000, ACK), false), true);
		len = build(pkt, &(struct spec)P(1, 1000, 1000, ACK), false);
		pkt[i ? len - 1 : 20 + 16] ^= 0x40;	/* payload or checksum field */
		gro_add(&g, &g, pkt, len, true);
		gro_add(&g, &g, pkt, build(pkt, &(struct spec)P(1, 2000, 1000, ACK), false), true);
		gro_flush(&g);
		CHECK(n_got == 3 && got_segs[0] == 1 && got_segs[1] == 1 && got_segs[2] == 1,
		      "bad checksum (%s): not coalesced (%u packets)", i ? "payload" : "field", n_got);
	}
	/* Two owners (interfaces) never share a packet. */
	n_got = 0;
	gro_add(&g, &g, pkt, build(pkt, &(struct spec)P(1, 0, 1000, ACK), false), true);
	gro_add(&g, pkt, pkt, build(pkt, &(struct spec)P(1, 1000, 1000, ACK), false), true);
	gro_flush(&g);
	CHECK(n_got == 2, "one flow on two interfaces: %u packets", n_got);
	gro_free(&g);
}


/* A UDP datagram or USO super-packet: flow port, payload bytes (pattern
 * from salt), IPv4 ID and DF, or IPv6; checksum complete, or partial (the
 * pseudo-header sum with the whole length) as the kernel leaves it. */
struct uspec {
	bool v6;
	uint16_t port;
	size_t payload;
	uint16_t id;
	bool df;
	uint8_t salt;
	uint8_t tos;
	uint8_t ttl;		/* 0: 64; IPv6: the hop limit */
	uint8_t flow;		/* IPv6: the flow label's low byte */
	bool bad_len;		/* a UDP length one more than the datagram */
};

static size_t ubuild(uint8_t *p, const struct uspec *s, bool partial)
{
	size_t ip = s->v6 ? 40 : 20, len = ip + 8 + s->payload, i;
	uint8_t *u = p + ip;

	memset(p, 0, ip + 8);
	ip_fill(p, s->v6, ip, len, 17, s->tos, s->id, s->df ? 0x4000 : 0);
	if (s->ttl)
		p[s->v6 ? 7 : 8] = s->ttl;
	if (s->v6)
		p[3] = s->flow;
	else
		csum_ip4_header(p);
	be16_put(u, s->port);
	be16_put(u + 2, 443);
	be16_put(u + 4, (uint16_t)(len - ip + s->bad_len));
	for (i = 0; i < s->payload; i++)
		u[8 + i] = (uint8_t)(i * 13 + s->salt);
	if (partial)
		be16_put(u + 6, ref_fold(ref_sum16(s->v6 ? p + 8 : p + 12, s->v6 ? 32 : 8, 0) +
					 17 + (uint32_t)(len - ip)));
	else
		be16_put(u + 6, (uint16_t)~ref_l4_verify(p, len, 17));
	return len;
}

/*
 * What the kernel does with a glued UDP packet (__udp_gso_segment): its
 * checksum field holds the pseudo-header sum for the whole length in the
 * UDP header; each datagram's is that with the length swapped for its own
 * (RFC 1624), then completed over the datagram.  Every datagram must come
 * out with a right checksum, and as it went in.
 */
static uint16_t add16(uint32_t a, uint32_t b)
{
	a += b;
	return (uint16_t)((a & 0xffff) + (a >> 16));
}

static void kernel_cut(int no, const uint8_t *pkt, size_t len, const struct gso_meta *m,
		       unsigned n)
{
	size_t ip = m->csum_start, off = ip + 8, k;
	uint16_t total = be16_get(pkt + ip + 4), part = be16_get(pkt + ip + 6);
	static uint8_t d[2048];

	CHECK(total == len - ip, "USO #%d: glued UDP length %u for %zu", no, total, len - ip);
	CHECK(part == ref_fold(ref_sum16(pkt[0] >> 4 == 6 ? pkt + 8 : pkt + 12,
					 pkt[0] >> 4 == 6 ? 32 : 8, 0) + 17 + total),
	      "USO #%d: glued checksum field is not the pseudo-header sum", no);
	for (k = 0; k < n && off < len; k++) {
		size_t pl = len - off < m->size ? len - off : m->size;
		uint16_t newlen = (uint16_t)(8 + pl), c;

		memcpy(d, pkt, ip + 8);
		memcpy(d + ip + 8, pkt + off, pl);
		if (pkt[0] >> 4 == 6)
			be16_put(d + 4, newlen);
		else
			be16_put(d + 2, (uint16_t)(ip + newlen));
		be16_put(d + ip + 4, newlen);
		be16_put(d + ip + 6, add16(add16(part, (uint16_t)~total), newlen));
		c = (uint16_t)~ref_fold(ref_sum16(d + ip, 8 + pl, 0));
		be16_put(d + ip + 6, c ? c : 0xffff);
		CHECK(ref_l4_verify(d, ip + 8 + pl, 17) == 0xffff,
		      "USO #%d: datagram %zu as the kernel cuts it: bad checksum", no, k);
		CHECK(memcmp(d + ip + 8, segs[k] + ip + 8, pl) == 0 && be16_get(segs[k] + ip + 4) == newlen,
		      "USO #%d: datagram %zu as the kernel cuts it differs", no, k);
		off += pl;
	}
}

/* USO: cut like __udp_gso_segment (lengths, checksums, IPv4 IDs), and
 * glued back into one packet that says how to cut it again. */
static void test_uso(void)
{
	static const struct {
		int no;
		bool v6;
		size_t payload, size;
		unsigned want_segs;
	} cases[] = {
		{ 1, false, 12000, 1200, 10 },
		{ 2, false, 12345, 1200, 11 },	/* a short last datagram */
		{ 3, true, 60000, 1232, 49 },
		{ 4, true, 100, 1232, 1 },
		{ 5, false, 64 * 900, 900, 64 },
	};
	struct gro g;
	size_t i, k;

	CHECK(gro_init(&g, capture, NULL) == 0, "gro_init");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct uspec us = { .v6 = cases[i].v6, .port = 5000, .payload = cases[i].payload,
				    .id = 0xfffe, .df = true };
		size_t len = ubuild(super, &us, true), ip = us.v6 ? 40 : 20, off = ip + 8;
		struct gso_meta m = { .flags = GSO_F_NEEDS_CSUM, .type = GSO_UDP_L4,
				      .hdr_len = (uint16_t)(ip + 8), .size = (uint16_t)cases[i].size,
				      .csum_start = (uint16_t)ip, .csum_offset = 6 };
		struct gso_iter it;
		unsigned n = 0;

		CHECK(gso_iter_init(&it, &m, super, len) == 0, "USO #%d: init", cases[i].no);
		while (n < 128 && (seg_len[n] = gso_iter_next(&it, segs[n])) > 0)
			n++;
		CHECK(n == cases[i].want_segs, "USO #%d: %u datagrams, want %u", cases[i].no, n,
		      cases[i].want_segs);
		for (k = 0; k < n; k++) {
			size_t pl = seg_len[k] - ip - 8;

			CHECK(pl == (k + 1 < n ? cases[i].size : cases[i].payload - k * cases[i].size),
			      "USO #%d seg %zu: %zu bytes", cases[i].no, k, pl);
			CHECK(ip_ok(segs[k], seg_len[k]), "USO #%d seg %zu: IP", cases[i].no, k);
			CHECK(be16_get(segs[k] + ip + 4) == pl + 8, "USO #%d seg %zu: UDP length",
			      cases[i].no, k);
			CHECK(ref_l4_verify(segs[k], seg_len[k], 17) == 0xffff,
			      "USO #%d seg %zu: UDP checksum", cases[i].no, k);
			CHECK(us.v6 || be16_get(segs[k] + 4) == (uint16_t)(0xfffe + k),
			      "USO #%d seg %zu: IPv4 ID", cases[i].no, k);
			CHECK(memcmp(segs[k] + ip + 8, super + off, pl) == 0,
			      "USO #%d seg %zu: payload", cases[i].no, k);
			off += pl;
		}
		n_got = 0;
		for (k = 0; k < n; k++)
			gro_add(&g, &g, segs[k], seg_len[k], true);
		gro_flush(&g);
		CHECK(n_got == 1 && got_segs[0] == n && got_len[0] == len,
		      "USO #%d: glued into %u packets (%u datagrams)", cases[i].no, n_got,
		      n_got ? got_segs[0] : 0);
		CHECK(n == 1 ? got_m[0].type == GSO_NONE && ref_l4_verify(got[0], got_len[0], 17) == 0xffff
			     : got_m[0].type == GSO_UDP_L4 && got_m[0].size == cases[i].size &&
			       got_m[0].hdr_len == ip + 8 && got_m[0].csum_start == ip &&
			       got_m[0].csum_offset == 6 && got_m[0].flags == GSO_F_NEEDS_CSUM,
		      "USO #%d: metadata", cases[i].no);
		if (n > 1)
			kernel_cut(cases[i].no, got[0], got_len[0], &got_m[0], n);
		/* Cut again, it gives the same datagrams. */
		if (n > 1 && gso_iter_init(&it, &got_m[0], got[0], got_len[0]) == 0) {
			static uint8_t again[2048];

			for (k = 0; k < n; k++)
				CHECK(gso_iter_next(&it, again) == seg_len[k] &&
				      memcmp(again, segs[k], seg_len[k]) == 0,
				      "USO #%d: datagram %zu again", cases[i].no, k);
		}
	}
	gro_free(&g);
}

/* Streams of UDP datagrams and what coalescing makes of them. */
#define U(port, pl) { false, port, pl, 0, true, 0, 0, 0, 0, false }
/* 1,000 bytes on port 1: IPv4 with ID, DF, TOS, TTL and a wrong UDP
 * length, or IPv6 with hop limit and flow label. */
#define U4(id, df, tos, ttl, bad) { false, 1, 1000, id, df, 0, tos, ttl, 0, bad }
#define U6(hops, flow) { true, 1, 1000, 0, false, 0, 0, hops, flow, false }
static const struct {
	int no;
	struct uspec in[8];
	unsigned n_in;
	unsigned want[8];	/* datagrams per packet handed over, in order */
	unsigned n_want;
} udp_cases[] = {
	{ 1, { U(1, 1000), U(1, 1000), U(1, 1000) }, 3, { 3 }, 1 },
	{ 2, { U(1, 1000), U(1, 500), U(1, 1000) }, 3, { 2, 1 }, 2 },	/* short one ends it */
	{ 3, { U(1, 500), U(1, 1000) }, 2, { 1, 1 }, 2 },		/* larger after smaller */
	{ 4, { U(1, 1000), U(2, 1000), U(1, 1000), U(2, 1000) }, 4, { 2, 2 }, 2 },
	{ 5, { U(1, 1000), U4(0, true, 0x10, 0, false) }, 2, { 1, 1 }, 2 },	/* TOS */
	{ 6, { U4(7, false, 0, 0, false), U4(8, false, 0, 0, false), U4(10, false, 0, 0, false) },
	  3, { 2, 1 }, 2 },						/* no DF: IDs in a row */
	{ 7, { U(1, 0), U(1, 0) }, 2, { 1, 1 }, 2 },			/* nothing to glue */
	{ 8, { U6(0, 0), U6(0, 0) }, 2, { 2 }, 1 },
	{ 9, { U(1, 1000), U4(0, true, 0, 63, false) }, 2, { 1, 1 }, 2 },	/* TTL */
	{ 10, { U6(0, 1), U6(0, 2) }, 2, { 1, 1 }, 2 },			/* flow label */
	{ 11, { U6(0, 0), U6(9, 0) }, 2, { 1, 1 }, 2 },			/* hop limit */
	{ 12, { U(1, 1000), U4(0, true, 0, 0, true) }, 2, { 1, 1 }, 2 },	/* UDP length */
	{ 13, { U(1, 1000), U(1, 1001) }, 2, { 1, 1 }, 2 },		/* larger than the first */
};

static void test_udp_gro(void)
{
	static uint8_t pkt[2048];
	struct gro g;
	size_t i, k;

	CHECK(gro_init(&g, capture, NULL) == 0, "gro_init");
	for (i = 0; i < sizeof(udp_cases) / sizeof(udp_cases[0]); i++) {
		n_got = 0;
		for (k = 0; k < udp_cases[i].n_in; k++)
			gro_add(&g, &g, pkt, ubuild(pkt, &udp_cases[i].in[k], false), true);
		gro_flush(&g);
		CHECK(n_got == udp_cases[i].n_want, "UDP #%d: %u packets, want %u", udp_cases[i].no,
		      n_got, udp_cases[i].n_want);
		for (k = 0; k < n_got && k < udp_cases[i].n_want; k++)
			CHECK(got_segs[k] == udp_cases[i].want[k], "UDP #%d: packet %zu has %u",
			      udp_cases[i].no, k, got_segs[k]);
	}
	/* At most GSO_UDP_SEGS datagrams in one packet. */
	n_got = 0;
	for (k = 0; k < GSO_UDP_SEGS + 1; k++)
		gro_add(&g, &g, pkt, ubuild(pkt, &(struct uspec)U(1, 100), false), true);
	gro_flush(&g);
	CHECK(n_got == 2 && got_segs[0] == GSO_UDP_SEGS && got_segs[1] == 1,
	      "%u datagrams: %u packets", GSO_UDP_SEGS + 1, n_got);
	/* Not asked for (a kernel without USO): each datagram alone. */
	n_got = 0;
	for (k = 0; k < 3; k++)
		gro_add(&g, &g, pkt, ubuild(pkt, &(struct uspec)U(1, 1000), false), false);
	gro_flush(&g);
	CHECK(n_got == 3 && got_segs[0] == 1 && got_m[0].type == GSO_NONE, "no USO: %u packets",
	      n_got);
	/* No checksum (IPv4 allows 0), or a wrong one: alone, as it came. */
	for (i = 0; i < 2; i++) {
		size_t len;

		n_got = 0;
		gro_add(&g, &g, pkt, ubuild(pkt, &(struct uspec)U(1, 1000), false), true);
		len = ubuild(pkt, &(struct uspec)U(1, 1000), false);
		if (i)
			pkt[len - 1] ^= 0x40;
		else
			pkt[26] = pkt[27] = 0;
		gro_add(&g, &g, pkt, len, true);
		gro_flush(&g);
		CHECK(n_got == 2 && got_segs[0] == 1 && got_segs[1] == 1 &&
		      (i || be16_get(got[1] + 26) == 0),
		      "UDP %s: not coalesced (%u packets)", i ? "bad checksum" : "without checksum",
		      n_got);
	}
	/* A bad IPv4 header checksum: not glued, passed on as it came (the
	 * glued packet would get a right one), for UDP and for TCP. */
	for (i = 0; i < 2; i++) {
		size_t len;

		n_got = 0;
		len = i ? build(pkt, &(struct spec)P(1, 0, 1000, ACK), false)
			: ubuild(pkt, &(struct uspec)U(1, 1000), false);
		gro_add(&g, &g, pkt, len, true);
		len = i ? build(pkt, &(struct spec)P(1, 1000, 1000, ACK), false)
			: ubuild(pkt, &(struct uspec)U(1, 1000), false);
		pkt[10] ^= 1;
		gro_add(&g, &g, pkt, len, true);
		gro_flush(&g);
		CHECK(n_got == 2 && got_segs[1] == 1 && memcmp(got[1], pkt, len) == 0,
		      "%s with a bad IPv4 header checksum: not glued (%u packets)", i ? "TCP" : "UDP",
		      n_got);
	}
	/* A TCP segment and a UDP datagram with the same ports: two flows. */
	n_got = 0;
	gro_add(&g, &g, pkt, ubuild(pkt, &(struct uspec)U(5201, 1000), false),
		true);
	gro_add(&g, &g, pkt, build(pkt, &(struct spec){ false, 5201, 0, 1, 1000, ACK, 0, 0 }, false),
		true);
	gro_add(&g, &g, pkt, ubuild(pkt, &(struct uspec)U(5201, 1000), false),
		true);
	gro_flush(&g);
	CHECK(n_got == 2, "TCP and UDP of one port pair kept apart: %u packets", n_got);
	gro_free(&g);
}

static void test_bad_meta(void)
{
	static const struct {
		int no;
		uint8_t type;
		uint16_t size, start;
		size_t len;
	} cases[] = {
		{ 1, GSO_TCP4, 0, 20, 1000 },		/* no MSS */
		{ 2, GSO_TCP4, 1400, 24, 1000 },	/* csum_start is not the TCP header */
		{ 3, GSO_TCP6, 1400, 40, 1000 },	/* IPv4 packet called IPv6 */
		{ 4, 3, 1400, 20, 1000 },		/* UFO: never asked for */
		{ 7, GSO_UDP_L4, 1400, 20, 1000 },	/* USO of a TCP packet */
		{ 5, GSO_TCP4, 1400, 20, 40 },		/* options cut off */
		{ 6, GSO_TCP4, 1400, 20, 10 },
	};
	struct spec s = { .port = 1, .payload = 3000, .flags = ACK };
	struct gso_iter it;
	size_t i, len;

	build(super, &s, true);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct gso_meta m = { .flags = GSO_F_NEEDS_CSUM, .type = cases[i].type,
				      .size = cases[i].size, .csum_start = cases[i].start,
				      .csum_offset = 16 };

		CHECK(gso_iter_init(&it, &m, super, cases[i].len) < 0, "#%d rejected", cases[i].no);
	}
	CHECK(gso_csum_finish(super, 30, &(struct gso_meta){ .flags = GSO_F_NEEDS_CSUM,
							     .csum_start = 20, .csum_offset = 16 }) < 0,
	      "checksum field beyond the packet");
	/* A TCP header shorter than 20 bytes (data offset 2): its flags and
	 * checksum would be written past the segment. */
	super[20 + 12] = 2 << 4;
	CHECK(gso_iter_init(&it, &(struct gso_meta){ .flags = GSO_F_NEEDS_CSUM, .type = GSO_TCP4,
						     .size = 4, .csum_start = 20, .csum_offset = 16 },
			    super, 1000) < 0, "TCP data offset 2 rejected");
	/* USO without a checksum left to us, or with it elsewhere; an IPv6
	 * header whose next header is not UDP where UDP should start. */
	len = ubuild(super, &(struct uspec){ .v6 = true, .port = 1, .payload = 3000 }, true);
	CHECK(gso_iter_init(&it, &(struct gso_meta){ .type = GSO_UDP_L4, .size = 1000,
						     .csum_start = 40, .csum_offset = 6 }, super, len) < 0,
	      "USO without NEEDS_CSUM rejected");
	CHECK(gso_iter_init(&it, &(struct gso_meta){ .flags = GSO_F_NEEDS_CSUM, .type = GSO_UDP_L4,
						     .size = 1000, .csum_start = 40, .csum_offset = 16 },
			    super, len) < 0, "USO with the checksum at 16 rejected");
	super[6] = 6;
	CHECK(gso_iter_init(&it, &(struct gso_meta){ .flags = GSO_F_NEEDS_CSUM, .type = GSO_UDP_L4,
						     .size = 1000, .csum_start = 40, .csum_offset = 6 },
			    super, len) < 0, "USO of an IPv6 packet that is not UDP rejected");
	/* A datagram whose checksum comes out 0 is sent with all ones (RFC
	 * 768): adding its checksum to a payload word makes the sum 0xffff. */
	{
		static uint8_t d[2048];
		struct gso_meta m = { .flags = GSO_F_NEEDS_CSUM, .type = GSO_UDP_L4, .size = 1200,
				      .csum_start = 20, .csum_offset = 6 };
		uint16_t c, w;

		len = ubuild(super, &(struct uspec){ .port = 1, .payload = 100 }, true);
		CHECK(gso_iter_init(&it, &m, super, len) == 0 && gso_iter_next(&it, d) == len,
		      "one datagram cut");
		c = be16_get(d + 26);
		w = be16_get(super + 40);
		be16_put(super + 40, add16(w, c));
		CHECK(gso_iter_init(&it, &m, super, len) == 0 && gso_iter_next(&it, d) == len &&
		      be16_get(d + 26) == 0xffff && ref_l4_verify(d, len, 17) == 0xffff,
		      "a zero UDP checksum goes out as all ones (%04x)", be16_get(d + 26));
	}
}

int main(void)
{
	test_csum();
	test_gso();
	test_gro();
	test_uso();
	test_udp_gro();
	test_bad_meta();
	return test_done();
}
