/*
 * test_esp.c - ESP encapsulation and decapsulation: the RFC 7634
 * Appendix A packet byte for byte, round trips for every suite with and
 * without ESN, and each way a packet can be refused.
 */
#include <stdint.h>

#include "crypto/cipher.h"
#include "esp/esp.h"
#include "lib/workers.h"
#include "esp/sadb.h"
#include "lib/cursor.h"
#include "test.h"

#define ROOM (ESP_HEADROOM + 2048 + ESP_TAILROOM)

/* RFC 7634 Appendix A: an ICMP echo from 198.51.100.5 to 192.0.2.5 in
 * tunnel mode, SPI 0x01020304, sequence number 5, IV 0x1011121314151617. */
static const char rfc7634_keymat[] =
	"808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f a0a1a2a3";
static const char rfc7634_inner[] =
	"4500 0054 a6f2 0000 4001 e778 c633 6405 c000 0205 0800 5b7a 3a08 0000"
	"553b ec10 0007 3627 0809 0a0b 0c0d 0e0f 1011 1213 1415 1617 1819 1a1b"
	"1c1d 1e1f 2021 2223 2425 2627 2829 2a2b 2c2d 2e2f 3031 3233 3435 3637";
static const char rfc7634_esp[] =
	"01020304 00000005 1011121314151617"
	"24039428b97f417e3c13753a4f05087b67c352e6a7fab1b982d466ef407ae5c6"
	"14ee8099d52844eb61aa95dfab4c02f72aa71e7c4c4f64c9befe2facc638e8f3"
	"cbec163fac469b502773f6fb94e664da9165b82829f641e0"
	"76aaa8266b7fb0f7b11b369907e1ad43";

static void spaced_unhex(const char *s, uint8_t *out, size_t cap, size_t *len)
{
	*len = unhex(s, out, cap);
}

static struct sa *mk(const char *suite_name, uint32_t spi, bool in, const uint8_t *km)
{
	struct esp_suite s;
	char why[128];

	if (esp_suite_parse(suite_name, &s, why, sizeof(why)) < 0) {
		fprintf(stderr, "%s: %s\n", suite_name, why);
		exit(2);
	}
	return sa_new(spi, in, &s, km, esp_suite_keymat_len(&s), 64);
}

static void rfc7634_example(void)
{
	uint8_t km[36], buf[ROOM], want[256], inner[128], *out, *dec, nh;
	uint8_t iv[8] = { 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17 };
	size_t inlen, wlen, outlen, declen;
	struct sa *o, *i;

	unhex(rfc7634_keymat, km, sizeof(km));
	spaced_unhex(rfc7634_inner, inner, sizeof(inner), &inlen);
	spaced_unhex(rfc7634_esp, want, sizeof(want), &wlen);
	o = mk("chacha20poly1305", 0x01020304, false, km);
	i = mk("chacha20poly1305", 0x01020304, true, km);
	o->seq = 4;
	memcpy(buf + ESP_HEADROOM, inner, inlen);
	CHECK(esp_encap_iv(o, buf + ESP_HEADROOM, inlen, iv, &out, &outlen) == ESP_OK,
	      "RFC 7634 A: encap");
	CHECK(outlen == wlen && memcmp(out, want, wlen) == 0,
	      "RFC 7634 A: packet differs from the RFC (len %zu vs %zu)", outlen, wlen);
	memcpy(buf, want, wlen);
	CHECK(esp_decap(i, buf, wlen, &dec, &declen, &nh) == ESP_OK, "RFC 7634 A: decap");
	CHECK(declen == inlen && memcmp(dec, inner, inlen) == 0 && nh == NH_IPV4,
	      "RFC 7634 A: inner packet");
	sa_free(o);
	sa_free(i);
}

/* A minimal inner packet of the given family and total length. */
static void fake_inner(uint8_t *p, size_t len, int v)
{
	size_t k;

	for (k = 0; k < len; k++)
		p[k] = (uint8_t)(k * 7 + 3);
	p[0] = v == 4 ? 0x45 : 0x60;
	if (v == 4)
		be16_put(p + 2, (uint16_t)len);
	else
		be16_put(p + 4, (uint16_t)(len - 40));
}

static const char *const suites[] = {
	"aes128gcm16", "aes256gcm16", "chacha20poly1305", "aes128-sha256", "aes256-sha256",
	"aes128-sha384", "aes256-sha512",
	"aes128gcm16-esn", "chacha20poly1305-esn", "aes256-sha384-esn",
};

