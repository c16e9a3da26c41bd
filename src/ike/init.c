/*
 * init.c - the IKE_SA_INIT exchange (RFC 7296 §1.2): proposals, key
 * exchange, nonces, NAT detection (§2.23), INVALID_KE_PAYLOAD retry
 * (§1.2) and cookies echoed back (§2.6).
 */
#include "ike/ikesa.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "crypto/cipher.h"
#include "crypto/prf.h"
#include "crypto/sig.h"
#include "esp/datapath.h"
#include "ike/proposal.h"
#include "lib/cursor.h"

void ike_nat_hash(uint64_t spi_i, uint64_t spi_r, const struct addr *a, uint16_t port,
		  uint8_t out[20])
{
	uint8_t spis[16], p[2];
	const uint8_t *parts[3] = { spis, a->a, p };
	size_t lens[3] = { 16, addr_len(a->family), 2 };

	be64_put(spis, spi_i);
	be64_put(spis + 8, spi_r);
	be16_put(p, port);
	if (sha1(parts, lens, 3, out))
		memset(out, 0, 20);
}

static uint16_t local_port(const struct ike_sa *sa)
{
	return sa->natt ? dp_natt_port(sa->ctx->dp) : sa->ctx->port;
}

static void nat_notifies(struct ike_sa *sa, struct ike_wr *w)
{
	uint8_t h[20];
	struct addr peer;
	uint16_t port;

	/* With encap = yes the source hash is deliberately wrong, so that
	 * both ends see a "NAT" and put ESP in UDP (what strongSwan does). */
	if (sa->force_encap) {
		if (rand_bytes(h, sizeof(h)))
			memset(h, 0xa5, sizeof(h));
	} else {
		ike_nat_hash(sa->spi_i, sa->spi_r, &sa->local, local_port(sa), h);
	}
	ikew_notify(w, 0, N_NAT_DETECTION_SOURCE_IP, NULL, 0, h, 20);
	ikesa_peer_addr(sa, &peer, &port);
	ike_nat_hash(sa->spi_i, sa->spi_r, &peer, port, h);
	ikew_notify(w, 0, N_NAT_DETECTION_DESTINATION_IP, NULL, 0, h, 20);
}

/* Compare the peer's NAT-D notifies with what we see (RFC 7296 §2.23). */
static void nat_check(struct ike_sa *sa, const struct ike_msg *m, uint64_t spi_r)
{
	uint8_t h[20];
	struct addr peer;
	uint16_t port;
	unsigned i;
	bool src_seen = false, src_match = false;

	for (i = 0; i < m->npl; i++) {
		struct ike_notify n;

		if (m->pl[i].type != PL_NOTIFY || ike_notify_parse(&m->pl[i], &n) || n.len != 20)
			continue;
		if (n.type == N_NAT_DETECTION_DESTINATION_IP) {
			ike_nat_hash(sa->spi_i, spi_r, &sa->local, local_port(sa), h);
			sa->nat_local = !ct_equal(h, n.data, 20);
		} else if (n.type == N_NAT_DETECTION_SOURCE_IP) {
			ikesa_peer_addr(sa, &peer, &port);
			ike_nat_hash(sa->spi_i, spi_r, &peer, port, h);
			src_seen = true;
			src_match |= ct_equal(h, n.data, 20);
		}
	}
	sa->nat_remote = src_seen && !src_match;
}

/* RFC 7427 §4: the hashes we verify signatures with, announced when
 * certificates may be used; and the peer's, which we sign with. */
static void sig_hashes_notify(const struct ike_policy *pol, struct ike_wr *w)
{
	static const uint8_t ours[] = { 0, SIG_HASH_SHA256, 0, SIG_HASH_SHA384, 0, SIG_HASH_SHA512,
					0, SIG_HASH_IDENTITY };

	if (pol->authby == IKE_AUTHBY_CERT || pol->ca)
		ikew_notify(w, 0, N_SIGNATURE_HASH_ALGORITHMS, NULL, 0, ours, sizeof(ours));
}

