/*
 * tick_bench.c - what one IKE tick costs with N idle established IKE
 * SAs, each serving its own connection, in one process (no sockets: the
 * SAs are made in memory, as tests/unit/test_timer.c does).  It prints
 * the mean time of a tick walking every SA and connection (the tick
 * before the timer heap, kept as ike_ctx.full_scan) and of a tick with
 * the heap (src/ike/timer.c), and how many SAs each looked at.
 *
 *   tick_bench [N]        (default 10000)
 */
#include <time.h>

#include "inmem.h"

static double mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* ticks ticks 100 ms apart (on the fake clock, well inside dpd): mean
 * microseconds per tick, and SA timer runs per tick. */
static void measure(struct ike_ctx *ctx, bool full_scan, unsigned ticks, double *us, double *runs)
{
	uint64_t r0;
	double t0;
	unsigned k;

	ctx->full_scan = full_scan;
	fake_now += 100;
	ike_tick(ctx);		/* settles due times after a switch */
	r0 = ctx->timer_runs;
	t0 = mono_us();
	for (k = 0; k < ticks; k++) {
		fake_now += 100;
		ike_tick(ctx);
	}
	*us = (mono_us() - t0) / ticks;
	*runs = (double)(ctx->timer_runs - r0) / ticks;
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 10000, k;
	struct ike_ctx *ctx;
	struct ike_sa *sa;
	double scan_us, scan_runs, heap_us, heap_runs;

	clock_set_source(fake_clock);
	log_set_level(LOG_ERR);
	setup("psk = bench-secret\ndpd = 30\n", "psk = bench-secret\n");
	settle();
	ctx = nodes[0].ike;
	for (k = 0; k < n; k++) {
		struct ike_conn *c = ike_conn_add(ctx, &nodes[0].pol, &sim_ops, &nodes[0]);

		sa = ikesa_new(ctx, true);
		if (!c || !sa || ikesa_set_conn(sa, c))
			return 2;
		sa->state = IKE_S_ESTABLISHED;
		sa->established_ms = fake_now;
	}
	/* 100 ticks = 10 s of the fake clock, twice, inside dpd = 30 s. */
	measure(ctx, true, 100, &scan_us, &scan_runs);
	measure(ctx, false, 100, &heap_us, &heap_runs);
	printf("%u idle established IKE SAs, %u connections, one tick (mean of 100):\n", n + 1,
	       n + 1);
	printf("  full scan: %10.0f ns, %8.1f SAs looked at\n", scan_us * 1000, scan_runs);
	printf("  heap:      %10.0f ns, %8.1f SAs looked at\n", heap_us * 1000, heap_runs);
	for (sa = ctx->sas; sa; sa = sa->next)
		if (!sa->sk) {
			ikesa_set_conn(sa, NULL);
			sa->state = IKE_S_DEAD;
			ikesa_touch(sa);
		}
	fake_now += 100;
	ike_tick(ctx);
	return 0;
}
