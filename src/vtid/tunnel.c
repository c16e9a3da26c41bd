/*
 * tunnel.c - per-tunnel control plane: the interface, and the Child SA
 * pairs in the SA table, whether keyed by hand (mode = manual) or by IKEv2
 * (see tunnel.h).
 */
#include "vtid/tunnel.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/cipher.h"
#include "esp/esp.h"
#include "esp/sadb.h"
#include "ike/ike.h"
#include "lib/log.h"
#include "platform/platform.h"
#include "vtid/events.h"
#include "vtid/hwm.h"
#include "vtid/pool.h"
#include "vtid/privsep.h"

/* pool =: the leases (the tunnel's own, or its template's, shared by
 * all its instances), and which peer holds the tunnel's (one at a time).
 * Both allocated to size: a hub has thousands of instances. */
struct tunnel_pool {
	struct pool *own;		/* a [tunnel]'s own pool; NULL in an instance */
	struct pool *pool;
	uint8_t *peer;			/* the holder's ID payload body */
	size_t peer_len;
	struct prefix routed[2];	/* its addresses, each with a host route here */
	unsigned n_routed;
};

const char *tunnel_state_name(enum tunnel_state s)
{
	return s == TS_UP ? "up" : s == TS_CONNECTING ? "connecting" : "down";
}

/* The traffic selectors IKE negotiated (RFC 7296 §2.9), narrower than or
 * equal to the configured ones: from now on only they pass, both ways. */
static void tunnel_child_ts(struct tunnel *t, const struct prefix *local, unsigned nl,
			    const struct prefix *remote, unsigned nr)
{
	if (vif_set_ts(&t->vif, local, nl, remote, nr) < 0)
		log_err(t->vif.name, "out of memory: the interface passes no traffic");
}

/*
 * The tunnel's Child SAs are its interface's inbound SAs that have an
 * outbound half (sa->pair); an inbound SA without one is draining.  The
 * newest outbound half but one's (except) carries traffic next.
 */
static struct sa *newest_out(const struct tunnel *t, const struct sa *except)
{
	struct sa *next = NULL, *out;
	unsigned k;

	for (k = 0; k < VIF_MAX_IN; k++) {
		out = t->vif.in[k] ? t->vif.in[k]->pair : NULL;
		if (out && out != except && (!next || out->installed_ms > next->installed_ms))
			next = out;
	}
	return next;
}

int tunnel_child_install(struct tunnel *t, struct sa *in, struct sa *out, bool activate)
{
	struct sadb *db = dp_sadb(t->dp);
	int r;

	r = sadb_add_in(db, &t->vif, in);
	if (r < 0)
		goto fail;
	in->installed_ms = out->installed_ms = now_ms();
	in->pair = out;
	out->pair = in;
	/* Make before break: the inbound SA is in place before the new
	 * outbound one carries anything. */
	out->vif = &t->vif;
	if (activate || !t->vif.out)
		sadb_set_out(&t->vif, out);
	if (t->state != TS_UP) {
		t->up_since_ms = now_ms();
		t->down_reason[0] = '\0';
		event_emit("up", t->vif.name, NULL, NULL);
	} else {
		t->rekeys_child++;
		event_emit("rekey", t->vif.name, NULL, "child");
	}
	t->state = TS_UP;
	return 0;
fail:
	log_err(t->vif.name, "cannot install inbound SA 0x%08x: %s", in->spi,
		r == -EEXIST ? "SPI in use by another tunnel" : strerror(-r));
	sa_free(in);
	sa_free(out);
	return r;
}

/* Carrier is off now: say so once, with the reason IKE gave if any. */
static void went_down(struct tunnel *t, const char *why)
{
	if (t->state == TS_UP)
		event_emit("down", t->vif.name, why ? why : t->down_reason[0] ? t->down_reason :
			   "SAs removed", NULL);
	t->state = TS_DOWN;
	if (t->on_idle)
		t->on_idle(t);
}

/* IKE is closing the tunnel's SAs for this reason (the "down" event's);
 * dead: because the peer stopped answering (a "dead" event first).  A
 * NULL reason forgets the last one once the SAs are gone. */
static void tunnel_closing(struct tunnel *t, const char *why, bool dead)
{
	if (!why && t->on_idle)
		t->on_idle(t);	/* an IKE SA is gone: perhaps the last */
	snprintf(t->down_reason, sizeof(t->down_reason), "%s", why ? why : "");
	if (dead)
		event_emit("dead", t->vif.name, t->down_reason, NULL);
}

