/*
 * template.c - see template.h.
 *
 * Who holds what: the template owns its section, its IKE policy and
 * connection, the shared pool, and one record per identity it has ever
 * admitted (its instance number, and its instance while there is one).
 * An instance is an ordinary struct tunnel in the daemon's list, so
 * show, metrics and the datapath see it like any tunnel; it points back
 * to the template's section (which names the PSK) and pool.  IKE tells
 * an instance that an SA is gone from inside its own callbacks, where the
 * instance cannot be freed: it is put on the template's list of idle
 * instances, and tmpl_tick removes those that still have no SA.
 */
#include "vtid/template.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "crypto/cipher.h"
#include "esp/sa.h"
#include "ike/ike.h"
#include "lib/hex.h"
#include "lib/htab.h"
#include "lib/log.h"
#include "vtid/pool.h"
#include "vtid/privsep.h"
#include "vtid/tunnel.h"

#define TMPL_MAX_INSTANCES 100000	/* CONF_TEMPLATE_DIGITS digits */
#define TMPL_CLOSE_BATCH 256		/* privsep.h: names per ps_tun_close */

struct tmpl_peer {
	struct hnode node;
	struct tmpl *tp;
	unsigned num;			/* NAME<num> */
	struct tunnel *t;		/* its instance, while it has one */
	struct tmpl_peer *idle_next;	/* on tp->idle */
	bool idle;
	bool kept;			/* its device was kept by a restart; no peer yet */
	struct ike_ident id;		/* as admitted */
};

struct tmpl {
	struct tunnel_conf conf;
	struct ike_policy pol;		/* its instances' too, but for name and peer */
	struct ike_policy_ids ids;
	struct ike_conn *conn;
	struct pool pool;
	bool has_pool;
	struct htab peers;		/* struct tmpl_peer by identity */
	unsigned next_num;
	unsigned live;			/* instances now */
	struct tmpl_peer *idle;		/* instances that may have lost their last SA */
	char closing[TMPL_CLOSE_BATCH][16];	/* removed: interfaces for the parent to delete */
	size_t n_closing;
	struct datapath *dp;
	struct ike_ctx *ike;
	struct tunnel_list *list;
	struct ratelimit rl;		/* refusals are logged this often */
	unsigned n_kept;		/* peers still kept */
	uint64_t kept_until;		/* then their devices go */
};

const struct tunnel_conf *tmpl_conf(const struct tmpl *tp)
{
	return &tp->conf;
}

static uint64_t id_key(const struct tmpl *tp, const struct ike_ident *id)
{
	uint8_t b[1 + IKE_ID_MAX];

	b[0] = id->type;
	memcpy(b + 1, id->data, id->len);
	return htab_key(&tp->peers, b, 1 + id->len);
}

/* The record of this identity, made (with the next number) if new. */
static struct tmpl_peer *peer_of(struct tmpl *tp, const struct ike_ident *id)
{
	uint64_t key = id_key(tp, id);
	struct tmpl_peer *p;
	struct hnode *h;

	for (h = htab_first(&tp->peers, key); h; h = htab_next(h)) {
		p = htab_entry(h, struct tmpl_peer, node);
		if (p->id.type == id->type && p->id.len == id->len &&
		    !memcmp(p->id.data, id->data, id->len))
			return p;
	}
	if (tp->next_num >= TMPL_MAX_INSTANCES)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->tp = tp;
	p->id = *id;
	if (htab_add(&tp->peers, &p->node, key)) {
		free(p);
		return NULL;
	}
	p->num = tp->next_num++;
	return p;
}

/*
 * After vtictl restart the parent adopted the instances' devices with the
 * peers they were made for: the same peer gets the same number, so the
 * same interface (its ifindex, routes), as while the daemon runs.  A
 * peer that does not come back within the grace period loses it.
 */
#define TMPL_KEPT_GRACE_MS 60000

/* NAME followed by its number, as conf.c makes instance names. */
static bool instance_num(const struct tmpl *tp, const char *name, unsigned *num)
{
	size_t n = strlen(tp->conf.name), d = strlen(name);
	unsigned v = 0;

	if (d <= n || d - n > CONF_TEMPLATE_DIGITS || strncmp(name, tp->conf.name, n) ||
	    (name[n] == '0' && d - n > 1))
		return false;
	for (; n < d; n++) {
		if (name[n] < '0' || name[n] > '9')
			return false;
		v = v * 10 + (unsigned)(name[n] - '0');
	}
	*num = v;
	return v < TMPL_MAX_INSTANCES;
}