static void round_trips(void)
{
	static const size_t lens[] = { 40, 41, 42, 43, 44, 100, 1399, 1400, 2000 };
	uint8_t km[128], buf[ROOM], ref[2048], *out, *dec, nh;
	size_t si, li, outlen, declen, k;

	for (k = 0; k < sizeof(km); k++)
		km[k] = (uint8_t)(k ^ 0x5a);
	for (si = 0; si < sizeof(suites) / sizeof(suites[0]); si++) {
		struct sa *o = mk(suites[si], 0x1234, false, km);
		struct sa *i = mk(suites[si], 0x1234, true, km);

		for (li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
			int v = li % 2 ? 6 : 4;

			fake_inner(ref, lens[li], v);
			memcpy(buf + ESP_HEADROOM, ref, lens[li]);
			/* Every other packet finds both halves idle and cold
			 * (sadb_sweep): the contexts are made again. */
			if (li % 2) {
				sa_cool(o);
				sa_cool(i);
			}
			CHECK(esp_encap(o, buf + ESP_HEADROOM, lens[li], &out, &outlen) == ESP_OK,
			      "%s len %zu: encap", suites[si], lens[li]);
			CHECK((outlen - ESP_HDR_LEN - o->iv_len - o->icv_len) % o->align == 0,
			      "%s: aligned", suites[si]);
			CHECK(be32_get(out) == 0x1234 && be32_get(out + 4) == (uint32_t)o->seq,
			      "%s: header", suites[si]);
			CHECK(esp_decap(i, out, outlen, &dec, &declen, &nh) == ESP_OK,
			      "%s len %zu: decap", suites[si], lens[li]);
			CHECK(declen == lens[li] && memcmp(dec, ref, declen) == 0 &&
			      nh == (v == 4 ? NH_IPV4 : NH_IPV6), "%s len %zu: inner", suites[si],
			      lens[li]);
		}
		sa_free(o);
		sa_free(i);
	}
}

/*
 * esp_frame in order, esp_seal on pools of 1 to 4 threads (each with its
 * own contexts): the packets are the bytes esp_encap makes for a twin SA
 * (for the AEADs, whose IV is the sequence number), and all open in order.
 */
struct burst {
	struct sa *sa;
	unsigned base;		/* seal_item's items start here */
	struct esp_frame f[66];
	int r[66];
};

static void seal_item(void *arg, unsigned i, unsigned t)
{
	struct burst *b = arg;

	b->r[b->base + i] = esp_seal(b->sa, t, &b->f[b->base + i]);
}

static void open_item(void *arg, unsigned i, unsigned t)
{
	struct burst *b = arg;

	b->r[i] = esp_open(b->sa, t, &b->f[i]);
}