static void tunnel_ike_rekeyed(struct tunnel *t)
{
	t->rekeys_ike++;
	event_emit("rekey", t->vif.name, NULL, "ike");
}

static void drop_child(struct tunnel *t, struct sa *in)
{
	struct sa *out = in->pair;

	sadb_del_in(dp_sadb(t->dp), in);
	sa_free(in);
	if (t->vif.out == out)
		sadb_set_out(&t->vif, newest_out(t, out));
	sa_free(out);
	if (!t->vif.out)
		went_down(t, NULL);
}

#define DRAIN_MS 2000

/* ---- the daemon's list (tunnel.h struct tunnel_list) ---- */

int tunnel_list_init(struct tunnel_list *l)
{
	memset(l, 0, sizeof(*l));
	l->tail = &l->head;
	return htab_init(&l->by_name);
}

void tunnel_list_free(struct tunnel_list *l)
{
	htab_free(&l->by_name);
}

static uint64_t name_key(const struct tunnel_list *l, const char *name)
{
	return htab_key(&l->by_name, name, strlen(name));
}

static bool busy(const struct tunnel *t)
{
	unsigned k;

	if (t->conf->mode == MODE_MANUAL)
		return true;
	for (k = 0; k < VIF_MAX_IN; k++)
		if (t->draining[k])
			return true;
	return false;
}

static void busy_mark(struct tunnel *t)
{
	if (!t->list || t->busy_pprev)
		return;
	t->busy_next = t->list->busy;
	if (t->busy_next)
		t->busy_next->busy_pprev = &t->busy_next;
	t->list->busy = t;
	t->busy_pprev = &t->list->busy;
}

static void busy_unmark(struct tunnel *t)
{
	if (!t->busy_pprev)
		return;
	*t->busy_pprev = t->busy_next;
	if (t->busy_next)
		t->busy_next->busy_pprev = t->busy_pprev;
	t->busy_next = NULL;
	t->busy_pprev = NULL;
}

void tunnel_list_add(struct tunnel_list *l, struct tunnel *t)
{
	t->list = l;
	t->next = NULL;
	t->pprev = l->tail;
	*l->tail = t;
	l->tail = &t->next;
	/* Without room in the index the tunnel is still listed; found by
	 * name it is not (vtictl says so), which is all that fails. */
	if (htab_add(&l->by_name, &t->hname, name_key(l, t->vif.name)))
		t->hname.key = 0;
	if (busy(t))
		busy_mark(t);
}

void tunnel_list_remove(struct tunnel *t)
{
	struct tunnel_list *l = t->list;

	if (!l)
		return;
	busy_unmark(t);
	htab_del(&l->by_name, &t->hname);
	*t->pprev = t->next;
	if (t->next)
		t->next->pprev = t->pprev;
	else
		l->tail = t->pprev;
	t->next = NULL;
	t->pprev = NULL;
	t->list = NULL;
}

struct tunnel *tunnel_list_find(const struct tunnel_list *l, const char *name)
{
	struct hnode *h;
	struct tunnel *t;

	for (h = htab_first(&l->by_name, name_key(l, name)); h; h = htab_next(h)) {
		t = htab_entry(h, struct tunnel, hname);
		if (!strcmp(t->vif.name, name))
			return t;
	}
	return NULL;
}

void tunnel_list_tick(struct tunnel_list *l)
{
	struct tunnel *t, *next;

	for (t = l->busy; t; t = next) {
		next = t->busy_next;
		tunnel_tick(t);
		if (!busy(t))
			busy_unmark(t);
	}
}

static void drain_free(struct tunnel *t, unsigned k)
{
	sadb_del_in(dp_sadb(t->dp), t->draining[k]);
	sa_free(t->draining[k]);
	t->draining[k] = NULL;
}

/* Remove a Child SA (in and its pair). */
static void tunnel_child_remove(struct tunnel *t, struct sa *in)
{
	struct sa *out = in->pair;
	unsigned i, k, others = 0;

	for (i = 0; i < VIF_MAX_IN; i++)
		others += t->vif.in[i] && t->vif.in[i] != in && t->vif.in[i]->pair;
	/* Replaced by another child: packets the peer sent on the old SA
	 * may still be on their way (ESP and IKE travel on different
	 * sockets), so its inbound half lingers a moment. */
	for (k = 0; others && k < VIF_MAX_IN && t->draining[k]; k++)
		;
	if (!others || k == VIF_MAX_IN) {
		drop_child(t, in);
		return;
	}
	t->draining[k] = in;
	t->drain_until[k] = now_ms() + DRAIN_MS;
	busy_mark(t);
	in->pair = out->pair = NULL;
	if (t->vif.out == out)
		sadb_set_out(&t->vif, newest_out(t, out));
	sa_free(out);
}

