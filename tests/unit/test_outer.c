/*
 * test_outer.c - the outer IP header of raw ESP sent by the packet socket
 * (esp/outer.c): byte for byte against headers written independently (the
 * IPv4 checksums by Python's struct-based RFC 1071 sum), the RFC 1071 §1
 * receiver's check on each, and the sizes and families it must refuse.
 */
#include <arpa/inet.h>
#include <string.h>

#include "esp/outer.h"
#include "lib/csum.h"
#include "test.h"

static struct addr ip(const char *s)
{
	struct addr a = { 0 };

	if (inet_pton(AF_INET, s, a.a) == 1)
		a.family = AF_INET;
	else if (inet_pton(AF_INET6, s, a.a) == 1)
		a.family = AF_INET6;
	return a;
}

/* RFC 1071 §1: the sum over a header that carries its checksum is all
 * ones (lib/csum.c, itself tested against RFC 1071's example in
 * test_offload.c; the header bytes above come from elsewhere). */
static bool verifies(const uint8_t *h)
{
	return csum_fold(csum_partial(h, 20, 0)) == 0xffff;
}

static void headers(void)
{
	static const struct {
		const char *src, *dst;
		size_t esp_len;
		uint8_t ttl;
		uint32_t flow;
		const char *want;	/* hex; "" when refused */
	} rows[] = {
		{ "192.0.2.1", "192.0.2.2", 100, 64, 0, "45000078000040004032b650c0000201c0000202" },
		{ "198.51.100.5", "203.0.113.250", 1438, 255, 0,
		  "450005b200004000ff320ee6c6336405cb0071fa" },
		{ "10.0.0.1", "10.0.0.2", 0, 1, 0, "4500001400004000013265b60a0000010a000002" },
		/* The flow label keeps its 20 bits; the traffic class stays 0. */
		{ "2001:db8::1", "2001:db8:ffff::2", 1200, 200, 0xf12345,
		  "6001234504b032c820010db800000000000000000000000120010db8ffff0000"
		  "0000000000000002" },
		{ "192.0.2.1", "192.0.2.2", 65535 - 20, 64, 0,
		  "4500ffff000040004032b6c8c0000201c0000202" },
		{ "192.0.2.1", "192.0.2.2", 65535 - 19, 64, 0, "" },
		{ "2001:db8::1", "2001:db8::2", 65536, 64, 0, "" },
		{ "192.0.2.1", "2001:db8::2", 100, 64, 0, "" },
		{ "2001:db8::1", "192.0.2.2", 100, 64, 0, "" },
	};
	unsigned i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct addr s = ip(rows[i].src), d = ip(rows[i].dst);
		uint8_t h[OUTER_MAX], want[OUTER_MAX];
		size_t wl = unhex(rows[i].want, want, sizeof(want));
		size_t n = outer_hdr(h, &s, &d, rows[i].esp_len, rows[i].ttl, rows[i].flow);

		CHECK(n == wl, "row %u: length %zu, want %zu", i, n, wl);
		if (n != wl || !n)
			continue;
		CHECK(!memcmp(h, want, n), "row %u: header differs", i);
		if (n == 20)
			CHECK(verifies(h), "row %u: checksum does not verify", i);
	}
}

int main(void)
{
	headers();
	return test_done();
}
