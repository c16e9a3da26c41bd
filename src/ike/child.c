/*
 * child.c - the CREATE_CHILD_SA exchange (RFC 7296 §1.3): re-keying a
 * Child SA (§1.3.3) make-before-break, with simultaneous rekeys resolved
 * by the lowest-nonce rule (§2.8.1), and re-keying the IKE SA itself
 * (§1.3.2, §2.18), moving its Child SAs to the new one.
 */
#include "ike/ikesa.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/cipher.h"
#include "ike/proposal.h"
#include "lib/cursor.h"

/* The collision, if there was one, is settled. */
static void col_end(struct ike_sa *sa)
{
	free(sa->col);
	sa->col = NULL;
}

static void first_error(const struct ike_msg *m, uint16_t *type, struct ike_notify *out)
{
	unsigned i;

	*type = 0;
	for (i = 0; i < m->npl; i++)
		if (m->pl[i].type == PL_NOTIFY && !ike_notify_parse(&m->pl[i], out) &&
		    out->type < 16384) {
			*type = out->type;
			return;
		}
}

static int send_request(struct ike_sa *sa, struct ike_wr *w, struct buf *in, enum ike_op op)
{
	sa->op = op;
	return ikesa_send_sk(sa, CREATE_CHILD_SA, false, sa->next_req, w, in);
}

static void reply_notify(struct ike_sa *sa, uint32_t msgid, uint16_t type, const uint8_t *data,
			 size_t len)
{
	struct buf in;
	struct ike_wr w;

	buf_init(&in);
	ikew_init(&w, &in);
	ikew_notify(&w, 0, type, NULL, 0, data, len);
	if (ikesa_send_sk(sa, CREATE_CHILD_SA, true, msgid, &w, &in))
		log_warn(ikesa_name(sa), "cannot answer CREATE_CHILD_SA");
	buf_free(&in);
}

void ike_delete_child(struct ike_sa *sa, uint32_t in)
{
	struct buf b;
	struct ike_wr w;
	uint8_t spi[4];

	be32_put(spi, in);
	buf_init(&b);
	ikew_init(&w, &b);
	ikew_delete(&w, PROTO_ESP, spi, 4, 1);
	sa->op = OP_DELETE_CHILD;
	sa->op_spi = in;
	if (ikesa_send_sk(sa, INFORMATIONAL, false, sa->next_req, &w, &b))
		log_warn(ikesa_name(sa), "cannot send DELETE for Child SA 0x%08x", in);
	buf_free(&b);
}

/* ---- Child SA rekey ---- */

void ike_rekey_child_start(struct ike_sa *sa, struct ike_child *c)
{
	struct ike_prop props[IKE_POL_MAX_PROPS];
	struct ike_ts tsi[IKE_MAX_TS], tsr[IKE_MAX_TS];
	uint8_t spi[4], pub[DH_MAX_PUB];
	uint16_t group = 0;
	unsigned n, ni, nr;
	struct buf in;
	struct ike_wr w;

	sa->op_new_in = ikesa_alloc_spi(sa);
	if (!sa->op_new_in || rand_bytes(sa->op_nonce, NONCE_LEN))
		return;
	sa->op_spi = c->in;
	col_end(sa);
	ike_esp_props(sa->conn->pol, sa->op_new_in, true, props, &n);
	/* PFS (§1.3.1): a KE for the group we prefer, or the one the peer
	 * asked for after an INVALID_KE_PAYLOAD. */
	dh_free(sa->op_dh);
	sa->op_dh = NULL;
	if (props[0].n[TT_DH]) {
		uint16_t g = props[0].t[TT_DH][0].id;
		unsigned i, k;

		for (i = 0; sa->pfs_group && i < n; i++)
			for (k = 0; k < props[i].n[TT_DH]; k++)
				if (props[i].t[TT_DH][k].id == sa->pfs_group)
					g = sa->pfs_group;
		sa->op_dh = dh_new(g);
		if (!sa->op_dh || dh_public(sa->op_dh, pub, dh_pub_len(g)))
			return;
		group = g;
	}
	ni = ike_ts_of_prefixes(sa->conn->pol->local_ts, sa->conn->pol->n_local_ts, tsi);
	nr = ike_ts_of_prefixes(sa->conn->pol->remote_ts, sa->conn->pol->n_remote_ts, tsr);
	be32_put(spi, c->in);
	buf_init(&in);
	ikew_init(&w, &in);
	/* §1.3.3: REKEY_SA names the SA being replaced by our inbound SPI. */
	ikew_notify(&w, PROTO_ESP, N_REKEY_SA, spi, 4, NULL, 0);
	ikew_sa(&w, props, n);
	ikew_bytes(&w, PL_NONCE, sa->op_nonce, NONCE_LEN);
	if (group)
		ikew_ke(&w, group, pub, dh_pub_len(group));
	ikew_ts(&w, PL_TSI, tsi, ni);
	ikew_ts(&w, PL_TSR, tsr, nr);
	if (send_request(sa, &w, &in, OP_REKEY_CHILD))
		log_warn(ikesa_name(sa), "cannot send CREATE_CHILD_SA");
	else
		log_info(ikesa_name(sa), "re-keying Child SA 0x%08x", c->in);
	buf_free(&in);
}

