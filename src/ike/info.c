/*
 * info.c - INFORMATIONAL exchanges (RFC 7296 §1.4): DELETE of the IKE SA
 * or of Child SAs, empty liveness checks, and unprotected error notifies
 * for IKE_SA_INIT (§2.21.1).
 */
#include "ike/ikesa.h"

#include <string.h>

#include "lib/cursor.h"

void ike_send_delete(struct ike_sa *sa)
{
	struct buf in;
	struct ike_wr w;

	buf_init(&in);
	ikew_init(&w, &in);
	ikew_delete(&w, PROTO_IKE, NULL, 0, 0);
	sa->op = OP_DELETE;
	if (ikesa_send_sk(sa, INFORMATIONAL, false, sa->next_req, &w, &in))
		log_warn(ikesa_name(sa), "cannot send DELETE");
	buf_free(&in);
	sa->state = IKE_S_DELETING;
}

/* RFC 7296 §2.4: an empty INFORMATIONAL request is the liveness check. */
void ike_send_dpd(struct ike_sa *sa)
{
	struct buf in;
	struct ike_wr w;

	buf_init(&in);
	ikew_init(&w, &in);
	sa->op = OP_DPD;
	if (ikesa_send_sk(sa, INFORMATIONAL, false, sa->next_req, &w, &in))
		log_warn(ikesa_name(sa), "cannot send a liveness check");
	else
		log_debug(ikesa_name(sa), "liveness check sent (nothing received for %u s)",
			  sa->conn->pol->dpd);
	buf_free(&in);
}

void ike_send_error(struct ike_ctx *ctx, const struct ike_hdr *req, uint16_t notify,
		    const struct addr *src, const struct sockaddr_storage *to, bool natt,
		    const uint8_t *data, size_t len)
{
	struct ike_hdr h = *req;
	struct ike_wr w;
	struct buf msg;

	h.flags = IKE_FLAG_RESPONSE;
	buf_init(&msg);
	ikew_header(&w, &msg, &h);
	ikew_notify(&w, 0, notify, NULL, 0, data, len);
	ikew_finish(&w);
	if (!msg.bad)
		ikesa_send_raw(ctx, src, to, natt, msg.data, msg.len);
	buf_free(&msg);
}

/* A DELETE of Child SAs names the peer's inbound SPIs (our outbound);
 * §1.4.1: answer with ours, and remove both halves. */
void ike_info_request(struct ike_sa *sa, struct ike_msg *m)
{
	uint8_t proto, size, ours[4 * IKE_MAX_CHILDREN];
	const uint8_t *spis;
	unsigned i, k, count, n = 0;
	bool delete_ike = false;
	struct buf in;
	struct ike_wr w;

	for (i = 0; i < m->npl; i++) {
		if (m->pl[i].type != PL_DELETE ||
		    ike_delete_parse(&m->pl[i], &proto, &size, &spis, &count))
			continue;
		if (proto == PROTO_IKE) {
			delete_ike = true;
			continue;
		}
		for (k = 0; proto == PROTO_ESP && size == 4 && k < count; k++) {
			struct ike_child *c = ikesa_child_by_out(sa, be32_get(spis + 4 * k));

			if (!c || n == IKE_MAX_CHILDREN)
				continue;
			be32_put(ours + 4 * n++, c->in);
			log_info(ikesa_name(sa), "peer deleted Child SA 0x%08x/0x%08x", c->in, c->out);
			ikesa_child_del(sa, c->in);
		}
	}
	buf_init(&in);
	ikew_init(&w, &in);
	if (n && !delete_ike)
		ikew_delete(&w, PROTO_ESP, ours, 4, n);
	if (ikesa_send_sk(sa, INFORMATIONAL, true, m->h.msgid, &w, &in))
		log_warn(ikesa_name(sa), "cannot answer INFORMATIONAL");
	buf_free(&in);
	if (delete_ike) {
		ikesa_kill(sa, "deleted by the peer");
	} else if (n && !ikesa_child_count(sa)) {
		/* (Also while our own rekey of it is in flight: the answer may
		 * well be CHILD_SA_NOT_FOUND, and a rekey that does make a new
		 * Child SA clears the timer.) */
		/* The peer closed the tunnel's last Child SA without replacing
		 * it.  An IKE SA may live without Child SAs and the peer may
		 * create the next one in it (§1.3; strongSwan does so when a
		 * Child SA hard-expires): closing the IKE SA at once cost a
		 * whole new IKE_SA_INIT + IKE_AUTH (about a second of lost
		 * traffic).  If none comes within CHILDLESS_MS, the timer closes
		 * it and start = yes rebuilds both. */
		sa->childless_at = now_ms() + CHILDLESS_MS;
	}
}

void ike_info_response(struct ike_sa *sa, struct ike_msg *m)
{
	enum ike_op op = sa->op;

	(void)m;
	sa->op = OP_NONE;
	if (op == OP_DELETE || sa->state == IKE_S_DELETING)
		ikesa_kill(sa, NULL);
	else if (op == OP_DELETE_CHILD)
		ikesa_child_del(sa, sa->op_spi);
}