static void sig_hashes_peer(struct ike_sa *sa, const struct ike_msg *m)
{
	struct ike_notify n;

	if (ike_find_notify(m, N_SIGNATURE_HASH_ALGORITHMS, &n) ||
	    ike_sig_hashes_parse(&n, &sa->peer_hashes))
		sa->peer_hashes = 0;
}

static int build_and_send_init(struct ike_sa *sa)
{
	const struct ike_policy *pol = sa->conn->pol;
	uint8_t pub[DH_MAX_PUB];
	struct ike_hdr h;
	struct ike_wr w;
	struct buf msg;
	int r;

	if (!pol->n_ike)
		return -EINVAL;
	if (!sa->group)
		sa->group = pol->ike[0].t[TT_DH][0].id;
	/* RFC 7296 §2.6: retried with a cookie, the request is the same but
	 * for the cookie in front, so the key pair stays.  A new one would
	 * read an answer to the first request (the responder may have made
	 * an SA for it too) with the wrong private key. */
	if (!sa->dh)
		sa->dh = dh_new(sa->group);
	if (!sa->dh || dh_public(sa->dh, pub, dh_pub_len(sa->group)))
		return -EIO;
	buf_init(&msg);
	ikesa_header(sa, &h, IKE_SA_INIT, false, 0);
	ikew_header(&w, &msg, &h);
	if (sa->cookie_len)	/* §2.6: the cookie goes first */
		ikew_notify(&w, 0, N_COOKIE, NULL, 0, sa->cookie, sa->cookie_len);
	ikew_sa(&w, pol->ike, pol->n_ike);
	ikew_ke(&w, sa->group, pub, dh_pub_len(sa->group));
	ikew_bytes(&w, PL_NONCE, sa->ni, sa->ni_len);
	nat_notifies(sa, &w);
	if (pol->fragmentation)	/* RFC 7383 §2.3 */
		ikew_notify(&w, 0, N_IKEV2_FRAGMENTATION_SUPPORTED, NULL, 0, NULL, 0);
	if (pol->ppk_id_len)	/* RFC 8784 §3: we have a PPK for this peer */
		ikew_notify(&w, 0, N_USE_PPK, NULL, 0, NULL, 0);
	sig_hashes_notify(pol, &w);
	ikew_finish(&w);
	buf_reset(&sa->init_req);
	buf_add(&sa->init_req, msg.data, msg.len);
	sa->next_req = 0;
	r = ikesa_send_request(sa, &msg);
	buf_free(&msg);
	return r;
}

void ike_init_start(struct ike_ctx *ctx, struct ike_conn *c)
{
	const struct ike_policy *pol = c->pol;
	struct ike_sa *sa = ikesa_new(ctx, true);

	if (!sa)
		return;
	if (ikesa_set_conn(sa, c)) {
		ikesa_kill(sa, NULL);
		return;
	}
	sa->local = pol->local;
	addr_to_sockaddr(&pol->remote, pol->remote_port, &sa->peer);
	sa->force_encap = pol->encap == IKE_ENCAP_FORCE;
	sa->ni_len = NONCE_LEN;
	sa->state = IKE_S_INIT_SENT;
	ike_conn_set_state(c, IKE_CONN_CONNECTING);
	if (rand_bytes(sa->ni, sa->ni_len) || build_and_send_init(sa)) {
		ikesa_kill(sa, "cannot build IKE_SA_INIT");
		return;
	}
	log_info(pol->name, "initiating IKE SA to %s", ikesa_name(sa));
}

static bool group_offered(const struct ike_policy *pol, uint16_t group)
{
	unsigned i, k;

	for (i = 0; i < pol->n_ike; i++)
		for (k = 0; k < pol->ike[i].n[TT_DH]; k++)
			if (pol->ike[i].t[TT_DH][k].id == group)
				return true;
	return false;
}