static void threaded_seal(void)
{
	static uint8_t bufs[66][ROOM], twin[ROOM], ref[2048], *pkts[66];
	size_t lens[2];
	static const unsigned pools[] = { 1, 2, 4 };
	uint8_t km[128], *out, *dec, nh;
	size_t si, k, outlen, declen, len;
	unsigned pi, ok;

	for (k = 0; k < sizeof(km); k++)
		km[k] = (uint8_t)(k * 13 + 1);
	for (si = 0; si < sizeof(suites) / sizeof(suites[0]); si++)
		for (pi = 0; pi < sizeof(pools) / sizeof(pools[0]); pi++) {
			struct workers *w = workers_new(pools[pi]);
			struct sa *o = mk(suites[si], 0x77, false, km);
			struct sa *o2 = mk(suites[si], 0x77, false, km);
			struct sa *i = mk(suites[si], 0x77, true, km);
			static struct burst b;

			b.sa = o;
			CHECK(w && o && o2 && i && !sa_warm_threads(o, pools[pi]) &&
			      o->n_more == pools[pi] - 1, "%s: %u threads' contexts", suites[si],
			      pools[pi]);
			for (k = 0; k < 64; k++) {
				len = 40 + k * 23;
				fake_inner(bufs[k] + ESP_HEADROOM, len, k % 2 ? 6 : 4);
				CHECK(esp_frame(o, bufs[k] + ESP_HEADROOM, len, NULL, &b.f[k]) == ESP_OK &&
				      b.f[k].seq == k + 1, "%s: frame %zu", suites[si], k);
			}
			/* The first half on each thread's contexts in turn
			 * (whichever threads wake), the rest by the pool. */
			for (k = 0; k < 32; k++)
				b.r[k] = esp_seal(o, (unsigned)k % pools[pi], &b.f[k]);
			b.base = 32;
			workers_run(w, seal_item, &b, 32);
			for (k = 0, ok = 0; k < 64; k++) {
				len = 40 + k * 23;
				fake_inner(ref, len, k % 2 ? 6 : 4);
				memcpy(twin + ESP_HEADROOM, ref, len);
				if (!b.r[k] &&
				    esp_encap(o2, twin + ESP_HEADROOM, len, &out, &outlen) == ESP_OK &&
				    outlen == b.f[k].len && (!o->is_aead || !memcmp(out, b.f[k].hdr, outlen)))
					ok++;
			}
			CHECK(ok == 64 && o->packets == 64, "%s, %u threads: %u of 64 sealed as "
			      "esp_encap would", suites[si], pools[pi], ok);
			/* The same 64 opened as a burst, with packet 5 again
			 * (a replay within the burst) and 7 with a flipped ICV
			 * bit again: 64 delivered, one replay, one forgery. */
			memcpy(bufs[64], b.f[5].hdr, b.f[5].len);
			memcpy(bufs[65], b.f[7].hdr, b.f[7].len);
			bufs[65][b.f[7].len - 1] ^= 1;
			lens[0] = b.f[5].len;
			lens[1] = b.f[7].len;
			for (k = 0; k < 66; k++)
				pkts[k] = k < 64 ? b.f[k].hdr : bufs[k];
			b.sa = i;
			CHECK(!sa_warm_threads(i, pools[pi]), "%s: inbound contexts", suites[si]);
			for (k = 0, ok = 0; k < 66; k++)
				ok += esp_check(i, pkts[k], k < 64 ? b.f[k].len : lens[k - 64],
						&b.f[k]) == ESP_OK;
			CHECK(ok == 66, "%s: %u of 66 pass the checks before the ICV", suites[si], ok);
			workers_run(w, open_item, &b, 66);
			for (k = 0, ok = 0; k < 66; k++) {
				enum esp_result want = k < 64 ? ESP_OK : k == 64 ? ESP_REPLAY : ESP_AUTH;
				enum esp_result r = esp_accept(i, &b.f[k], b.r[k], &dec, &declen, &nh);

				len = 40 + k * 23;
				if (k < 64)
					fake_inner(ref, len, k % 2 ? 6 : 4);
				ok += r == want && (k >= 64 || (declen == len && !memcmp(dec, ref, len)));
			}
			CHECK(ok == 66 && i->packets == 64, "%s, %u threads: %u of 66 opened as "
			      "expected (64 delivered, a replay, a forgery)", suites[si], pools[pi], ok);
			sa_cool(o);
			CHECK(!o->c.aead && !o->c.cbc && !o->more && !o->n_more, "%s: cooled",
			      suites[si]);
			sa_free(o);
			sa_free(o2);
			sa_free(i);
			workers_free(w);
		}
}

enum damage { FLIP_PAYLOAD, FLIP_ICV, FLIP_SEQ, FLIP_IV, TRUNCATE, TOO_SHORT, REPLAY };

static const struct {
	int no;
	enum damage d;
	enum esp_result want;
} damages[] = {
	{ 1, FLIP_PAYLOAD, ESP_AUTH },
	{ 2, FLIP_ICV, ESP_AUTH },
	{ 3, FLIP_SEQ, ESP_AUTH },	/* the sequence number is authenticated */
	{ 4, FLIP_IV, ESP_AUTH },
	{ 5, TRUNCATE, ESP_MALFORMED },	/* no longer aligned */
	{ 6, TOO_SHORT, ESP_MALFORMED },
	{ 7, REPLAY, ESP_REPLAY },
};