static void seed_kept(struct tmpl *tp)
{
	uint64_t grace = 2000ULL * tp->conf.dpd_timeout;
	struct ike_ident id;
	struct tmpl_peer *p;
	char name[16];
	unsigned num;
	size_t at = 0;

	while (ps_kept_instance(&at, name, &id)) {
		if (!instance_num(tp, name, &num))
			continue;
		p = calloc(1, sizeof(*p));
		if (!p)
			break;
		p->tp = tp;
		p->id = id;
		p->num = num;
		p->kept = true;
		if (htab_add(&tp->peers, &p->node, id_key(tp, &id))) {
			free(p);
			break;
		}
		if (num >= tp->next_num)
			tp->next_num = num + 1;
		tp->n_kept++;
	}
	if (!tp->n_kept)
		return;
	tp->kept_until = now_ms() + (grace > TMPL_KEPT_GRACE_MS ? grace : TMPL_KEPT_GRACE_MS);
	log_info(tp->conf.name, "%u instance interface%s kept by the restart, waiting for "
		 "their peers", tp->n_kept, tp->n_kept == 1 ? "" : "s");
}

static void on_idle(struct tunnel *t)
{
	struct tmpl_peer *p = t->owner;

	if (p->idle)
		return;
	p->idle = true;
	p->idle_next = p->tp->idle;
	p->tp->idle = p;
}

/* The parent deletes the removed instances' interfaces, all at once. */
static void flush_closing(struct tmpl *tp)
{
	int r;

	if (!tp->n_closing)
		return;
	r = ps_tun_close((const char (*)[16])tp->closing, tp->n_closing);
	if (r < 0)
		log_warn(tp->conf.name, "the parent did not delete %zu interfaces: %s",
			 tp->n_closing, strerror(-r));
	tp->n_closing = 0;
}

/* Remove the instance from the daemon's list and free it; tell_parent:
 * have the privileged parent let go of its interface (not when vtid
 * stops: the parent removes them all then). */
static void remove_instance(struct tmpl_peer *p, bool tell_parent)
{
	struct tunnel *t = p->t;
	char name[16];

	tunnel_list_remove(t);
	snprintf(name, sizeof(name), "%s", t->vif.name);
	log_info(name, "last SA gone: removing the template's interface");
	t->on_idle = NULL;
	tunnel_destroy(t);
	p->t = NULL;
	p->tp->live--;
	/* The parent keeps every interface it made across a restart of this
	 * process; this one must go now (in a batch: flush_closing). */
	if (!tell_parent)
		return;
	if (p->tp->n_closing == TMPL_CLOSE_BATCH)
		flush_closing(p->tp);
	memcpy(p->tp->closing[p->tp->n_closing++], name, sizeof(name));
}

static struct ike_conn *on_instantiate(void *arg, const struct ike_id *peer)
{
	struct tmpl *tp = arg;
	struct tmpl_peer *p;
	struct ike_ident id = { .type = peer->type, .len = peer->len };
	struct tunnel *t;
	char err[256], name[32];
	size_t i;

	if (peer->len > sizeof(id.data))
		return NULL;
	memcpy(id.data, peer->data, peer->len);
	/* Names compare without case (a certificate's do, RFC 5280 §7.2):
	 * one peer, one instance, however it spells its name. */
	if (id.type == ID_FQDN || id.type == ID_RFC822_ADDR)
		for (i = 0; i < id.len; i++)
			id.data[i] = (uint8_t)tolower(id.data[i]);
	p = peer_of(tp, &id);
	if (!p) {
		log_warn(tp->conf.name, "cannot admit another peer (%u instances made)",
			 tp->next_num);
		return NULL;
	}
	if (p->t)
		return p->t->conn;	/* it came back before its instance went */
	if (p->kept) {
		p->kept = false;
		tp->n_kept--;
	}
	/* No more interfaces than the pool has addresses for (or instance
	 * numbers): peers that share a key could otherwise make them by
	 * naming themselves anew. */
	if (tp->live >= (tp->has_pool && tp->pool.size < TMPL_MAX_INSTANCES ? tp->pool.size :
			 TMPL_MAX_INSTANCES)) {
		log_rl(&tp->rl, LOG_WARN, tp->conf.name, "refused a peer: %u interfaces already, "
		       "the most its pool (or instance numbers) allows", tp->live);
		return NULL;
	}
	/* conf.c keeps template names short enough for the digits. */
	snprintf(name, sizeof(name), "%s%u", tp->conf.name, p->num);
	if (strlen(name) >= sizeof(tp->conf.name))
		return NULL;
	t = tunnel_create_instance(tp->dp, tp->ike, name, &tp->conf, &tp->pol,
				   tp->has_pool ? &tp->pool : NULL, &p->id, err, sizeof(err));
	if (!t) {
		log_err(tp->conf.name, "cannot make an instance for a peer: %s", err);
		return NULL;
	}
	t->owner = p;
	t->on_idle = on_idle;
	p->t = t;
	tp->live++;
	tunnel_list_add(tp->list, t);
	return t->conn;
}

