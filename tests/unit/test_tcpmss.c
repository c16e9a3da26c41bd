/*
 * test_tcpmss.c - MSS clamping: which packets are touched, the new MSS,
 * and a TCP checksum that still verifies (RFC 1624 incremental update).
 */
#include <stdint.h>

#include "esp/tcpmss.h"
#include "lib/cursor.h"
#include "pkt.h"
#include "test.h"

static uint16_t verify(const uint8_t *pkt, size_t len)
{
	return ref_tcp_verify(pkt, len);
}

static void fix_checksum(uint8_t *pkt, size_t len)
{
	size_t ip = pkt[0] >> 4 == 4 ? 20 : 40;

	be16_put(pkt + ip + 16, 0);
	be16_put(pkt + ip + 16, (uint16_t)~verify(pkt, len));
}

/* A SYN with options: NOP, NOP, MSS mss, then window scale. */
static size_t syn(uint8_t *p, int v, uint16_t mss, uint8_t flags, uint16_t frag)
{
	size_t ip = v == 4 ? 20 : 40, len = ip + 28;

	memset(p, 0, len);
	if (v == 4) {
		p[0] = 0x45;
		be16_put(p + 2, (uint16_t)len);
		be16_put(p + 6, frag);
		p[8] = 64;
		p[9] = 6;
		memcpy(p + 12, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
	} else {
		p[0] = 0x60;
		be16_put(p + 4, 28);
		p[6] = 6;
		p[7] = 64;
		p[23] = 1;
		p[39] = 2;
	}
	be16_put(p + ip, 40000);
	be16_put(p + ip + 2, 443);
	p[ip + 12] = 7 << 4;	/* 28-byte header */
	p[ip + 13] = flags;
	memcpy(p + ip + 20, "\x01\x01\x02\x04\x00\x00\x03\x03", 8);
	be16_put(p + ip + 24, mss);
	p[ip + 27] = 7;
	fix_checksum(p, len);
	return len;
}

static const struct {
	int no, v;
	uint16_t mss;
	uint8_t flags;
	uint16_t frag;
	unsigned mtu;
	int changed;
	uint16_t want;
} cases[] = {
	{ 1, 4, 1460, 0x02, 0, 1400, 1, 1360 },		/* SYN */
	{ 2, 4, 1460, 0x12, 0, 1400, 1, 1360 },		/* SYN+ACK */
	{ 3, 4, 1300, 0x02, 0, 1400, 0, 1300 },		/* already small enough */
	{ 4, 4, 1460, 0x10, 0, 1400, 0, 1460 },		/* not a SYN */
	{ 5, 4, 1460, 0x02, 0x2000, 1400, 1, 1360 },	/* MF set, offset 0: first fragment */
	{ 6, 4, 1460, 0x02, 0x0010, 1400, 0, 1460 },	/* a later fragment */
	{ 7, 6, 1440, 0x02, 0, 1280, 1, 1220 },		/* IPv6 */
	{ 8, 6, 1220, 0x02, 0, 1280, 0, 1220 },
};

int main(void)
{
	uint8_t p[128];
	size_t i, len, ip;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = syn(p, cases[i].v, cases[i].mss, cases[i].flags, cases[i].frag);
		ip = cases[i].v == 4 ? 20 : 40;
		CHECK(verify(p, len) == 0xffff, "#%d: built with a valid checksum", cases[i].no);
		CHECK(tcp_mss_clamp(p, len, cases[i].mtu) == cases[i].changed, "#%d: changed?",
		      cases[i].no);
		CHECK(be16_get(p + ip + 24) == cases[i].want, "#%d: MSS %u", cases[i].no,
		      be16_get(p + ip + 24));
		CHECK(verify(p, len) == 0xffff, "#%d: checksum still valid", cases[i].no);
	}
	/* Malformed options and short packets are left alone. */
	len = syn(p, 4, 1460, 0x02, 0);
	p[20 + 22] = 0;		/* option length 0 before the MSS */
	p[20 + 20] = 8;
	CHECK(tcp_mss_clamp(p, len, 1400) == 0, "bad option length ignored");
	len = syn(p, 4, 1460, 0x02, 0);
	CHECK(tcp_mss_clamp(p, 30, 1400) == 0, "truncated packet ignored");
	CHECK(tcp_mss_clamp(p, len, 40) == 0, "absurd MTU ignored");
	return test_done();
}