static void refusals(void)
{
	uint8_t km[128] = { 1 }, buf[ROOM], copy[ROOM], *out, *dec, nh;
	size_t si, di, outlen, declen;

	for (si = 0; si < sizeof(suites) / sizeof(suites[0]); si++) {
		struct sa *o = mk(suites[si], 0x777, false, km);
		struct sa *i = mk(suites[si], 0x777, true, km);

		for (di = 0; di < sizeof(damages) / sizeof(damages[0]); di++) {
			size_t len;

			fake_inner(buf + ESP_HEADROOM, 64, 4);
			CHECK(esp_encap(o, buf + ESP_HEADROOM, 64, &out, &outlen) == ESP_OK, "encap");
			memcpy(copy, out, outlen);
			len = outlen;
			switch (damages[di].d) {
			case FLIP_PAYLOAD: copy[len - o->icv_len - 1] ^= 0x80; break;
			case FLIP_ICV: copy[len - 1] ^= 1; break;
			case FLIP_SEQ: copy[7] ^= 0x40; break;
			case FLIP_IV: copy[ESP_HDR_LEN] ^= 1; break;
			case TRUNCATE: len -= 1; break;
			case TOO_SHORT: len = ESP_HDR_LEN + 3; break;
			case REPLAY:
				CHECK(esp_decap(i, copy, len, &dec, &declen, &nh) == ESP_OK, "first");
				memcpy(copy, out, outlen);
				break;
			}
			CHECK(esp_decap(i, copy, len, &dec, &declen, &nh) == damages[di].want,
			      "%s damage #%d", suites[si], damages[di].no);
		}
		/* After all that the SA still accepts the genuine next packet. */
		fake_inner(buf + ESP_HEADROOM, 64, 4);
		CHECK(esp_encap(o, buf + ESP_HEADROOM, 64, &out, &outlen) == ESP_OK &&
		      esp_decap(i, out, outlen, &dec, &declen, &nh) == ESP_OK,
		      "%s: recovers", suites[si]);
		sa_free(o);
		sa_free(i);
	}
}

/* Packets no correct sender makes, sealed by hand with valid ICVs. */
static void crafted(void)
{
	uint8_t km[20] = { 9 }, pkt[128], nonce[12], *dec, nh;
	size_t declen;
	struct sa *i = mk("aes128gcm16", 0x999, true, km);
	struct aead *a = aead_new(AEAD_AES_GCM, km, 16, true);
	static const struct {
		int no;
		uint8_t trailer[4];	/* last 4 payload bytes: pad..., padlen, nh */
		enum esp_result want;
	} cases[] = {
		{ 1, { 1, 2, 2, NH_NONE }, ESP_DUMMY },		/* RFC 4303 §2.7 dummy */
		{ 2, { 1, 3, 2, NH_IPV4 }, ESP_MALFORMED },	/* padding not 1, 2 */
		{ 3, { 0, 0, 200, NH_IPV4 }, ESP_MALFORMED },	/* pad longer than packet */
		{ 4, { 0, 0, 0, 99 }, ESP_MALFORMED },		/* ok trailer; the inner
								 * check is the datapath's */
	};
	size_t c;

	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		uint8_t *payload = pkt + 16;

		be32_put(pkt, 0x999);
		be32_put(pkt + 4, (uint32_t)(c + 1));
		memset(pkt + 8, 0, 8);
		memset(payload, 0x45, 16);
		memcpy(payload + 12, cases[c].trailer, 4);
		memcpy(nonce, km + 16, 4);
		memcpy(nonce + 4, pkt + 8, 8);
		CHECK(aead_seal(a, nonce, pkt, 8, NULL, 0, payload, 16, payload + 16) == 0, "seal");
		if (cases[c].no == 4) {
			CHECK(esp_decap(i, pkt, 48, &dec, &declen, &nh) == ESP_OK && nh == 99,
			      "crafted #4: decap leaves the protocol to the caller");
			continue;
		}
		CHECK(esp_decap(i, pkt, 48, &dec, &declen, &nh) == cases[c].want,
		      "crafted #%d", cases[c].no);
	}
	aead_free(a);
	sa_free(i);
}