static int derive(struct ike_sa *sa, const uint8_t *ke, size_t kelen)
{
	uint8_t gir[DH_MAX_SHARED];
	size_t girlen = 0;
	struct chunk ni = { sa->ni, sa->ni_len }, nr = { sa->nr, sa->nr_len }, g;
	int r;

	r = dh_shared(sa->dh, ke, kelen, gir, &girlen);
	if (r)
		return r;
	g = (struct chunk){ gir, girlen };
	r = ike_keys_derive(&sa->keys, &sa->chosen, &ni, &nr, &g, sa->spi_i, sa->spi_r);
	wipe(gir, sizeof(gir));
	if (r)
		return r;
	sa->sk = ike_sk_new(&sa->keys, sa->initiator);
	/* The key pair is spent: forget it (forward secrecy). */
	dh_free(sa->dh);
	sa->dh = NULL;
	return sa->sk ? 0 : -ENOMEM;
}

void ike_init_response(struct ike_sa *sa, struct ike_msg *m)
{
	const char *name = ikesa_name(sa);
	struct ike_prop props[IKE_MAX_PROPS];
	const struct ike_pl *pl;
	struct ike_notify n;
	const uint8_t *ke;
	size_t kelen;
	uint16_t group;
	unsigned np, i;
	char err[128], a[400];

	if (!ike_find_notify(m, N_COOKIE, &n) && n.len >= 1 && n.len <= sizeof(sa->cookie)) {
		memcpy(sa->cookie, n.data, n.len);
		sa->cookie_len = n.len;
		log_info(name, "responder asked for a cookie; retrying with it");
		if (build_and_send_init(sa))
			ikesa_kill(sa, "cannot resend IKE_SA_INIT");
		return;
	}
	if (!ike_find_notify(m, N_INVALID_KE_PAYLOAD, &n) && n.len == 2) {
		group = be16_get(n.data);
		if (group != sa->group && dh_supported(group) && group_offered(sa->conn->pol, group)) {
			log_info(name, "responder prefers key exchange group %u; retrying", group);
			sa->group = group;
			dh_free(sa->dh);	/* a key pair of the new group */
			sa->dh = NULL;
			if (build_and_send_init(sa))
				ikesa_kill(sa, "cannot resend IKE_SA_INIT");
			return;
		}
		ikesa_kill(sa, "INVALID_KE_PAYLOAD for a group we did not offer");
		return;
	}
	for (i = 0; i < m->npl; i++) {
		if (m->pl[i].type == PL_NOTIFY && !ike_notify_parse(&m->pl[i], &n) &&
		    n.type < 16384) {
			snprintf(err, sizeof(err), "peer refused IKE_SA_INIT with notify %u%s", n.type,
				 n.type == N_NO_PROPOSAL_CHOSEN ? " (NO_PROPOSAL_CHOSEN)" : "");
			if (n.type == N_NO_PROPOSAL_CHOSEN) {
				ike_props_str(sa->conn->pol->ike, sa->conn->pol->n_ike, a, sizeof(a));
				log_warn(name, "we offered: %s", a);
			}
			ikesa_kill(sa, err);
			return;
		}
	}
	/* Anyone who saw our request can answer it first (it is not
	 * protected): an answer that does not make sense is dropped and we
	 * keep waiting for the real one, until retransmissions run out. */
	if (!(pl = ike_find(m, PL_SA, 0)) || ike_sa_parse(pl, props, IKE_MAX_PROPS, &np) ||
	    np != 1 || !ike_prop_offered(&props[0], sa->conn->pol->ike, sa->conn->pol->n_ike) ||
	    props[0].n[TT_DH] != 1 || props[0].t[TT_DH][0].id != sa->group) {
		sa->ctx->st.rx_unexpected++;
		log_rl(&sa->ctx->rl, LOG_WARN, name, "IKE_SA_INIT response with a proposal we "
		       "did not offer; ignored");
		return;
	}
	if (!(pl = ike_find(m, PL_KE, 0)) || ike_ke_parse(pl, &group, &ke, &kelen) ||
	    group != sa->group || !(pl = ike_find(m, PL_NONCE, 0)) || pl->len < 16 ||
	    pl->len > NONCE_LEN * 8 || pl->len > sizeof(sa->nr) || m->h.spi_r == 0) {
		sa->ctx->st.rx_unexpected++;
		log_rl(&sa->ctx->rl, LOG_WARN, name, "malformed IKE_SA_INIT response ignored");
		return;
	}
	sa->req_pending = false;
	buf_free(&sa->req);
	sa->chosen = props[0];
	memcpy(sa->nr, pl->body, pl->len);
	sa->nr_len = pl->len;
	sa->spi_r = m->h.spi_r;
	if (derive(sa, ke, kelen)) {
		ikesa_kill(sa, "key exchange failed (invalid public value?)");
		return;
	}
	buf_reset(&sa->init_resp);
	buf_add(&sa->init_resp, m->raw, m->rawlen);
	nat_check(sa, m, sa->spi_r);
	/* RFC 7383 §2.3: used only when both sides said they support it. */
	sa->frag = sa->conn->pol->fragmentation &&
		   !ike_find_notify(m, N_IKEV2_FRAGMENTATION_SUPPORTED, &n);
	/* RFC 8784 §3: the PPK is used only if the responder sent USE_PPK
	 * too; without it an initiator that requires the PPK gives up. */
	sa->ppk_offered = sa->conn->pol->ppk_id_len && !ike_find_notify(m, N_USE_PPK, &n);
	if (sa->conn->pol->ppk_required && !sa->ppk_offered) {
		log_warn(name, "responder does not use a PPK (no USE_PPK) and ppk-required = yes");
		ikesa_kill(sa, "peer does not support PPK (RFC 8784)");
		return;
	}
	sig_hashes_peer(sa, m);
	if (sa->nat_local || sa->nat_remote || sa->force_encap) {
		/* §2.23: move to the NAT-T port for everything that follows. */
		sa->natt = true;
		if (sa->peer.ss_family == AF_INET)
			((struct sockaddr_in *)&sa->peer)->sin_port = htons(dp_natt_port(sa->ctx->dp));
		else
			((struct sockaddr_in6 *)&sa->peer)->sin6_port = htons(dp_natt_port(sa->ctx->dp));
	}
	ike_auth_start(sa);
}

