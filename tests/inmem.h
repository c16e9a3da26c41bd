/*
 * inmem.h - two IKE engines (node 0 initiates, node 1 responds) run
 * against each other in memory: no sockets, no TUN, a clock the caller
 * moves and a "network" (a queue) it can deliver, reorder or lose.
 * Shared by tests/unit/test_exchange.c, tests/unit/test_seam.c and the
 * stateful fuzz target tests/fuzz/fuzz_ikes.c, which drives the pair into
 * each IKE state.
 *
 * By default each engine's user is the small implementation of IKE's
 * callbacks (ike.h struct ike_conn_ops) below: it keeps the Child SAs
 * it is given and records what it is told, so IKE runs here without the
 * daemon.  With INMEM_TUNNEL defined, each node is a daemon tunnel
 * (vtid/tunnel.h, without its TUN device) and the daemon's own callbacks
 * put the SAs into its interface: test_exchange checks carrier, draining
 * and "show" that way.
 */
#ifndef VTI_TESTS_INMEM_H
#define VTI_TESTS_INMEM_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "crypto/cipher.h"
#include "crypto/sig.h"
#include "esp/datapath.h"
#include "esp/sadb.h"
#include "ike/ike.h"
#include "ike/ikesa.h"
#include "ike/policy.h"
#ifdef INMEM_TUNNEL
#include "vtid/tunnel.h"
#endif

/* Not every user calls every helper. */
#define INMEM_FN static __attribute__((unused))

static uint64_t fake_now = 1000000;

INMEM_FN uint64_t fake_clock(void)
{
	return fake_now;
}

struct pkt {
	int to;			/* 0: a, 1: b */
	bool natt;
	size_t len;
	uint8_t data[4096];
};

#define QMAX 64
static struct pkt queue[QMAX];
static unsigned qlen;
/* Sees every message either engine sends (the fuzzer keeps captures). */
static void (*inmem_tap)(const struct pkt *p);

#define INMEM_PAIRS 8

struct node {
	struct ike_ctx *ike;
	struct datapath *dp;
	struct ike_conn *conn;
#ifdef INMEM_TUNNEL
	struct tunnel *t;
	struct tunnel *t2;	/* the text's second [tunnel], if it has one */
#else
	/* inmem_second_conn: another tunnel of the same policy (identities) */
	struct ike_conn *conn2;
	/* What the callbacks were told. */
	struct tunnel_conf conf;	/* the policy points into it */
	struct ike_policy pol;
	struct ike_policy_ids pol_ids;
	uint8_t psk[CONF_MAX_PSK];
	size_t psk_len;
	struct sa *in[INMEM_PAIRS], *out[INMEM_PAIRS];	/* Child SAs installed */
	struct sa *active;		/* the outbound SA in use */
	enum ike_conn_state state;	/* last reported, UP with an install */
	unsigned installs, removes, ike_rekeys, moves, deaths;
	char why[96];			/* the last reason given for closing */
	unsigned n_ts_local, n_ts_remote;	/* as last narrowed */
	struct prefix got[2];		/* address_given: what the peer gave */
	unsigned n_got, givens, assigns;
#endif
	struct sockaddr_storage addr;
	int idx;
	struct conf c;		/* holds the shared PKI objects the tunnel points at */
};

static struct node nodes[2];
/* RFC 8784: the last SK_d given to the PPK mixer, and what came back. */
static uint8_t inmem_ppk_in[PRF_MAX], inmem_ppk_out[PRF_MAX];
static unsigned inmem_ppk_calls;

INMEM_FN int inmem_mix(const uint8_t *ppk, size_t ppklen, uint16_t prf_id, size_t len,
		       uint8_t sk[3][PRF_MAX])
{
	int r;

	memcpy(inmem_ppk_in, sk[0], PRF_MAX);
	r = ike_ppk_mix(prf_id, ppk, ppklen, len, sk);
	memcpy(inmem_ppk_out, sk[0], PRF_MAX);
	inmem_ppk_calls++;
	return r;
}

INMEM_FN void hook(void *arg, const uint8_t *msg, size_t len, const struct sockaddr_storage *to,
		   bool natt)
{
	struct node *from = arg;

	(void)to;
	if (qlen == QMAX || len > sizeof(queue[0].data))
		return;
	queue[qlen].to = 1 - from->idx;
	queue[qlen].natt = natt;
	queue[qlen].len = len;
	memcpy(queue[qlen].data, msg, len);
	if (inmem_tap)
		inmem_tap(&queue[qlen]);
	qlen++;
}