static void exhaustion(void)
{
	uint8_t km[20] = { 0 }, buf[ROOM], *out;
	size_t outlen;
	struct sa *o = mk("aes128gcm16", 0x5555, false, km);
	struct sa *e = mk("aes128gcm16-esn", 0x5556, false, km);

	o->seq = UINT32_MAX - 1;
	fake_inner(buf + ESP_HEADROOM, 40, 4);
	CHECK(esp_encap(o, buf + ESP_HEADROOM, 40, &out, &outlen) == ESP_OK, "last number");
	CHECK(be32_get(out + 4) == UINT32_MAX, "sent 2^32-1");
	fake_inner(buf + ESP_HEADROOM, 40, 4);
	CHECK(esp_encap(o, buf + ESP_HEADROOM, 40, &out, &outlen) == ESP_EXHAUSTED,
	      "no wrap without ESN (RFC 4303 §3.3.3)");
	CHECK(o->seq == UINT32_MAX && o->exhausted, "stopped");

	e->seq = UINT32_MAX;
	fake_inner(buf + ESP_HEADROOM, 40, 4);
	CHECK(esp_encap(e, buf + ESP_HEADROOM, 40, &out, &outlen) == ESP_OK &&
	      be32_get(out + 4) == 0, "ESN goes past 2^32 (low bits 0)");
	e->seq = UINT64_MAX;
	fake_inner(buf + ESP_HEADROOM, 40, 4);
	CHECK(esp_encap(e, buf + ESP_HEADROOM, 40, &out, &outlen) == ESP_EXHAUSTED,
	      "ESN stops at 2^64-1");
	sa_free(o);
	sa_free(e);
}

/*
 * Manual keys: an SA sends only numbers reserved for it (sa_seq_grant),
 * asks for more half way through a block, and drops rather than send an
 * unreserved number.  Steps run in order on one SA.
 */
static void reservations(void)
{
	static const struct {
		int no;
		const char *suite;
		int op;			/* 0: send one packet; 1: grant; 2: hold (new SA) */
		uint64_t next, limit;	/* grant */
		enum esp_result want;
		uint64_t wire;		/* sent: low 32 bits on the wire */
		bool want_more;		/* seq_want afterwards */
	} steps[] = {
		{ 1, "aes128gcm16", 2, 0, 0, ESP_OK, 0, false },
		{ 2, "aes128gcm16", 0, 0, 0, ESP_UNRESERVED, 0, true },
		{ 3, "aes128gcm16", 1, 1000, 1003, ESP_OK, 0, false },
		{ 4, "aes128gcm16", 0, 0, 0, ESP_OK, 1000, false },
		{ 5, "aes128gcm16", 0, 0, 0, ESP_OK, 1001, false },
		{ 6, "aes128gcm16", 0, 0, 0, ESP_OK, 1002, true },	/* half used */
		{ 7, "aes128gcm16", 0, 0, 0, ESP_OK, 1003, true },
		{ 8, "aes128gcm16", 0, 0, 0, ESP_UNRESERVED, 0, true },	/* 1004 is not on disk */
		{ 9, "aes128gcm16", 1, 0, 1002, ESP_OK, 0, true },	/* shrinking: ignored */
		{ 10, "aes128gcm16", 0, 0, 0, ESP_UNRESERVED, 0, true },
		{ 11, "aes128gcm16", 1, 0, 2003, ESP_OK, 0, false },
		{ 12, "aes128gcm16", 0, 0, 0, ESP_OK, 1004, false },
		/* The space ends before the reservation does: stop, never wrap. */
		{ 13, "aes128gcm16", 2, 0, 0, ESP_OK, 0, false },
		{ 14, "aes128gcm16", 1, UINT32_MAX, UINT32_MAX + 100ULL, ESP_OK, 0, false },
		{ 15, "aes128gcm16", 0, 0, 0, ESP_OK, UINT32_MAX, false },
		{ 16, "aes128gcm16", 0, 0, 0, ESP_EXHAUSTED, 0, false },
		/* With ESN the block may cross 2^32. */
		{ 17, "aes128gcm16-esn", 2, 0, 0, ESP_OK, 0, false },
		{ 18, "aes128gcm16-esn", 1, UINT32_MAX, UINT32_MAX + 1ULL, ESP_OK, 0, false },
		{ 19, "aes128gcm16-esn", 0, 0, 0, ESP_OK, UINT32_MAX, false },
		{ 20, "aes128gcm16-esn", 0, 0, 0, ESP_OK, 0, true },
		{ 21, "aes128gcm16-esn", 0, 0, 0, ESP_UNRESERVED, 0, true },
	};
	uint8_t km[20] = { 9 }, buf[ROOM], *out;
	struct sa *o = NULL;
	const char *cur = "";
	size_t i, outlen;
	enum esp_result r;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (strcmp(cur, steps[i].suite) || steps[i].op == 2) {
			sa_free(o);
			cur = steps[i].suite;
			o = mk(cur, 0x7777, false, km);
		}
		if (steps[i].op == 2) {
			sa_seq_hold(o);
			continue;
		}
		if (steps[i].op == 1) {
			sa_seq_grant(o, steps[i].next, steps[i].limit);
		} else {
			fake_inner(buf + ESP_HEADROOM, 40, 4);
			r = esp_encap(o, buf + ESP_HEADROOM, 40, &out, &outlen);
			CHECK(r == steps[i].want, "reservation #%d: result %d, want %d", steps[i].no,
			      r, steps[i].want);
			if (r == ESP_OK)
				CHECK(be32_get(out + 4) == (uint32_t)steps[i].wire,
				      "reservation #%d: sent %u", steps[i].no, be32_get(out + 4));
		}
		CHECK(o->seq_want == steps[i].want_more, "reservation #%d: seq_want %d",
		      steps[i].no, o->seq_want);
	}
	sa_free(o);
}

