/*
 * ike.c - IKEv2 core: sockets, IKE SA table, message dispatch, message IDs
 * and retransmission (RFC 7296 §2.1-2.3), and the Child SA hand-over to
 * the SA table.  The exchanges themselves live in init.c, auth.c, info.c.
 */
#include "ike/ikesa.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/cipher.h"
#include "crypto/x509.h"
#include "esp/datapath.h"
#include "esp/esp.h"
#include "esp/sadb.h"
#include "ike/proposal.h"
#include "lib/cursor.h"
#include "lib/json.h"
#include "platform/platform.h"

const char *ikesa_name(const struct ike_sa *sa)
{
	return sa->conn ? sa->conn->pol->name : "vtid";
}

static void on_sock(void *arg);

static bool same_peer(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return !memcmp(&((const struct sockaddr_in *)a)->sin_addr,
			       &((const struct sockaddr_in *)b)->sin_addr, 4);
	return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		       &((const struct sockaddr_in6 *)b)->sin6_addr, 16);
}

/* Address and port, and nothing else of the structure (its padding and
 * the IPv6 flow label are not part of where a peer is). */
static bool same_endpoint(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	struct addr x, y;
	uint16_t px, py;

	addr_from_sockaddr(a, &x, &px);
	addr_from_sockaddr(b, &y, &py);
	return px == py && addr_equal(&x, &y);
}

struct ike_ctx *ike_new(struct ev *ev, struct datapath *dp)
{
	struct ike_ctx *ctx = calloc(1, sizeof(*ctx));

	if (!ctx)
		return NULL;
	/* RFC 7296 §2.6: both cookie secrets are random from the start; an
	 * all-zero "previous" secret would let anyone compute valid cookies. */
	if (htab_init(&ctx->by_spi) || htab_init(&ctx->by_peer) || htab_init(&ctx->by_conn) ||
	    htab_init(&ctx->by_ids) || htab_init(&ctx->conn_by_addr) ||
	    htab_init(&ctx->conn_by_id) ||
	    rand_bytes(ctx->secret[0], sizeof(ctx->secret[0])) ||
	    rand_bytes(ctx->secret[1], sizeof(ctx->secret[1]))) {
		htab_free(&ctx->by_spi);
		htab_free(&ctx->by_peer);
		htab_free(&ctx->by_conn);
		htab_free(&ctx->by_ids);
		htab_free(&ctx->conn_by_addr);
		htab_free(&ctx->conn_by_id);
		wipe(ctx, sizeof(*ctx));
		free(ctx);
		return NULL;
	}
	ctx->secret_at = now_ms();
	ctx->cookie_threshold = 64;
	ctx->ev = ev;
	ctx->dp = dp;
	ctx->conns_tail = &ctx->conns;
	ctx->sock[0] = ctx->sock[1] = -1;
	return ctx;
}

void ike_set_cookie_threshold(struct ike_ctx *ctx, unsigned n)
{
	ctx->cookie_threshold = n;
}

const struct ike_stats *ike_get_stats(const struct ike_ctx *ctx)
{
	return &ctx->st;
}

unsigned ike_half_open(const struct ike_ctx *ctx)
{
	return ctx->half_open;
}

unsigned ike_sa_count(const struct ike_ctx *ctx)
{
	const struct ike_sa *sa;
	unsigned n = 0;

	for (sa = ctx->sas; sa; sa = sa->next)
		n += sa->state != IKE_S_DEAD;
	return n;
}

struct sock_arg {
	struct ike_ctx *ctx;
	int fd;
	uint32_t drops;		/* the socket's SO_RXQ_OVFL count, as last told */
};

_Static_assert(sizeof(((struct ike_stats *)0)->tx_refused) / sizeof(uint64_t) == SOCK_ERR_KINDS,
	       "one counter per enum sock_err_kind");

static struct sock_arg sock_args[2];

int ike_open(struct ike_ctx *ctx, uint16_t port, char *err, size_t errlen)
{
	static const int fam[2] = { AF_INET, AF_INET6 };
	int i, fd;

	ctx->port = port;
	for (i = 0; i < 2; i++) {
		fd = sock_udp_open(fam[i], port);
		if (fd < 0) {
			snprintf(err, errlen, "cannot bind IKE port %u (%s): %s", port,
				 i ? "IPv6" : "IPv4", strerror(-fd));
			return fd;
		}
		ctx->sock[i] = fd;
		sock_args[i].ctx = ctx;
		sock_args[i].fd = fd;
		if (ev_add(ctx->ev, fd, on_sock, &sock_args[i]) < 0) {
			snprintf(err, errlen, "cannot watch the IKE socket");
			return -ENOMEM;
		}
	}
	return 0;
}

static void ikesa_free(struct ike_sa *sa)
{
	ikesa_half_open_end(sa);
	htab_del(&sa->ctx->by_spi, &sa->hspi);
	htab_del(&sa->ctx->by_peer, &sa->hpeer);
	htab_del(&sa->ctx->by_conn, &sa->htun);
	htab_del(&sa->ctx->by_ids, &sa->hids);
	heap_del(&sa->ctx->timers, &sa->timer);
	dh_free(sa->dh);
	dh_free(sa->op_dh);
	ike_sk_free(sa->sk);
	ike_frag_free(sa);
	ike_keys_wipe(&sa->keys);
	buf_free(&sa->init_req);
	buf_free(&sa->init_req_alt);
	buf_free(&sa->init_resp);
	buf_free(&sa->req);
	buf_free(&sa->resp);
	free(sa->peer_cert);
	free(sa->agreed);
	free(sa->col);
	wipe(sa, sizeof(*sa));
	free(sa);
}

int ikesa_agreed(struct ike_sa *sa)
{
	if (!sa->agreed)
		sa->agreed = calloc(1, sizeof(*sa->agreed));
	return sa->agreed ? 0 : -ENOMEM;
}

/*
 * Established: what only IKE_SA_INIT and IKE_AUTH needed goes (the
 * messages AUTH signed, §2.15, and the selectors, now the tunnel's).
 * A hub holds thousands of idle SAs, each a few KB of this otherwise.
 */
void ikesa_established_trim(struct ike_sa *sa)
{
	buf_free(&sa->init_req);
	buf_free(&sa->init_req_alt);
	buf_free(&sa->init_resp);
	free(sa->agreed);
	sa->agreed = NULL;
}

void ike_free(struct ike_ctx *ctx)
{
	struct ike_conn *c, *cnext;
	struct ike_sa *sa, *next;
	int i;

	if (!ctx)
		return;
	for (sa = ctx->sas; sa; sa = next) {
		next = sa->next;
		if (sa->state == IKE_S_ESTABLISHED)
			ike_send_delete(sa);
		ikesa_children_remove(sa);
		ikesa_free(sa);
	}
	for (sa = ctx->grave; sa; sa = next) {
		next = sa->next;
		ikesa_free(sa);
	}
	for (i = 0; i < 2; i++) {
		if (ctx->sock[i] < 0)
			continue;
		ev_del(ctx->ev, ctx->sock[i]);
		close(ctx->sock[i]);
	}
	htab_free(&ctx->by_spi);
	htab_free(&ctx->by_peer);
	htab_free(&ctx->by_conn);
	htab_free(&ctx->by_ids);
	htab_free(&ctx->conn_by_addr);
	htab_free(&ctx->conn_by_id);
	heap_free(&ctx->timers);
	heap_free(&ctx->inits);
	for (c = ctx->conns; c; c = cnext) {
		cnext = c->next;
		free(c);
	}
	wipe(ctx->secret, sizeof(ctx->secret));
	free(ctx);
}

struct ike_sa *ikesa_new(struct ike_ctx *ctx, bool initiator)
{
	struct ike_sa *sa = calloc(1, sizeof(*sa));
	uint64_t spi = 0;

