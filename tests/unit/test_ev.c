/*
 * test_ev.c - the event loop (src/lib/ev.c) with and without busy polling.
 *
 * A table of cases, each run with busy-poll off and on: a chain of events
 * where each callback causes the next one (what a tunnel's round trip
 * does: the answer arrives while the loop polls, or after it slept); a
 * stream of events that never stops (the tick must still run: the poll
 * window must not starve it); an idle loop (the tick runs, nothing else).
 * No case asserts a time: alarm() turns a loop that never ends into a
 * failure.
 */
#include <signal.h>
#include <unistd.h>

#include "lib/ev.h"
#include "test.h"

struct run {
	struct ev *ev;
	int p[2];
	unsigned events, ticks, chain, stop_ticks;
	bool drain;		/* read the byte: the next event needs a new one */
};

static void on_pipe(void *arg)
{
	struct run *r = arg;
	char c = 0;

	r->events++;
	if (r->drain && read(r->p[0], &c, 1) != 1)
		return;
	if (r->chain && r->events >= r->chain)
		ev_stop(r->ev);
	else if (r->drain && write(r->p[1], &c, 1) != 1)
		ev_stop(r->ev);
}

static void on_tick(void *arg)
{
	struct run *r = arg;

	if (++r->ticks >= r->stop_ticks && r->stop_ticks)
		ev_stop(r->ev);
}

struct evcase {
	const char *what;
	unsigned chain;		/* stop after this many events (0: by the tick) */
	bool drain;
	bool start;		/* a byte in the pipe before the loop runs */
	unsigned stop_ticks;	/* stop after this many ticks (0: by the chain) */
	unsigned min_events;	/* at least this many events seen */
};

static const struct evcase cases[] = {
	{ "a chain of 1000 events, each causing the next", 1000, true, true, 0, 1000 },
	{ "events that never stop: the tick still runs", 0, false, true, 3, 1 },
	{ "idle: only the tick", 0, true, false, 2, 0 },
};

static void on_alarm(int sig)
{
	(void)sig;
	static const char m[] = "test_ev: a loop did not end\n";

	if (write(2, m, sizeof(m) - 1) < 0)
		_exit(2);
	_exit(1);
}

static void run_case(const struct evcase *c, unsigned busy_us)
{
	struct run r = { .chain = c->chain, .drain = c->drain, .stop_ticks = c->stop_ticks };
	int rc;

	r.ev = ev_new();
	CHECK(r.ev != NULL, "ev_new");
	if (!r.ev)
		return;
	CHECK(pipe(r.p) == 0, "pipe");
	CHECK(ev_add(r.ev, r.p[0], on_pipe, &r) == 0, "ev_add");
	if (c->stop_ticks)
		ev_set_tick(r.ev, 1, on_tick, &r);
	ev_set_busy_poll(r.ev, busy_us);
	if (c->start)
		CHECK(write(r.p[1], "x", 1) == 1, "write");
	alarm(10);
	rc = ev_run(r.ev);
	alarm(0);
	CHECK(rc == 0, "%s, busy-poll %u: ev_run %d", c->what, busy_us, rc);
	CHECK(r.events >= c->min_events, "%s, busy-poll %u: %u events", c->what, busy_us,
	      r.events);
	if (c->chain)
		CHECK(r.events == c->chain, "%s, busy-poll %u: %u events", c->what, busy_us,
		      r.events);
	if (c->stop_ticks)
		CHECK(r.ticks == c->stop_ticks, "%s, busy-poll %u: %u ticks", c->what, busy_us,
		      r.ticks);
	if (!c->start)
		CHECK(r.events == 0, "%s, busy-poll %u: %u events", c->what, busy_us, r.events);
	ev_del(r.ev, r.p[0]);
	close(r.p[0]);
	close(r.p[1]);
	ev_free(r.ev);
}

int main(void)
{
	static const unsigned busy[] = { 0, 50, 1000 };
	size_t i, j;

	signal(SIGALRM, on_alarm);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		for (j = 0; j < sizeof(busy) / sizeof(busy[0]); j++)
			run_case(&cases[i], busy[j]);
	return test_done();
}