/* ESN: the high half is authenticated though never sent (RFC 4303 §2.2.1). */
static void esn_high_bits(void)
{
	uint8_t km[20] = { 7 }, buf[ROOM], copy[ROOM], *out, *dec, nh;
	size_t outlen, declen;
	const char *names[] = { "aes128gcm16-esn", "aes128-sha256-esn" };
	size_t n;

	for (n = 0; n < 2; n++) {
		uint8_t k2[64] = { 7 };
		const uint8_t *key = n ? k2 : km;
		struct sa *o = mk(names[n], 0x4242, false, key);
		struct sa *i = mk(names[n], 0x4242, true, key);
		struct sa *plain = mk(n ? "aes128-sha256" : "aes128gcm16", 0x4242, true, key);

		o->seq = (1ULL << 32) + 9;	/* next: 2^32 + 10 */
		i->replay.top = (1ULL << 32) + 2;
		fake_inner(buf + ESP_HEADROOM, 60, 6);
		CHECK(esp_encap(o, buf + ESP_HEADROOM, 60, &out, &outlen) == ESP_OK, "encap");
		memcpy(copy, out, outlen);
		CHECK(esp_decap(plain, copy, outlen, &dec, &declen, &nh) == ESP_AUTH,
		      "%s: a receiver without ESN cannot verify", names[n]);
		memcpy(copy, out, outlen);
		CHECK(esp_decap(i, copy, outlen, &dec, &declen, &nh) == ESP_OK, "%s: decap",
		      names[n]);
		CHECK(i->replay.top == (1ULL << 32) + 10, "%s: window at 2^32+10", names[n]);
		sa_free(o);
		sa_free(i);
		sa_free(plain);
	}
}

/*
 * The SA table grows past its first 1,024 buckets and finds every SA; the
 * sweep takes the contexts of SAs that pass nothing and leaves those that
 * do; a cold SA still seals and opens (the contexts come back).
 */
static void table_and_sweep(void)
{
	enum { NVIF = 1500, PER = 4 };
	static struct vif vifs[NVIF];
	static struct sa *in[NVIF * PER];
	uint8_t km[128] = { 7 }, buf[ROOM], ref[100], *out, *dec, nh;
	struct sa *o = mk("aes128gcm16", 0x100, false, km);
	struct sadb db;
	size_t k, outlen, declen, found = 0, cold = 0;
	unsigned t;

	CHECK(!sadb_init(&db) && o, "table");
	for (k = 0; k < NVIF * PER; k++) {
		in[k] = mk("aes128gcm16", (uint32_t)(0x1000 + k * 7919), true, km);
		vifs[k / PER].tun_fd = -1;
		CHECK(in[k] && !sadb_add_in(&db, &vifs[k / PER], in[k]), "SA %zu added", k);
	}
	for (k = 0; k < NVIF * PER; k++)
		found += sadb_lookup(&db, in[k]->spi) == in[k];
	CHECK(found == NVIF * PER && db.bits > SADB_MIN_BITS, "%zu of %d found, %u bits", found,
	      NVIF * PER, db.bits);
	/* A pass over the table: all idle since they were made, all cold. */
	for (t = 0; t < SADB_SWEEP_TICKS + 1; t++)
		sadb_sweep(&db);
	for (k = 0; k < NVIF * PER; k++)
		cold += !in[k]->c.aead;
	CHECK(cold == NVIF * PER, "%zu of %d cold", cold, NVIF * PER);
	/* One passes a packet (warm again) before the next pass: it stays
	 * warm through that one, and goes cold in the pass after. */
	CHECK(!sa_warm(in[0]), "warm");
	in[0]->packets++;
	for (t = 0; t < SADB_SWEEP_TICKS + 1; t++)
		sadb_sweep(&db);
	CHECK(in[0]->c.aead, "the busy one stays warm");
	for (t = 0; t < SADB_SWEEP_TICKS + 1; t++)
		sadb_sweep(&db);
	CHECK(!in[0]->c.aead, "and cools once idle");
	fake_inner(ref, sizeof(ref), 4);
	memcpy(buf + ESP_HEADROOM, ref, sizeof(ref));
	o->spi = in[1]->spi;
	sa_cool(o);
	CHECK(esp_encap(o, buf + ESP_HEADROOM, sizeof(ref), &out, &outlen) == ESP_OK &&
	      esp_decap(in[1], out, outlen, &dec, &declen, &nh) == ESP_OK && declen == sizeof(ref) &&
	      !memcmp(dec, ref, declen) && in[1]->c.aead, "a cold pair seals and opens");
	for (k = 0; k < NVIF * PER; k++) {
		sadb_del_in(&db, in[k]);
		sa_free(in[k]);
	}
	CHECK(db.count == 0, "table empty");
	sadb_free(&db);
	sa_free(o);
}

