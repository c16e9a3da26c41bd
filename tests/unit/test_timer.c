/*
 * test_timer.c - IKE timers kept in a heap (src/ike/timer.c, lib/heap.c).
 *
 * The heap itself against a brute-force minimum; then one in-memory
 * initiator/responder pair driven through establishment, Child SA and
 * IKE SA rekeys, liveness checks, a peer that goes silent (retransmission,
 * "peer dead", re-initiation with back-off), its return and a lossy link,
 * once with the tick that walks every SA and connection (as before the
 * heap) and once with the heap: both must send the same messages at the
 * same times and report the same to the tunnel.  A tick with many idle
 * established SAs looks at none of them; inbound ESP counts from when it
 * arrived, not from when the timers looked.  Initiations the tick starts are
 * paced ([daemon] initiate-rate) but vtictl up is not; retransmission and
 * re-initiation intervals are jittered within their bounds.
 */
#include "inmem.h"
#include "lib/heap.h"
#include "test.h"

/* ---- the heap ---- */

struct item {
	struct heap_node hn;
	uint64_t due;
	bool in;
};

static uint32_t lcg = 12345;

static uint32_t next_rand(void)
{
	lcg = lcg * 1103515245u + 12345u;
	return lcg >> 8;
}

static void t_heap(void)
{
	enum { N = 300, STEPS = 20000 };
	static struct item it[N];
	struct heap h = { 0 };
	unsigned i, k, bad = 0;

	memset(it, 0, sizeof(it));
	for (k = 0; k < STEPS; k++) {
		struct heap_node *top;
		uint64_t min = UINT64_MAX;

		i = next_rand() % N;
		switch (next_rand() % 3) {
		case 0:
		case 1:
			it[i].due = next_rand() % 1000;
			if (heap_set(&h, &it[i].hn, it[i].due))
				bad++;
			it[i].in = true;
			break;
		default:
			heap_del(&h, &it[i].hn);
			it[i].in = false;
			break;
		}
		for (i = 0; i < N; i++)
			if (it[i].in && it[i].due < min)
				min = it[i].due;
		top = heap_top(&h);
		if (min == UINT64_MAX ? top != NULL : !top || top->due != min)
			bad++;
	}
	CHECK(!bad, "heap: the top is always the minimum (%u mismatches)", bad);
	/* Taking the top out again and again gives the due times in order. */
	for (k = 0, i = 0; heap_top(&h); k++) {
		struct heap_node *top = heap_top(&h);

		if (top->due < i)
			bad++;
		i = (unsigned)top->due;
		heap_del(&h, top);
	}
	CHECK(!bad && h.n == 0, "heap: drained in order (%u out of order)", bad);
	heap_free(&h);
}

/* ---- the same events with and without the heap ---- */

/* Deterministic randomness, so that jittered rekey times are the same
 * in both runs. */
static uint64_t rng;

static int fake_rand(uint8_t *out, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
		out[i] = (uint8_t)(rng >> 56);
	}
	return 0;
}

struct event {
	uint64_t t;
	int to;
	uint8_t exchange, flags;
	uint32_t msgid;
	/* what the tunnels were told, as of this event */
	unsigned installs[2], removes[2], deaths[2], rekeys[2];
	int state[2];
};

#define MAX_EVENTS 4096
static struct event evlog[2][MAX_EVENTS];
static unsigned n_ev[2];
static int run;

static void snapshot(struct event *e)
{
	int i;

	for (i = 0; i < 2; i++) {
		e->installs[i] = nodes[i].installs;
		e->removes[i] = nodes[i].removes;
		e->deaths[i] = nodes[i].deaths;
		e->rekeys[i] = nodes[i].ike_rekeys;
		e->state[i] = nodes[i].state;
	}
}

static void tap(const struct pkt *p)
{
	struct event *e;
	struct ike_hdr h;

	if (n_ev[run] == MAX_EVENTS || ike_hdr_parse(p->data, p->len, &h))
		return;
	e = &evlog[run][n_ev[run]++];
	memset(e, 0, sizeof(*e));
	e->t = fake_now;
	e->to = p->to;
	e->exchange = h.exchange;
	e->flags = h.flags;
	e->msgid = h.msgid;
	snapshot(e);
}

/* One 100 ms step: both timers, then the network (lose drops one
 * message in lose, 0: none). */
static void step(unsigned lose, unsigned *count)
{
	fake_now += 100;
	ike_tick(nodes[0].ike);
	ike_tick(nodes[1].ike);
	while (qlen) {
		if (lose && ++*count % lose == 0)
			drop(0);
		else
			deliver(0);
	}
}