/*
 * A manual SA half way through its reserved sequence numbers: have the
 * parent write down the next block before this one runs out, without
 * waiting for its fsync (tunnel_seq_answer takes the answer).  Until the
 * answer the SA stops at the end of its block (esp_encap drops, counted);
 * an answer that is lost is asked for again after a few seconds.
 */
static void seq_refill(struct tunnel *t, struct sa *out, uint64_t now)
{
	int r;

	if (now < t->seq_retry_at)
		return;
	r = ps_seq_ask(t->conf, out->seq_limit, HWM_BLOCK);
	t->seq_retry_at = now + (r < 0 ? 1000 : 5000);
	if (r < 0)
		log_rl(&t->vif.rl, LOG_ERR, t->vif.name, "cannot ask for more sequence numbers "
		       "for SA 0x%08x: %s", out->spi, strerror(-r));
}

void tunnel_seq_answer(struct tunnel *t, uint32_t spi, uint64_t from, uint64_t next,
		       uint64_t limit, int err)
{
	struct sa *out;
	unsigned k;

	for (k = 0; k < VIF_MAX_IN; k++) {
		out = t->vif.in[k] ? t->vif.in[k]->pair : NULL;
		/* Only for the block it asked about: an SA re-created since
		 * then has its own numbers. */
		if (!out || out->spi != spi || out->seq_limit != from)
			continue;
		if (err) {
			t->seq_retry_at = now_ms() + 1000;
			log_rl(&t->vif.rl, LOG_ERR, t->vif.name, "cannot reserve more sequence "
			       "numbers for SA 0x%08x: %s; it stops at %llu", spi, strerror(-err),
			       (unsigned long long)from);
			continue;
		}
		/* The block starts where the parent says: another SA under the
		 * same key (another daemon sharing state-dir) may have taken
		 * the numbers right after ours. Skipping numbers is harmless;
		 * sending one twice is not. */
		sa_seq_grant(out, next > from + 1 ? next : 0, limit);
		t->seq_retry_at = 0;
	}
}

void tunnel_tick(struct tunnel *t)
{
	uint64_t now = now_ms();
	unsigned k;

	struct sa *out;

	for (k = 0; k < VIF_MAX_IN; k++)
		if (t->draining[k] && now >= t->drain_until[k])
			drain_free(t, k);
	for (k = 0; t->conf->mode == MODE_MANUAL && k < VIF_MAX_IN; k++) {
		out = t->vif.in[k] ? t->vif.in[k]->pair : NULL;
		if (out && out->seq_want)
			seq_refill(t, out, now);
	}
}

/* Follow a peer whose NAT mapping moved (RFC 7296 §2.23). */
static void tunnel_child_peer(struct tunnel *t, const struct sockaddr_storage *peer)
{
	struct sa *out;
	unsigned i;

	for (i = 0; i < VIF_MAX_IN; i++) {
		out = t->vif.in[i] ? t->vif.in[i]->pair : NULL;
		if (out && out->encap == ENCAP_UDP)
			out->peer = *peer;
	}
}

/* ---- IKE's callbacks (ike.h struct ike_conn_ops) ---- */

static int on_child_install(void *arg, struct sa *in, struct sa *out, bool activate)
{
	return tunnel_child_install(arg, in, out, activate);
}

static void on_child_remove(void *arg, struct sa *in)
{
	tunnel_child_remove(arg, in);
}

static void on_peer_moved(void *arg, const struct sockaddr_storage *peer)
{
	tunnel_child_peer(arg, peer);
}

static void on_ts_narrowed(void *arg, const struct prefix *local, unsigned nl,
			   const struct prefix *remote, unsigned nr)
{
	tunnel_child_ts(arg, local, nl, remote, nr);
}

/* UP and the DOWN after the last Child SA come with install/remove. */
static void on_state(void *arg, enum ike_conn_state s)
{
	struct tunnel *t = arg;

	t->state = s == IKE_CONN_CONNECTING ? TS_CONNECTING : s == IKE_CONN_UP ? TS_UP : TS_DOWN;
}

static void on_closing(void *arg, const char *why, bool dead)
{
	tunnel_closing(arg, why, dead);
}