/* RFC 7296 §2.6: cookie = version | prf(secret, Ni | IPi | SPIi). */
static void make_cookie(struct ike_ctx *ctx, uint8_t ver, const struct ike_pl *nonce,
			const struct addr *src, uint64_t spi_i, uint8_t out[33])
{
	uint8_t spi[8];
	struct chunk parts[3] = { { nonce->body, nonce->len }, { src->a, addr_len(src->family) },
				  { spi, 8 } };

	be64_put(spi, spi_i);
	out[0] = ver;
	if (prf(PRF_HMAC_SHA2_256, ctx->secret[ver & 1], 32, parts, 3, out + 1))
		memset(out + 1, 0, 32);
}

static void rotate_secret(struct ike_ctx *ctx)
{
	uint64_t now = now_ms();

	if (ctx->secret_at && now - ctx->secret_at < SECRET_MS)
		return;
	/* Without fresh randomness keep the current secret a while longer:
	 * a predictable one would make cookies forgeable. */
	if (rand_bytes(ctx->secret[(ctx->secret_ver + 1) & 1], 32))
		return;
	ctx->secret_ver++;
	ctx->secret_at = now;
}

static bool cookie_matches(struct ike_ctx *ctx, const struct ike_msg *m,
			   const struct ike_pl *nonce, const struct addr *src)
{
	struct ike_notify n;
	uint8_t want[33];

	if (ike_find_notify(m, N_COOKIE, &n) || n.len != 33 ||
	    (n.data[0] != ctx->secret_ver && n.data[0] != (uint8_t)(ctx->secret_ver - 1)))
		return false;
	make_cookie(ctx, n.data[0], nonce, src, m->h.spi_i, want);
	return ct_equal(want, n.data, 33);
}

bool ike_cookie_valid(struct ike_ctx *ctx, const struct ike_msg *m,
		      const struct sockaddr_storage *from)
{
	const struct ike_pl *nonce = ike_find(m, PL_NONCE, 0);
	struct ike_sa tmp;
	struct addr src;
	uint16_t port;

	if (!nonce)
		return false;
	memset(&tmp, 0, sizeof(tmp));
	tmp.peer = *from;
	ikesa_peer_addr(&tmp, &src, &port);
	return cookie_matches(ctx, m, nonce, &src);
}