static const uint8_t *lowest(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	size_t n = al < bl ? al : bl;
	int c = memcmp(a, b, n);

	return c < 0 || (c == 0 && al <= bl) ? a : b;
}

static void child_rekey_done(struct ike_sa *sa, struct ike_msg *m)
{
	struct ike_prop props[IKE_MAX_PROPS], ours[IKE_POL_MAX_PROPS];
	const struct ike_pl *sap = ike_find(m, PL_SA, 0), *nonce = ike_find(m, PL_NONCE, 0);
	struct chunk ni = { sa->op_nonce, NONCE_LEN }, nr, g = { NULL, 0 };
	uint8_t gir[DH_MAX_SHARED];
	uint32_t old = sa->op_spi, out;
	struct ike_notify n;
	const uint8_t *ke;
	size_t kelen, girlen = 0;
	uint16_t err, group;
	unsigned np, no;
	bool ours_redundant = false;
	int r;

	first_error(m, &err, &n);
	if (err == N_INVALID_KE_PAYLOAD && n.len == 2 && dh_supported(be16_get(n.data))) {
		sa->pfs_group = be16_get(n.data);	/* retried at once with it */
		if (ikesa_child_by_in(sa, old))
			ikesa_child_by_in(sa, old)->rekey_at = now_ms();
		col_end(sa);
		log_info(ikesa_name(sa), "peer wants PFS group %u for the rekey", sa->pfs_group);
		return;
	}
	if (err) {
		struct ike_child *c = ikesa_child_by_in(sa, old);

		col_end(sa);
		/* §2.8.1: TEMPORARY_FAILURE is a collision, retried shortly;
		 * anything else waits for the back-off set when it started. */
		if (err == N_TEMPORARY_FAILURE && c)
			c->rekey_at = now_ms() + 1000 + (sa->op_nonce[0] & 7) * 250;
		log_msg(c && c->rekey_fails > 1 && err != N_TEMPORARY_FAILURE ? LOG_DEBUG : LOG_WARN,
			ikesa_name(sa), "peer refused to re-key Child SA 0x%08x (notify %u); %s", old,
			err, err == N_TEMPORARY_FAILURE ? "retrying shortly" :
			"it serves until it expires, tried again later");
		if (err == N_CHILD_SA_NOT_FOUND)
			ikesa_child_del(sa, old);
		return;
	}
	ike_esp_props(sa->conn->pol, sa->op_new_in, true, ours, &no);
	if (!sap || !nonce || nonce->len < 16 || ike_sa_parse(sap, props, IKE_MAX_PROPS, &np) ||
	    np != 1 || !ike_prop_offered(&props[0], ours, no) || props[0].spi_size != 4 ||
	    (out = be32_get(props[0].spi)) < 256) {
		log_warn(ikesa_name(sa), "malformed CREATE_CHILD_SA response; rekey abandoned");
		return;
	}
	if (props[0].n[TT_DH]) {
		/* PFS: the responder's KE must answer ours. */
		const struct ike_pl *ke_pl = ike_find(m, PL_KE, 0);

		if (!sa->op_dh || !ke_pl || ike_ke_parse(ke_pl, &group, &ke, &kelen) ||
		    group != dh_group(sa->op_dh) || props[0].t[TT_DH][0].id != group ||
		    dh_shared(sa->op_dh, ke, kelen, gir, &girlen)) {
			log_warn(ikesa_name(sa), "CREATE_CHILD_SA response without a usable KE; "
				 "rekey abandoned");
			return;
		}
		g = (struct chunk){ gir, girlen };
	}
	nr = (struct chunk){ nonce->body, nonce->len };
	if (sa->col && sa->col->old_in == old) {
		/* §2.8.1: both ends re-keyed the same SA.  The new SA whose
		 * exchange used the lowest of the four nonces is redundant and
		 * is closed by whoever created it; the other one's creator
		 * deletes the old SA. */
		const uint8_t *ma = lowest(ni.p, ni.n, nr.p, nr.n);
		const uint8_t *mb = lowest(sa->col->ni, sa->col->ni_len, sa->col->nr, NONCE_LEN);
		size_t la = ma == ni.p ? ni.n : nr.n;
		size_t lb = mb == sa->col->ni ? sa->col->ni_len : NONCE_LEN;

		ours_redundant = lowest(ma, la, mb, lb) == ma;
		col_end(sa);
		log_info(ikesa_name(sa), "simultaneous rekey of 0x%08x: keeping the %s new SA", old,
			 ours_redundant ? "peer's" : "our");
	}
	if (ours_redundant) {
		/* Never installed here; the peer holds it: tell it to drop it. */
		wipe(gir, sizeof(gir));
		ike_delete_child(sa, sa->op_new_in);
		return;
	}
	if (!ours_redundant && ikesa_child_by_in(sa, old))
		ikesa_child_by_in(sa, old)->replaced = true;
	r = ikesa_child_add(sa, sa->op_new_in, out, &props[0], &g, &ni, &nr, true, true);
	wipe(gir, sizeof(gir));
	if (r) {
		log_warn(ikesa_name(sa), "cannot install the re-keyed Child SA");
		return;
	}
	log_info(ikesa_name(sa), "Child SA re-keyed: 0x%08x replaces 0x%08x", sa->op_new_in, old);
	/* Make before break: the new pair carries traffic, now retire the old. */
	if (ikesa_child_by_in(sa, old)) {
		ikesa_child_by_in(sa, old)->replaced = true;
		ike_delete_child(sa, old);
	}
}