static void on_ike_rekeyed(void *arg)
{
	tunnel_ike_rekeyed(arg);
}

static tunnel_psk_signer psk_signer = ps_psk_sign;

void tunnel_set_psk_signer(tunnel_psk_signer fn)
{
	psk_signer = fn ? fn : ps_psk_sign;
}

int tunnel_psk_sign(const struct tunnel_conf *tc, uint16_t prf_id, const struct chunk *octets,
		    size_t n, uint8_t *out)
{
	return psk_signer(NULL, tc, prf_id, octets, n, out);
}

/* The PSK is in the key-holding process, which finds it by the section's
 * name (a template's, for its instances); this process's copy of the
 * configuration has it wiped. */
static int on_psk_sign(void *arg, const struct ike_policy *pol, uint16_t prf_id,
		       const struct chunk *octets, size_t n, uint8_t *out)
{
	struct tunnel *t = arg;

	(void)pol;
	return psk_signer(NULL, t->conf, prf_id, octets, n, out);
}

static bool in_list(const struct prefix *x, const struct prefix *l, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (addr_equal(&x->addr, &l[i].addr) && x->len == l[i].len)
			return true;
	return false;
}

/* The host routes to the peer's inner addresses: from old to now. */
static void route_peer(struct tunnel *t, const struct prefix *now, unsigned n)
{
	struct tunnel_pool *tp = t->pool;
	struct prefix host[2];
	char a[PREFIX_STRLEN];
	unsigned i;
	int r;

	for (i = 0; i < n && i < 2; i++) {
		host[i] = now[i];
		host[i].len = now[i].addr.family == AF_INET ? 32 : 128;
	}
	for (i = 0; i < tp->n_routed; i++)
		if (!in_list(&tp->routed[i], host, n))
			ps_route(t->vif.ifindex, &tp->routed[i], false);
	for (i = 0; i < n && i < 2; i++) {
		if (in_list(&host[i], tp->routed, tp->n_routed))
			continue;
		r = ps_route(t->vif.ifindex, &host[i], true);
		if (r < 0)
			log_warn(t->vif.name, "cannot route %s to the peer: %s",
				 prefix_str(&host[i], a, sizeof(a)), strerror(-r));
	}
	memcpy(tp->routed, host, n * sizeof(host[0]));
	tp->n_routed = n;
}

/* RFC 7296 §3.15 at the responder: the peer's addresses from the pool
 * (the same ones each time it comes back), routed to it here.  A
 * [tunnel] has one peer: another identity takes the holder's place. */
static unsigned on_address_assign(void *arg, const struct ike_id *peer, bool want4, bool want6,
				  struct prefix *out)
{
	struct tunnel *t = arg;
	struct tunnel_pool *tp = t->pool;
	char a[PREFIX_STRLEN], b[PREFIX_STRLEN];
	unsigned n;

	if (!tp || peer->bodylen > 4 + IKE_ID_MAX)
		return 0;
	if (tp->peer_len && (tp->peer_len != peer->bodylen ||
			     memcmp(tp->peer, peer->body, peer->bodylen))) {
		pool_release(tp->pool, tp->peer, tp->peer_len);
		free(tp->peer);
		tp->peer = NULL;
		tp->peer_len = 0;
	}
	if (!tp->peer) {
		tp->peer = malloc(peer->bodylen ? peer->bodylen : 1);
		if (!tp->peer)
			return 0;
		memcpy(tp->peer, peer->body, peer->bodylen);
		tp->peer_len = peer->bodylen;
	}
	n = pool_lease(tp->pool, peer->body, peer->bodylen, want4, want6, out);
	route_peer(t, out, n);
	if (n)
		log_info(t->vif.name, "peer given %s%s%s", prefix_str(&out[0], a, sizeof(a)),
			 n > 1 ? ", " : "", n > 1 ? prefix_str(&out[1], b, sizeof(b)) : "");
	return n;
}

unsigned tunnel_peer_addrs(const struct tunnel *t, const struct prefix **a)
{
	*a = t->pool ? t->pool->routed : NULL;
	return t->pool ? t->pool->n_routed : 0;
}

/* RFC 7296 §3.15 at the initiator (address = auto): what the peer gave
 * goes on the interface, in place of what it gave before. */
