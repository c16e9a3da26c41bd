/*
 * replay.h - ESP anti-replay window with extended sequence numbers.
 *
 * RFC 4303 §3.4.3 and Appendix A (64-bit ESN inferred from the 32 bits on
 * the wire), RFC 6479 (a ring of 64-bit words: advancing the window clears
 * whole words instead of shifting a bitmap).  The check is split around the
 * ICV check as the RFC demands: replay_check() before, replay_update() only
 * once the packet has authenticated.
 */
#ifndef VTI_REPLAY_H
#define VTI_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#define REPLAY_WINDOW_DEFAULT 1024
#define REPLAY_WINDOW_MIN 64
#define REPLAY_WINDOW_MAX 65536

struct replay {
	uint64_t top;		/* highest authenticated sequence number */
	uint32_t window;	/* packets accepted below top */
	uint32_t nwords;	/* ring size, a power of two */
	bool esn;
	uint64_t *ring;
};

int replay_init(struct replay *r, uint32_t window, bool esn)
	__attribute__((warn_unused_result));
void replay_free(struct replay *r);
/*
 * Infer the full sequence number of a packet carrying seq_lo and say
 * whether it may be new.  0: go on and check the ICV; -EALREADY: a replay
 * or older than the window; -ERANGE: sequence number 0 (never sent).
 */
int replay_check(const struct replay *r, uint32_t seq_lo, uint64_t *seq)
	__attribute__((warn_unused_result));
/* Record an authenticated packet; returns -EALREADY if a duplicate
 * slipped in between check and update (then drop it). */
int replay_update(struct replay *r, uint64_t seq) __attribute__((warn_unused_result));

#endif