/* true: go on; false: the request was answered with a cookie demand. */
static bool cookie_ok(struct ike_ctx *ctx, const struct ike_msg *m, const struct ike_pl *nonce,
		      const struct addr *src, const struct sockaddr_storage *from, bool natt)
{
	uint8_t want[33];

	if (ike_half_open(ctx) < ctx->cookie_threshold)
		return true;
	rotate_secret(ctx);
	if (cookie_matches(ctx, m, nonce, src))
		return true;
	make_cookie(ctx, ctx->secret_ver, nonce, src, m->h.spi_i, want);
	ike_send_error(ctx, &m->h, N_COOKIE, NULL, from, natt, want, sizeof(want));
	ctx->st.cookies_sent++;
	return false;
}

/* Connections that may answer a peer at this address. */
static bool candidate(const struct ike_conn *c, const struct addr *from)
{
	return !c->admin_down && (!c->pol->remote.family || addr_equal(&c->pol->remote, from)) &&
	       c->pol->local.family == from->family;
}

/* RFC 8784 §3: answer USE_PPK when a tunnel that may answer this peer
 * has a PPK (IKE_AUTH's identities choose the tunnel later). */
static bool ppk_candidate(const struct ike_ctx *ctx, const struct addr *from)
{
	const struct ike_conn *c;

	for (c = ctx->conns; c; c = c->next)
		if (candidate(c, from) && c->pol->ppk_id_len)
			return true;
	return false;
}