static void on_address_given(void *arg, const struct prefix *given, unsigned n)
{
	struct tunnel *t = arg;
	char a[PREFIX_STRLEN];
	struct prefix got[2];
	unsigned i;
	int r;

	n = n < 2 ? n : 2;
	for (i = 0; i < n; i++) {
		got[i] = given[i];
		if (got[i].len < (got[i].addr.family == AF_INET ? TUNNEL_GIVEN_MIN4 : TUNNEL_GIVEN_MIN6))
			got[i].len = got[i].addr.family == AF_INET ? 32 : 128;
	}
	for (i = 0; i < t->n_given; i++)
		if (!in_list(&t->given[i], got, n))
			ps_addr_del(t->vif.ifindex, &t->given[i]);
	for (i = 0; i < n; i++) {
		if (in_list(&got[i], t->given, t->n_given))
			continue;
		r = ps_addr_add(t->vif.ifindex, &got[i]);
		if (r < 0)
			log_warn(t->vif.name, "cannot add the address the peer gave, %s: %s",
				 prefix_str(&got[i], a, sizeof(a)), strerror(-r));
		else
			log_info(t->vif.name, "address %s given by the peer",
				 prefix_str(&got[i], a, sizeof(a)));
	}
	t->n_given = n;
	memcpy(t->given, got, n * sizeof(got[0]));
}

static tunnel_ppk_mixer ppk_mixer = ps_ppk_mix;

void tunnel_set_ppk_mixer(tunnel_ppk_mixer fn)
{
	ppk_mixer = fn ? fn : ps_ppk_mix;
}

int tunnel_ppk_mix(const struct tunnel_conf *tc, uint16_t prf_id, size_t len,
		   uint8_t sk[3][PRF_MAX])
{
	return ppk_mixer(NULL, tc, prf_id, len, sk);
}

/* The PPK is where the PSK is, found the same way (a template's
 * instance: under the template's name). */
static int on_ppk_mix(void *arg, const struct ike_policy *pol, uint16_t prf_id, size_t len,
		      uint8_t sk[3][PRF_MAX])
{
	struct tunnel *t = arg;

	(void)pol;
	return ppk_mixer(NULL, t->conf, prf_id, len, sk);
}

static tunnel_signer signer = ps_sign;

void tunnel_set_signer(tunnel_signer fn)
{
	signer = fn ? fn : ps_sign;
}

/* RFC 7427: the private key is in the key-holding process too. */
static int on_sign(void *arg, const struct ike_policy *pol, int hash, const struct chunk *octets,
		   size_t n, uint8_t *out, size_t max)
{
	struct tunnel *t = arg;

	(void)pol;
	/* A template's instance signs with the template's key (its name). */
	return signer(NULL, t->conf, hash, octets, n, out, max);
}

static const struct ike_conn_ops tunnel_ike_ops = {
	.child_install = on_child_install,
	.child_remove = on_child_remove,
	.peer_moved = on_peer_moved,
	.ts_narrowed = on_ts_narrowed,
	.state = on_state,
	.closing = on_closing,
	.ike_rekeyed = on_ike_rekeyed,
	.psk_sign = on_psk_sign,
	.address_assign = on_address_assign,
	.address_given = on_address_given,
	.ppk_mix = on_ppk_mix,
	.sign = on_sign,
};

int tunnel_attach_ike(struct tunnel *t)
{
	if (t->conf->mode != MODE_IKE || !t->ike)
		return 0;
	/* The pool lives as long as the interface (tunnel_same_interface). */
	if (t->conf->n_pool && !t->pool) {
		if (!(t->pool = calloc(1, sizeof(*t->pool))))
			return -ENOMEM;
		if (!(t->pool->own = calloc(1, sizeof(*t->pool->own))))
			return -ENOMEM;
		t->pool->pool = t->pool->own;
		if (pool_init(t->pool->own, t->conf->pool, t->conf->n_pool, t->conf->addrs,
			      t->conf->n_addrs))
			return -ENOMEM;
	}
	/* An instance's policy (create_instance) is its template's. */
	if (t->own) {
		if (!t->ids && !(t->ids = malloc(sizeof(*t->ids))))
			return -ENOMEM;
		tunnel_conf_policy(t->conf, &t->pol, t->ids);
	}
	t->conn = ike_conn_add(t->ike, &t->pol, &tunnel_ike_ops, t);
	return t->conn ? 0 : -ENOMEM;
}