INMEM_FN void sockaddr_set(struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
	struct sockaddr_in *s = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	s->sin_family = AF_INET;
	s->sin_port = htons(port);
	inet_pton(AF_INET, ip, &s->sin_addr);
}

/* Deliver message i of the queue (and remove it). */
INMEM_FN void deliver(unsigned i)
{
	struct pkt p = queue[i];
	struct node *n = &nodes[p.to];
	struct sockaddr_storage from = nodes[1 - p.to].addr;

	memmove(&queue[i], &queue[i + 1], (qlen - i - 1) * sizeof(queue[0]));
	qlen--;
	if (p.natt)
		((struct sockaddr_in *)&from)->sin_port = htons(4500);
	ike_input(n->ike, p.data, p.len, &from, p.natt);
}

INMEM_FN void drop(unsigned i)
{
	memmove(&queue[i], &queue[i + 1], (qlen - i - 1) * sizeof(queue[0]));
	qlen--;
}

/* Run the network and both timers until nothing moves. */
INMEM_FN void settle(void)
{
	int rounds;

	for (rounds = 0; rounds < 200; rounds++) {
		ike_tick(nodes[0].ike);
		ike_tick(nodes[1].ike);
		if (!qlen)
			return;
		while (qlen)
			deliver(0);
	}
}

INMEM_FN void advance(uint64_t ms)
{
	uint64_t end = fake_now + ms;

	while (fake_now < end) {
		fake_now += 100;
		ike_tick(nodes[0].ike);
		ike_tick(nodes[1].ike);
	}
}

static const char *const base[2] = {
	"[tunnel t]\nlocal = 192.0.2.1\nremote = 192.0.2.2\naddress = 10.0.0.1/30\n",
	"[tunnel t]\nlocal = 192.0.2.2\nremote = 192.0.2.1\naddress = 10.0.0.2/30\nstart = no\n",
};

#ifndef INMEM_TUNNEL
/* ---- the callbacks' small implementation (no daemon) ---- */

static int sim_install(void *arg, struct sa *in, struct sa *out, bool activate)
{
	struct node *n = arg;
	unsigned k;

	for (k = 0; k < INMEM_PAIRS && n->in[k]; k++)
		;
	if (k == INMEM_PAIRS) {
		sa_free(in);
		sa_free(out);
		return -ENOSPC;
	}
	n->in[k] = in;
	n->out[k] = out;
	if (activate || !n->active)
		n->active = out;
	n->installs++;
	n->state = IKE_CONN_UP;
	return 0;
}

static void sim_remove(void *arg, struct sa *in)
{
	struct node *n = arg;
	unsigned k, j;

	for (k = 0; k < INMEM_PAIRS; k++) {
		if (!n->in[k] || n->in[k] != in)
			continue;
		if (n->active == n->out[k]) {
			n->active = NULL;
			for (j = 0; j < INMEM_PAIRS; j++)
				if (j != k && n->out[j])
					n->active = n->out[j];
		}
		sa_free(n->in[k]);
		sa_free(n->out[k]);
		n->in[k] = n->out[k] = NULL;
		n->removes++;
	}
	for (k = 0; k < INMEM_PAIRS && !n->in[k]; k++)
		;
	if (k == INMEM_PAIRS)
		n->state = IKE_CONN_DOWN;
}

static void sim_moved(void *arg, const struct sockaddr_storage *peer)
{
	struct node *n = arg;

	(void)peer;
	n->moves++;
}

static void sim_ts(void *arg, const struct prefix *local, unsigned nl,
		   const struct prefix *remote, unsigned nr)
{
	struct node *n = arg;

	(void)local;
	(void)remote;
	n->n_ts_local = nl;
	n->n_ts_remote = nr;
}

static void sim_state(void *arg, enum ike_conn_state st)
{
	((struct node *)arg)->state = st;
}

static void sim_closing(void *arg, const char *why, bool dead)
{
	struct node *n = arg;

	if (why)
		snprintf(n->why, sizeof(n->why), "%s", why);
	n->deaths += dead;
}

static void sim_ike_rekeyed(void *arg)
{
	((struct node *)arg)->ike_rekeys++;
}

static int sim_psk_sign(void *arg, const struct ike_policy *pol, uint16_t prf_id,
			const struct chunk *octets, size_t count, uint8_t *out)
{
	struct node *n = arg;

	(void)pol;
	return ike_psk_sign(prf_id, n->psk, n->psk_len, octets, count, out);
}

