/*
 * test_replay.c - the anti-replay window (RFC 4303 §3.4.3, Appendix A;
 * RFC 6479) as numbered tables of (sequence number on the wire, is the
 * packet authentic, verdict, inferred 64-bit number).
 */
#include <errno.h>
#include <stdint.h>

#include "esp/replay.h"
#include "test.h"

enum verdict { ACCEPT, REPLAY, ZERO, FORGED };
/* FORGED: replay_check lets it through, the ICV then fails, so the
 * window must not move (replay_update is not called). */

struct step {
	int no;
	uint32_t seq_lo;
	enum verdict v;
	uint64_t seq;		/* inferred full number, checked when != 0 */
};

struct scenario {
	const char *name;
	uint32_t window;
	bool esn;
	const struct step *steps;
	size_t n;
};

static const struct step plain64[] = {
	{ 1, 1, ACCEPT, 1 },
	{ 2, 1, REPLAY, 1 },
	{ 3, 3, ACCEPT, 3 },
	{ 4, 2, ACCEPT, 2 },		/* late but inside the window */
	{ 5, 2, REPLAY, 2 },
	{ 6, 0, ZERO, 0 },		/* sequence number 0 is never sent */
	{ 7, 100, ACCEPT, 100 },
	{ 8, 37, ACCEPT, 37 },		/* 100 - 37 = 63: the oldest slot */
	{ 9, 36, REPLAY, 36 },		/* 100 - 36 = 64: left of the window */
	{ 10, 37, REPLAY, 37 },
	{ 11, 99, FORGED, 99 },		/* failed ICV must not mark 99 seen */
	{ 12, 99, ACCEPT, 99 },
	{ 13, 1000, ACCEPT, 1000 },	/* jump further than the whole ring */
	{ 14, 999, ACCEPT, 999 },
	{ 15, 936, REPLAY, 936 },
	{ 16, 937, ACCEPT, 937 },
	{ 17, 1000, REPLAY, 1000 },
	{ 18, 100, REPLAY, 100 },
	{ 19, 1064, ACCEPT, 1064 },	/* exactly one word ahead */
	{ 20, 1000, REPLAY, 1000 },	/* 64 behind: out */
	{ 21, 1001, ACCEPT, 1001 },	/* 63 behind: in, and its bit was cleared */
	{ 22, 0xffffffff, ACCEPT, 0xffffffff },
	{ 23, 0xffffffc1, ACCEPT, 0xffffffc1 },	/* 62 behind */
	{ 24, 0xffffffbf, REPLAY, 0xffffffbf },	/* 64 behind */
};

/* ESN: the window crosses the 2^32 boundary (RFC 4303 Appendix A2). */
static const struct step esn64[] = {
	{ 1, 1, ACCEPT, 1 },
	{ 2, 0xfffffff0, ACCEPT, 0xfffffff0 },
	{ 3, 0x00000005, ACCEPT, 0x100000005 },	/* into the next block */
	{ 4, 0xfffffff8, ACCEPT, 0xfffffff8 },	/* late, from the previous block */
	{ 5, 0xfffffff8, REPLAY, 0xfffffff8 },
	{ 6, 0xfffffff0, REPLAY, 0xfffffff0 },
	{ 7, 0x00000005, REPLAY, 0x100000005 },
	/* Below the window in low bits: taken as the *next* block, which
	 * only the ICV (computed over seq_hi) can refute. */
	{ 8, 0xffffffc5, FORGED, 0x1ffffffc5 },
	{ 9, 0x00000006, ACCEPT, 0x100000006 },
	{ 10, 0x00000000, ACCEPT, 0x100000000 },	/* low 0 is fine with ESN */
	{ 11, 0x80000000, ACCEPT, 0x180000000 },
	{ 12, 0x7fffffc1, ACCEPT, 0x17fffffc1 },	/* oldest slot */
	{ 13, 0x7fffffc0, FORGED, 0x27fffffc0 },	/* left edge: next block */
	{ 14, 0x00000001, ACCEPT, 0x200000001 },	/* wraps again */
	{ 15, 0xffffffff, ACCEPT, 0x1ffffffff },	/* late across the wrap */
	{ 16, 0xffffffff, REPLAY, 0x1ffffffff },
};