static int manual_sas(struct tunnel *t, struct sa **in, struct sa **out)
{
	const struct tunnel_conf *c = t->conf;
	bool udp = c->encap == ENCAP_MODE_YES;
	uint64_t next, limit;
	int r;

	*in = sa_new(c->spi_in, true, &c->esp[0], c->key_in, c->key_in_len, c->replay_window);
	*out = sa_new(c->spi_out, false, &c->esp[0], c->key_out, c->key_out_len, 0);
	if (!*in || !*out) {
		sa_free(*in);
		sa_free(*out);
		return -ENOMEM;
	}
	/* Not one packet before its first sequence numbers are on disk. */
	sa_seq_hold(*out);
	r = ps_seq_reserve(c, 0, HWM_BLOCK, &next, &limit);
	if (r < 0) {
		sa_free(*in);
		sa_free(*out);
		*in = *out = NULL;
		return r;
	}
	sa_seq_grant(*out, next, limit);
	if (next > 1)
		log_info(c->name, "key-out was used before: SA 0x%08x continues at sequence "
			 "number %llu", c->spi_out, (unsigned long long)next);
	/* Manual keying has no NAT detection: "auto" means raw ESP. */
	(*out)->encap = udp ? ENCAP_UDP : ENCAP_RAW;
	(*out)->local = c->local;
	/* Raw IPv6 sockets reject a port other than 0 or the protocol. */
	addr_to_sockaddr(&c->remote, udp ? dp_natt_port(t->dp) : 0, &(*out)->peer);
	return 0;
}

int tunnel_up(struct tunnel *t, char *err, size_t errlen)
{
	struct sa *in, *out;
	int r;

	if (t->conf->mode == MODE_IKE) {
		ike_conn_up(t->conn);
		return 0;
	}
	if (t->state == TS_UP)
		return 0;
	if (t->parked_in) {
		in = t->parked_in;
		out = t->parked_out;
		t->parked_in = t->parked_out = NULL;
	} else if ((r = manual_sas(t, &in, &out)) < 0) {
		if (r == -ENOMEM)
			snprintf(err, errlen, "cannot create SAs: %s", strerror(-r));
		else if (r == -ENOSPC)
			snprintf(err, errlen, "key-out has sent every sequence number it may: "
				 "change key-out (and the peer's key-in)");
		else
			snprintf(err, errlen, "cannot reserve outbound sequence numbers in "
				 "state-dir (%s): the SAs stay down rather than risk repeating a "
				 "nonce", strerror(-r));
		return r;
	}
	r = tunnel_child_install(t, in, out, true);
	if (r < 0) {
		snprintf(err, errlen, "cannot install the SAs: %s", strerror(-r));
		return r;
	}
	log_info(t->vif.name, "manual SAs installed: in 0x%08x, out 0x%08x", t->conf->spi_in,
		 t->conf->spi_out);
	return 0;
}

void tunnel_down(struct tunnel *t)
{
	struct sa *in;
	unsigned i;

	if (t->conf->mode == MODE_IKE) {
		ike_conn_down(t->conn);
		return;
	}
	if (t->state == TS_DOWN)
		return;
	for (i = 0; i < VIF_MAX_IN; i++) {
		in = t->vif.in[i];
		if (!in || !in->pair)
			continue;
		sadb_del_in(dp_sadb(t->dp), in);
		t->parked_in = in;
		t->parked_out = in->pair;
	}
	sadb_set_out(&t->vif, NULL);
	went_down(t, "closed by vtictl");
	log_info(t->vif.name, "SAs removed");
}

/*
 * RFC 4459 §3: size the interface so that an inner packet never needs
 * fragmenting outside: the outer path MTU less the worst case of every
 * suite this tunnel may use (UDP encapsulation included unless it is off).
 */
static void size_interface(struct tunnel *t)
{
	const struct tunnel_conf *c = t->conf;
	int path = c->remote.family ? path_mtu(&c->remote) : -1;
	size_t outer, fit = 65535, f;
	unsigned i;
	bool udp = c->encap == ENCAP_MODE_YES || (c->mode == MODE_IKE && c->encap == ENCAP_MODE_AUTO);

	if (path < 576)
		path = 1500;
	outer = (c->local.family == AF_INET6 ? 40 : 20) + (udp ? 8 : 0);
	for (i = 0; i < c->n_esp; i++) {
		f = esp_max_inner(&c->esp[i], (size_t)path - outer);
		if (f < fit)
			fit = f;
	}
	t->mtu = c->mtu ? c->mtu : (unsigned)fit;
	if (t->mtu < 576)
		t->mtu = 576;
	for (i = 0; !c->mtu && i < c->n_addrs; i++)
		if (c->addrs[i].addr.family == AF_INET6 && t->mtu < 1280)
			t->mtu = 1280;	/* IPv6 needs it (RFC 8200 §5); ESP may then fragment */
	t->vif.mss_mtu = c->mss_clamp ? (unsigned)(fit < t->mtu ? fit : t->mtu) : 0;
	log_info(c->name, "outer path MTU %d, largest inner packet %zu: interface MTU %u%s", path,
		 fit, t->mtu, c->mss_clamp ? ", TCP MSS clamped to fit" : "");
}

