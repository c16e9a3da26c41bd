/*
 * frag.c - IKE message fragmentation (RFC 7383): cutting a protected
 * message into Encrypted Fragment messages that each fit the path MTU
 * (§2.5, §2.5.1), and reassembling the peer's (§2.6.2).
 *
 * Each fragment is protected with the IKE SA's keys on its own, so a
 * fragment is authenticated before it counts: a forged or corrupted one
 * takes no place in the set and cannot push a real one out.  What is kept
 * is bounded per IKE SA: one message per direction (the peer's request,
 * its answer to ours), at most IKE_FRAG_MAX fragments and IKE_MAX_MSG
 * bytes, for at most IKE_FRAG_REASM_MS.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/cipher.h"
#include "ike/ikesa.h"
#include "lib/cursor.h"
#include "platform/platform.h"

/* §2.5.1: without a better figure, 576 octets for IPv4 and 1280 for IPv6. */
#define FRAG_MTU_V4 576
#define FRAG_MTU_V6 1280
/* A path MTU below this is not believed (nothing useful would fit). */
#define FRAG_MTU_MIN 256

/* What goes before the IKE header: IP and UDP headers, and the non-ESP
 * marker on the NAT-T port (RFC 3948). */
static size_t path_over(const struct ike_sa *sa)
{
	return (sa->peer.ss_family == AF_INET ? 20 : 40) + 8 + (sa->natt ? 4 : 0);
}

/* Room for the IKE message in one IP datagram towards the peer.  size is
 * the message's: one that fits §2.5.1's defaults goes whole without
 * asking the kernel (most messages, such as every liveness check). */
static size_t path_room(const struct ike_sa *sa, size_t size)
{
	bool v4 = sa->peer.ss_family == AF_INET;
	size_t over = path_over(sa);
	size_t mtu = v4 ? FRAG_MTU_V4 : FRAG_MTU_V6;
	struct addr peer;
	uint16_t port;
	int r;

	if (sa->ctx->frag_mtu) {
		mtu = sa->ctx->frag_mtu;
	} else if (size + over > mtu) {
		/* The route's MTU, with what PMTU discovery has learnt. */
		ikesa_peer_addr(sa, &peer, &port);
		r = path_mtu(&peer);
		if (r >= FRAG_MTU_MIN)
			mtu = (size_t)r;
	}
	return mtu > over ? mtu - over : 0;
}

static int seal_one(struct ike_sa *sa, const struct ike_hdr *h, uint8_t first,
		    const uint8_t *inner, size_t len, struct buf *out)
{
	struct ike_wr w;

	ikew_header(&w, out, h);
	return ike_sk_seal(sa->sk, &w, first, inner, len);
}

int ike_frag_seal(struct ike_sa *sa, const struct ike_hdr *h, uint8_t first,
		  const uint8_t *inner, size_t len, struct buf *out)
{
	size_t size, room, chunk, total, i, n;
	struct buf one;
	struct ike_wr w;
	int r = 0;

	/* §2.5: never IKE_SA_INIT; only messages that would not fit. */
	if (!sa->frag || !sa->sk || h->exchange == IKE_SA_INIT)
		return seal_one(sa, h, first, inner, len, out);
	size = IKE_HDR_LEN + 4 + ike_sk_body_len(sa->sk, len);
	room = path_room(sa, size);
	if (size <= room)
		return seal_one(sa, h, first, inner, len, out);
	/* Each fragment: IKE header, SKF header with its two numbers, body. */
	chunk = room > IKE_HDR_LEN + 8 ? ike_sk_room(sa->sk, room - IKE_HDR_LEN - 8) : 0;
	if (!chunk)
		return -EMSGSIZE;
	total = (len + chunk - 1) / chunk;
	if (total > IKE_FRAG_MAX)
		return -EMSGSIZE;
	buf_init(&one);
	for (i = 0; i < total && !r; i++) {
		n = len - i * chunk < chunk ? len - i * chunk : chunk;
		buf_reset(&one);
		ikew_header(&w, &one, h);
		r = ike_sk_seal_frag(sa->sk, &w, first, (uint16_t)(i + 1), (uint16_t)total,
				     inner + i * chunk, n);
		if (!r)
			buf_add(out, one.data, one.len);
	}
	buf_free(&one);
	if (!r && out->bad)
		r = -ENOMEM;
	if (!r)
		sa->ctx->st.frag_tx++;
	return r;
}

static void reasm_free(struct ike_ctx *ctx, struct ike_reasm *ra)
{
	unsigned i;

	if (!ra)
		return;
	ctx->reasm_bytes -= ra->bytes;
	for (i = 0; i < IKE_FRAG_MAX; i++)
		if (ra->part[i]) {
			wipe(ra->part[i], ra->len[i]);
			free(ra->part[i]);
		}
	wipe(ra, sizeof(*ra));
	free(ra);
}

/* Forget direction d's set; counted when fragments of it were kept. */
static void reasm_drop(struct ike_sa *sa, int d)
{
	if (sa->reasm[d] && sa->reasm[d]->got)
		sa->ctx->st.frag_expired++;
	reasm_free(sa->ctx, sa->reasm[d]);
	sa->reasm[d] = NULL;
}

