/*
 * replay.c - RFC 6479 anti-replay ring with RFC 4303 Appendix A ESN
 * inference (see replay.h).
 */
#include "esp/replay.h"

#include <errno.h>
#include <stdlib.h>

int replay_init(struct replay *r, uint32_t window, bool esn)
{
	uint32_t words = 1;

	if (window < REPLAY_WINDOW_MIN || window > REPLAY_WINDOW_MAX)
		return -EINVAL;
	/* One word more than the window spans, so the word being filled at
	 * the top never overlaps the oldest word still in the window. */
	while (words < window / 64 + 1)
		words *= 2;
	r->ring = calloc(words, sizeof(uint64_t));
	if (!r->ring)
		return -ENOMEM;
	r->top = 0;
	r->window = window;
	r->nwords = words;
	r->esn = esn;
	return 0;
}

void replay_free(struct replay *r)
{
	if (!r)
		return;
	free(r->ring);
	r->ring = NULL;
}

/* RFC 4303 Appendix A.2.2: which 2^32 block does seq_lo belong to? */
static uint64_t infer_esn(const struct replay *r, uint32_t seq_lo)
{
	uint32_t tl = (uint32_t)r->top, th = (uint32_t)(r->top >> 32);
	uint32_t bottom = tl - r->window + 1;	/* mod 2^32 */

	if (tl >= r->window - 1) {
		/* The window lies within one block. */
		if (seq_lo >= bottom)
			return (uint64_t)th << 32 | seq_lo;
		return (uint64_t)(th + 1) << 32 | seq_lo;
	}
	/* The window straddles a block boundary. */
	if (seq_lo >= bottom) {
		if (th == 0)	/* no earlier block exists: it is simply old */
			return seq_lo;
		return (uint64_t)(th - 1) << 32 | seq_lo;
	}
	return (uint64_t)th << 32 | seq_lo;
}

static bool seen(const struct replay *r, uint64_t seq)
{
	uint64_t word = (seq >> 6) & (r->nwords - 1);

	return (r->ring[word] >> (seq & 63)) & 1;
}

int replay_check(const struct replay *r, uint32_t seq_lo, uint64_t *seq)
{
	uint64_t s = r->esn ? infer_esn(r, seq_lo) : seq_lo;

	*seq = s;
	if (s == 0)
		return -ERANGE;
	if (s > r->top)
		return 0;
	if (r->top - s >= r->window)
		return -EALREADY;
	return seen(r, s) ? -EALREADY : 0;
}

int replay_update(struct replay *r, uint64_t seq)
{
	uint64_t cur, next, diff, i;

	if (seq > r->top) {
		cur = r->top >> 6;
		next = seq >> 6;
		diff = next - cur;
		if (diff > r->nwords)
			diff = r->nwords;
		/* Clear the words the window slides into (RFC 6479 §2). */
		for (i = 1; i <= diff; i++)
			r->ring[(cur + i) & (r->nwords - 1)] = 0;
		r->top = seq;
	} else if (r->top - seq >= r->window || seen(r, seq)) {
		return -EALREADY;
	}
	r->ring[(seq >> 6) & (r->nwords - 1)] |= 1ULL << (seq & 63);
	return 0;
}