static void child_request(struct ike_sa *sa, struct ike_msg *m)
{
	const struct ike_pl *sap = ike_find(m, PL_SA, 0), *nonce = ike_find(m, PL_NONCE, 0);
	const struct ike_pl *tsi_pl = ike_find(m, PL_TSI, 0), *tsr_pl = ike_find(m, PL_TSR, 0);
	struct ike_prop props[IKE_MAX_PROPS], ours[IKE_POL_MAX_PROPS], chosen;
	struct ike_ts tsi[IKE_MAX_TS], tsr[IKE_MAX_TS], oi[IKE_MAX_TS], orr[IKE_MAX_TS];
	unsigned np, no, nti, ntr, noi, nor;
	struct ike_child *old = NULL;
	struct ike_notify n;
	uint8_t nr[NONCE_LEN], pub[DH_MAX_PUB], gir[DH_MAX_SHARED];
	size_t girlen = 0;
	struct dh *dh = NULL;
	struct chunk cni, cnr = { nr, NONCE_LEN }, cg = { NULL, 0 };
	uint32_t new_in, out;
	struct buf in;
	struct ike_wr w;
	char a[400];

	if (!sap || !nonce || !tsi_pl || !tsr_pl || nonce->len < 16 ||
	    nonce->len > IKE_COL_NONCE_MAX || ike_sa_parse(sap, props, IKE_MAX_PROPS, &np) ||
	    ike_ts_parse(tsi_pl, tsi, IKE_MAX_TS, &nti) || ike_ts_parse(tsr_pl, tsr, IKE_MAX_TS, &ntr)) {
		reply_notify(sa, m->h.msgid, N_INVALID_SYNTAX, NULL, 0);
		return;
	}
	if (!ike_find_notify(m, N_REKEY_SA, &n)) {
		old = n.spi_size == 4 ? ikesa_child_by_out(sa, be32_get(n.spi)) : NULL;
		if (!old) {
			reply_notify(sa, m->h.msgid, N_CHILD_SA_NOT_FOUND, NULL, 0);
			return;
		}
	}
	/* §2.25: the IKE SA is being replaced, or the Child SA already was
	 * (our rekey of it completed, or we are deleting it): ask again later. */
	if (sa->op == OP_REKEY_IKE || (old && (old->replaced || (sa->op == OP_DELETE_CHILD &&
							       sa->op_spi == old->in)))) {
		reply_notify(sa, m->h.msgid, N_TEMPORARY_FAILURE, NULL, 0);
		return;
	}
	ike_esp_props(sa->conn->pol, 0, true, ours, &no);
	if (ike_props_select(props, np, ours, no, false, &chosen) ||
	    chosen.spi_size != 4 || (out = be32_get(chosen.spi)) < 256) {
		ike_props_str(props, np, a, sizeof(a));
		log_warn(ikesa_name(sa), "CREATE_CHILD_SA: no ESP proposal chosen; peer offered %s",
			 a);
		reply_notify(sa, m->h.msgid, N_NO_PROPOSAL_CHOSEN, NULL, 0);
		return;
	}
	if (chosen.n[TT_DH]) {
		/* PFS (§1.3.1): the initiator's KE must be for the chosen group. */
		uint16_t want = chosen.t[TT_DH][0].id, group;
		const struct ike_pl *ke_pl = ike_find(m, PL_KE, 0);
		const uint8_t *ke;
		size_t kelen;
		uint8_t g[2];

		if (!ke_pl || ike_ke_parse(ke_pl, &group, &ke, &kelen) || group != want) {
			be16_put(g, want);
			reply_notify(sa, m->h.msgid, N_INVALID_KE_PAYLOAD, g, 2);
			return;
		}
		dh = dh_new(want);
		if (!dh || dh_public(dh, pub, dh_pub_len(want)) ||
		    dh_shared(dh, ke, kelen, gir, &girlen)) {
			reply_notify(sa, m->h.msgid, N_INVALID_SYNTAX, NULL, 0);
			goto out;
		}
		cg = (struct chunk){ gir, girlen };
	}
	noi = ike_ts_narrow(tsi, nti, sa->conn->pol->remote_ts, sa->conn->pol->n_remote_ts, oi);
	nor = ike_ts_narrow(tsr, ntr, sa->conn->pol->local_ts, sa->conn->pol->n_local_ts, orr);
	new_in = ikesa_alloc_spi(sa);
	if (!noi || !nor || !new_in || rand_bytes(nr, sizeof(nr))) {
		reply_notify(sa, m->h.msgid, noi && nor ? N_TEMPORARY_FAILURE : N_TS_UNACCEPTABLE,
			     NULL, 0);
		goto out;
	}
	cni = (struct chunk){ nonce->body, nonce->len };
	/* The inbound half is ready before the answer leaves; outbound waits
	 * for the peer to retire the old SA (it only has our new inbound SA
	 * once it has read this answer). */
	if (ikesa_child_add(sa, new_in, out, &chosen, &cg, &cni, &cnr, false, old == NULL)) {
		reply_notify(sa, m->h.msgid, N_TEMPORARY_FAILURE, NULL, 0);
		goto out;
	}
	if (old && !(sa->op == OP_REKEY_CHILD && sa->op_spi == old->in))
		old->replaced = true;	/* the peer will delete it */
	if (old && sa->op == OP_REKEY_CHILD && sa->op_spi == old->in) {
		col_end(sa);
		/* Without memory the collision goes unseen: both new SAs
		 * stay until their own rekey, which is wasteful, not wrong. */
		sa->col = malloc(sizeof(*sa->col));
		if (sa->col) {
			sa->col->old_in = old->in;
			sa->col->new_in = new_in;
			memcpy(sa->col->ni, nonce->body, nonce->len);
			sa->col->ni_len = nonce->len;
			memcpy(sa->col->nr, nr, NONCE_LEN);
		}
	}
	be32_put(chosen.spi, new_in);
	buf_init(&in);
	ikew_init(&w, &in);
	ikew_sa(&w, &chosen, 1);
	ikew_bytes(&w, PL_NONCE, nr, NONCE_LEN);
	if (dh)
		ikew_ke(&w, dh_group(dh), pub, dh_pub_len(dh_group(dh)));
	ikew_ts(&w, PL_TSI, oi, noi);
	ikew_ts(&w, PL_TSR, orr, nor);
	if (ikesa_send_sk(sa, CREATE_CHILD_SA, true, m->h.msgid, &w, &in))
		log_warn(ikesa_name(sa), "cannot answer CREATE_CHILD_SA");
	buf_free(&in);
	log_info(ikesa_name(sa), "peer re-keyed Child SA: 0x%08x%s%s", new_in,
		 old ? " (replacing an old one)" : " (new)", dh ? " with PFS" : "");
out:
	dh_free(dh);
	wipe(gir, sizeof(gir));
	wipe(nr, sizeof(nr));
}

