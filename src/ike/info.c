/*
 * info.c - INFORMATIONAL exchanges (RFC 7296 §1.4): DELETE of the IKE SA
 * or of Child SAs, empty liveness checks, and unprotected error notifies
 * for IKE_SA_INIT (§2.21.1).
 */
#include "ike/ikesa.h"

#include <string.h>

#include "lib/cursor.h"
#include "vtid/tunnel.h"

void ike_send_delete(struct ike_sa *sa)
{
	struct buf in;
	struct ike_wr w;

	buf_init(&in);
	ikew_init(&w, &in);
	ikew_delete(&w, PROTO_IKE, NULL, 0, 0);
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
	if (ikesa_send_sk(sa, INFORMATIONAL, false, sa->next_req, &w, &in))
		log_warn(ikesa_name(sa), "cannot send a liveness check");
	else
		log_debug(ikesa_name(sa), "liveness check sent (nothing received for %u s)",
			  sa->t->conf.dpd);
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

void ike_info_request(struct ike_sa *sa, struct ike_msg *m)
{
	bool delete_ike = false, delete_child = false;
	uint8_t proto, size, spi[4];
	const uint8_t *spis;
	unsigned i, k, count;
	struct buf in;
	struct ike_wr w;

	for (i = 0; i < m->npl; i++) {
		if (m->pl[i].type != PL_DELETE ||
		    ike_delete_parse(&m->pl[i], &proto, &size, &spis, &count))
			continue;
		if (proto == PROTO_IKE)
			delete_ike = true;
		else if (proto == PROTO_ESP && size == 4)
			for (k = 0; k < count; k++)
				delete_child |= be32_get(spis + 4 * k) == sa->child_out;
	}
	buf_init(&in);
	ikew_init(&w, &in);
	/* §1.4.1: answer a Child SA DELETE with the SPI of our half. */
	if (delete_child && !delete_ike && sa->child_up) {
		be32_put(spi, sa->child_in);
		ikew_delete(&w, PROTO_ESP, spi, 4, 1);
	}
	if (ikesa_send_sk(sa, INFORMATIONAL, true, m->h.msgid, &w, &in))
		log_warn(ikesa_name(sa), "cannot answer INFORMATIONAL");
	buf_free(&in);
	if (delete_ike) {
		ikesa_kill(sa, "deleted by the peer");
	} else if (delete_child) {
		/* Without its Child SA the tunnel is down; until CREATE_CHILD_SA
		 * lands, close the IKE SA too and let start = yes rebuild both. */
		ikesa_child_remove(sa);
		ike_send_delete(sa);
		ikesa_kill(sa, "Child SA deleted by the peer");
	}
}

void ike_info_response(struct ike_sa *sa, struct ike_msg *m)
{
	(void)m;
	if (sa->state == IKE_S_DELETING)
		ikesa_kill(sa, NULL);
}