	if (!sa)
		return NULL;
	while (!spi)
		if (rand_bytes((uint8_t *)&spi, sizeof(spi))) {
			free(sa);
			return NULL;
		}
	if (htab_add(&ctx->by_spi, &sa->hspi, spi)) {
		free(sa);
		return NULL;
	}
	/* Due at once: the first tick computes its real due time. */
	if (heap_set(&ctx->timers, &sa->timer, now_ms())) {
		htab_del(&ctx->by_spi, &sa->hspi);
		free(sa);
		return NULL;
	}
	sa->ctx = ctx;
	sa->initiator = initiator;
	if (initiator)
		sa->spi_i = spi;
	else
		sa->spi_r = spi;
	buf_init(&sa->init_req);
	buf_init(&sa->init_req_alt);
	buf_init(&sa->init_resp);
	buf_init(&sa->req);
	buf_init(&sa->resp);
	sa->last_rx_ms = sa->created_ms = now_ms();
	sa->next = ctx->sas;
	if (sa->next)
		sa->next->pprev = &sa->next;
	sa->pprev = &ctx->sas;
	ctx->sas = sa;
	return sa;
}

/* Where half-open SAs come from, for their per-source cap: an IPv4
 * address, or an IPv6 /64 (one host usually holds a whole /64; RFC 8019
 * §4 counts by prefix for that reason). */
static size_t source_len(int family)
{
	return family == AF_INET ? 4 : 8;
}

static uint64_t peer_key(const struct ike_ctx *ctx, const struct sockaddr_storage *ss)
{
	struct addr a;
	uint16_t port;

	addr_from_sockaddr(ss, &a, &port);
	return htab_key(&ctx->by_peer, a.a, source_len(a.family));
}

static bool same_source(const struct sockaddr_storage *x, const struct sockaddr_storage *y)
{
	struct addr a, b;
	uint16_t pa, pb;

	addr_from_sockaddr(x, &a, &pa);
	addr_from_sockaddr(y, &b, &pb);
	return a.family == b.family && !memcmp(a.a, b.a, source_len(a.family));
}

int ikesa_add_responder(struct ike_sa *sa)
{
	struct ike_ctx *ctx = sa->ctx;

	if (htab_add(&ctx->by_peer, &sa->hpeer, peer_key(ctx, &sa->peer)))
		return -ENOMEM;
	sa->half_open = true;
	ctx->half_open++;
	return 0;
}

static uint64_t conn_key(const struct ike_conn *c)
{
	return (uint64_t)(uintptr_t)c;
}

int ikesa_set_conn(struct ike_sa *sa, struct ike_conn *c)
{
	if (sa->conn) {
		htab_del(&sa->ctx->by_conn, &sa->htun);
		if (sa->conn != c)
			ike_conn_wake(sa->conn);
	}
	sa->conn = c;
	ikesa_touch(sa);	/* its deadlines depend on the policy */
	return c ? htab_add(&sa->ctx->by_conn, &sa->htun, conn_key(c)) : 0;
}

void ike_conn_set_state(struct ike_conn *c, enum ike_conn_state s)
{
	c->state = s;
	c->ops->state(c->arg, s);
}

void ikesa_half_open_end(struct ike_sa *sa)
{
	if (!sa->half_open)
		return;
	sa->half_open = false;
	sa->ctx->half_open--;
}

bool ike_half_open_admit(struct ike_ctx *ctx, const struct sockaddr_storage *from)
{
	struct hnode *n;
	unsigned k = 0;

	if (ctx->half_open >= HALF_OPEN_MAX)
		return false;
	for (n = htab_first(&ctx->by_peer, peer_key(ctx, from)); n; n = htab_next(n)) {
		struct ike_sa *sa = htab_entry(n, struct ike_sa, hpeer);

		k += sa->half_open && same_source(&sa->peer, from);
	}
	return k < HALF_OPEN_PER_SOURCE;
}

void ike_msg_digest(const uint8_t *p, size_t len, uint8_t out[20])
{
	const uint8_t *parts[1] = { p };
	size_t lens[1] = { len };

	if (sha1(parts, lens, 1, out))
		memset(out, 0, 20);
}

void ikesa_kill(struct ike_sa *sa, const char *why)
{
	struct ike_conn *c = sa->conn;

	if (sa->state == IKE_S_DEAD)
		return;
	ikesa_half_open_end(sa);
	ikesa_contact_done(sa);
	if (c && (sa->state == IKE_S_ESTABLISHED || c->state != IKE_CONN_UP))
		c->ops->closing(c->arg, why, why && !strcmp(why, "peer dead"));
	/* An SA without a connection is an unauthenticated peer's: whoever can
	 * send packets can make these, so their log lines are rate-limited. */
	if (why && c)
		log_info(ikesa_name(sa), "IKE SA %016" PRIx64 "/%016" PRIx64 " closed: %s",
			 sa->spi_i, sa->spi_r, why);
	else if (why)
		log_rl(&sa->ctx->rl, LOG_INFO, NULL, "IKE SA %016" PRIx64 "/%016" PRIx64
		       " closed: %s", sa->spi_i, sa->spi_r, why);
	ikesa_children_remove(sa);
	if (c)
		c->ops->closing(c->arg, NULL, false);
	/* An IKE SA it was giving birth to (rekey) dies with it. */
	if (sa->op_new) {
		sa->op_new->state = IKE_S_DEAD;
		ikesa_touch(sa->op_new);
		sa->op_new = NULL;
	}
	sa->state = IKE_S_DEAD;
	ikesa_touch(sa);
	sa->req_pending = false;
	sa->op = OP_NONE;
	if (c && c->state != IKE_CONN_UP) {
		ike_conn_set_state(c, IKE_CONN_DOWN);
		/* Try again later, backing off, unless the operator said down. */
		if (c->pol->initiate && !c->admin_down) {
			c->reinit_ms = c->reinit_ms ? c->reinit_ms * 2 : REINIT_MIN_MS;
			if (c->reinit_ms > REINIT_MAX_MS)
				c->reinit_ms = REINIT_MAX_MS;
			/* Jittered (ike_jitter): tunnels that lost one peer
			 * together do not come back to it in lockstep. */
			c->reinit_at = now_ms() + ike_jitter(c->reinit_ms, REINIT_JITTER);
		}
	}
}

void ikesa_peer_addr(const struct ike_sa *sa, struct addr *a, uint16_t *port)
{
	addr_from_sockaddr(&sa->peer, a, port);
}

void ike_set_send_hook(struct ike_ctx *ctx, ike_send_hook fn, void *arg)
{
	ctx->hook = fn;
	ctx->hook_arg = arg;
}

void ike_set_frag_mtu(struct ike_ctx *ctx, unsigned mtu)
{
	ctx->frag_mtu = mtu;
}

static void refused(struct ike_ctx *ctx, int err, const struct sockaddr_storage *dst)
{
	enum sock_err_kind k = sock_err_kind(err);
	struct addr a;
	uint16_t port;
	char s[INET6_ADDRSTRLEN];

	ctx->st.tx_refused[k]++;
	addr_from_sockaddr(dst, &a, &port);
	log_rl(&ctx->rl, LOG_WARN, NULL, "IKE datagram to %s refused: %s (%s)",
	       a.family ? addr_str(&a, s, sizeof(s)) : "?", strerror(err),
	       sock_err_name(k));
}