static int setup_interface(struct tunnel *t, char *err, size_t errlen)
{
	char p[PREFIX_STRLEN];
	unsigned i;
	int r;

	t->vif.offload = TUN_OFFLOAD_ALL;
	r = t->inst_id ? ps_tun_open_id(t->vif.name, t->inst_id, &t->vif.ifindex,
					&t->vif.offload)
		       : ps_tun_open(t->vif.name, &t->vif.ifindex, &t->vif.offload);
	if (r < 0) {
		snprintf(err, errlen, "cannot create TUN interface %s: %s%s", t->vif.name,
			 strerror(-r), r == -EBUSY ? " (an interface of that name exists)" : "");
		return r;
	}
	t->vif.tun_fd = r;
	size_interface(t);
	r = ps_netif_setup(t->vif.ifindex, t->mtu);
	if (r < 0) {
		snprintf(err, errlen, "cannot configure %s: %s", t->vif.name, strerror(-r));
		return r;
	}
	for (i = 0; i < t->conf->n_addrs; i++) {
		r = ps_addr_add(t->vif.ifindex, &t->conf->addrs[i]);
		if (r < 0) {
			snprintf(err, errlen, "cannot add address %s to %s: %s",
				 prefix_str(&t->conf->addrs[i], p, sizeof(p)), t->vif.name,
				 strerror(-r));
			return r;
		}
	}
	return 0;
}

/*
 * A template's instance: the template's section and policy, but for the
 * name, and admitting the one peer it was made for; the template's
 * shared pool.
 */
static int make_instance(struct tunnel *t, const struct ike_policy *tmpl_pol, struct pool *pool,
			 const struct ike_ident *peer)
{
	t->pol = *tmpl_pol;
	snprintf(t->pol.name, sizeof(t->pol.name), "%s", t->vif.name);
	t->pol.is_template = false;
	t->pol.remote_id = peer;
	t->pol.remote_id_glob = false;
	t->pol.remote_id_bad = false;
	t->pol.initiate = false;
	t->inst_id = peer;
	if (!pool)
		return 0;
	t->pool = calloc(1, sizeof(*t->pool));
	if (!t->pool)
		return -ENOMEM;
	t->pool->pool = pool;
	return 0;
}

/* tmpl_pol: an instance of a template (c is the template's section). */
static struct tunnel *create(struct datapath *dp, struct ike_ctx *ike, const char *name,
			     const struct tunnel_conf *c, const struct ike_policy *tmpl_pol,
			     struct pool *pool, const struct ike_ident *peer, char *err,
			     size_t errlen)
{
	struct tunnel *t = calloc(1, sizeof(*t));

	err[0] = '\0';
	if (t) {
		snprintf(t->vif.name, sizeof(t->vif.name), "%s", name);
		t->vif.tun_fd = -1;
		t->conf = c;
		if (!tmpl_pol && (t->own = malloc(sizeof(*c))))
			t->conf = memcpy(t->own, c, sizeof(*c));
	}
	if (!t || (tmpl_pol ? make_instance(t, tmpl_pol, pool, peer) : !t->own)) {
		snprintf(err, errlen, "out of memory");
		tunnel_destroy(t);
		return NULL;
	}
	t->dp = dp;
	t->ike = ike;
	tunnel_child_ts(t, c->local_ts, c->n_local_ts, c->remote_ts, c->n_remote_ts);
	if (setup_interface(t, err, errlen) < 0 || dp_add_vif(dp, &t->vif) < 0 ||
	    tunnel_attach_ike(t) < 0) {
		if (!err[0])
			snprintf(err, errlen, "cannot watch %s", name);
		tunnel_destroy(t);
		return NULL;
	}
	log_info(name, "interface created (mtu %u, %u address%s)", t->mtu, c->n_addrs,
		 c->n_addrs == 1 ? "" : "es");
	event_emit("created", name, NULL, NULL);
	/* IKE tunnels are started by the IKE timer, so a reload can add
	 * many without blocking; manual ones install their SAs now. */
	if (c->mode == MODE_MANUAL && c->start && tunnel_up(t, err, errlen) < 0) {
		tunnel_destroy(t);
		return NULL;
	}
	return t;
}

