/*
 * timer.c - when an IKE SA's timers next need a look.  Each SA sits in
 * one min-heap (ctx->timers) at the earliest of its deadlines, so that a
 * tick with 10,000 idle SAs looks at the few that are due instead of
 * walking all of them; connections that may have to (re)initiate sit in
 * a second heap (ctx->inits) at their reinit_at.
 *
 * The rule that keeps this correct: an SA's due time is never later than
 * the first moment sa_timers (ike.c) could act on it.  ikesa_next_due
 * computes it from the same fields sa_timers reads, after its timers ran;
 * anything else that changes one of those fields (a message from the
 * peer, a request sent, a Child SA added or removed, a kill) calls
 * ikesa_touch, which makes the SA due at once, and the next tick computes
 * the exact time again.  Running an SA's timers early is harmless (each
 * one compares against now); running them late would be a missed timer.
 */
#include "ike/ikesa.h"

#include "crypto/cipher.h"
#include "esp/sa.h"

/* An SA is looked at at least this often whatever its deadlines say: a
 * bound on the cost of a deadline this file did not foresee. */
#define DUE_MAX_MS 60000
/* Outbound packets per millisecond that no single SA exceeds (10 Mpps,
 * more than a core encrypts): the fastest a sequence number can near
 * its end, for the volume rekey (ike.c child_worn). */
#define SEQ_PER_MS 10000

static void earliest(uint64_t *due, uint64_t t)
{
	if (t && t < *due)
		*due = t;
}

/* When the outbound sequence number of c could first reach the point
 * where ike.c child_worn forces a rekey. */
static uint64_t worn_at(const struct ike_child *c, uint64_t now)
{
	const struct sa *out = c->sa ? c->sa->pair : NULL;
	uint64_t max, thr;

	if (!out)
		return now;
	max = sa_seq_max(out);
	thr = max - (max >> 4);
	return out->seq >= thr ? now : now + (thr - out->seq) / SEQ_PER_MS;
}

static void established_due(const struct ike_sa *sa, uint64_t now, uint64_t *due)
{
	const struct ike_policy *pol = sa->conn->pol;
	unsigned i;

	if (sa->nat_local)
		earliest(due, sa->keepalive_at ? sa->keepalive_at : now);
	for (i = 0; i < IKE_MAX_CHILDREN; i++) {
		const struct ike_child *c = &sa->child[i];

		if (!c->in)
			continue;
		earliest(due, c->expire_at ? c->expire_at : now);
		if (!c->replaced) {
			earliest(due, c->rekey_at ? c->rekey_at : now);
			if (!c->rekey_fails)
				earliest(due, worn_at(c, now));
		}
	}
	earliest(due, sa->expire_at);
	earliest(due, sa->rekey_at);
	/* Inbound ESP moves last_rx_ms forward when the timers run
	 * (esp_liveness); until then it is the earliest the check can fire. */
	if (pol->dpd) {
		earliest(due, sa->last_rx_ms + pol->dpd * 1000ULL);
		if (sa->req_pending)
			earliest(due, sa->last_rx_ms + pol->dpd_timeout * 1000ULL);
	}
}

uint64_t ikesa_next_due(const struct ike_sa *sa, uint64_t now)
{
	uint64_t due = now + DUE_MAX_MS;
	int d;

	if (sa->state == IKE_S_DEAD)
		return now;
	for (d = 0; d < 2; d++)
		if (sa->reasm[d])
			earliest(&due, sa->reasm[d]->until ? sa->reasm[d]->until : now);
	switch (sa->state) {
	case IKE_S_INIT_SENT:
	case IKE_S_AUTH_SENT:
		if (sa->conn)
			earliest(&due, sa->created_ms + NEGOTIATE_MS);
		/* ikesa_contact_done wakes it, or its time is up */
		if (sa->auth_wait)
			earliest(&due, sa->auth_wait_until);
		break;
	case IKE_S_ESTABLISHED:
		earliest(&due, sa->childless_at);
		if (sa->conn)
			established_due(sa, now, &due);
		break;
	case IKE_S_DELETING:
	case IKE_S_INIT_DONE:
		earliest(&due, sa->kill_at);
		break;
	default:
		break;
	}
	if (sa->req_pending)
		earliest(&due, sa->retx_at ? sa->retx_at : now);
	return due;
}

void ikesa_touch(struct ike_sa *sa)
{
	uint64_t now = now_ms();

	/* In the heap from ikesa_new to ikesa_free: moving never allocates. */
	if (!heap_queued(&sa->timer) || sa->timer.due > now)
		(void)heap_set(&sa->ctx->timers, &sa->timer, now);
}

void ike_conn_wake(struct ike_conn *c)
{
	uint64_t now = now_ms(), at = c->reinit_at > now ? c->reinit_at : now;

	if (!c->pol->initiate || c->admin_down || !c->pol->remote.family)
		return;
	/* Room for every connection was reserved when it was added. */
	if (!heap_queued(&c->initq) || c->initq.due > at)
		(void)heap_set(&c->ctx->inits, &c->initq, at);
}

uint64_t ike_jitter(uint64_t ms, unsigned pct)
{
	uint32_t r = 0;
	uint64_t span = ms * pct / 100;

	if (!span || rand_bytes((uint8_t *)&r, sizeof(r)))
		return ms;
	return ms - r % (span + 1);
}

void ike_set_initiate_rate(struct ike_ctx *ctx, unsigned per_second)
{
	ctx->init_rate = per_second ? per_second : 1;
	ctx->init_credit_at = 0;	/* a full bucket at the new size */
}

/* A token bucket: init_rate initiations a second, a tenth of that (one
 * 100 ms tick's worth) at once.  A single tunnel (or a few) still starts
 * at once; N take N / init_rate seconds. */
bool ike_init_paced(struct ike_ctx *ctx, uint64_t now)
{
	const uint64_t one = 1000, rate = ctx->init_rate ? ctx->init_rate : INIT_RATE;
	const uint64_t full = (rate / 10 ? rate / 10 : 1) * one;

	if (!ctx->init_credit_at) {
		ctx->init_credit = full;
	} else if (now > ctx->init_credit_at) {
		uint64_t add = (now - ctx->init_credit_at) * rate;

		ctx->init_credit = add >= full - ctx->init_credit ? full : ctx->init_credit + add;
	}
	ctx->init_credit_at = now;
	if (ctx->init_credit < one)
		return false;
	ctx->init_credit -= one;
	return true;
}