static uint64_t scenario(bool full_scan)
{
	const char *extra = "psk = timer-test-secret\nike-lifetime = 120\nesp-lifetime = 60\n"
			    "dpd = 10\n";
	uint64_t runs;
	unsigned k, count = 0;
	int i;

	fake_now = 1000000;
	rng = 42;
	run = full_scan ? 0 : 1;
	n_ev[run] = 0;
	setup(extra, extra);
	for (i = 0; i < 2; i++)
		nodes[i].ike->full_scan = full_scan;
	inmem_tap = tap;
	for (k = 0; k < 4000; k++)	/* 400 s: rekeys of both kinds, liveness */
		step(0, &count);
	for (k = 0; k < 1000; k++)	/* 100 s: nothing arrives */
		step(1, &count);
	for (k = 0; k < 2000; k++)	/* 200 s: back */
		step(0, &count);
	for (k = 0; k < 3000; k++)	/* 300 s: every third message lost */
		step(3, &count);
	inmem_tap = NULL;
	runs = nodes[0].ike->timer_runs + nodes[1].ike->timer_runs;
	teardown();
	return runs;
}

static int ev_cmp(const void *x, const void *y)
{
	const struct event *a = x, *b = y;

	if (a->t != b->t)
		return a->t < b->t ? -1 : 1;
	if (a->to != b->to)
		return a->to - b->to;
	if (a->exchange != b->exchange)
		return a->exchange - b->exchange;
	if (a->flags != b->flags)
		return a->flags - b->flags;
	return a->msgid < b->msgid ? -1 : a->msgid > b->msgid;
}

static void t_same_events(void)
{
	uint64_t scan_runs, heap_runs;
	unsigned k, first_diff = MAX_EVENTS, kinds[256] = { 0 };

	rand_set_source(fake_rand);
	scan_runs = scenario(true);
	heap_runs = scenario(false);
	rand_set_source(NULL);
	/* Within one tick the order between SAs may differ; what was sent
	 * in which tick may not. */
	qsort(evlog[0], n_ev[0], sizeof(evlog[0][0]), ev_cmp);
	qsort(evlog[1], n_ev[1], sizeof(evlog[1][0]), ev_cmp);
	for (k = 0; k < n_ev[0] && k < n_ev[1]; k++)
		if (memcmp(&evlog[0][k], &evlog[1][k], sizeof(evlog[0][k]))) {
			first_diff = k;
			break;
		}
	for (k = 0; k < n_ev[1]; k++)
		kinds[evlog[1][k].exchange]++;
	CHECK(n_ev[0] > 100 && n_ev[0] < MAX_EVENTS, "scenario: %u messages", n_ev[0]);
	CHECK(kinds[CREATE_CHILD_SA] >= 8 && kinds[INFORMATIONAL] >= 8 &&
		      kinds[IKE_SA_INIT] >= 4,
	      "scenario: rekeys (%u), informational (%u), re-initiations (%u)",
	      kinds[CREATE_CHILD_SA], kinds[INFORMATIONAL], kinds[IKE_SA_INIT]);
	CHECK(n_ev[0] == n_ev[1] && first_diff == MAX_EVENTS,
	      "heap and full scan: same events (%u and %u, first difference at %u: t=%llu)",
	      n_ev[0], n_ev[1], first_diff,
	      first_diff < MAX_EVENTS ? (unsigned long long)evlog[0][first_diff].t : 0ULL);
	if (first_diff < MAX_EVENTS && first_diff < n_ev[1]) {
		const struct event *a = &evlog[0][first_diff], *b = &evlog[1][first_diff];

		fprintf(stderr, "scan: t=%llu to=%d exch=%u flags=%02x id=%u\n"
			"heap: t=%llu to=%d exch=%u flags=%02x id=%u\n",
			(unsigned long long)a->t, a->to, a->exchange, a->flags, a->msgid,
			(unsigned long long)b->t, b->to, b->exchange, b->flags, b->msgid);
	}
	if (getenv("TIMER_DUMP"))
		for (k = 0; k < n_ev[0] || k < n_ev[1]; k++) {
			const struct event *a = &evlog[0][k], *b = &evlog[1][k];

			fprintf(stderr, "%4u %8llu %d %2u %02x %3u | %8llu %d %2u %02x %3u\n", k,
				k < n_ev[0] ? (unsigned long long)a->t : 0ULL, a->to, a->exchange,
				a->flags, a->msgid, k < n_ev[1] ? (unsigned long long)b->t : 0ULL,
				b->to, b->exchange, b->flags, b->msgid);
		}
	CHECK(heap_runs * 10 < scan_runs, "heap: SA timers ran %llu times, full scan %llu",
	      (unsigned long long)heap_runs, (unsigned long long)scan_runs);
}