void ikesa_send_raw(struct ike_ctx *ctx, const struct addr *src,
		    const struct sockaddr_storage *dst, bool natt, const uint8_t *p, size_t len)
{
	int fd = ctx->sock[dst->ss_family == AF_INET ? 0 : 1], r;

	if (ctx->hook) {
		ctx->hook(ctx->hook_arg, p, len, dst, natt);
		return;
	}
	if (natt) {
		if (dp_send_nonesp(ctx->dp, src, dst, p, len) < 0)
			log_rl(&ctx->rl, LOG_WARN, NULL, "cannot send IKE message on the NAT-T port");
		return;
	}
	if (fd < 0) {
		log_rl(&ctx->rl, LOG_WARN, NULL, "cannot send IKE message");
		return;
	}
	r = sock_send(fd, src, dst, p, len);
	if (r < 0)
		refused(ctx, -r, dst);
}

/* Length of the first IKE message in p (0 if there is none). */
static size_t first_len(const uint8_t *p, size_t len)
{
	size_t n = len >= IKE_HDR_LEN ? be32_get(p + 24) : 0;

	return n >= IKE_HDR_LEN && n <= len ? n : 0;
}

/* Send each IKE message stored one after the other in b: one, or the
 * fragments of one, which a retransmission sends again alike (RFC 7383
 * §2.6.1). */
static void send_stored(struct ike_sa *sa, const struct buf *b)
{
	const uint8_t *p = b->data;
	size_t left = b->len, n;

	while ((n = first_len(p, left))) {
		ikesa_send_raw(sa->ctx, &sa->local, &sa->peer, sa->natt, p, n);
		p += n;
		left -= n;
	}
}

/* Liveness on an established SA answers within dpd: retransmit at most
 * that far apart; negotiation backs off 1, 2, 4, 8, 16 s. */
static uint64_t retx_interval(const struct ike_sa *sa, unsigned retries)
{
	/* An established SA with dpd keeps retransmitting until dpd-timeout,
	 * so retries can pass RETX_MAX: the interval stops doubling there. */
	uint64_t ms = (uint64_t)RETX_FIRST_MS << (retries < RETX_MAX ? retries : RETX_MAX);

	/* RFC 7296 §2.4 leaves the schedule to us: a little randomness keeps
	 * thousands of SAs that started together from retransmitting in
	 * lockstep (and meeting the same full queue each time). */
	ms = ike_jitter(ms, RETX_JITTER);
	if (sa->state == IKE_S_ESTABLISHED && sa->conn && sa->conn->pol->dpd &&
	    ms > sa->conn->pol->dpd * 1000ULL)
		ms = sa->conn->pol->dpd * 1000ULL;
	return ms;
}

/* Is the peer dead?  Established SAs with dpd use dpd-timeout since the
 * last thing heard; everything else gives up after RETX_MAX. */
static bool peer_dead(const struct ike_sa *sa, uint64_t now)
{
	if (sa->state == IKE_S_ESTABLISHED && sa->conn && sa->conn->pol->dpd)
		return now - sa->last_rx_ms >= sa->conn->pol->dpd_timeout * 1000ULL;
	/* The last retransmission gets its full interval too. */
	return sa->retries >= RETX_MAX && now >= sa->retx_at;
}

int ikesa_send_request(struct ike_sa *sa, struct buf *msg)
{
	struct ike_hdr h;

	if (msg->bad)
		return -ENOMEM;
	if (ike_hdr_parse(msg->data, first_len(msg->data, msg->len), &h))
		return -EINVAL;
	buf_reset(&sa->req);
	buf_add(&sa->req, msg->data, msg->len);
	sa->req_exchange = h.exchange;
	sa->req_pending = true;
	sa->retries = 0;
	sa->req_first_ms = now_ms();
	sa->retx_at = now_ms() + retx_interval(sa, 0);
	ikesa_touch(sa);
	sa->next_req++;
	send_stored(sa, &sa->req);
	return 0;
}

void ikesa_send_response(struct ike_sa *sa, struct buf *msg)
{
	if (msg->bad)
		return;
	/* Freed, not reset: kept for the peer's retransmission, the last
	 * answer is mostly a small one (DPD), in a block of its size. */
	buf_free(&sa->resp);
	buf_add(&sa->resp, msg->data, msg->len);
	sa->have_resp = true;
	send_stored(sa, &sa->resp);
}

void ikesa_header(struct ike_sa *sa, struct ike_hdr *h, uint8_t exchange, bool response,
		  uint32_t msgid)
{
	memset(h, 0, sizeof(*h));
	h->spi_i = sa->spi_i;
	h->spi_r = sa->spi_r;
	h->exchange = exchange;
	h->flags = (sa->initiator ? IKE_FLAG_INITIATOR : 0) | (response ? IKE_FLAG_RESPONSE : 0);
	h->msgid = msgid;
}

int ikesa_send_sk(struct ike_sa *sa, uint8_t exchange, bool response, uint32_t msgid,
		  const struct ike_wr *inner, struct buf *inner_buf)
{
	struct ike_hdr h;
	struct buf msg;
	int r;

	buf_init(&msg);
	ikesa_header(sa, &h, exchange, response, msgid);
	r = ike_frag_seal(sa, &h, inner->first, inner_buf->data, inner_buf->len, &msg);
	if (r == -EMSGSIZE)
		log_rl(&sa->ctx->rl, LOG_WARN, ikesa_name(sa), "IKE message of %zu bytes does not "
		       "fit %u fragments; not sent", inner_buf->len, IKE_FRAG_MAX);
	if (!r) {
		if (response)
			ikesa_send_response(sa, &msg);
		else
			r = ikesa_send_request(sa, &msg);
	}
	buf_free(&msg);
	return r;
}

/* ---- Child SAs ---- */

uint64_t ikesa_jitter(uint64_t base_ms, unsigned seconds)
{
	uint16_t r = 0;

	/* Rekey between 85% and 95% of the lifetime, so that two peers with
	 * the same lifetime rarely start at once (RFC 7296 §2.8.1). */
	if (rand_bytes((uint8_t *)&r, sizeof(r)))
		r = 0;
	return base_ms + (uint64_t)seconds * (850 + r % 100);
}

uint64_t ikesa_rekey_backoff(unsigned fails)
{
	uint64_t ms = 5000ULL << (fails < 6 ? fails : 6);
	uint16_t r = 0;

	if (ms > 300000)
		ms = 300000;
	if (rand_bytes((uint8_t *)&r, sizeof(r)))
		r = 0;
	return ms + ms * (r % 256) / 1024;	/* + 0-25% */
}

uint32_t ikesa_alloc_spi(struct ike_sa *sa)
{
	uint32_t spi = 0;
	unsigned i;
	bool taken;

	do {
		if (rand_bytes((uint8_t *)&spi, sizeof(spi)))
			return 0;
		taken = spi < 256 || sadb_lookup(dp_sadb(sa->ctx->dp), spi);
		for (i = 0; !taken && i < IKE_MAX_CHILDREN; i++)
			taken = sa->child[i].in == spi;
	} while (taken);
	return spi;
}

struct ike_child *ikesa_child_by_in(struct ike_sa *sa, uint32_t spi)
{
	unsigned i;

	for (i = 0; i < IKE_MAX_CHILDREN; i++)
		if (sa->child[i].in && sa->child[i].in == spi)
			return &sa->child[i];
	return NULL;
}

struct ike_child *ikesa_child_by_out(struct ike_sa *sa, uint32_t spi)
{
	unsigned i;

	for (i = 0; i < IKE_MAX_CHILDREN; i++)
		if (sa->child[i].in && sa->child[i].out == spi)
			return &sa->child[i];
	return NULL;
}

unsigned ikesa_child_count(const struct ike_sa *sa)
{
	unsigned i, n = 0;

	for (i = 0; i < IKE_MAX_CHILDREN; i++)
		n += sa->child[i].in != 0;
	return n;
}