void ike_init_request(struct ike_ctx *ctx, struct ike_msg *m, const struct sockaddr_storage *from,
		      bool natt)
{
	struct ike_prop peer[IKE_MAX_PROPS], chosen;
	const struct ike_pl *sa_pl = ike_find(m, PL_SA, 0), *ke_pl = ike_find(m, PL_KE, 0);
	const struct ike_pl *nonce = ike_find(m, PL_NONCE, 0);
	struct ike_conn *c, *match = NULL;
	struct addr src;
	struct ike_sa *sa;
	const uint8_t *ke;
	size_t kelen;
	uint16_t group, port;
	unsigned np;
	char err[128], a[400], a2[400], b[900];
	uint8_t pub[DH_MAX_PUB], g[2];
	struct ike_hdr h;
	struct ike_wr w;
	struct buf msg;
	struct ike_sa tmp;
	struct ike_notify fn;
	struct ike_notify n;

	memset(&tmp, 0, sizeof(tmp));
	tmp.peer = *from;
	ikesa_peer_addr(&tmp, &src, &port);
	if (!sa_pl || !ke_pl || !nonce || ike_sa_parse(sa_pl, peer, IKE_MAX_PROPS, &np) ||
	    ike_ke_parse(ke_pl, &group, &ke, &kelen) || nonce->len < 16 || nonce->len > NONCE_LEN * 8 ||
	    nonce->len > sizeof(tmp.ni)) {
		ike_send_error(ctx, &m->h, N_INVALID_SYNTAX, NULL, from, natt, NULL, 0);
		return;
	}
	/* Stateless until the peer proves it can receive at its address. */
	if (!cookie_ok(ctx, m, nonce, &src, from, natt))
		return;
	if (!ike_half_open_admit(ctx, from)) {
		ctx->st.half_open_refused++;
		log_rl(&ctx->rl, LOG_WARN, NULL, "IKE_SA_INIT from %s dropped: too many half-open "
		       "IKE SAs (%u)", addr_str(&src, err, sizeof(err)), ctx->half_open);
		return;
	}
	for (c = ctx->conns; c; c = c->next) {
		if (!candidate(c, &src))
			continue;
		if (!ike_props_select(peer, np, c->pol->ike, c->pol->n_ike, false, &chosen)) {
			match = c;
			break;
		}
	}
	if (!match) {
		ike_props_str(peer, np, a, sizeof(a));
		b[0] = '\0';
		for (c = ctx->conns; c; c = c->next)
			if (candidate(c, &src)) {
				ike_props_conf_str(c->pol->ike, c->pol->n_ike, a2, sizeof(a2));
				snprintf(b, sizeof(b), "%s (tunnel %s)", a2, c->pol->name);
				break;
			}
		log_rl(&ctx->rl, LOG_WARN, NULL, "IKE_SA_INIT from %s: no proposal chosen; "
		       "peer offered %s; we accept %s", addr_str(&src, err, sizeof(err)), a,
		       b[0] ? b : "nothing (no tunnel for this peer)");
		ike_send_error(ctx, &m->h, N_NO_PROPOSAL_CHOSEN, NULL, from, natt, NULL, 0);
		return;
	}
	if (group != chosen.t[TT_DH][0].id) {
		/* §1.2: tell the initiator which group we want. */
		be16_put(g, chosen.t[TT_DH][0].id);
		ike_send_error(ctx, &m->h, N_INVALID_KE_PAYLOAD, &match->pol->local, from, natt, g, 2);
		return;
	}
	sa = ikesa_new(ctx, false);
	if (!sa)
		return;
	sa->spi_i = m->h.spi_i;
	sa->peer = *from;
	if (ikesa_add_responder(sa)) {
		ikesa_kill(sa, NULL);
		return;
	}
	sa->natt = natt;
	sa->local = match->pol->local;
	sa->chosen = chosen;
	sa->group = group;
	sa->force_encap = match->pol->encap == IKE_ENCAP_FORCE;
	memcpy(sa->ni, nonce->body, nonce->len);
	sa->ni_len = nonce->len;
	sa->nr_len = NONCE_LEN;
	sa->dh = dh_new(group);
	if (!sa->dh || rand_bytes(sa->nr, sa->nr_len) ||
	    dh_public(sa->dh, pub, dh_pub_len(group))) {
		ikesa_kill(sa, NULL);
		return;
	}
	if (derive(sa, ke, kelen)) {
		ike_send_error(ctx, &m->h, N_INVALID_SYNTAX, &sa->local, from, natt, NULL, 0);
		ikesa_kill(sa, NULL);
		return;
	}
	nat_check(sa, m, 0);
	/* RFC 7383 §2.3: answered only if asked; the tunnel chosen decides. */
	sa->frag = match->pol->fragmentation &&
		   !ike_find_notify(m, N_IKEV2_FRAGMENTATION_SUPPORTED, &fn);
	sa->ppk_offered = !ike_find_notify(m, N_USE_PPK, &n) && ppk_candidate(ctx, &src);
	sig_hashes_peer(sa, m);
	buf_init(&msg);
	ikesa_header(sa, &h, IKE_SA_INIT, true, 0);
	ikew_header(&w, &msg, &h);
	ikew_sa(&w, &chosen, 1);
	ikew_ke(&w, group, pub, dh_pub_len(group));
	ikew_bytes(&w, PL_NONCE, sa->nr, sa->nr_len);
	ike_certreq(&w, match->pol);	/* §3.7: before the notifies, after Nr */
	nat_notifies(sa, &w);
	if (sa->frag)
		ikew_notify(&w, 0, N_IKEV2_FRAGMENTATION_SUPPORTED, NULL, 0, NULL, 0);
	if (sa->ppk_offered)
		ikew_notify(&w, 0, N_USE_PPK, NULL, 0, NULL, 0);
	sig_hashes_notify(match->pol, &w);
	ikew_finish(&w);
	buf_add(&sa->init_req, m->raw, m->rawlen);
	buf_add(&sa->init_resp, msg.data, msg.len);
	sa->state = IKE_S_INIT_DONE;
	sa->kill_at = now_ms() + HALF_OPEN_MS;
	sa->peer_req = 1;
	ikesa_send_response(sa, &msg);
	buf_free(&msg);
	log_debug(NULL, "IKE_SA_INIT from %s answered for tunnel %s", addr_str(&src, a, sizeof(a)),
		  match->pol->name);
}