/* The template's own connection holds no SA: only instantiate and the
 * PSK matter; the rest are never called, and harmless if they were. */
static int no_install(void *arg, struct sa *in, struct sa *out, bool activate)
{
	(void)arg;
	(void)activate;
	sa_free(in);
	sa_free(out);
	return -EINVAL;
}

static void no_remove(void *arg, struct sa *in)
{
	(void)arg;
	(void)in;
}

static void no_moved(void *arg, const struct sockaddr_storage *peer)
{
	(void)arg;
	(void)peer;
}

static void no_ts(void *arg, const struct prefix *l, unsigned nl, const struct prefix *r,
		  unsigned nr)
{
	(void)arg;
	(void)l;
	(void)nl;
	(void)r;
	(void)nr;
}

static void no_state(void *arg, enum ike_conn_state s)
{
	(void)arg;
	(void)s;
}

static void no_closing(void *arg, const char *why, bool dead)
{
	(void)arg;
	(void)why;
	(void)dead;
}

static void no_rekeyed(void *arg)
{
	(void)arg;
}

static unsigned no_assign(void *arg, const struct ike_id *peer, bool want4, bool want6,
			  struct prefix *out)
{
	(void)arg;
	(void)peer;
	(void)want4;
	(void)want6;
	(void)out;
	return 0;
}

static void no_given(void *arg, const struct prefix *a, unsigned n)
{
	(void)arg;
	(void)a;
	(void)n;
}

static int tmpl_psk_sign(void *arg, const struct ike_policy *pol, uint16_t prf_id,
			 const struct chunk *octets, size_t n, uint8_t *out)
{
	struct tmpl *tp = arg;

	(void)pol;
	return tunnel_psk_sign(&tp->conf, prf_id, octets, n, out);
}

/* RFC 8784: a peer of the template uses the template's PPK. */
static int tmpl_ppk_mix(void *arg, const struct ike_policy *pol, uint16_t prf_id, size_t len,
			uint8_t sk[3][PRF_MAX])
{
	struct tmpl *tp = arg;

	(void)pol;
	return tunnel_ppk_mix(&tp->conf, prf_id, len, sk);
}

static const struct ike_conn_ops tmpl_ops = {
	.child_install = no_install,
	.child_remove = no_remove,
	.peer_moved = no_moved,
	.ts_narrowed = no_ts,
	.state = no_state,
	.closing = no_closing,
	.ike_rekeyed = no_rekeyed,
	.psk_sign = tmpl_psk_sign,
	.address_assign = no_assign,
	.address_given = no_given,
	.instantiate = on_instantiate,
	.ppk_mix = tmpl_ppk_mix,
};

struct tmpl *tmpl_create(const struct tunnel_conf *c, struct datapath *dp, struct ike_ctx *ike,
			 struct tunnel_list *list, char *err, size_t errlen)
{
	struct tmpl *tp = calloc(1, sizeof(*tp));