void ikesa_child_del(struct ike_sa *sa, uint32_t in)
{
	struct ike_child *c = ikesa_child_by_in(sa, in);
	struct ike_conn *conn = sa->conn;

	if (!c)
		return;
	if (conn) {
		conn->ops->child_remove(conn->arg, c->sa);
		/* The callee's carrier went with the last one. */
		if (conn->children && !--conn->children)
			conn->state = IKE_CONN_DOWN;
	}
	memset(c, 0, sizeof(*c));
	ikesa_touch(sa);
}

void ikesa_children_remove(struct ike_sa *sa)
{
	unsigned i;

	for (i = 0; i < IKE_MAX_CHILDREN; i++)
		if (sa->child[i].in)
			ikesa_child_del(sa, sa->child[i].in);
}

/* RFC 7296 §2.17: i->r keys first, then r->i; encryption before integrity. */
int ikesa_child_add(struct ike_sa *sa, uint32_t in_spi, uint32_t out_spi,
		    const struct ike_prop *prop, const struct chunk *gir, const struct chunk *ni,
		    const struct chunk *nr, bool exch_initiator, bool activate)
{
	uint8_t km[2 * 128];
	struct esp_suite suite;
	struct ike_child *slot = NULL;
	struct sa *in, *out;
	size_t half;
	bool udp;
	int r;

	unsigned i;

	for (i = 0; i < IKE_MAX_CHILDREN && !slot; i++)
		if (!sa->child[i].in)
			slot = &sa->child[i];
	if (!slot || !sa->conn || esp_suite_from_prop(prop, &suite))
		return -EINVAL;
	half = esp_suite_keymat_len(&suite);
	r = ike_child_keymat(&sa->keys, gir, ni, nr, km, 2 * half);
	if (r)
		return r;
	in = sa_new(in_spi, true, &suite, exch_initiator ? km + half : km, half,
		    sa->conn->pol->replay_window);
	out = sa_new(out_spi, false, &suite, exch_initiator ? km : km + half, half, 0);
	wipe(km, sizeof(km));
	if (!in || !out) {
		sa_free(in);
		sa_free(out);
		return -ENOMEM;
	}
	/* RFC 3948: ESP goes in UDP when a NAT was found or it is forced. */
	udp = sa->nat_local || sa->nat_remote || sa->force_encap;
	out->encap = udp ? ENCAP_UDP : ENCAP_RAW;
	out->local = sa->local;
	out->peer = sa->peer;
	if (!udp) {
		if (out->peer.ss_family == AF_INET)
			((struct sockaddr_in *)&out->peer)->sin_port = 0;
		else
			((struct sockaddr_in6 *)&out->peer)->sin6_port = 0;
	}
	/* One Child SA, one pair: each half knows the other. */
	in->pair = out;
	out->pair = in;
	r = sa->conn->ops->child_install(sa->conn->arg, in, out, activate);
	if (r)
		return r;
	sa->conn->children++;
	sa->conn->state = IKE_CONN_UP;
	slot->in = in_spi;
	slot->out = out_spi;
	slot->sa = in;
	slot->installed_ms = now_ms();
	slot->rekey_at = ikesa_jitter(slot->installed_ms, sa->conn->pol->esp_lifetime);
	slot->expire_at = slot->installed_ms + sa->conn->pol->esp_lifetime * 1000ULL;
	ikesa_touch(sa);
	sa->childless_at = 0;
	return 0;
}

/* ---- input ---- */

static struct ike_sa *find(struct ike_ctx *ctx, const struct ike_hdr *h)
{
	bool we_initiated = !(h->flags & IKE_FLAG_INITIATOR);
	struct ike_sa *sa;
	struct hnode *n;

	for (n = htab_first(&ctx->by_spi, we_initiated ? h->spi_i : h->spi_r); n;
	     n = htab_next(n)) {
		sa = htab_entry(n, struct ike_sa, hspi);
		if (sa->state == IKE_S_DEAD || sa->initiator != we_initiated)
			continue;
		if (we_initiated && sa->spi_i == h->spi_i &&
		    (sa->spi_r == h->spi_r || sa->state == IKE_S_INIT_SENT))
			return sa;
		if (!we_initiated && sa->spi_r == h->spi_r && sa->spi_i == h->spi_i)
			return sa;
	}
	return NULL;
}

/*
 * An IKE_SA_INIT request's payloads after a leading COOKIE notify, and
 * the type of the first of them: what RFC 7296 §2.6 keeps unchanged when
 * the initiator retries with a cookie.  The message has parsed already.
 */
static void init_body(const uint8_t *msg, size_t len, const uint8_t **body, size_t *blen,
		      uint8_t *first)
{
	size_t pl;

	*first = msg[16];
	*body = msg + IKE_HDR_LEN;
	*blen = len - IKE_HDR_LEN;
	/* notify header: next, flags, length (2), protocol, SPI size, type (2) */
	if (*first != PL_NOTIFY || *blen < 8 || be16_get(*body + 6) != N_COOKIE)
		return;
	pl = be16_get(*body + 2);
	if (pl < 8 || pl > *blen)
		return;
	*first = (*body)[0];
	*body += pl;
	*blen -= pl;
}

static bool same_bytes(const struct buf *b, const uint8_t *msg, size_t len)
{
	return b->len == len && !memcmp(b->data, msg, len);
}

/*
 * §2.6: the request this SA answered, retried with a cookie that we made
 * (it crossed our answer): the header alike but for the next payload and
 * the length, and every payload after the cookie alike.  Anything else
 * (a flag flipped, a cookie we did not make) is not the initiator's.
 */
static bool cookie_retry(struct ike_ctx *ctx, const struct ike_sa *sa, const uint8_t *msg,
			 size_t len, const struct ike_msg *m, const struct sockaddr_storage *from)
{
	const uint8_t *a, *b, *req = sa->init_req.data;
	size_t alen, blen;
	uint8_t fa, fb;

	if (sa->init_req.len < IKE_HDR_LEN || memcmp(msg, req, 16) || memcmp(msg + 17, req + 17, 7))
		return false;
	init_body(req, sa->init_req.len, &a, &alen, &fa);
	init_body(msg, len, &b, &blen, &fb);
	return b != msg + IKE_HDR_LEN && fa == fb && alen == blen && !memcmp(a, b, alen) &&
	       ike_cookie_valid(ctx, m, from);
}

/* The responder SA that an IKE_SA_INIT request from here already made. */
static struct ike_sa *find_responder(struct ike_ctx *ctx, uint64_t spi_i,
				     const struct sockaddr_storage *from)
{
	struct ike_sa *sa;
	struct hnode *n;

	for (n = htab_first(&ctx->by_peer, peer_key(ctx, from)); n; n = htab_next(n)) {
		sa = htab_entry(n, struct ike_sa, hpeer);
		if (sa->spi_i == spi_i && same_peer(&sa->peer, from) && sa->state != IKE_S_DEAD)
			return sa;
	}
	return NULL;
}

/* Requests of an established (or half-open) IKE SA; true if authentic. */
/* RFC 7296 §2.11: a request is answered from the address and port it
 * came to (and to where it came from); §2.23: a peer that moved IKE to
 * the NAT-T port stays there, and so do we.  Only for a message that
 * passed the integrity check, and before it is answered. */
static void follow_natt(struct ike_sa *sa, const struct sockaddr_storage *from, bool natt)
{
	if (!natt || sa->natt)
		return;
	/* Without a NAT between us the peer only changes ports (§2.23 lets
	 * the address follow only behind a NAT): a request replayed from
	 * elsewhere must not move it. */
	if (!sa->nat_local && !sa->nat_remote && !same_peer(&sa->peer, from))
		return;
	sa->natt = true;
	sa->peer = *from;
	if (sa->conn)
		sa->conn->ops->peer_moved(sa->conn->arg, from);
}