/* The pool's first addresses (index 5): enough to see them cross. */
static unsigned sim_assign(void *arg, const struct ike_id *peer, bool want4, bool want6,
			   struct prefix *out)
{
	struct node *n = arg;
	unsigned i, k = 0;

	(void)peer;
	n->assigns++;
	for (i = 0; i < n->conf.n_pool; i++) {
		const struct prefix *p = &n->conf.pool[i];

		if ((p->addr.family == AF_INET && !want4) || (p->addr.family == AF_INET6 && !want6))
			continue;
		out[k] = *p;
		out[k++].addr.a[p->addr.family == AF_INET ? 3 : 15] |= 5;
	}
	return k;
}

static void sim_given(void *arg, const struct prefix *a, unsigned count)
{
	struct node *n = arg;

	n->givens++;
	n->n_got = count < 2 ? count : 2;
	memcpy(n->got, a, n->n_got * sizeof(*a));
}

static int sim_ppk_mix(void *arg, const struct ike_policy *pol, uint16_t prf_id, size_t len,
		       uint8_t sk[3][PRF_MAX])
{
	struct node *n = arg;

	(void)pol;
	return inmem_mix(n->conf.ppk, n->conf.ppk_len, prf_id, len, sk);
}

/* One process: the private key is the configuration's (conf/pki.h). */
static int sim_sign(void *arg, const struct ike_policy *pol, int hash, const struct chunk *octets,
		    size_t count, uint8_t *out, size_t max)
{
	struct node *n = arg;

	(void)pol;
	return sig_sign(pki_key(n->conf.pki[PKI_KEY - 1]), hash, octets, count, out, max);
}

static const struct ike_conn_ops sim_ops = {
	.child_install = sim_install,
	.child_remove = sim_remove,
	.peer_moved = sim_moved,
	.ts_narrowed = sim_ts,
	.state = sim_state,
	.closing = sim_closing,
	.ike_rekeyed = sim_ike_rekeyed,
	.psk_sign = sim_psk_sign,
	.address_assign = sim_assign,
	.address_given = sim_given,
	.ppk_mix = sim_ppk_mix,
	.sign = sim_sign,
};

static void node_attach(struct node *n, const struct tunnel_conf *tc)
{
	n->conf = *tc;
	tunnel_conf_policy(&n->conf, &n->pol, &n->pol_ids);
	memcpy(n->psk, tc->psk, tc->psk_len);
	n->psk_len = tc->psk_len;
	n->conn = ike_conn_add(n->ike, &n->pol, &sim_ops, n);
	if (!n->conn)
		exit(2);
}

/* Node i gets a second connection of its policy, up at once: a second
 * tunnel with the same identities (its IKE_AUTH waits while the first's
 * INITIAL_CONTACT is unanswered). */
INMEM_FN struct ike_conn *inmem_second_conn(int i)
{
	struct node *n = &nodes[i];

	if (!n->conn2 && !(n->conn2 = ike_conn_add(n->ike, &n->pol, &sim_ops, n)))
		exit(2);
	ike_conn_up(n->conn2);
	return n->conn2;
}

static void node_detach(struct node *n)
{
	unsigned k;

	if (n->conn2)
		ike_conn_del(n->conn2);
	ike_conn_del(n->conn);
	n->conn = n->conn2 = NULL;
	for (k = 0; k < INMEM_PAIRS; k++) {
		sa_free(n->in[k]);
		sa_free(n->out[k]);
	}
	wipe(n->psk, sizeof(n->psk));
	wipe(&n->conf, sizeof(n->conf));
}
#else
/* One process: the PSK is in the configuration (no key-holding process). */
INMEM_FN int inmem_psk_sign(void *arg, const struct tunnel_conf *tc, uint16_t prf_id,
			    const struct chunk *octets, size_t n, uint8_t *out)
{
	(void)arg;
	return ike_psk_sign(prf_id, tc->psk, tc->psk_len, octets, n, out);
}

INMEM_FN int inmem_ppk_mix(void *arg, const struct tunnel_conf *tc, uint16_t prf_id, size_t len,
			    uint8_t sk[3][PRF_MAX])
{
	(void)arg;
	return inmem_mix(tc->ppk, tc->ppk_len, prf_id, len, sk);
}

INMEM_FN int inmem_sign(void *arg, const struct tunnel_conf *tc, int hash,
			const struct chunk *octets, size_t n, uint8_t *out, size_t max)
{
	(void)arg;
	return sig_sign(pki_key(tc->pki[PKI_KEY - 1]), hash, octets, n, out, max);
}