	if (!tp || htab_init(&tp->peers)) {
		free(tp);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	tp->conf = *c;
	tp->dp = dp;
	tp->ike = ike;
	tp->list = list;
	if (c->n_pool) {
		if (pool_init(&tp->pool, c->pool, c->n_pool, c->addrs, c->n_addrs)) {
			snprintf(err, errlen, "out of memory");
			tmpl_destroy(tp, false);
			return NULL;
		}
		tp->has_pool = true;
	}
	seed_kept(tp);
	tunnel_conf_policy(&tp->conf, &tp->pol, &tp->ids);
	tp->conn = ike_conn_add(ike, &tp->pol, &tmpl_ops, tp);
	if (!tp->conn) {
		snprintf(err, errlen, "out of memory");
		tmpl_destroy(tp, false);
		return NULL;
	}
	log_info(c->name, "template ready: admits %s", c->remote_id[0] ? c->remote_id :
		 "any peer with its psk");
	return tp;
}

void tmpl_destroy(struct tmpl *tp, bool tell_parent)
{
	struct tmpl_peer *p;
	size_t b;

	if (!tp)
		return;
	ike_conn_del(tp->conn);
	for (b = 0; tp->peers.b && b <= tp->peers.mask; b++)
		while (tp->peers.b[b]) {
			p = htab_entry(tp->peers.b[b], struct tmpl_peer, node);
			if (p->t)
				remove_instance(p, tell_parent);
			htab_del(&tp->peers, &p->node);
			free(p);
		}
	flush_closing(tp);
	htab_free(&tp->peers);
	if (tp->has_pool)
		pool_free(&tp->pool);
	wipe(&tp->conf, sizeof(tp->conf));
	free(tp);
}

/* The grace period is over: kept devices whose peer did not come back go. */
static void drop_kept(struct tmpl *tp)
{
	char name[16];
	struct tmpl_peer *p;
	struct hnode *h;
	size_t b;

	for (b = 0; tp->peers.b && b <= tp->peers.mask; b++)
		for (h = tp->peers.b[b]; h; h = h->next) {
			p = htab_entry(h, struct tmpl_peer, node);
			if (!p->kept)
				continue;
			p->kept = false;
			if (tp->n_closing == TMPL_CLOSE_BATCH)
				flush_closing(tp);
			/* conf.c: a template name has at most 10 characters. */
			snprintf(name, sizeof(name), "%.10s%u", tp->conf.name, p->num % 100000);
			memcpy(tp->closing[tp->n_closing++], name, sizeof(name));
		}
	log_info(tp->conf.name, "%u kept instance interface%s deleted: their peers did not "
		 "come back", tp->n_kept, tp->n_kept == 1 ? "" : "s");
	tp->n_kept = 0;
}

void tmpl_tick(struct tmpl *tp)
{
	struct tmpl_peer *p, *next, *keep = NULL;

	if (tp->n_kept && now_ms() >= tp->kept_until)
		drop_kept(tp);

	for (p = tp->idle, tp->idle = NULL; p; p = next) {
		next = p->idle_next;
		p->idle = false;
		if (!p->t)
			continue;
		if (p->t->state != TS_UP && ike_conn_idle(p->t->conn)) {
			remove_instance(p, true);
			continue;
		}
		/* Not yet: an IKE SA still negotiates; look again later. */
		if (p->t->state != TS_UP) {
			p->idle = true;
			p->idle_next = keep;
			keep = p;
		}
	}
	tp->idle = keep;
	flush_closing(tp);
}

const char *tmpl_of(const struct tunnel *t)
{
	const struct tmpl_peer *p = t->on_idle == on_idle ? t->owner : NULL;

	return p ? p->tp->conf.name : NULL;
}

void tmpl_peer_id(const struct tunnel *t, char *out, size_t len)
{
	const struct ike_ident *id = t->inst_id;
	struct addr a = { 0 };
	size_t i;

	if (!id) {
		snprintf(out, len, "-");
		return;
	}
	if ((id->type == ID_IPV4_ADDR && id->len == 4) || (id->type == ID_IPV6_ADDR && id->len == 16)) {
		a.family = id->type == ID_IPV4_ADDR ? AF_INET : AF_INET6;
		memcpy(a.a, id->data, id->len);
		addr_str(&a, out, len);
	} else if (id->type == ID_FQDN || id->type == ID_RFC822_ADDR) {
		/* The peer chose these bytes: only printable ones are shown. */
		for (i = 0; i < id->len && i + 1 < len; i++)
			out[i] = id->data[i] >= 0x20 && id->data[i] < 0x7f ? (char)id->data[i] : '?';
		out[i] = '\0';
	} else if (len >= 3) {
		snprintf(out, len, "@#");
		hex_encode(id->data, id->len < (len - 3) / 2 ? id->len : (len - 3) / 2, out + 2);
	}
}