/*
 * CBC IVs (RFC 3602 §3: random, unpredictable) come from the DRBG,
 * ESP_IV_BATCH at a time: with a counting source, 40 packets carry 40
 * different IVs, each a block of the source's bytes, in as many draws as
 * batches; a source that fails fails the packet, not the SA; a cooled SA
 * draws afresh.
 */
static unsigned draws;
static uint16_t next_word;
static bool rand_broken;

/* Consecutive 16-bit big-endian numbers (n is even: whole IV batches). */
static int counting_rand(uint8_t *out, size_t n)
{
	if (rand_broken)
		return -EIO;
	draws++;
	for (size_t k = 0; k + 1 < n; k += 2)
		be16_put(out + k, next_word++);
	return 0;
}

static void cbc_ivs(void)
{
	uint8_t km[128] = { 0 }, buf[ROOM], seen[40][16], *out;
	struct sa *o = mk("aes256-sha256", 0x77, false, km);
	size_t outlen, k, j;
	bool distinct = true, whole = true;

	rand_set_source(counting_rand);
	for (k = 0; k < 40; k++) {
		fake_inner(buf + ESP_HEADROOM, 100, 4);
		CHECK(esp_encap(o, buf + ESP_HEADROOM, 100, &out, &outlen) == ESP_OK, "cbc encap %zu", k);
		memcpy(seen[k], out + ESP_HDR_LEN, 16);
		/* One block of the counting source: 8 consecutive numbers. */
		for (j = 1; j < 8; j++)
			whole = whole && be16_get(seen[k] + 2 * j) == be16_get(seen[k]) + j;
		for (j = 0; j < k; j++)
			distinct = distinct && memcmp(seen[j], seen[k], 16) != 0;
	}
	CHECK(whole && distinct, "40 CBC IVs: each a block of the source, all different");
	CHECK(draws == (40 + ESP_IV_BATCH - 1) / ESP_IV_BATCH, "40 CBC IVs in %u draws", draws);
	rand_broken = true;
	for (k = 40; k % ESP_IV_BATCH; k++) {	/* what is left of the last batch */
		fake_inner(buf + ESP_HEADROOM, 100, 4);
		CHECK(esp_encap(o, buf + ESP_HEADROOM, 100, &out, &outlen) == ESP_OK, "batch left %zu", k);
	}
	fake_inner(buf + ESP_HEADROOM, 100, 4);
	CHECK(esp_encap(o, buf + ESP_HEADROOM, 100, &out, &outlen) == ESP_INTERNAL,
	      "no IV without the DRBG");
	rand_broken = false;
	sa_cool(o);
	draws = 0;
	fake_inner(buf + ESP_HEADROOM, 100, 4);
	CHECK(esp_encap(o, buf + ESP_HEADROOM, 100, &out, &outlen) == ESP_OK && draws == 1,
	      "a cooled SA draws afresh");
	rand_set_source(NULL);
	sa_free(o);
}

int main(void)
{
	rfc7634_example();
	cbc_ivs();
	round_trips();
	refusals();
	crafted();
	exhaustion();
	reservations();
	esn_high_bits();
	table_and_sweep();
	threaded_seal();
	return test_done();
}