static const struct step plain1024[] = {
	{ 1, 5000, ACCEPT, 5000 },
	{ 2, 3977, ACCEPT, 3977 },	/* 1023 behind */
	{ 3, 3976, REPLAY, 3976 },	/* 1024 behind */
	{ 4, 4500, ACCEPT, 4500 },
	{ 5, 4500, REPLAY, 4500 },
	{ 6, 6000, ACCEPT, 6000 },
	{ 7, 4977, ACCEPT, 4977 },
	{ 8, 4976, REPLAY, 4976 },
	{ 9, 4500, REPLAY, 4500 },
};

static const struct step plain4096[] = {
	{ 1, 10000, ACCEPT, 10000 },
	{ 2, 5905, ACCEPT, 5905 },	/* 4095 behind */
	{ 3, 5904, REPLAY, 5904 },
	{ 4, 9999, ACCEPT, 9999 },
	{ 5, 14095, ACCEPT, 14095 },
	{ 6, 10000, REPLAY, 10000 },	/* seen at step 1, still in the window */
	{ 7, 14096, ACCEPT, 14096 },
	{ 8, 9999, REPLAY, 9999 },	/* 4096 behind now */
};

/*
 * Manual keys: a receiver that restarted has an empty window, and the
 * sender continues above its high-water mark, a reserved block (2^20)
 * or more past anything the receiver remembers: all of it is new.
 */
static const struct step restarted1024[] = {
	{ 1, 0x00100001, ACCEPT, 0x00100001 },	/* first packet after a restart */
	{ 2, 0x00100000, ACCEPT, 0x00100000 },	/* late, inside the window */
	{ 3, 0x00200001, ACCEPT, 0x00200001 },	/* the sender restarted again */
	{ 4, 0x00100001, REPLAY, 0x00100001 },	/* the old run is far behind */
	{ 5, 0x00200001, REPLAY, 0x00200001 },
	{ 6, 0x00200002, ACCEPT, 0x00200002 },
};

#define SC(n, w, e, s) { n, w, e, s, sizeof(s) / sizeof(s[0]) }

static const struct scenario scenarios[] = {
	SC("plain, window 64", 64, false, plain64),
	SC("ESN, window 64", 64, true, esn64),
	SC("plain, window 1024", 1024, false, plain1024),
	SC("plain, window 4096", 4096, false, plain4096),
	SC("restarted receiver, window 1024", 1024, false, restarted1024),
};

static void run(const struct scenario *sc)
{
	struct replay r;
	size_t i;

	CHECK(replay_init(&r, sc->window, sc->esn) == 0, "%s: init", sc->name);
	for (i = 0; i < sc->n; i++) {
		const struct step *s = &sc->steps[i];
		uint64_t seq = 0;
		int c = replay_check(&r, s->seq_lo, &seq);

		if (s->seq)
			CHECK(seq == s->seq, "%s #%d: inferred %llx, want %llx", sc->name, s->no,
			      (unsigned long long)seq, (unsigned long long)s->seq);
		switch (s->v) {
		case ACCEPT:
			CHECK(c == 0, "%s #%d: check %d", sc->name, s->no, c);
			CHECK(c != 0 || replay_update(&r, seq) == 0, "%s #%d: update",
			      sc->name, s->no);
			break;
		case FORGED:
			CHECK(c == 0, "%s #%d: check %d", sc->name, s->no, c);
			break;
		case REPLAY:
			CHECK(c == -EALREADY, "%s #%d: want replay, got %d", sc->name, s->no, c);
			break;
		case ZERO:
			CHECK(c == -ERANGE, "%s #%d: want -ERANGE, got %d", sc->name, s->no, c);
			break;
		}
	}
	replay_free(&r);
}

static void bounds(void)
{
	struct replay r;

	CHECK(replay_init(&r, REPLAY_WINDOW_MIN - 1, false) == -EINVAL, "too small");
	CHECK(replay_init(&r, REPLAY_WINDOW_MAX + 1, false) == -EINVAL, "too large");
	CHECK(replay_init(&r, REPLAY_WINDOW_DEFAULT, true) == 0 && r.window >= 1024,
	      "default window is at least 1024");
	/* A duplicate that slips between check and update is still caught. */
	CHECK(replay_update(&r, 7) == 0 && replay_update(&r, 7) == -EALREADY,
	      "update refuses a duplicate");
	replay_free(&r);
}

int main(void)
{
	size_t i;

	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		run(&scenarios[i]);
	bounds();
	return test_done();
}