static bool request(struct ike_sa *sa, struct ike_msg *m, uint8_t *raw,
		    const struct sockaddr_storage *from, bool natt, struct buf *whole)
{
	uint8_t digest[20];

	ike_msg_digest(raw, m->rawlen, digest);
	if (m->h.msgid + 1 == sa->peer_req && sa->have_resp) {
		/* RFC 7296 §2.1: a retransmitted request gets the same answer;
		 * only the same request (so a forged header draws nothing).
		 * RFC 7383 §2.6.1: fragmented, its first fragment does. */
		if (m->skf ? ike_frag_retransmitted(sa, m, raw)
			   : ct_equal(digest, sa->resp_to, sizeof(digest)))
			send_stored(sa, &sa->resp);
		else if (!m->skf)
			sa->ctx->st.rx_unexpected++;
		return false;
	}
	if (m->h.msgid != sa->peer_req)
		return false;	/* §2.3: outside the window: drop silently */
	/* Until IKE_AUTH's answer authenticates the responder, our SA takes no
	 * request: whoever answered IKE_SA_INIT has its keys.  Dropped
	 * without taking the message ID or following its address: a real
	 * peer's request that overtook that answer comes again. */
	if (sa->state == IKE_S_INIT_SENT || sa->state == IKE_S_AUTH_SENT) {
		sa->ctx->st.rx_unexpected++;
		return false;
	}
	if (m->skf) {
		/* RFC 7383 §2.6.2: handled once every fragment is in. */
		if (ike_frag_input(sa, m, raw, false, whole) != 1)
			return false;
	} else if (ike_sk_open(sa->sk, raw, m)) {
		log_rl(&sa->ctx->rl, LOG_WARN, ikesa_name(sa),
		       "IKE request %u failed integrity check or did not parse; dropped",
		       m->h.msgid);
		return false;
	}
	sa->peer_req++;
	sa->last_rx_ms = now_ms();
	memcpy(sa->resp_to, digest, sizeof(digest));
	follow_natt(sa, from, natt);
	/* Until IKE_AUTH has authenticated the peer, nothing else counts. */
	if ((sa->state == IKE_S_INIT_DONE) != (m->h.exchange == IKE_AUTH)) {
		sa->ctx->st.rx_unexpected++;
		return true;
	}
	switch (m->h.exchange) {
	case IKE_AUTH:
		ike_auth_request(sa, m);
		break;
	case INFORMATIONAL:
		ike_info_request(sa, m);
		break;
	case CREATE_CHILD_SA:
		if (sa->state == IKE_S_ESTABLISHED)
			ike_child_request(sa, m);
		break;
	default:
		break;
	}
	return true;
}

static bool response(struct ike_sa *sa, struct ike_msg *m, uint8_t *raw, struct buf *whole)
{
	/* §2.2: a response answers our one outstanding request: same message
	 * ID and the same exchange, or it is not an answer at all. */
	if (!sa->req_pending || m->h.msgid + 1 != sa->next_req ||
	    m->h.exchange != sa->req_exchange) {
		sa->ctx->st.rx_unexpected++;
		return false;
	}
	if (m->skf) {
		if (ike_frag_input(sa, m, raw, true, whole) != 1)
			return false;
	} else if (ike_sk_open(sa->sk, raw, m)) {
		log_rl(&sa->ctx->rl, LOG_WARN, ikesa_name(sa),
		       "IKE response %u failed integrity check; dropped", m->h.msgid);
		return false;
	}
	sa->req_pending = false;
	buf_free(&sa->req);	/* answered: not sent again (idle SAs hold none) */
	sa->last_rx_ms = now_ms();
	switch (m->h.exchange) {
	case IKE_AUTH:
		if (sa->state == IKE_S_AUTH_SENT)
			ike_auth_response(sa, m);
		break;
	case INFORMATIONAL:
		ike_info_response(sa, m);
		break;
	case CREATE_CHILD_SA:
		ike_child_response(sa, m);
		break;
	default:
		break;
	}
	return true;
}

void ike_input(struct ike_ctx *ctx, const uint8_t *msg, size_t len,
	       const struct sockaddr_storage *from, bool natt)
{
	struct ike_msg m;
	struct ike_sa *sa;
	uint8_t *raw = ctx->rx;
	struct buf whole;
	bool authentic;
	int r;

	ctx->st.rx++;
	if (len > sizeof(ctx->rx)) {
		ctx->st.rx_malformed++;
		return;
	}
	memcpy(raw, msg, len);
	r = ike_msg_parse(raw, len, &m);
	if (r) {
		ctx->st.rx_malformed++;
		log_rl(&ctx->rl, LOG_DEBUG, NULL, "malformed IKE message dropped (notify %d)", -r);
		return;
	}
	if (m.h.exchange == IKE_SA_INIT) {
		if (!(m.h.flags & IKE_FLAG_RESPONSE)) {
			if (m.h.spi_r != 0 || !(m.h.flags & IKE_FLAG_INITIATOR))
				return;
			sa = find_responder(ctx, m.h.spi_i, from);
			if (sa) {
				/* §2.1: the same IKE_SA_INIT again gets the same
				 * answer; so does that request retried with our
				 * cookie (§2.6), which the initiator may then sign
				 * in IKE_AUTH instead (§2.15): kept beside it. */
				bool again = sa->state == IKE_S_INIT_DONE && m.h.msgid == 0 &&
					     (same_bytes(&sa->init_req, msg, len) ||
					      same_bytes(&sa->init_req_alt, msg, len));

				if (!again && sa->state == IKE_S_INIT_DONE && m.h.msgid == 0 &&
				    !sa->init_req_alt.len && cookie_retry(ctx, sa, msg, len, &m, from)) {
					buf_add(&sa->init_req_alt, msg, len);
					again = !sa->init_req_alt.bad;
				}
				if (again)
					ikesa_send_raw(ctx, &sa->local, &sa->peer, sa->natt,
						       sa->init_resp.data, sa->init_resp.len);
				else
					ctx->st.rx_unexpected++;
				return;
			}
			ike_init_request(ctx, &m, from, natt);
			return;
		}
		sa = find(ctx, &m.h);
		/* Only an SA that IKE_SA_INIT started (one being made by an IKE
		 * rekey has no connection yet and is not reachable this way). */
		if (sa && sa->state == IKE_S_INIT_SENT && sa->conn && m.h.msgid == 0) {
			ike_init_response(sa, &m);
			ikesa_touch(sa);
		} else
			ctx->st.rx_unexpected++;
		return;
	}
	sa = find(ctx, &m.h);
	if (!sa) {
		ctx->st.rx_unknown_sa++;
		if (!(m.h.flags & IKE_FLAG_RESPONSE))
			log_rl(&ctx->rl, LOG_DEBUG, NULL, "IKE request for an unknown IKE SA dropped");
		return;
	}
	/* An initiator waiting for IKE_SA_INIT's answer has no keys yet:
	 * nothing but that answer can be read (or trusted). */
	if (!sa->sk) {
		ctx->st.rx_unexpected++;
		return;
	}
	/* RFC 7383 §2.3: fragments only from a peer that agreed to them. */
	if (m.skf && !sa->frag) {
		ctx->st.rx_unexpected++;
		return;
	}
	buf_init(&whole);
	authentic = m.h.flags & IKE_FLAG_RESPONSE ? response(sa, &m, raw, &whole)
						    : request(sa, &m, raw, from, natt, &whole);
	buf_free(&whole);
	ikesa_touch(sa);
	/* RFC 7296 §2.23: follow a peer behind a NAT to its new mapping,
	 * but only for a message that passed the integrity check, and never
	 * from behind a NAT ourselves (SHOULD NOT: a forged source would
	 * take the SA away from the only address that reaches us). */
	if (authentic && sa->nat_remote && !sa->nat_local && natt && sa->state != IKE_S_DEAD &&
	    !same_endpoint(from, &sa->peer)) {
		ctx->st.peer_moved++;
		sa->peer = *from;
		if (sa->conn)
			sa->conn->ops->peer_moved(sa->conn->arg, from);
	}
}

