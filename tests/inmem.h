/*
 * inmem.h - two IKE engines (node 0 initiates, node 1 responds) run
 * against each other in memory: no sockets, no TUN, a clock the caller
 * moves and a "network" (a queue) it can deliver, reorder or lose.
 * Shared by tests/unit/test_exchange.c and the stateful fuzz target
 * tests/fuzz/fuzz_ikes.c, which drives the pair into each IKE state.
 */
#ifndef VTI_TESTS_INMEM_H
#define VTI_TESTS_INMEM_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "esp/datapath.h"
#include "esp/sadb.h"
#include "ike/ike.h"
#include "ike/ikesa.h"
#include "vtid/tunnel.h"

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

struct node {
	struct ike_ctx *ike;
	struct datapath *dp;
	struct tunnel *tunnels;
	struct tunnel *t;
	struct sockaddr_storage addr;
	int idx;
};

static struct node nodes[2];

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

/* One process: the PSK is in the configuration (no key-holding process). */
INMEM_FN int inmem_psk_sign(void *arg, const struct tunnel_conf *tc, uint16_t prf_id,
			    const struct chunk *octets, size_t n, uint8_t *out)
{
	(void)arg;
	return ike_psk_sign(prf_id, tc->psk, tc->psk_len, octets, n, out);
}

static const char *const base[2] = {
	"[tunnel t]\nlocal = 192.0.2.1\nremote = 192.0.2.2\naddress = 10.0.0.1/30\n",
	"[tunnel t]\nlocal = 192.0.2.2\nremote = 192.0.2.1\naddress = 10.0.0.2/30\nstart = no\n",
};

INMEM_FN void setup(const char *extra_a, const char *extra_b)
{
	const char *extra[2] = { extra_a, extra_b };
	int i;

	qlen = 0;
	for (i = 0; i < 2; i++) {
		struct node *n = &nodes[i];
		char text[2048];
		struct conf c;
		struct buf e;

		memset(n, 0, sizeof(*n));
		n->idx = i;
		snprintf(text, sizeof(text), "%s%s", base[i], extra[i] ? extra[i] : "");
		buf_init(&e);
		if (conf_parse("mem", text, strlen(text), &c, &e)) {
			fprintf(stderr, "%s", buf_str(&e));
			exit(2);
		}
		buf_free(&e);
		n->dp = dp_new(NULL);
		n->ike = ike_new(NULL, n->dp);
		n->t = calloc(1, sizeof(*n->t));
		memcpy(&n->t->conf, &c.t[0], sizeof(c.t[0]));
		conf_free(&c);
		n->t->dp = n->dp;
		n->t->ike = n->ike;
		n->t->vif.tun_fd = -1;
		strcpy(n->t->vif.name, "t");
		/* The interface starts with the configured selectors, as in
		 * tunnel_create(). */
		memcpy(n->t->vif.local_ts, n->t->conf.local_ts, sizeof(n->t->vif.local_ts));
		memcpy(n->t->vif.remote_ts, n->t->conf.remote_ts, sizeof(n->t->vif.remote_ts));
		n->t->vif.n_local_ts = n->t->conf.n_local_ts;
		n->t->vif.n_remote_ts = n->t->conf.n_remote_ts;
		if (dp_add_vif(n->dp, &n->t->vif) || tunnel_attach_ike(n->t))
			exit(2);
		n->tunnels = n->t;
		sockaddr_set(&n->addr, i ? "192.0.2.2" : "192.0.2.1", 500);
		ike_set_send_hook(n->ike, hook, n);
	}
	tunnel_set_psk_signer(inmem_psk_sign);
}

INMEM_FN void teardown(void)
{
	int i;

	for (i = 0; i < 2; i++) {
		ike_set_send_hook(nodes[i].ike, NULL, NULL);
		ike_conn_del(nodes[i].t->conn);
		nodes[i].t->conn = NULL;
		ike_free(nodes[i].ike);
		nodes[i].t->ike = NULL;
		tunnel_destroy(nodes[i].t);
		dp_free(nodes[i].dp);
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