/* ---- IKE SA rekey ---- */

void ike_rekey_ike_start(struct ike_sa *sa)
{
	const struct ike_policy *pol = sa->conn->pol;
	struct ike_prop props[IKE_POL_MAX_PROPS];
	struct ike_sa *nsa;
	uint8_t pub[DH_MAX_PUB];
	unsigned n = pol->n_ike, i;
	struct buf in;
	struct ike_wr w;

	memcpy(props, pol->ike, n * sizeof(props[0]));
	nsa = ikesa_new(sa->ctx, true);
	if (!nsa)
		return;
	nsa->state = IKE_S_INIT_SENT;	/* not reachable until it is done */
	nsa->group = sa->chosen.t[TT_DH][0].id;
	nsa->ni_len = NONCE_LEN;
	nsa->dh = dh_new(nsa->group);
	if (!nsa->dh || rand_bytes(nsa->ni, NONCE_LEN) ||
	    dh_public(nsa->dh, pub, dh_pub_len(nsa->group))) {
		nsa->state = IKE_S_DEAD;
		ikesa_touch(nsa);
		return;
	}
	for (i = 0; i < n; i++) {
		props[i].spi_size = 8;
		be64_put(props[i].spi, nsa->spi_i);
	}
	buf_init(&in);
	ikew_init(&w, &in);
	ikew_sa(&w, props, n);
	ikew_bytes(&w, PL_NONCE, nsa->ni, NONCE_LEN);
	ikew_ke(&w, nsa->group, pub, dh_pub_len(nsa->group));
	sa->op_new = nsa;
	if (send_request(sa, &w, &in, OP_REKEY_IKE)) {
		nsa->state = IKE_S_DEAD;
		ikesa_touch(nsa);
		sa->op_new = NULL;
	} else {
		log_info(ikesa_name(sa), "re-keying IKE SA %016" PRIx64 "/%016" PRIx64, sa->spi_i,
			 sa->spi_r);
	}
	buf_free(&in);
}