static struct tunnel *tunnel_attach(struct node *n, const struct tunnel_conf *tc, const char *name)
{
	struct tunnel *t = calloc(1, sizeof(*t));

	if (!t || !(t->own = malloc(sizeof(*tc))))
		exit(2);
	t->conf = memcpy(t->own, tc, sizeof(*tc));
	t->dp = n->dp;
	t->ike = n->ike;
	t->vif.tun_fd = -1;
	snprintf(t->vif.name, sizeof(t->vif.name), "%s", name);
	/* The interface starts with the configured selectors, as in
	 * tunnel_create(). */
	if (vif_set_ts(&t->vif, tc->local_ts, tc->n_local_ts, tc->remote_ts, tc->n_remote_ts) ||
	    dp_add_vif(n->dp, &t->vif) || tunnel_attach_ike(t))
		exit(2);
	return t;
}

static void node_attach(struct node *n, const struct tunnel_conf *tc)
{
	n->t = tunnel_attach(n, tc, "t");
	n->conn = n->t->conn;
	tunnel_set_psk_signer(inmem_psk_sign);
	tunnel_set_ppk_mixer(inmem_ppk_mix);
	tunnel_set_signer(inmem_sign);
}

static void node_detach(struct node *n)
{
	ike_conn_del(n->conn);
	n->conn = n->t->conn = NULL;
	if (n->t2) {
		ike_conn_del(n->t2->conn);
		n->t2->conn = NULL;
	}
}
#endif

/* Both nodes from whole configuration texts (one [tunnel] each, or two
 * with INMEM_TUNNEL). */
INMEM_FN void setup_texts(const char *text_a, const char *text_b)
{
	const char *texts[2] = { text_a, text_b };
	int i;

	qlen = 0;
	for (i = 0; i < 2; i++) {
		struct node *n = &nodes[i];
		struct conf c;
		struct buf e;

		memset(n, 0, sizeof(*n));
		n->idx = i;
		buf_init(&e);
		if (conf_parse("mem", texts[i], strlen(texts[i]), &c, &e)) {
			fprintf(stderr, "%s", buf_str(&e));
			exit(2);
		}
		buf_free(&e);
		n->dp = dp_new(NULL);
		n->ike = ike_new(NULL, n->dp);
		node_attach(n, &c.t[0]);
#ifdef INMEM_TUNNEL
		if (c.n > 1)
			n->t2 = tunnel_attach(n, &c.t[1], "t2");
#endif
		n->c = c;	/* freed at teardown: the tunnel points at its PKI objects */
		sockaddr_set(&n->addr, i ? "192.0.2.2" : "192.0.2.1", 500);
		ike_set_send_hook(n->ike, hook, n);
		/* RFC 7383 fragments are cut for this MTU, not the host's routes. */
		ike_set_frag_mtu(n->ike, 1500);
	}
}

/* The base tunnels (a initiates, b waits) with extra lines each. */
INMEM_FN void setup(const char *extra_a, const char *extra_b)
{
	char text[2][2048];
	int i;

	for (i = 0; i < 2; i++)
		snprintf(text[i], sizeof(text[i]), "%s%s", base[i],
			 (i ? extra_b : extra_a) ? (i ? extra_b : extra_a) : "");
	setup_texts(text[0], text[1]);
}

INMEM_FN void teardown(void)
{
	int i;

	for (i = 0; i < 2; i++) {
		ike_set_send_hook(nodes[i].ike, NULL, NULL);
		node_detach(&nodes[i]);
		ike_free(nodes[i].ike);
#ifdef INMEM_TUNNEL
		nodes[i].t->ike = NULL;
		tunnel_destroy(nodes[i].t);
		if (nodes[i].t2) {
			nodes[i].t2->ike = NULL;
			tunnel_destroy(nodes[i].t2);
		}
#endif
		dp_free(nodes[i].dp);
		conf_free(&nodes[i].c);
	}
	qlen = 0;
}

INMEM_FN unsigned sas(int i)
{
	const struct ike_sa *sa;
	unsigned n = 0;

	for (sa = nodes[i].ike->sas; sa; sa = sa->next)
		n += sa->state != IKE_S_DEAD;
	return n;
}

INMEM_FN struct ike_sa *established(int i)
{
	struct ike_sa *sa;

	for (sa = nodes[i].ike->sas; sa; sa = sa->next)
		if (sa->state == IKE_S_ESTABLISHED)
			return sa;
	return NULL;
}

#endif