/* ---- many idle SAs cost nothing per tick ---- */

static void t_idle_many(void)
{
	enum { N = 2000 };
	struct ike_ctx *ctx;
	struct ike_sa *sa;
	uint64_t before;
	unsigned k;

	fake_now = 1000000;
	setup("psk = timer-test-secret\ndpd = 30\n", "psk = timer-test-secret\n");
	settle();
	ctx = nodes[0].ike;
	/* Established, idle, liveness checked every 30 s: nothing is due
	 * before then. */
	for (k = 0; k < N; k++) {
		sa = ikesa_new(ctx, true);
		if (!sa || ikesa_set_conn(sa, nodes[0].conn))
			exit(2);
		sa->state = IKE_S_ESTABLISHED;
	}
	fake_now += 100;
	ike_tick(ctx);		/* each new SA is due once: its due time is computed */
	before = ctx->timer_runs;
	for (k = 0; k < 100; k++) {	/* 10 s */
		fake_now += 100;
		ike_tick(ctx);
	}
	CHECK(ctx->timer_runs - before <= 5,
	      "%u idle SAs, 100 ticks: %llu SA timer runs (a full scan: %u)", N,
	      (unsigned long long)(ctx->timer_runs - before), 100 * (N + 1));
	/* Each is due when its liveness check is, not later. */
	before = 0;
	for (sa = ctx->sas; sa; sa = sa->next)
		before += !sa->sk && (sa->timer.due > sa->last_rx_ms + 30000 ||
				      sa->timer.due <= fake_now);
	CHECK(!before, "%u idle SAs: %llu not due at their liveness check", N,
	      (unsigned long long)before);
	for (sa = ctx->sas; sa; sa = sa->next)
		if (!sa->sk) {
			sa->state = IKE_S_DEAD;
			ikesa_touch(sa);
		}
	qlen = 0;
	fake_now += 100;
	ike_tick(ctx);
	CHECK(sas(0) == 1, "dead SAs are freed by the next tick (%u left)", sas(0));
	teardown();
}

/* ---- inbound ESP is proof of life, at the time it arrived ---- */

static unsigned dpd_sent;
static uint64_t dpd_at;

static void dpd_tap(const struct pkt *p)
{
	struct ike_hdr h;

	if (p->to == 1 && !ike_hdr_parse(p->data, p->len, &h) && h.exchange == INFORMATIONAL &&
	    !(h.flags & IKE_FLAG_RESPONSE) && !dpd_sent++)
		dpd_at = fake_now;
}

/* The liveness check runs when dpd is due, not every tick: an ESP packet
 * that came in between counts from when the datapath saw it (sa->rx_ms),
 * so the check comes dpd after that packet, not dpd after the moment the
 * timers happened to look. */
static void t_esp_liveness(void)
{
	struct ike_sa *sa;
	struct sa *in;
	uint64_t up, heard;
	unsigned k;

	fake_now = 1000000;
	setup("psk = liveness-secret\ndpd = 10\n", "psk = liveness-secret\ndpd = 0\n");
	settle();
	sa = established(0);
	CHECK(sa && sa->child[0].in, "up");
	if (!sa || !sa->child[0].in) {
		teardown();
		return;
	}
	up = fake_now;
	heard = up + 6000;
	in = sa->child[0].sa;
	dpd_sent = 0;
	inmem_tap = dpd_tap;
	for (k = 0; k < 300; k++) {	/* 30 s */
		fake_now += 100;
		/* One inbound packet at 6 s, as the datapath counts it. */
		if (fake_now == heard) {
			in->packets++;
			in->rx_ms = fake_now;
		}
		ike_tick(nodes[0].ike);
		ike_tick(nodes[1].ike);
		while (qlen)
			deliver(0);
		if (dpd_sent)
			break;
	}
	inmem_tap = NULL;
	CHECK(dpd_sent && dpd_at >= heard + 10000 && dpd_at <= heard + 10100,
	      "liveness check dpd after the last ESP packet: at +%lld ms (want +10000)",
	      dpd_sent ? (long long)(dpd_at - heard) : -1LL);
	teardown();
}

/* ---- pacing of initiations ---- */

/* N tunnels started at once: at most a tenth of the rate (a 100 ms
 * tick's worth) new IKE SAs a tick, all within N / rate seconds and a
 * tick; a few start in the first tick, as one always did. */