/* The new IKE SA takes over the connection and the Child SAs (§2.18). */
static void take_over(struct ike_sa *old, struct ike_sa *nsa)
{
	if (ikesa_set_conn(nsa, old->conn))
		log_warn(ikesa_name(old), "the new IKE SA is not indexed (out of memory)");
	nsa->local = old->local;
	nsa->peer = old->peer;
	nsa->natt = old->natt;
	nsa->nat_local = old->nat_local;
	nsa->nat_remote = old->nat_remote;
	nsa->force_encap = old->force_encap;
	nsa->frag = old->frag;	/* RFC 7383 §2.3: negotiated once, for the SA's line */
	nsa->keepalive_at = old->keepalive_at;
	memcpy(nsa->child, old->child, sizeof(nsa->child));
	/* The peer authenticated once (§2.18): its certificate goes along. */
	nsa->peer_cert = old->peer_cert;
	old->peer_cert = NULL;
	nsa->peer_hashes = old->peer_hashes;
	ikesa_set_ids(nsa, old->ids_key);
	memset(old->child, 0, sizeof(old->child));
	nsa->state = IKE_S_ESTABLISHED;
	nsa->established_ms = now_ms();
	nsa->last_rx_ms = nsa->established_ms;
	nsa->rekey_at = ikesa_jitter(nsa->established_ms, nsa->conn->pol->ike_lifetime);
	nsa->expire_at = nsa->established_ms + nsa->conn->pol->ike_lifetime * 1000ULL;
	nsa->next_req = nsa->peer_req = 0;
	dh_free(nsa->dh);
	nsa->dh = NULL;
	nsa->conn->ops->ike_rekeyed(nsa->conn->arg);
	log_info(ikesa_name(nsa), "IKE SA re-keyed: %016" PRIx64 "/%016" PRIx64 " replaces %016"
		 PRIx64 "/%016" PRIx64, nsa->spi_i, nsa->spi_r, old->spi_i, old->spi_r);
}