static void on_sock(void *arg)
{
	struct sock_arg *s = arg;
	struct sockaddr_storage from;
	uint8_t buf[IKE_MAX_MSG];
	union {
		char buf[SOCK_RX_CMSG];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr m;
	ssize_t n;
	int i;

	for (i = 0; i < 16; i++) {
		m = (struct msghdr){ .msg_name = &from, .msg_namelen = sizeof(from),
				     .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
				     .msg_controllen = sizeof(u.buf) };
		n = recvmsg(s->fd, &m, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (n < 0)
			continue;
		if (sock_rx_dropped(&m, &s->drops))
			s->ctx->st.rx_sock_dropped = (uint64_t)sock_args[0].drops + sock_args[1].drops;
		ike_input(s->ctx, buf, (size_t)n, &from, false);
	}
}

/* ---- timers and connections ---- */

/* A dead SA leaves the table's list for the grave, which the end of the
 * tick empties: nothing that runs in the same tick meets freed memory. */
static void bury(struct ike_sa *sa)
{
	struct ike_ctx *ctx = sa->ctx;

	*sa->pprev = sa->next;
	if (sa->next)
		sa->next->pprev = sa->pprev;
	heap_del(&ctx->timers, &sa->timer);
	sa->next = ctx->grave;
	sa->pprev = NULL;
	ctx->grave = sa;
}

static void reap(struct ike_ctx *ctx)
{
	struct ike_sa *sa;

	while ((sa = ctx->grave)) {
		ctx->grave = sa->next;
		/* Its connection may have to initiate again (reinit_at). */
		if (sa->conn)
			ike_conn_wake(sa->conn);
		ikesa_free(sa);
	}
}

/* The connection's IKE SA: the established one if there is one. */
struct ike_sa *ikesa_of_conn(const struct ike_conn *c, const struct ike_sa *after)
{
	struct hnode *n = after ? htab_next(&after->htun) :
				  htab_first(&c->ctx->by_conn, conn_key(c));
	struct ike_sa *sa;

	for (; n; n = htab_next(n)) {
		sa = htab_entry(n, struct ike_sa, htun);
		if (sa->conn == c)
			return sa;
	}
	return NULL;
}

void ikesa_set_ids(struct ike_sa *sa, uint64_t key)
{
	htab_del(&sa->ctx->by_ids, &sa->hids);
	sa->ids_key = key;
	/* Unfiled, the SA is only not found by INITIAL_CONTACT's checks. */
	if (key && htab_add(&sa->ctx->by_ids, &sa->hids, key))
		log_warn(ikesa_name(sa), "not indexed by its identities (out of memory)");
}

struct ike_sa *ikesa_of_ids(const struct ike_ctx *ctx, uint64_t key, const struct ike_sa *after)
{
	struct hnode *n;

	if (!key)
		return NULL;
	n = after ? htab_next(&after->hids) : htab_first(&ctx->by_ids, key);
	return n ? htab_entry(n, struct ike_sa, hids) : NULL;
}

void ikesa_contact_done(struct ike_sa *sa)
{
	uint64_t k = sa->ids_key;
	struct ike_sa *o;

	if (!sa->contact)
		return;
	sa->contact = false;
	/* Woken: each looks again, and waits afresh if another tunnel's
	 * INITIAL_CONTACT went out meanwhile. */
	for (o = ikesa_of_ids(sa->ctx, k, NULL); o; o = ikesa_of_ids(sa->ctx, k, o))
		if (o->auth_wait) {
			o->auth_wait_until = 0;
			ikesa_touch(o);
		}
}

static struct ike_sa *conn_sa(const struct ike_conn *c)
{
	struct ike_sa *sa, *any = NULL;
	struct hnode *n;

	for (n = htab_first(&c->ctx->by_conn, conn_key(c)); n; n = htab_next(n)) {
		sa = htab_entry(n, struct ike_sa, htun);
		if (sa->conn != c || sa->state == IKE_S_DEAD)
			continue;
		if (sa->state == IKE_S_ESTABLISHED)
			return sa;
		any = any ? any : sa;
	}
	return any;
}

bool ike_conn_idle(const struct ike_conn *c)
{
	return !conn_sa(c);
}

int ike_conn_rekey(struct ike_conn *c, bool ike)
{
	struct ike_sa *sa = conn_sa(c);

	if (!sa)
		return -ENOENT;
	return ike_rekey_now(sa, ike);
}

/* Inbound ESP is proof of life too (RFC 7296 §2.4: only check a peer
 * we have not heard from). */
static void esp_liveness(struct ike_sa *sa, uint64_t now)
{
	uint64_t total = 0, newest = 0;
	unsigned i;

	for (i = 0; i < IKE_MAX_CHILDREN; i++)
		if (sa->child[i].in) {
			total += sa->child[i].sa->packets;
			if (sa->child[i].sa->rx_ms > newest)
				newest = sa->child[i].sa->rx_ms;
		}
	if (total != sa->esp_seen) {
		sa->esp_seen = total;
		/* The timers run when liveness is due, not every tick: when
		 * the datapath says when the newest packet came, that time
		 * counts (a later one would put the check off). */
		sa->last_rx_ms = newest > sa->last_rx_ms && newest <= now ? newest : now;
	}
}

/* Volume limits that force a Child SA rekey before the time does: never
 * let a sequence number near its end (RFC 4303 §3.3.3). */
static bool child_worn(const struct ike_child *c)
{
	const struct sa *out = c->sa->pair;

	return out->seq >= sa_seq_max(out) - (sa_seq_max(out) >> 4);
}

/* Lifetimes: rekey children and the IKE SA before they expire. */
static void lifetimes(struct ike_sa *sa, uint64_t now)
{
	unsigned i;

	if (sa->req_pending)
		return;
	for (i = 0; i < IKE_MAX_CHILDREN; i++) {
		struct ike_child *c = &sa->child[i];

		if (!c->in)
			continue;
		if (now >= c->expire_at && !c->replaced) {
			/* Make before break failed: the peer would not re-key it.
			 * Negotiate everything again rather than run without it. */
			log_warn(ikesa_name(sa), "Child SA 0x%08x expired before it was re-keyed "
				 "(%u attempts); starting over", c->in, c->rekey_fails);
			ike_send_delete(sa);
			ikesa_kill(sa, "Child SA expired");
			return;
		}
		if (now >= c->expire_at) {
			ike_delete_child(sa, c->in);
			return;
		}
		/* Volume forces the first attempt; after that, the back-off. */
		if (!c->replaced && (now >= c->rekey_at || (!c->rekey_fails && child_worn(c)))) {
			c->rekey_at = now + ikesa_rekey_backoff(c->rekey_fails++);
			ike_rekey_child_start(sa, c);
			return;
		}
	}
	if (sa->expire_at && now >= sa->expire_at) {
		log_warn(ikesa_name(sa), "IKE SA expired before it was re-keyed (%u attempts); "
			 "starting over", sa->rekey_fails);
		ike_send_delete(sa);
		ikesa_kill(sa, "IKE SA expired");
		return;
	}
	if (sa->rekey_at && now >= sa->rekey_at) {
		sa->rekey_at = now + ikesa_rekey_backoff(sa->rekey_fails++);
		ike_rekey_ike_start(sa);
	}
}

static void keepalive(struct ike_sa *sa, uint64_t now)
{
	static const uint8_t ka = 0xff;

	/* RFC 3948 §2.3: keep our NAT mapping open. */
	if (!sa->nat_local || now < sa->keepalive_at)
		return;
	sa->keepalive_at = now + KEEPALIVE_MS;
	if (dp_send_udp(sa->ctx->dp, &sa->local, &sa->peer, &ka, 1) < 0)
		log_rl(&sa->ctx->rl, LOG_DEBUG, ikesa_name(sa), "cannot send NAT keep-alive");
}

static void sa_timers(struct ike_sa *sa, uint64_t now)
{
	ike_frag_timers(sa, now);
	if ((sa->state == IKE_S_INIT_SENT || sa->state == IKE_S_AUTH_SENT) && sa->conn &&
	    now - sa->created_ms >= NEGOTIATE_MS) {
		ikesa_kill(sa, "negotiation did not complete in time; starting over");
		return;
	}
	if (sa->auth_wait) {	/* another tunnel's INITIAL_CONTACT: answered yet? */
		ike_auth_start(sa);
		return;
	}
	if (sa->state == IKE_S_ESTABLISHED && sa->childless_at && now >= sa->childless_at &&
	    !sa->req_pending) {
		sa->childless_at = 0;
		if (!ikesa_child_count(sa)) {
			ike_send_delete(sa);
			ikesa_kill(sa, "the peer deleted the last Child SA and made no other");
			return;
		}
	}
	if (sa->state == IKE_S_DELETING && !sa->req_pending && sa->kill_at && now >= sa->kill_at) {
		ikesa_kill(sa, "replaced, and the peer never deleted it");
		return;
	}
	/* Half-open SAs cost memory; whoever does not authenticate in time
	 * is forgotten (bounded state under an IKE_SA_INIT flood). */
	if (sa->state == IKE_S_INIT_DONE && sa->kill_at && now >= sa->kill_at) {
		ikesa_kill(sa, NULL);
		return;
	}
	if (sa->state == IKE_S_ESTABLISHED && sa->conn) {
		esp_liveness(sa, now);
		keepalive(sa, now);
		lifetimes(sa, now);
		if (sa->conn->pol->dpd && !sa->req_pending &&
		    now - sa->last_rx_ms >= sa->conn->pol->dpd * 1000ULL)
			ike_send_dpd(sa);
	}
	if (!sa->req_pending)
		return;
	if (peer_dead(sa, now)) {
		log_warn(ikesa_name(sa), "peer not responding: %u retransmissions, nothing heard "
			 "for %llu ms", sa->retries, (unsigned long long)(now - sa->last_rx_ms));
		ikesa_kill(sa, "peer dead");
		return;
	}
	if (now < sa->retx_at)
		return;
	sa->retries++;
	sa->retx_at = now + retx_interval(sa, sa->retries);
	log_debug(ikesa_name(sa), "retransmitting request %u (%u)", sa->next_req - 1, sa->retries);
	send_stored(sa, &sa->req);
}

static bool may_initiate(const struct ike_conn *c)
{
	return c->pol->initiate && !c->admin_down && c->pol->remote.family && !conn_sa(c);
}

/* What a tick did before the heaps: every SA, every connection.  Kept
 * for the test that checks the heaps fire the same events. */
static void scan_all(struct ike_ctx *ctx, uint64_t now)
{
	struct ike_sa *sa, *next;
	struct ike_conn *c;

	for (sa = ctx->sas; sa; sa = sa->next)
		if (sa->state != IKE_S_DEAD) {
			sa_timers(sa, now);
			ctx->timer_runs++;
		}
	for (sa = ctx->sas; sa; sa = next) {
		next = sa->next;
		if (sa->state == IKE_S_DEAD)
			bury(sa);
	}
	reap(ctx);
	for (c = ctx->conns; c; c = c->next)
		if (may_initiate(c) && now >= c->reinit_at)
			ike_init_start(ctx, c);
}

/* The SAs that are due, each once: its due time afterwards is later than
 * now even if a deadline passed that waits for something else (a rekey
 * waiting for an outstanding request), so the loop ends. */
static void run_due(struct ike_ctx *ctx, uint64_t now)
{
	struct heap_node *x;
	size_t budget = ctx->timers.n + 64;
	uint64_t due;

	while ((x = heap_top(&ctx->timers)) && x->due <= now && budget--) {
		struct ike_sa *sa = heap_entry(x, struct ike_sa, timer);

		if (sa->state != IKE_S_DEAD) {
			sa_timers(sa, now);
			ctx->timer_runs++;
		}
		if (sa->state == IKE_S_DEAD) {
			bury(sa);
			continue;
		}
		due = ikesa_next_due(sa, now);
		(void)heap_set(&ctx->timers, x, due > now ? due : now + 1);
	}
}

/* Connections whose reinit_at has come: initiate the ones that still
 * need to; the others leave the queue until something wakes them. */
static void run_inits(struct ike_ctx *ctx, uint64_t now)
{
	struct heap_node *x;
	size_t budget = ctx->inits.n;

	while ((x = heap_top(&ctx->inits)) && x->due <= now && budget--) {
		struct ike_conn *c = heap_entry(x, struct ike_conn, initq);

		if (!may_initiate(c)) {
			heap_del(&ctx->inits, x);
			continue;
		}
		if (now < c->reinit_at) {
			(void)heap_set(&ctx->inits, x, c->reinit_at);
			continue;
		}
		/* Paced: the rest wait, due, for the next tick. */
		if (!ike_init_paced(ctx, now))
			break;
		heap_del(&ctx->inits, x);
		ike_init_start(ctx, c);
		/* No SA at all (out of memory): try again next tick, as before. */
		if (!conn_sa(c))
			(void)heap_set(&ctx->inits, x, c->reinit_at > now ? c->reinit_at : now + 1);
	}
}

void ike_tick(struct ike_ctx *ctx)
{
	uint64_t now = now_ms();

	if (ctx->full_scan) {
		scan_all(ctx, now);
		return;
	}
	run_due(ctx, now);
	reap(ctx);
	run_inits(ctx, now);
	reap(ctx);
}

/* ---- IKE_AUTH's index of connections (struct ike_conn.sel) ---- */

uint64_t ike_conn_addr_key(const struct ike_ctx *ctx, const struct addr *a)
{
	uint8_t b[1 + 16];

	b[0] = (uint8_t)a->family;
	memcpy(b + 1, a->a, addr_len(a->family));
	return htab_key(&ctx->conn_by_addr, b, 1 + addr_len(a->family));
}

bool ike_conn_id_key(const struct ike_ctx *ctx, uint8_t type, const uint8_t *data, size_t len,
		     uint64_t *key)
{
	uint8_t b[1 + 256];
	uint64_t h;

	/* A DN matches by RFC 5280 §7.1 comparison, not its encoding. */
	if (type == ID_DER_ASN1_DN) {
		if (x509_dn_hash(data, len, &h))
			return false;
		b[0] = type;
		memcpy(b + 1, &h, sizeof(h));
		*key = htab_key(&ctx->conn_by_id, b, 1 + sizeof(h));
		return true;
	}
	if (len > sizeof(b) - 1)
		return false;
	b[0] = type;
	memcpy(b + 1, data, len);
	*key = htab_key(&ctx->conn_by_id, b, 1 + len);
	return true;
}

/* File c where IKE_AUTH looks for it, by its policy as it is now.  A
 * table that cannot grow keeps working; one that cannot be made at all
 * leaves c on the list of those that admit anyone, which is slower, never
 * wrong: select_conn checks every candidate in full. */
static void conn_file(struct ike_conn *c)
{
	const struct ike_policy *pol = c->pol;
	const struct ike_ident *id = pol->remote_id;
	uint64_t key;

	if (pol->remote.family && !htab_add(&c->ctx->conn_by_addr, &c->hsel,
					     ike_conn_addr_key(c->ctx, &pol->remote))) {
		c->sel = CONN_SEL_ADDR;
		return;
	}
	if (!pol->remote.family && !pol->is_template && !pol->remote_id_glob &&
	    !pol->remote_id_bad && id->type && ike_conn_id_key(c->ctx, id->type, id->data, id->len,
							       &key) &&
	    !htab_add(&c->ctx->conn_by_id, &c->hsel, key)) {
		c->sel = CONN_SEL_ID;
		return;
	}
	c->sel = CONN_SEL_ANY;
	c->any_next = c->ctx->conn_any;
	if (c->any_next)
		c->any_next->any_pprev = &c->any_next;
	c->ctx->conn_any = c;
	c->any_pprev = &c->ctx->conn_any;
}

static void conn_unfile(struct ike_conn *c)
{
	if (c->sel == CONN_SEL_ADDR)
		htab_del(&c->ctx->conn_by_addr, &c->hsel);
	else if (c->sel == CONN_SEL_ID)
		htab_del(&c->ctx->conn_by_id, &c->hsel);
	else if (c->sel == CONN_SEL_ANY) {
		*c->any_pprev = c->any_next;
		if (c->any_next)
			c->any_next->any_pprev = c->any_pprev;
	}
	c->sel = 0;
}

struct ike_conn *ike_conn_add(struct ike_ctx *ctx, const struct ike_policy *pol,
			      const struct ike_conn_ops *ops, void *arg)
{
	struct ike_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	/* Room in the initiation queue for every connection, so that
	 * waking one never fails. */
	if (heap_reserve(&ctx->inits, ctx->n_conns + 1)) {
		free(c);
		return NULL;
	}
	ctx->n_conns++;
	c->ctx = ctx;
	c->pol = pol;
	c->ops = ops;
	c->arg = arg;
	c->seq = ctx->conn_seq++;
	c->pprev = ctx->conns_tail;
	*ctx->conns_tail = c;
	ctx->conns_tail = &c->next;
	conn_file(c);
	ike_conn_wake(c);
	return c;
}

void ike_conn_up(struct ike_conn *c)
{
	struct ike_sa *sa = conn_sa(c);

	c->admin_down = false;
	c->reinit_ms = 0;
	if (sa)
		ikesa_kill(sa, "restart requested");
	if (c->pol->remote.family)
		ike_init_start(c->ctx, c);
}

void ike_conn_down(struct ike_conn *c)
{
	struct ike_sa *sa;

	c->admin_down = true;
	while ((sa = conn_sa(c))) {
		if (sa->state == IKE_S_ESTABLISHED)
			ike_send_delete(sa);
		ikesa_kill(sa, "closed by vtictl");
	}
	ike_conn_set_state(c, IKE_CONN_DOWN);
}

void ike_conn_reset(struct ike_conn *c)
{
	c->admin_down = false;
	c->reinit_at = c->reinit_ms = 0;
	/* Its policy changed in place: its peer or identity may have. */
	conn_unfile(c);
	conn_file(c);
	ike_conn_wake(c);
}

void ike_conn_del(struct ike_conn *c)
{
	struct ike_ctx *ctx;
	struct ike_sa *sa;
	struct hnode *n, *next;

	if (!c)
		return;
	ctx = c->ctx;
	for (n = htab_first(&ctx->by_conn, conn_key(c)); n; n = next) {
		next = htab_next(n);
		sa = htab_entry(n, struct ike_sa, htun);
		if (sa->conn != c)
			continue;
		if (sa->state == IKE_S_ESTABLISHED)
			ike_send_delete(sa);
		ikesa_children_remove(sa);
		if (sa->op_new) {
			sa->op_new->state = IKE_S_DEAD;
			ikesa_touch(sa->op_new);
			sa->op_new = NULL;
		}
		ikesa_set_conn(sa, NULL);
		ikesa_contact_done(sa);
		sa->state = IKE_S_DEAD;
		ikesa_touch(sa);
	}
	heap_del(&ctx->inits, &c->initq);
	ctx->n_conns--;
	conn_unfile(c);
	*c->pprev = c->next;
	if (c->next)
		c->next->pprev = c->pprev;
	else
		ctx->conns_tail = c->pprev;
	free(c);
}

void ike_rekey_eta(const struct ike_conn *c, long *ike_s, long *child_s)
{
	struct ike_sa *sa = c ? conn_sa(c) : NULL;
	uint64_t now = now_ms(), t = 0;
	unsigned i;

	*ike_s = *child_s = -1;
	if (!sa || sa->state != IKE_S_ESTABLISHED)
		return;
	if (sa->rekey_at)
		*ike_s = sa->rekey_at > now ? (long)((sa->rekey_at - now) / 1000) : 0;
	for (i = 0; i < IKE_MAX_CHILDREN; i++)
		if (sa->child[i].in && !sa->child[i].replaced && (!t || sa->child[i].rekey_at < t))
			t = sa->child[i].rekey_at;
	if (t)
		*child_s = t > now ? (long)((t - now) / 1000) : 0;
}

static const char *state_name(enum ike_state s)
{
	static const char *const n[] = { "init-sent", "auth-sent", "init-done", "established",
					 "deleting", "dead" };

	return n[s];
}

/* The peer's certificate, verified in IKE_AUTH: subject, issuer, expiry. */
static void peer_cert_json(const struct ike_sa *sa, struct json *j)
{
	const char *s = sa->peer_cert, *i, *n;

	if (!s) {
		json_null(j, "peer_cert");
		return;
	}
	i = s + strlen(s) + 1;
	n = i + strlen(i) + 1;
	json_obj_open(j, "peer_cert");
	json_str(j, "subject", s);
	json_str(j, "issuer", i);
	json_str(j, "not_after", n);
	json_obj_close(j);
}

void ike_show_json(const struct ike_conn *c, struct json *j)
{
	struct ike_sa *sa = c ? conn_sa(c) : NULL;
	char p[160], spi[20];

	if (!sa) {
		json_null(j, "ike");
		return;
	}
	json_obj_open(j, "ike");
	json_str(j, "state", state_name(sa->state));
	ike_prop_str(&sa->chosen, p, sizeof(p));
	json_str(j, "proposal", sa->chosen.n[TT_ENCR] ? p : NULL);
	json_str(j, "role", sa->initiator ? "initiator" : "responder");
	snprintf(spi, sizeof(spi), "%016" PRIx64, sa->spi_i);
	json_str(j, "spi_i", spi);
	snprintf(spi, sizeof(spi), "%016" PRIx64, sa->spi_r);
	json_str(j, "spi_r", spi);
	json_bool(j, "natt", sa->natt);
	json_bool(j, "nat_detected", sa->nat_local || sa->nat_remote);
	json_bool(j, "fragmentation", sa->frag);	/* RFC 7383, both agreed */
	json_bool(j, "ppk", sa->ppk_used);	/* RFC 8784 */
	peer_cert_json(sa, j);
	json_obj_close(j);
}

void ike_show_text(const struct ike_conn *c, struct buf *b)
{
	struct ike_sa *sa = c ? conn_sa(c) : NULL;
	char p[160];

	if (!sa)
		return;
	ike_prop_str(&sa->chosen, p, sizeof(p));
	buf_printf(b, "  ike     %s, %s, %016" PRIx64 "/%016" PRIx64 "%s%s%s\n",
		   state_name(sa->state), sa->chosen.n[TT_ENCR] ? p : "-", sa->spi_i, sa->spi_r,
		   sa->initiator ? ", initiator" : ", responder",
		   sa->nat_local || sa->nat_remote ? ", NAT" : "", sa->ppk_used ? ", PPK" : "");
	if (sa->peer_cert) {
		const char *i = sa->peer_cert + strlen(sa->peer_cert) + 1;

		buf_printf(b, "  peer    %s\n          issued by %s, valid until %s\n", sa->peer_cert, i,
			   i + strlen(i) + 1);
	}
}