void ike_frag_free(struct ike_sa *sa)
{
	reasm_free(sa->ctx, sa->reasm[0]);
	reasm_free(sa->ctx, sa->reasm[1]);
	sa->reasm[0] = sa->reasm[1] = NULL;
}

void ike_frag_timers(struct ike_sa *sa, uint64_t now)
{
	int d;

	for (d = 0; d < 2; d++)
		if (sa->reasm[d] && now >= sa->reasm[d]->until)
			reasm_drop(sa, d);
}

/* The set that this fragment (already authenticated) belongs in, new or
 * kept; NULL if the fragment is to be dropped. */
static struct ike_reasm *reasm_for(struct ike_sa *sa, int d, uint32_t msgid, uint16_t total)
{
	struct ike_reasm *ra = sa->reasm[d];

	/* §2.6.2: a larger Total Fragments for the same message means the
	 * sender cut it again smaller (PMTU): start over with the new set.
	 * A smaller one belongs to a set already replaced: drop it. */
	if (ra && ra->msgid == msgid && total < ra->total)
		return NULL;
	if (ra && ra->msgid == msgid && total == ra->total)
		return ra;
	reasm_drop(sa, d);	/* one message per direction at a time */
	ra = calloc(1, sizeof(*ra));
	if (!ra)
		return NULL;
	ra->msgid = msgid;
	ra->total = total;
	ra->until = now_ms() + IKE_FRAG_REASM_MS;
	sa->reasm[d] = ra;
	return ra;
}

/* All there: the parts, in order, are the content of one SK payload. */
static int reasm_finish(struct ike_sa *sa, int d, struct ike_msg *m, struct buf *whole)
{
	struct ike_reasm *ra = sa->reasm[d];
	unsigned i;
	int r;

	for (i = 0; i < ra->total; i++)
		buf_add(whole, ra->part[i], ra->len[i]);
	sa->reasm[d] = NULL;
	r = whole->bad ? -ENOMEM : ike_chain_parse(m, ra->first, whole->data, whole->len);
	reasm_free(sa->ctx, ra);
	if (r) {
		sa->ctx->st.frag_invalid++;
		return r;
	}
	sa->ctx->st.frag_reassembled++;
	return 1;
}

int ike_frag_input(struct ike_sa *sa, struct ike_msg *m, uint8_t *raw, bool response,
		   struct buf *whole)
{
	int d = response ? 1 : 0;
	struct ike_reasm *ra;
	uint16_t num, total;
	uint8_t *pt, *copy;
	size_t len;

	if (ike_sk_frag_hdr(m, &num, &total) || ike_sk_open_frag(sa->sk, raw, m, &pt, &len)) {
		sa->ctx->st.frag_invalid++;
		log_rl(&sa->ctx->rl, LOG_WARN, ikesa_name(sa), "IKE fragment of message %u failed "
		       "integrity check or did not parse; dropped", m->h.msgid);
		return -N_INVALID_SYNTAX;
	}
	if (total > IKE_FRAG_MAX) {
		sa->ctx->st.frag_limit++;
		return -EMSGSIZE;
	}
	ra = reasm_for(sa, d, m->h.msgid, total);
	if (!ra) {
		sa->ctx->st.frag_expired++;
		return -ESTALE;
	}
	if (ra->part[num - 1]) {
		sa->ctx->st.frag_duplicate++;	/* §2.6.2: a copy of one we hold */
		return 0;
	}
	/* Before IKE_AUTH is done the peer is anyone who completed an
	 * IKE_SA_INIT: it may hold an IKE_AUTH's worth, not a share of the
	 * budget that 64 half-open SAs could take from everyone. */
	if (ra->bytes + len > (sa->state == IKE_S_ESTABLISHED ? IKE_MAX_MSG : IKE_FRAG_UNAUTH) ||
	    sa->ctx->reasm_bytes + len > IKE_FRAG_BUDGET) {
		sa->ctx->st.frag_limit++;
		reasm_drop(sa, d);
		return -EMSGSIZE;
	}
	copy = malloc(len ? len : 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, pt, len);
	ra->part[num - 1] = copy;
	ra->len[num - 1] = len;
	ra->bytes += len;
	sa->ctx->reasm_bytes += len;
	if (num == 1)
		ra->first = m->sk_first;
	ra->got++;
	sa->ctx->st.frag_rx++;
	return ra->got == ra->total ? reasm_finish(sa, d, m, whole) : 0;
}

bool ike_frag_retransmitted(struct ike_sa *sa, struct ike_msg *m, uint8_t *raw)
{
	uint16_t num, total;
	uint8_t *pt;
	size_t len;

	/* §2.6.1: the first fragment of a retransmitted request, once it
	 * authenticates, draws the whole answer again; the others, nothing. */
	if (ike_sk_frag_hdr(m, &num, &total) || num != 1)
		return false;
	if (ike_sk_open_frag(sa->sk, raw, m, &pt, &len)) {
		sa->ctx->st.frag_invalid++;
		return false;
	}
	return true;
}