static int rekey_keys(struct ike_sa *old, struct ike_sa *nsa, const uint8_t *ke, size_t kelen)
{
	uint8_t gir[DH_MAX_SHARED];
	size_t girlen = 0;
	struct chunk ni = { nsa->ni, nsa->ni_len }, nr = { nsa->nr, nsa->nr_len }, g;
	int r = dh_shared(nsa->dh, ke, kelen, gir, &girlen);

	if (r)
		return r;
	g = (struct chunk){ gir, girlen };
	r = ike_keys_derive_rekey(&nsa->keys, &nsa->chosen, &old->keys, &ni, &nr, &g, nsa->spi_i,
				  nsa->spi_r);
	/* RFC 8784 §3: made from the old SK_d, which had the PPK in it. */
	nsa->ppk_used = old->ppk_used;
	wipe(gir, sizeof(gir));
	if (!r)
		nsa->sk = ike_sk_new(&nsa->keys, nsa->initiator);
	return r ? r : nsa->sk ? 0 : -ENOMEM;
}

static void ike_rekey_done(struct ike_sa *sa, struct ike_msg *m)
{
	struct ike_sa *nsa = sa->op_new;
	const struct ike_pl *sap = ike_find(m, PL_SA, 0), *nonce = ike_find(m, PL_NONCE, 0);
	const struct ike_pl *ke_pl = ike_find(m, PL_KE, 0);
	struct ike_prop props[IKE_MAX_PROPS];
	struct ike_notify n;
	const uint8_t *ke;
	size_t kelen;
	uint16_t err, group;
	unsigned np;

	sa->op_new = NULL;
	if (!nsa)
		return;
	first_error(m, &err, &n);
	if (err) {
		nsa->state = IKE_S_DEAD;
		ikesa_touch(nsa);
		if (err == N_TEMPORARY_FAILURE)
			sa->rekey_at = now_ms() + 1000 + (nsa->ni[0] & 7) * 250;
		log_msg(sa->rekey_fails > 1 && err != N_TEMPORARY_FAILURE ? LOG_DEBUG : LOG_WARN,
			ikesa_name(sa), "peer refused to re-key the IKE SA (notify %u); %s", err,
			err == N_TEMPORARY_FAILURE ? "retrying shortly" :
			"it serves until it expires, tried again later");
		return;
	}
	if (!sap || !nonce || !ke_pl || nonce->len < 16 || nonce->len > sizeof(nsa->nr) ||
	    ike_sa_parse(sap, props, IKE_MAX_PROPS, &np) || np != 1 ||
	    !ike_prop_offered(&props[0], sa->conn->pol->ike, sa->conn->pol->n_ike) ||
	    props[0].spi_size != 8 ||
	    ike_ke_parse(ke_pl, &group, &ke, &kelen) || group != nsa->group ||
	    props[0].t[TT_DH][0].id != group) {
		nsa->state = IKE_S_DEAD;
		ikesa_touch(nsa);
		log_warn(ikesa_name(sa), "malformed IKE rekey response; keeping the old IKE SA");
		return;
	}
	nsa->chosen = props[0];
	nsa->spi_r = (uint64_t)be32_get(props[0].spi) << 32 | be32_get(props[0].spi + 4);
	memcpy(nsa->nr, nonce->body, nonce->len);
	nsa->nr_len = nonce->len;
	if (rekey_keys(sa, nsa, ke, kelen)) {
		nsa->state = IKE_S_DEAD;
		ikesa_touch(nsa);
		log_warn(ikesa_name(sa), "IKE rekey key exchange failed");
		return;
	}
	take_over(sa, nsa);
	/* §2.18: the rekey initiator deletes the old IKE SA. */
	ike_send_delete(sa);
}

