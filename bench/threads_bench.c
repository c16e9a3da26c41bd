/*
 * threads_bench.c - the crypto threads alone ([daemon] crypto-threads,
 * lib/workers.h): bursts of packets framed in order, sealed by
 * workers_run on 1..N threads, then pre-checked, opened by workers_run and
 * accepted in order, as the datapath does, with no I/O.  Prints, for each
 * burst length and thread count, Gbit/s of inner bytes sealed and opened
 * and the ratio to one thread (fork-join wake-ups included).  Not a test:
 * it asserts nothing about speed; only ratios within one run mean much.
 * Usage: threads_bench [SUITE [SIZE [MAX-THREADS [SECONDS]]]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "esp/esp.h"
#include "lib/cursor.h"
#include "lib/workers.h"

#define BURST_MAX 128

struct run {
	struct sa *sa;
	struct esp_frame f[BURST_MAX];
	int r[BURST_MAX];
};

static void seal(void *arg, unsigned i, unsigned t)
{
	struct run *r = arg;

	r->r[i] = esp_seal(r->sa, t, &r->f[i]);
}

static void open_(void *arg, unsigned i, unsigned t)
{
	struct run *r = arg;

	r->r[i] = esp_open(r->sa, t, &r->f[i]);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Bursts of burst packets for secs seconds on a pool of threads threads:
 * the inner bytes a second sealed (*seal_bps) and opened (*open_bps). */
static int measure(const struct esp_suite *s, size_t size, unsigned burst, unsigned threads,
		   double secs, uint8_t *mem, double *seal_bps, double *open_bps)
{
	static uint8_t key[128];
	static struct run r;
	struct sa *out = sa_new(0x1000, false, s, key, esp_suite_keymat_len(s), 0);
	struct sa *in = sa_new(0x1000, true, s, key, esp_suite_keymat_len(s), 4096);
	struct workers *w = workers_new(threads);
	size_t stride = ESP_HEADROOM + size + ESP_TAILROOM, ilen;
	double t0, ts = 0, to = 0, bytes = 0;
	uint8_t *inner, nh;
	unsigned i;
	int bad = 0;

	if (!out || !in || !w || sa_warm_threads(out, threads) || sa_warm_threads(in, threads))
		return -1;
	for (t0 = now(); now() - t0 < secs && !bad;) {
		double a, b, c;

		for (i = 0; i < burst; i++) {
			inner = mem + i * stride + ESP_HEADROOM;
			memset(inner, 0x5a, size);
			inner[0] = 0x45;
			be16_put(inner + 2, (uint16_t)size);
		}
		a = now();
		for (i = 0; i < burst; i++)
			bad |= esp_frame(out, mem + i * stride + ESP_HEADROOM, size, NULL, &r.f[i]) !=
			       ESP_OK;
		r.sa = out;
		workers_run(w, seal, &r, burst);
		b = now();
		for (i = 0; i < burst; i++)
			bad |= r.r[i] || esp_check(in, r.f[i].hdr, r.f[i].len, &r.f[i]) != ESP_OK;
		r.sa = in;
		workers_run(w, open_, &r, burst);
		for (i = 0; i < burst; i++)
			bad |= esp_accept(in, &r.f[i], r.r[i], &inner, &ilen, &nh) != ESP_OK;
		c = now();
		ts += b - a;
		to += c - b;
		bytes += (double)burst * (double)size;
	}
	*seal_bps = bytes * 8 / ts;
	*open_bps = bytes * 8 / to;
	sa_free(out);
	sa_free(in);
	workers_free(w);
	return bad ? -1 : 0;
}

int main(int argc, char **argv)
{
	static const unsigned bursts[] = { 8, 16, 24, 32, 64, 128 };
	const char *suite = argc > 1 ? argv[1] : "aes128gcm16";
	size_t size = argc > 2 ? (size_t)atol(argv[2]) : 1400;
	unsigned max = argc > 3 ? (unsigned)atoi(argv[3]) : 2, b, t;
	double secs = argc > 4 ? atof(argv[4]) : 1, s1 = 0, o1 = 0, sb, ob;
	struct esp_suite s;
	char why[128];
	uint8_t *mem;

	if (esp_suite_parse(suite, &s, why, sizeof(why)) || size < 40 || size > 9000 || max < 1 ||
	    max > 16 || secs <= 0) {
		fprintf(stderr, "usage: threads_bench [SUITE [SIZE (40-9000) [MAX-THREADS (1-16) "
			"[SECONDS]]]]\n");
		return 2;
	}
	mem = malloc(BURST_MAX * (ESP_HEADROOM + size + ESP_TAILROOM));
	if (!mem)
		return 1;
	printf("%s, %zu-byte packets, %.1f s a cell; Gbit/s of inner bytes, and / 1 thread\n\n",
	       suite, size, secs);
	printf("| burst | threads | seal Gbit/s | / 1 | open Gbit/s | / 1 |\n");
	printf("|------:|--------:|------------:|----:|------------:|----:|\n");
	for (b = 0; b < sizeof(bursts) / sizeof(bursts[0]); b++)
		for (t = 1; t <= max; t++) {
			if (measure(&s, size, bursts[b], t, secs, mem, &sb, &ob) < 0) {
				fprintf(stderr, "burst %u, %u threads: a packet failed\n", bursts[b], t);
				return 1;
			}
			if (t == 1) {
				s1 = sb;
				o1 = ob;
			}
			printf("| %5u | %7u | %11.2f | %4.2f | %11.2f | %4.2f |\n", bursts[b], t,
			       sb / 1e9, sb / s1, ob / 1e9, ob / o1);
		}
	free(mem);
	return 0;
}