struct tunnel *tunnel_create(struct datapath *dp, struct ike_ctx *ike,
			     const struct tunnel_conf *c, char *err, size_t errlen)
{
	return create(dp, ike, c->name, c, NULL, NULL, NULL, err, errlen);
}

struct tunnel *tunnel_create_instance(struct datapath *dp, struct ike_ctx *ike, const char *name,
				      const struct tunnel_conf *tmpl,
				      const struct ike_policy *tmpl_pol, struct pool *pool,
				      const struct ike_ident *peer, char *err, size_t errlen)
{
	return create(dp, ike, name, tmpl, tmpl_pol, pool, peer, err, errlen);
}

bool tunnel_same_interface(const struct tunnel_conf *a, const struct tunnel_conf *b)
{
	/* A pool's leases and routes, or the peer's addresses, belong to
	 * the interface: they change with it; so does whether it has IPv6
	 * (the parent turns it off when it makes it). */
	return a->n_addrs == b->n_addrs && !memcmp(a->addrs, b->addrs, sizeof(a->addrs)) &&
	       a->mtu == b->mtu && a->mss_clamp == b->mss_clamp && a->mode == b->mode &&
	       a->address_auto == b->address_auto && a->n_pool == b->n_pool &&
	       !memcmp(a->pool, b->pool, sizeof(a->pool)) &&
	       tunnel_conf_ipv6(a) == tunnel_conf_ipv6(b);
}

int tunnel_reconfigure(struct tunnel *t, const struct tunnel_conf *c, char *err, size_t errlen)
{
	unsigned i;

	/* An instance (no section of its own) goes with its template. */
	if (!t->own || !tunnel_same_interface(c, t->conf))
		return -EAGAIN;
	if (t->conf->mode == MODE_IKE) {
		ike_conn_down(t->conn);	/* DELETE to the peer */
	} else {
		for (i = 0; i < VIF_MAX_IN; i++)
			if (t->vif.in[i] && t->vif.in[i]->pair)
				drop_child(t, t->vif.in[i]);
	}
	/* Manual SAs kept for "vtictl up" carry the old keys: drop them. */
	sa_free(t->parked_in);
	sa_free(t->parked_out);
	t->parked_in = t->parked_out = NULL;
	wipe(t->own, sizeof(*t->own));
	memcpy(t->own, c, sizeof(*c));
	tunnel_child_ts(t, c->local_ts, c->n_local_ts, c->remote_ts, c->n_remote_ts);
	/* IKE reads the policy in place (ike_conn_add): the new one takes
	 * effect for everything negotiated from now on. */
	if (t->conn) {
		tunnel_conf_policy(t->conf, &t->pol, t->ids);
		ike_conn_reset(t->conn);
	}
	t->state = TS_DOWN;
	if (busy(t))
		busy_mark(t);
	log_info(c->name, "configuration changed: re-keying with the new settings");
	if (c->start && c->mode == MODE_MANUAL)
		return tunnel_up(t, err, errlen);
	return 0;
}

void tunnel_destroy(struct tunnel *t)
{
	unsigned i;

	if (!t)
		return;
	tunnel_list_remove(t);
	ike_conn_del(t->conn);
	t->conn = NULL;
	for (i = 0; i < VIF_MAX_IN; i++)
		if (t->vif.in[i] && t->vif.in[i]->pair)
			drop_child(t, t->vif.in[i]);
	for (i = 0; i < VIF_MAX_IN; i++)
		if (t->draining[i])
			drain_free(t, i);
	if (t->dp)
		dp_del_vif(t->dp, &t->vif);
	vif_free_ts(&t->vif);
	sa_free(t->parked_in);
	sa_free(t->parked_out);
	/* Closing a non-persistent TUN descriptor removes the interface. */
	if (t->vif.tun_fd >= 0)
		close(t->vif.tun_fd);
	if (t->vif.name[0])
		event_emit("removed", t->vif.name, NULL, NULL);
	if (t->pool) {
		if (!t->pool->own && t->pool->peer_len)
			pool_release(t->pool->pool, t->pool->peer, t->pool->peer_len);
		if (t->pool->own) {
			pool_free(t->pool->own);
			free(t->pool->own);
		}
		free(t->pool->peer);
		free(t->pool);
	}
	if (t->own) {
		wipe(t->own, sizeof(*t->own));
		free(t->own);
	}
	free(t->ids);
	wipe(&t->pol, sizeof(t->pol));
	free(t);
}