static void ike_rekey_request(struct ike_sa *sa, struct ike_msg *m, const struct ike_pl *sap)
{
	const struct ike_pl *nonce = ike_find(m, PL_NONCE, 0), *ke_pl = ike_find(m, PL_KE, 0);
	struct ike_prop props[IKE_MAX_PROPS], chosen;
	uint8_t pub[DH_MAX_PUB], g[2];
	const uint8_t *ke;
	size_t kelen;
	uint16_t group;
	unsigned np;
	struct ike_sa *nsa;
	struct buf in;
	struct ike_wr w;

	if (!nonce || !ke_pl || nonce->len < 16 || nonce->len > sizeof(sa->ni) ||
	    ike_sa_parse(sap, props, IKE_MAX_PROPS, &np) ||
	    ike_ke_parse(ke_pl, &group, &ke, &kelen)) {
		reply_notify(sa, m->h.msgid, N_INVALID_SYNTAX, NULL, 0);
		return;
	}
	/* One replacement at a time; a colliding IKE rekey of ours makes
	 * the peer retry after its random delay. */
	if (sa->op == OP_REKEY_IKE || sa->op == OP_REKEY_CHILD) {
		reply_notify(sa, m->h.msgid, N_TEMPORARY_FAILURE, NULL, 0);
		return;
	}
	if (ike_props_select(props, np, sa->conn->pol->ike, sa->conn->pol->n_ike, false, &chosen) ||
	    chosen.spi_size != 8) {
		reply_notify(sa, m->h.msgid, N_NO_PROPOSAL_CHOSEN, NULL, 0);
		return;
	}
	if (group != chosen.t[TT_DH][0].id) {
		be16_put(g, chosen.t[TT_DH][0].id);
		reply_notify(sa, m->h.msgid, N_INVALID_KE_PAYLOAD, g, 2);
		return;
	}
	nsa = ikesa_new(sa->ctx, false);
	if (!nsa)
		return;
	nsa->state = IKE_S_INIT_DONE;
	nsa->spi_i = (uint64_t)be32_get(chosen.spi) << 32 | be32_get(chosen.spi + 4);
	nsa->chosen = chosen;
	nsa->group = group;
	memcpy(nsa->ni, nonce->body, nonce->len);
	nsa->ni_len = nonce->len;
	nsa->nr_len = NONCE_LEN;
	nsa->dh = dh_new(group);
	if (!nsa->dh || rand_bytes(nsa->nr, NONCE_LEN) || dh_public(nsa->dh, pub, dh_pub_len(group)) ||
	    rekey_keys(sa, nsa, ke, kelen)) {
		nsa->state = IKE_S_DEAD;
		ikesa_touch(nsa);
		reply_notify(sa, m->h.msgid, N_NO_PROPOSAL_CHOSEN, NULL, 0);
		return;
	}
	be64_put(chosen.spi, nsa->spi_r);
	buf_init(&in);
	ikew_init(&w, &in);
	ikew_sa(&w, &chosen, 1);
	ikew_bytes(&w, PL_NONCE, nsa->nr, NONCE_LEN);
	ikew_ke(&w, group, pub, dh_pub_len(group));
	if (ikesa_send_sk(sa, CREATE_CHILD_SA, true, m->h.msgid, &w, &in))
		log_warn(ikesa_name(sa), "cannot answer the IKE rekey");
	buf_free(&in);
	take_over(sa, nsa);
	/* The old SA only waits for the peer's DELETE now. */
	sa->state = IKE_S_DELETING;
	sa->kill_at = now_ms() + REPLACED_KEEP_MS;
}

void ike_child_request(struct ike_sa *sa, struct ike_msg *m)
{
	const struct ike_pl *sap = ike_find(m, PL_SA, 0);
	struct ike_prop p[1];
	unsigned n;

	if (sap && !ike_sa_parse(sap, p, 1, &n) && n && p[0].proto == PROTO_IKE)
		ike_rekey_request(sa, m, sap);
	else
		child_request(sa, m);
}

void ike_child_response(struct ike_sa *sa, struct ike_msg *m)
{
	enum ike_op op = sa->op;

	sa->op = OP_NONE;
	if (op == OP_REKEY_CHILD)
		child_rekey_done(sa, m);
	else if (op == OP_REKEY_IKE)
		ike_rekey_done(sa, m);
	/* The PFS key pair served this one exchange (§1.3.1): forget it now,
	 * not at the next rekey, so that it cannot outlive the keys it made. */
	dh_free(sa->op_dh);
	sa->op_dh = NULL;
}

int ike_rekey_now(struct ike_sa *sa, bool ike)
{
	unsigned i;

	if (sa->req_pending || sa->state != IKE_S_ESTABLISHED)
		return -EBUSY;
	if (ike) {
		ike_rekey_ike_start(sa);
		return 0;
	}
	for (i = 0; i < IKE_MAX_CHILDREN; i++)
		if (sa->child[i].in && !sa->child[i].replaced) {
			ike_rekey_child_start(sa, &sa->child[i]);
			return 0;
		}
	return -ENOENT;
}