static void t_pacing(void)
{
	static const struct {
		unsigned n, rate;	/* rate 0: the default, INIT_RATE */
		unsigned first_tick;	/* new SAs in the first tick */
	} rows[] = {
		{ 1, 0, 1 },	 { 2, 0, 2 },	     { 20, 0, 20 },	{ 21, 0, 20 },
		{ 100, 0, 20 },	 { 1000, 0, 20 },    { 3000, 0, 20 },	{ 3000, 1000, 100 },
		{ 1, 5, 1 },	 { 10, 5, 1 },	     { 500, 100000, 500 },
	};
	unsigned r, k;

	for (r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		unsigned n = rows[r].n, rate = rows[r].rate ? rows[r].rate : INIT_RATE;
		unsigned burst = rate / 10 ? rate / 10 : 1, ticks = 0, most = 0, first = 0, prev = 0;
		unsigned window = n > burst ? ((n - burst) * 10 + rate - 1) / rate + 1 : 1, now_n;

		fake_now = 1000000;
		setup("psk = pacing-secret\n", "psk = pacing-secret\n");
		if (rows[r].rate)
			ike_set_initiate_rate(nodes[0].ike, rows[r].rate);
		for (k = 1; k < n; k++)
			if (!ike_conn_add(nodes[0].ike, &nodes[0].pol, &sim_ops, &nodes[0]))
				exit(2);
		while (ticks < window + 20) {
			fake_now += 100;
			ike_tick(nodes[0].ike);
			qlen = 0;	/* nobody answers */
			ticks++;
			now_n = sas(0);
			if (now_n - prev > most)
				most = now_n - prev;
			if (ticks == 1)
				first = now_n;
			prev = now_n;
			if (now_n >= n)
				break;
		}
		CHECK(first == rows[r].first_tick, "%u tunnels at %u/s: %u initiated in the first tick",
		      n, rate, first);
		CHECK(most <= burst, "%u tunnels at %u/s: at most %u a tick (%u)", n, rate, burst,
		      most);
		CHECK(prev == n && ticks <= window, "%u tunnels at %u/s: all %u initiated in %u ticks (%u)",
		      n, rate, prev, window, ticks);
		teardown();
	}

	/* The bucket is empty: a tunnel the operator brings up (vtictl up)
	 * still initiates at once. */
	fake_now = 1000000;
	setup("psk = pacing-secret\n", "psk = pacing-secret\n");
	{
		struct ike_conn *c[200];
		unsigned before;

		for (k = 0; k < 200; k++)
			if (!(c[k] = ike_conn_add(nodes[0].ike, &nodes[0].pol, &sim_ops, &nodes[0])))
				exit(2);
		fake_now += 100;
		ike_tick(nodes[0].ike);
		qlen = 0;
		before = sas(0);
		for (k = 0; k < 200 && sas(0) == before; k++)
			if (ike_conn_idle(c[k]))
				ike_conn_up(c[k]);
		CHECK(before == INIT_BURST && sas(0) == before + 1,
		      "vtictl up initiates at once with the bucket empty (%u, %u)", before, sas(0));
		qlen = 0;
	}
	teardown();
}

/* Retransmission intervals and re-initiation back-off are shortened at
 * random by up to RETX_JITTER / REINIT_JITTER percent, never lengthened. */
static void t_jitter(void)
{
	static const struct {
		uint64_t ms;
		unsigned pct;
	} rows[] = {
		{ 1000, RETX_JITTER }, { 16000, RETX_JITTER }, { 1000, REINIT_JITTER },
		{ 30000, REINIT_JITTER }, { 5, 10 }, { 0, 20 },
	};
	unsigned r, k;

	for (r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		uint64_t lo = rows[r].ms - rows[r].ms * rows[r].pct / 100, min = UINT64_MAX, max = 0;
		unsigned out = 0;

		for (k = 0; k < 2000; k++) {
			uint64_t v = ike_jitter(rows[r].ms, rows[r].pct);

			out += v < lo || v > rows[r].ms;
			min = v < min ? v : min;
			max = v > max ? v : max;
		}
		CHECK(!out, "jitter %llu ms, %u%%: %u outside [%llu, %llu]",
		      (unsigned long long)rows[r].ms, rows[r].pct, out, (unsigned long long)lo,
		      (unsigned long long)rows[r].ms);
		/* Spread over the whole range, not stuck at one end. */
		CHECK(rows[r].ms < 100 || (min < lo + (rows[r].ms - lo) / 10 &&
					   max > rows[r].ms - (rows[r].ms - lo) / 10),
		      "jitter %llu ms, %u%%: spread %llu-%llu", (unsigned long long)rows[r].ms,
		      rows[r].pct, (unsigned long long)min, (unsigned long long)max);
	}
}

int main(void)
{
	clock_set_source(fake_clock);
	log_set_level(LOG_ERR);
	t_heap();
	t_same_events();
	t_idle_many();
	t_esp_liveness();
	t_pacing();
	t_jitter();
	return test_done();
}
