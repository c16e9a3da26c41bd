/*
 * datapath.c - the packet loop: TUN -> ESP -> socket and socket -> ESP ->
 * TUN, with every drop counted by reason (see datapath.h).
 *
 * RFC 4303 §3.4: inbound processing is SPI lookup, then esp_decap (replay,
 * ICV, trailer), then the inner packet is checked against the tunnel's
 * selectors (RFC 4301 §5.2) before it reaches the interface.
 * RFC 3948 §2.2-2.3: on the UDP port a 1-byte 0xFF is a keep-alive and
 * four zero bytes mark an IKE message; anything else is ESP.
 *
 * Both directions work in bursts so that system calls are paid per burst,
 * not per packet: the TUN device hands over TCP and UDP super-packets that
 * are cut into segments (esp/offload.c), each is encrypted into an arena,
 * and the burst leaves with one sendmmsg, as UDP GSO runs where possible.
 * On the way in, one recvmmsg returns many datagrams (UDP GRO: many per
 * message), and decrypted TCP segments and UDP datagrams are coalesced
 * before they are written to TUN.
 *
 * With [daemon] crypto-threads > 1 a burst's cryptography is shared
 * (lib/workers.h): outbound packets are numbered and framed in order
 * (esp_frame), sealed on all threads, sent in order; inbound ones are
 * looked up and pre-checked in order (esp_check), opened on all threads,
 * then accepted (replay window) and delivered in arrival order.  Inbound
 * ESP therefore waits in rxq until the end of its burst (dp_rx_flush), or
 * until IKE is about to run, since IKE may remove SAs.
 */
#include "esp/datapath.h"

#include <errno.h>
#include <linux/if_ether.h>
#include <stdio.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "esp/esp.h"
#include "esp/offload.h"
#include "esp/outer.h"
#include "esp/tcpmss.h"
#include "lib/csum.h"
#include "lib/cursor.h"
#include "lib/log.h"
#include "lib/workers.h"
#include "platform/platform.h"

#define BATCH 32		/* datagrams per recvmmsg */
#define PKT_MAX 65535
#define SLOT (ESP_HEADROOM + PKT_MAX + ESP_TAILROOM)
#define TUN_READS 64		/* TUN reads per wake-up */
#define TXQ 128			/* ESP packets per send */
#define ARENA (1 << 20)		/* where they are built */
#define SPREAD_MIN 32		/* packets in a burst before the crypto threads help
				 * (bench/threads_bench: fewer cost more to wake
				 * them for than they save) */
#define RXQ 128			/* ESP packets opened together */
#define RUN_MIN 8		/* an SA's packets in a row before the threads take them */
_Static_assert(RXQ <= 256, "rxq indices fit the uint8_t spread[]");
#define ALIGN64(x) (((x) + 63) & ~(size_t)63)

enum sock_kind { SK_UDP4, SK_UDP6, SK_ESP4, SK_ESP6, SK_COUNT };

/* How an ESP packet came, for what follows its authentication. */
enum rx_via {
	RX_PLAIN,		/* ESP in UDP, or a test's */
	RX_RAW,			/* the raw socket: the XDP program may take its SA */
	RX_XDP,			/* AF_XDP: counted */
};

/* An inbound ESP packet between esp_check and esp_accept. */
struct rx_pend {
	struct sa *sa;
	struct esp_frame f;
	int opened;		/* esp_open's result */
	enum rx_via via;
	struct addr dst;	/* RX_RAW: the address it was sent to */
};

struct dp_sock {
	struct datapath *dp;
	enum sock_kind kind;
	int fd;
	uint32_t drops;		/* its SO_RXQ_OVFL count, as last told */
};

struct datapath {
	struct ev *ev;
	struct sadb db;
	struct dp_sock socks[SK_COUNT];
	uint16_t natt_port;
	struct dp_stats st;
	dp_ike_cb ike_cb;
	void *ike_arg;
	struct ratelimit rl;
	struct workers *workers;	/* crypto threads beside the loop, or NULL */
	uint64_t rx_now;	/* when the current receive batch arrived */
	struct gro gro;		/* inner packets on their way to TUN */
	struct rx_pend rxq[RXQ];	/* ESP of a receive burst, to open */
	unsigned rxq_n;
	uint8_t spread[RXQ];		/* which of them the threads open, ascending */
	unsigned spread_n;
	uint8_t *rx;		/* BATCH slots for recvmmsg */
	uint8_t *tun_in;	/* one TUN read, up to a 64 KB super-packet;
				 * what goes out is copied into the arena */
	uint8_t *arena;		/* ESP packets of one outbound burst */
	/* Raw ESP by the packet socket (l2path.c): off with [daemon]
	 * esp-path = socket, or where the descriptors could not be had. */
	bool packet_path;
	int pkt_fd;
	struct l2_tables tables;
	uint8_t hdr[L2_SEND_MAX][OUTER_MAX];
	struct iovec l2iov[2 * L2_SEND_MAX];
	/* ... and by AF_XDP (xsk.c) with esp-path = xdp, where the sockets
	 * opened at start let it.  Binding one asks the parent. */
	bool xdp, xdp_asked;
	dp_xsk_bind_fn xsk_bind;
	/* ... and received by them where the parent attached the XDP program
	 * (xdprog.c): rx[i], socket i's ring is read; steer tells the parent
	 * an SA's SPI once its packets came by the raw socket. */
	dp_xdp_steer_fn steer;
	bool xdp_rx;		/* the program hands some socket ESP */
	uint64_t xsk_drops;	/* RX drops at the sockets, counted so far */
	struct dp_xsk {
		struct datapath *dp;
		unsigned i;
		bool rx;	/* its RX ring is read (in the event loop) */
		bool asked;	/* the parent was asked for the program */
		bool unasked;	/* ... and told to stop, since last asked */
		uint64_t drops;	/* the kernel's count (for the socket's
				 * life), as last read */
	} xsk[XSK_MAX];
	struct xsk_refusal {
		int ifindex, err;
		uint64_t at;
	} xsk_refused[XSK_MAX];	/* binds that failed lately, tried again a
				 * minute later; slot ifindex % XSK_MAX (another
				 * failure may take it: then sooner) */
};

static void to_tun(void *arg, void *owner, const struct gso_meta *m, uint8_t *pkt, size_t len,
		   unsigned segs, size_t bytes);
static void rxq_flush(struct datapath *dp);

/* An SA leaves the table: the XDP program hands its SPI to nobody. */
static void unsteer(void *arg, struct sa *sa)
{
	struct datapath *dp = arg;
	static const struct addr any = { .family = AF_INET };

	if (sa->steered && dp->steer)
		dp->steer(sa->spi, &any, false);
	sa->steered = false;
}

/* An SA's raw ESP came by the raw socket, to dst: from now on, where an
 * XDP program runs, by AF_XDP.  Once an SA: a refusal is the parent's to
 * log, and the raw socket still serves. */
static void steer_sa(struct datapath *dp, struct sa *sa, const struct addr *dst)
{
	if (!dp->xdp || !dp->xdp_rx || sa->steered || !dp->steer || !dst->family)
		return;
	sa->steered = true;
	dp->steer(sa->spi, dst, true);
}

static int xsk_start(struct datapath *dp, unsigned i, unsigned first, int ifindex,
		     unsigned queue);
static void xsk_queues(struct datapath *dp, unsigned first, const struct l2path *p, int nq);

struct datapath *dp_new(struct ev *ev)
{
	struct datapath *dp = calloc(1, sizeof(*dp));
	int i;

	if (!dp)
		return NULL;
	dp->ev = ev;
	dp->pkt_fd = dp->tables.fd = -1;
	if (sadb_init(&dp->db)) {
		free(dp);
		return NULL;
	}
	dp->db.on_del = unsteer;
	dp->db.on_del_arg = dp;
	for (i = 0; i < XSK_MAX; i++)
		dp->xsk[i] = (struct dp_xsk){ .dp = dp, .i = (unsigned)i };
	for (i = 0; i < SK_COUNT; i++) {
		dp->socks[i].dp = dp;
		dp->socks[i].kind = (enum sock_kind)i;
		dp->socks[i].fd = -1;
	}
	dp->rx = malloc((size_t)BATCH * SLOT);
	dp->tun_in = malloc(PKT_MAX);
	dp->arena = malloc(ARENA);
	if (!dp->rx || !dp->tun_in || !dp->arena || gro_init(&dp->gro, to_tun, dp) < 0) {
		dp_free(dp);
		return NULL;
	}
	dp->st.threads = 1;
	return dp;
}

void dp_free(struct datapath *dp)
{
	int i;

	if (!dp)
		return;
	for (i = 0; i < SK_COUNT; i++) {
		if (dp->socks[i].fd < 0)
			continue;
		if (dp->ev)
			ev_del(dp->ev, dp->socks[i].fd);
		close(dp->socks[i].fd);
	}
	for (i = 0; i < XSK_MAX; i++)
		if (dp->xsk[i].rx && dp->ev)
			ev_del(dp->ev, xsk_fd((unsigned)i));
	if (dp->pkt_fd >= 0)
		close(dp->pkt_fd);
	if (dp->tables.fd >= 0)
		close(dp->tables.fd);
	workers_free(dp->workers);
	gro_free(&dp->gro);
	sadb_free(&dp->db);
	free(dp->rx);
	free(dp->tun_in);
	free(dp->arena);
	free(dp);
}

struct sadb *dp_sadb(struct datapath *dp)
{
	return &dp->db;
}

const struct dp_stats *dp_stats(const struct datapath *dp)
{
	return &dp->st;
}

uint16_t dp_natt_port(const struct datapath *dp)
{
	return dp->natt_port;
}

void dp_set_ike_handler(struct datapath *dp, dp_ike_cb cb, void *arg)
{
	dp->ike_cb = cb;
	dp->ike_arg = arg;
}

static void count_drop(struct vif *v, uint64_t *reason)
{
	(*reason)++;
	v->st.rx_dropped++;
}

/* Count and log an inbound packet of sa's that esp_check or esp_accept
 * refused with r. */
static void rx_refused(struct vif *v, const struct sa *sa, enum esp_result r)
{
	switch (r) {
	case ESP_REPLAY:
		count_drop(v, &v->st.rx_replay);
		log_rl(&v->rl, LOG_DEBUG, v->name, "replayed ESP packet dropped (SPI 0x%08x)",
		       sa->spi);
		break;
	case ESP_AUTH:
		count_drop(v, &v->st.rx_auth_fail);
		log_rl(&v->rl, LOG_WARN, v->name,
		       "ESP packet failed authentication (SPI 0x%08x): wrong key or forged",
		       sa->spi);
		break;
	case ESP_INTERNAL:
		count_drop(v, &v->st.rx_malformed);
		log_rl(&v->rl, LOG_ERR, v->name,
		       "SA 0x%08x: the crypto library failed (out of memory?); packet dropped",
		       sa->spi);
		break;
	default:
		count_drop(v, &v->st.rx_malformed);
		log_rl(&v->rl, LOG_DEBUG, v->name, "malformed ESP packet dropped (SPI 0x%08x)",
		       sa->spi);
		break;
	}
}

/* The first half of receiving one ESP packet: the SA by SPI (RFC 4303
 * §3.4.2) and the checks before the ICV (esp_check); then it waits in
 * dp->rxq for rxq_flush.  via and dst: how it came (rxq_finish). */
static void rx_esp(struct datapath *dp, uint8_t *pkt, size_t len, enum rx_via via,
		   const struct addr *dst)
{
	struct rx_pend *e;
	enum esp_result r;
	struct sa *sa;

	if (len < ESP_HDR_LEN) {
		dp->st.rx_short++;
		return;
	}
	sa = sadb_lookup(&dp->db, esp_spi(pkt, len));
	if (!sa || !sa->inbound) {
		dp->st.rx_unknown_spi++;
		log_rl(&dp->rl, LOG_DEBUG, NULL, "ESP with unknown SPI 0x%08x dropped",
		       esp_spi(pkt, len));
		return;
	}
	if (dp->rxq_n == RXQ)
		rxq_flush(dp);
	e = &dp->rxq[dp->rxq_n];
	r = esp_check(sa, pkt, len, &e->f);
	if (r != ESP_OK) {
		rx_refused(sa->vif, sa, r);
		return;
	}
	e->sa = sa;
	e->via = via;
	e->dst = dst ? *dst : (struct addr){ 0 };
	dp->rxq_n++;
}

void dp_input_esp(struct datapath *dp, uint8_t *pkt, size_t len)
{
	rx_esp(dp, pkt, len, RX_PLAIN, NULL);
}

/* The ICV check and decryption of queued packet i, on thread t. */
static void open_at(struct datapath *dp, unsigned i, unsigned t)
{
	struct rx_pend *e = &dp->rxq[i];

	e->opened = esp_open(e->sa, t, &e->f);
}

/* ... of the i-th packet that rxq_flush gave the threads. */
static void open_spread(void *arg, unsigned i, unsigned t)
{
	struct datapath *dp = arg;

	open_at(dp, dp->spread[i], t);
}

/* The second half, in arrival order: the window moves, the trailer and
 * the inner packet are checked, and it goes to the interface. */
static void rxq_finish(struct datapath *dp, struct rx_pend *e)
{
	struct sa *sa = e->sa;
	struct vif *v = sa->vif;
	uint8_t *inner, nh;
	size_t inner_len;
	enum esp_result r = esp_accept(sa, &e->f, e->opened, &inner, &inner_len, &nh);

	if (r != ESP_OK && r != ESP_DUMMY) {
		rx_refused(v, sa, r);
		return;
	}
	sa->rx_ms = dp->rx_now;
	if (r == ESP_DUMMY)
		goto authentic;
	/* Authentic: from here on the packet says something of the SA. */
	if ((nh == NH_IPV4 && inner[0] >> 4 != 4) || (nh == NH_IPV6 && inner[0] >> 4 != 6) ||
	    (nh != NH_IPV4 && nh != NH_IPV6)) {
		count_drop(v, &v->st.rx_malformed);
		goto authentic;
	}
	if (!vif_ts_allows(v, inner, inner_len, true)) {
		count_drop(v, &v->st.rx_selector);
		log_rl(&v->rl, LOG_DEBUG, v->name, "inner packet outside traffic selectors dropped");
		goto authentic;
	}
	if (v->mss_mtu)
		tcp_mss_clamp(inner, inner_len, v->mss_mtu);
	if (v->offload)
		gro_add(&dp->gro, v, inner, inner_len, v->offload & TUN_OFFLOAD_USO);
	else
		to_tun(dp, v, &(struct gso_meta){ 0 }, inner, inner_len, 1, inner_len);
authentic:
	if (e->via == RX_XDP)
		v->st.rx_xdp++;
	else if (e->via == RX_RAW)
		steer_sa(dp, sa, &e->dst);
}

/* Whether the crypto threads may open sa's packets: only once it has had
 * authentic traffic lately, so that forged ones (anyone may send to a
 * known SPI) cannot make every thread build contexts for it. */
static bool rx_proven(const struct datapath *dp, const struct sa *sa)
{
	return sa->rx_ms && dp->rx_now - sa->rx_ms < 2000;
}

/* Open what rx_esp queued, on the crypto threads where there is enough
 * to share (and each SA has contexts for them), and finish it in order.
 * Nothing else runs meanwhile: the SAs stay as rx_esp found them. */
static void rxq_flush(struct datapath *dp)
{
	unsigned i, j, k, n = dp->rxq_n, threads = workers_threads(dp->workers);

	/* The threads take the runs of RUN_MIN or more packets of one SA
	 * (a flow's packets come together), of SAs with authentic traffic
	 * lately: a hub's burst of one packet for each of many branches
	 * would give every branch's SA contexts on every thread. */
	dp->spread_n = 0;
	for (i = 0; threads > 1 && n >= SPREAD_MIN && i < n; i = k) {
		struct sa *sa = dp->rxq[i].sa;

		for (k = i + 1; k < n && dp->rxq[k].sa == sa; k++)
			;
		if (k - i < RUN_MIN || !rx_proven(dp, sa) || sa_warm_threads(sa, threads) < 0)
			continue;
		while (i < k)
			dp->spread[dp->spread_n++] = (uint8_t)i++;
	}
	if (dp->spread_n < SPREAD_MIN)
		dp->spread_n = 0;
	/* The loop opens the rest (spread[] is in ascending order). */
	for (i = 0, j = 0; i < n; i++) {
		if (j < dp->spread_n && dp->spread[j] == i)
			j++;
		else
			open_at(dp, i, 0);
	}
	if (dp->spread_n)
		dp->st.thread_opened += workers_run(dp->workers, open_spread, dp, dp->spread_n);
	for (i = 0; i < n; i++)
		rxq_finish(dp, &dp->rxq[i]);
	dp->rxq_n = 0;
}

/* Where gro hands packets over: segs inner packets of seg_bytes in all. */
static void to_tun(void *arg, void *owner, const struct gso_meta *m, uint8_t *pkt, size_t len,
		   unsigned segs, size_t bytes)
{
	struct vif *v = owner;
	int r;

	(void)arg;
	if (v->tun_fd >= 0 && (r = tun_write(v->tun_fd, v->offload, m, pkt, len)) < 0) {
		v->st.rx_dropped += segs;
		/* A full queue is the kernel's business; anything else (a
		 * packet it would not take) is ours. */
		if (r != -EAGAIN && r != -ENOBUFS)
			log_rl(&v->rl, LOG_WARN, v->name, "TUN refused %u packet%s (%zu bytes, "
			       "offload type %u): %s", segs, segs > 1 ? "s" : "", len, m->type,
			       strerror(-r));
		return;
	}
	v->st.rx_packets += segs;
	v->st.rx_bytes += bytes;
	v->st.rx_gro += segs > 1;
}

void dp_rx_start(struct datapath *dp)
{
	dp->rx_now = now_ms();
}

void dp_rx_flush(struct datapath *dp)
{
	rxq_flush(dp);
	gro_flush(&dp->gro);
}

static int sock_for(struct datapath *dp, const struct sa *sa)
{
	bool v4 = sa->peer.ss_family == AF_INET;

	if (sa->encap == ENCAP_UDP)
		return dp->socks[v4 ? SK_UDP4 : SK_UDP6].fd;
	return dp->socks[v4 ? SK_ESP4 : SK_ESP6].fd;
}

/* Frame one inner packet for v (esp_frame: numbered, not yet sealed);
 * NULL (and counted) if it goes nowhere. */
static struct sa *frame_one(struct vif *v, uint8_t *inner, size_t len, struct esp_frame *f)
{
	struct sa *sa = v->out;
	enum esp_result r;

	if (!sa || !vif_ts_allows(v, inner, len, false)) {
		v->st.tx_dropped++;
		return NULL;
	}
	if (v->mss_mtu)
		tcp_mss_clamp(inner, len, v->mss_mtu);
	r = sa_warm(sa) < 0 ? ESP_INTERNAL : esp_frame(sa, inner, len, NULL, f);
	if (r == ESP_EXHAUSTED)
		log_rl(&v->rl, LOG_ERR, v->name,
		       "outbound SA 0x%08x has used every sequence number; it is stopped "
		       "until re-keyed", sa->spi);
	else if (r == ESP_UNRESERVED)
		log_rl(&v->rl, LOG_WARN, v->name,
		       "outbound SA 0x%08x: no sequence number reserved in state-dir yet; "
		       "packet dropped rather than risk a repeated nonce", sa->spi);
	if (r != ESP_OK) {
		v->st.tx_dropped++;
		return NULL;
	}
	return sa;
}

_Static_assert(sizeof(((struct dp_stats *)0)->tx_refused) / sizeof(uint64_t) == SOCK_ERR_KINDS,
	       "one counter per enum sock_err_kind");

/* count datagrams to dst the kernel refused with err (who: a tunnel's
 * name for the log, or NULL). */
static void refused(struct datapath *dp, int err, unsigned count,
		    const struct sockaddr_storage *dst, const char *who)
{
	enum sock_err_kind k = sock_err_kind(err);
	struct addr a;
	uint16_t port;
	char s[INET6_ADDRSTRLEN];

	dp->st.tx_refused[k] += count;
	addr_from_sockaddr(dst, &a, &port);
	log_rl(&dp->rl, LOG_WARN, who, "%u datagram%s to %s refused: %s (%s)", count,
	       count == 1 ? "" : "s", a.family ? addr_str(&a, s, sizeof(s)) : "?",
	       strerror(err), sock_err_name(k));
}


static int send_one(const struct sa *sa, int fd, const struct iovec *pkts, unsigned n)
{
	if (fd < 0)
		return -EBADF;
	if (sa->encap == ENCAP_UDP)
		return sock_send_gso(fd, &sa->local, &sa->peer, pkts, n);
	return sock_send_batch(fd, &sa->local, &sa->peer, pkts, n);
}

/* Look v's path to sa's peer up again if it is older than L2_RECHECK_MS
 * (routes, interfaces and neighbours change: this is how late vtid
 * follows) or leads elsewhere; true if it was. */
static bool path_refresh(struct datapath *dp, struct vif *v, const struct sa *sa)
{
	uint64_t now = now_ms();
	struct addr dst;
	uint16_t port;

	addr_from_sockaddr(&sa->peer, &dst, &port);
	if (v->path_at && now - v->path_at < L2_RECHECK_MS && addr_equal(&dst, &v->path_dst) &&
	    addr_equal(&sa->local, &v->path_from))
		return false;
	l2_resolve(&dp->tables, now, &sa->local, &dst, &v->path);
	v->path_dst = dst;
	v->path_from = sa->local;
	v->path_at = now ? now : 1;
	return true;
}

static const char *refusal(int err)
{
	switch (err) {
	case EPROTOTYPE:
		return "a bond, or not an Ethernet interface";
	case EBUSY:
		return "another AF_XDP user holds the interface's queue 0";
	default:
		return "the interface refused an AF_XDP socket";
	}
}

/* The AF_XDP socket bound to p's interface, bound now if one is free;
 * -1 (v->xdp_why says why) if there is none to be had. */
static int xsk_for(struct datapath *dp, struct vif *v, const struct l2path *p)
{
	struct xsk_refusal *no = &dp->xsk_refused[(unsigned)p->ifindex % XSK_MAX];
	unsigned i, n = xsk_count();
	uint64_t now = now_ms();
	int free_i = -1, r;
	bool broken = false;

	if (!p->ether) {
		v->xdp_why = "not an Ethernet interface";
		return -1;
	}
	for (i = 0; i < n; i++) {
		int at = xsk_ifindex(i), spent = xsk_spent(i);

		if (at == p->ifindex && xsk_queue(i) == 0 && !spent) {
			/* Bound by the parent before this process started (or
			 * before a reload turned AF_XDP off and on): asked for
			 * the program once more. */
			if (!dp->xsk[i].asked && (r = xsk_start(dp, i, i, at, 0)) >= 0)
				xsk_queues(dp, i, p, r);
			return (int)i;
		}
		broken |= at == p->ifindex && xsk_queue(i) == 0 && spent == -EIO;
		if (!at && !spent && free_i < 0)
			free_i = (int)i;
	}
	if (broken) {
		/* It still holds queue 0: the kernel would refuse another. */
		v->xdp_why = "its AF_XDP socket is broken, and holds the interface's queue";
		return -1;
	}
	if (no->ifindex == p->ifindex && now - no->at < 60000) {
		v->xdp_why = refusal(no->err);
		return -1;
	}
	if (free_i < 0) {
		/* A socket binds once: one whose interface went is spent. */
		v->xdp_why = "every AF_XDP socket is bound elsewhere (another interface or "
			     "queue), or spent";
		return -1;
	}
	r = xsk_start(dp, (unsigned)free_i, (unsigned)free_i, p->ifindex, 0);
	if (r < 0) {
		*no = (struct xsk_refusal){ .ifindex = p->ifindex, .err = -r, .at = now };
		log_rl(&dp->rl, LOG_WARN, v->name, "no AF_XDP socket on %s (%s): raw ESP leaves "
		       "by the packet socket there; tried again in a minute", p->dev, strerror(-r));
		v->xdp_why = refusal(-r);
		return -1;
	}
	log_info(v->name, "AF_XDP socket %d bound to %s for raw ESP", free_i, p->dev);
	xsk_queues(dp, (unsigned)free_i, p, r);
	return free_i;
}

/*
 * The datagrams send_packet_path prepared (dp->l2iov), by AF_XDP: how
 * many went; 0 leaves them to the packet socket.  *full: the socket's
 * ring has no room (the device is behind), and the rest of the burst is
 * dropped, as a full device queue drops, rather than sent past the frames
 * still waiting in the ring by another socket: the peer would see them
 * out of order, and a small replay window would take the late ones for
 * replays.
 */
static unsigned send_xdp(struct datapath *dp, struct vif *v, unsigned k, bool *full)
{
	const struct l2path *p = &v->path;
	uint8_t eth[ETH_HLEN];
	uint16_t type = v->path_dst.family == AF_INET ? ETH_P_IP : ETH_P_IPV6;
	int i = xsk_for(dp, v, p), r;

	v->xdp_sent = false;
	if (i < 0)
		return 0;
	memcpy(eth, p->lladdr, ETH_ALEN);
	memcpy(eth + ETH_ALEN, p->own, ETH_ALEN);
	eth[12] = (uint8_t)(type >> 8);
	eth[13] = (uint8_t)type;
	r = xsk_send((unsigned)i, eth, sizeof(eth), dp->l2iov, k);
	if (r > 0) {
		v->xdp_sent = true;
		v->xdp_why = NULL;
		v->st.tx_xdp += (unsigned)r;
		return (unsigned)r;
	}
	switch (r) {
	case -ENOBUFS:
		v->xdp_sent = true;
		v->xdp_why = NULL;
		*full = true;
		log_rl(&v->rl, LOG_INFO, v->name, "AF_XDP ring on %s full: ESP dropped", p->dev);
		break;
	case -EMSGSIZE:
		v->xdp_why = "a datagram larger than an AF_XDP frame";
		break;
	case -EBUSY:
		v->xdp_why = "the frames of the network process before this one are still out";
		break;
	case -ENETDOWN:
		/* What was queued goes when the device is up again (the peer's
		 * replay window drops it if the packet socket got it there
		 * first); look the path up again at the next burst. */
		v->xdp_why = "the interface is down";
		v->path_at = 0;
		break;
	case -ENXIO:
	case -EIO:
		log_rl(&v->rl, LOG_INFO, v->name, "AF_XDP socket %d on %s spent (%s): raw ESP "
		       "leaves by the packet socket there", i, p->dev,
		       r == -ENXIO ? "its interface went" : "its rings are not the kernel's");
		v->xdp_why = "its AF_XDP socket is spent";
		break;
	default:
		/* This burst only (what the final kick left in the ring may go
		 * later too: the peer's replay window takes the second copy). */
		log_rl(&v->rl, LOG_INFO, v->name, "AF_XDP on %s refused ESP (%s): by the packet "
		       "socket", p->dev, strerror(-r));
		v->xdp_why = "AF_XDP refused the last burst";
		break;
	}
	return 0;
}

/*
 * Send the first of pkts by AF_XDP (esp-path = xdp) or the packet socket,
 * IP header built here: how many went.  The rest (all, when the path is
 * not usable or a datagram does not fit its MTU) goes by the raw socket,
 * through the kernel; or, with *full set (AF_XDP's ring had no room), is
 * dropped.
 * While the kernel has not confirmed the neighbour lately (STALE and
 * after), one burst a second goes through it anyway: that is what makes
 * the kernel probe the neighbour (NUD_DELAY, NUD_PROBE) and learn that it
 * moved or died, as it does for its own traffic.
 */
static unsigned send_packet_path(struct datapath *dp, struct vif *v, const struct sa *sa,
				 const struct iovec *pkts, unsigned n, bool *full)
{
	struct l2path *p = &v->path;
	unsigned i, k = 0;
	size_t hl;
	int r;

	if (path_refresh(dp, v, sa) && p->why == L2_OK && !p->verified)
		return 0;
	if (p->why != L2_OK)
		return 0;
	for (i = 0; i < n && i < L2_SEND_MAX; i++) {
		hl = outer_hdr(dp->hdr[i], &p->src, &v->path_dst, pkts[i].iov_len, p->ttl,
			       sa->spi);
		if (!hl || hl + pkts[i].iov_len > p->mtu)
			break;
		dp->l2iov[2 * i] = (struct iovec){ dp->hdr[i], hl };
		dp->l2iov[2 * i + 1] = pkts[i];
		k++;
	}
	if (!k)
		return 0;
	if (dp->xdp) {
		unsigned sent = send_xdp(dp, v, k, full);

		if (sent || *full)
			return sent;
	}
	r = l2_send(dp->pkt_fd, p, v->path_dst.family, dp->l2iov, k);
	if (r < 0) {
		/* The interface went, or changed: look again next burst. */
		log_rl(&v->rl, LOG_INFO, v->name, "packet socket on %s refused ESP (%s); "
		       "by the raw socket until the path is looked up again", p->dev,
		       strerror(-r));
		v->path_at = 0;
		return 0;
	}
	v->st.tx_packet_path += (unsigned)r;
	return (unsigned)r;
}

/* Send what txq_send sealed for one SA with as few system calls as
 * the path allows. */
static void send_batch(struct datapath *dp, struct vif *v, struct sa *sa, const struct iovec *pkts,
		       const size_t *inner_len, unsigned n)
{
	int fd = sock_for(dp, sa), sent;
	unsigned i, done = 0;
	bool full = false;

	while (dp->packet_path && sa->encap != ENCAP_UDP && done < n && !full) {
		unsigned k = send_packet_path(dp, v, sa, pkts + done, n - done, &full);

		if (!k)
			break;
		done += k;
	}
	/* An AF_XDP ring without room: the rest is dropped (send_xdp). */
	sent = done == n || full ? 0 : send_one(sa, fd, pkts + done, n - done);
	if (sent < 0 && fd >= 0)
		refused(dp, -sent, n - done, &sa->peer, v->name);
	else if (!full && sent >= 0 && (unsigned)sent < n - done)
		refused(dp, EIO, n - done - (unsigned)sent, &sa->peer, v->name);	/* reason lost */
	if (sent > 0)
		done += (unsigned)sent;
	for (i = 0; i < n; i++) {
		if (i < done) {
			v->st.tx_packets++;
			v->st.tx_bytes += inner_len[i];
		} else {
			dp->st.tx_errors++;
			v->st.tx_dropped++;
		}
	}
}

/* One outbound burst: ESP packets built in the arena, sent together. */
struct txq {
	struct datapath *dp;
	struct vif *v;
	struct sa *sa;
	struct esp_frame f[TXQ];
	bool sealed[TXQ];
	struct iovec pkts[TXQ];
	size_t lens[TXQ];
	unsigned n;
	size_t used;		/* arena bytes holding queued packets */
};

static void seal_one(void *arg, unsigned i, unsigned t)
{
	struct txq *q = arg;

	q->sealed[i] = esp_seal(q->sa, t, &q->f[i]) == 0;
}

/* Seal the burst, on the crypto threads where it is worth waking them
 * (and they have cipher contexts for the SA), then send what sealed. */
static void txq_send(struct txq *q)
{
	struct workers *w = q->dp->workers;
	unsigned i, k = 0;

	if (!q->n)
		return;
	if (q->n >= SPREAD_MIN && workers_threads(w) > 1 &&
	    sa_warm_threads(q->sa, workers_threads(w)) == 0)
		q->dp->st.thread_sealed += workers_run(w, seal_one, q, q->n);
	else
		for (i = 0; i < q->n; i++)
			seal_one(q, i, 0);
	for (i = 0; i < q->n; i++) {
		if (!q->sealed[i]) {
			q->v->st.tx_dropped++;
			log_rl(&q->v->rl, LOG_ERR, q->v->name,
			       "outbound SA 0x%08x: the crypto library failed to seal a packet",
			       q->sa->spi);
			continue;
		}
		q->pkts[k] = (struct iovec){ .iov_base = q->f[i].hdr, .iov_len = q->f[i].len };
		q->lens[k++] = q->lens[i];
	}
	if (k)
		send_batch(q->dp, q->v, q->sa, q->pkts, q->lens, k);
	q->n = 0;
	q->used = 0;
}

/* Room in the arena for an inner packet of up to max bytes, with ESP's
 * head- and tailroom around it; sends the burst first if it is full. */
static uint8_t *txq_room(struct txq *q, size_t max)
{
	if (q->n == TXQ || q->used + ESP_HEADROOM + max + ESP_TAILROOM > ARENA)
		txq_send(q);
	return q->dp->arena + q->used + ESP_HEADROOM;
}

/* Number and frame the packet txq_room made room for, and queue it.  The
 * outbound SA cannot change during a burst: the control plane runs
 * between them. */
static void txq_add(struct txq *q, uint8_t *inner, size_t len)
{
	struct sa *sa = frame_one(q->v, inner, len, &q->f[q->n]);

	if (!sa)
		return;
	q->sa = sa;
	q->lens[q->n++] = len;
	q->used += ALIGN64(ESP_HEADROOM + len + ESP_TAILROOM);
}

/* One packet read from TUN: a plain one, or a TSO/USO super-packet to cut. */
static void tx_packet(struct txq *q, const struct gso_meta *m, uint8_t *pkt, size_t len)
{
	struct gso_iter it;
	uint8_t *seg;
	size_t n;

	if ((m->type & (uint8_t)~GSO_ECN) == GSO_NONE) {
		if (gso_csum_finish(pkt, len, m) < 0) {
			q->v->st.tx_dropped++;
			return;
		}
		seg = txq_room(q, len);
		memcpy(seg, pkt, len);
		txq_add(q, seg, len);
		return;
	}
	if (gso_iter_init(&it, m, pkt, len) < 0) {
		q->v->st.tx_dropped++;
		log_rl(&q->v->rl, LOG_WARN, q->v->name,
		       "TUN super-packet with unusable offload data (type %u, %zu bytes) dropped",
		       m->type, len);
		return;
	}
	q->v->st.tx_tso++;
	for (;;) {
		seg = txq_room(q, gso_iter_seg_max(&it));
		n = gso_iter_next(&it, seg);
		if (!n)
			break;
		txq_add(q, seg, n);
	}
}

/* Read a burst from the interface, encrypt it, send it in one go. */
static void on_tun(void *arg)
{
	struct vif *v = arg;
	struct txq q = { .dp = v->dp, .v = v };
	struct gso_meta m;
	ssize_t r;
	int i;

	for (i = 0; i < TUN_READS; i++) {
		r = tun_read(v->tun_fd, v->offload, &m, q.dp->tun_in, PKT_MAX);
		if (r <= 0)
			break;
		tx_packet(&q, &m, q.dp->tun_in, (size_t)r);
	}
	txq_send(&q);
}

void dp_output_tun(struct vif *v)
{
	on_tun(v);
}

/* RFC 3948 §2.2, §2.3 demultiplexing on the NAT-T port. */
void dp_input_udp(struct datapath *dp, uint8_t *p, size_t len,
		  const struct sockaddr_storage *from)
{
	if (len == 1 && p[0] == 0xff) {
		dp->st.rx_keepalive++;
		return;
	}
	if (len >= 4 && be32_get(p) == 0) {
		dp->st.rx_ike++;
		/* IKE may delete or replace SAs that queued ESP points at. */
		rxq_flush(dp);
		if (dp->ike_cb)
			dp->ike_cb(dp->ike_arg, p + 4, len - 4, from);
		return;
	}
	rx_esp(dp, p, len, RX_PLAIN, NULL);
}

/* A raw IPv4 socket delivers the IP header too; IPv6 ones do not. */
void dp_input_ip4(struct datapath *dp, uint8_t *p, size_t len)
{
	struct addr dst = { .family = AF_INET };
	size_t ihl;

	if (len < 20 || p[0] >> 4 != 4 || (ihl = (size_t)(p[0] & 15) * 4) < 20 || ihl > len) {
		dp->st.rx_short++;
		return;
	}
	memcpy(dst.a, p + 16, 4);
	rx_esp(dp, p + ihl, len - ihl, RX_RAW, &dst);
}

/* The raw IPv6 socket gives no header: the destination came as
 * IPV6_PKTINFO (dst; family 0 if it did not). */
static void input_ip6(struct datapath *dp, uint8_t *p, size_t len, const struct addr *dst)
{
	rx_esp(dp, p, len, RX_RAW, dst);
}

/*
 * One frame from an AF_XDP socket: what the XDP program took (Ethernet,
 * IPv4 without options and not a fragment, or IPv6 with ESP next, then
 * ESP) is checked again here, as the stack would have: the frame is the
 * wire's.  The IP length, not the frame's, says where ESP ends (Ethernet
 * pads short frames).
 */
void dp_input_frame(struct datapath *dp, uint8_t *f, size_t len)
{
	size_t n;

	if (len >= 14 + 20 && be16_get(f + 12) == ETH_P_IP) {
		uint8_t *ip = f + 14;

		n = be16_get(ip + 2);
		if (ip[0] == 0x45 && ip[9] == IPPROTO_ESP && (be16_get(ip + 6) & 0x3fff) == 0 &&
		    n >= 20 && n <= len - 14 && csum_ip4_header_ok(ip))
			rx_esp(dp, ip + 20, n - 20, RX_XDP, NULL);
		else
			dp->st.rx_short++;
	} else if (len >= 14 + 40 && be16_get(f + 12) == ETH_P_IPV6) {
		uint8_t *ip = f + 14;

		n = be16_get(ip + 4);
		if (ip[0] >> 4 == 6 && ip[6] == IPPROTO_ESP && n <= len - 14 - 40)
			rx_esp(dp, ip + 40, n, RX_XDP, NULL);
		else
			dp->st.rx_short++;
	} else {
		dp->st.rx_short++;
	}
}

/* A frame, or (NULL) the end of a burst whose frames go back to the
 * kernel next: what is queued must be opened first. */
static void frame_in(void *arg, uint8_t *f, size_t len)
{
	if (f)
		dp_input_frame(arg, f, len);
	else
		rxq_flush(arg);
}

/* Bind socket i to a queue of ifindex (the parent, if not yet), and with
 * rx have the program hand it ESP, or without no longer. */
static int xsk_ask(struct datapath *dp, unsigned i, unsigned first, int ifindex,
		   unsigned queue, bool rx)
{
	if (dp->xsk_bind)
		return dp->xsk_bind(i, first, ifindex, queue, rx);
	return xsk_bind(i, first, ifindex, queue);	/* tests: no parent, no program */
}

/* The program hands bound socket i nothing more. */
static int xsk_unask(struct datapath *dp, unsigned i)
{
	return xsk_ask(dp, i, xsk_first(i), xsk_ifindex(i), xsk_queue(i), false);
}

/* Its rings are not the kernel's, or its interface went: the program
 * hands it nothing more, and the raw socket serves. */
static void xsk_rx_stop(struct datapath *dp, struct dp_xsk *x, int err)
{
	log_rl(&dp->rl, LOG_WARN, NULL, "AF_XDP socket %u cannot receive (%s): raw ESP is "
	       "received by the raw socket there", x->i, strerror(-err));
	ev_del(dp->ev, xsk_fd(x->i));
	x->rx = false;
	(void)xsk_unask(dp, x->i);
}

static void on_xsk(void *arg)
{
	struct dp_xsk *x = arg;
	struct datapath *dp = x->dp;
	int r;

	dp_rx_start(dp);
	r = xsk_recv(x->i, frame_in, dp);
	dp_rx_flush(dp);
	if (r < 0)
		xsk_rx_stop(dp, x, r);
}

/* Read socket i's ring from now on, then have the parent bind it (if not
 * yet) and attach the XDP program that fills it: in that order,
 * xsk_rx_ready's condition.  Asked once a process (and a reload that
 * turns AF_XDP on); where the ring cannot be read, the socket is only
 * bound, and the raw socket receives (another queue's socket, which
 * only receives, is then not bound: -EIO).  What the parent answered: on
 * queue 0, to receive, how many receive queues the interface has; else 0. */
static int xsk_start(struct datapath *dp, unsigned i, unsigned first, int ifindex,
		     unsigned queue)
{
	struct dp_xsk *x = &dp->xsk[i];
	int r;

	x->asked = true;
	x->unasked = false;
	if (!x->rx && xsk_rx_ready(i) == 0 && ev_add(dp->ev, xsk_fd(i), on_xsk, x) == 0) {
		x->rx = true;
		x->drops = xsk_rx_drops(i);	/* a predecessor's are counted */
	}
	if (queue && !x->rx)
		return -EIO;
	r = xsk_ask(dp, i, first, ifindex, queue, x->rx);
	if (r < 0)
		return r;
	xsk_note_bound(i, first, ifindex, queue);
	dp->xdp_rx |= x->rx;
	return r;
}

/* Socket j, bound to queue q of first's interface (-1 if none), and
 * the first free socket (*spare, -1 if none): how many are free. */
static int xsk_find(unsigned first, int ifindex, unsigned q, int *j, int *spare)
{
	unsigned i, n = xsk_count();
	int nfree = 0;

	*j = *spare = -1;
	for (i = 0; i < n; i++) {
		if (xsk_ifindex(i) == ifindex && xsk_first(i) == first && xsk_queue(i) == q)
			*j = (int)i;
		else if (!xsk_ifindex(i) && !xsk_spent(i) && nfree++ == 0)
			*spare = (int)i;
	}
	return nfree;
}

/*
 * The other receive queues of first's interface (nq of them in all, 0 if
 * unknown), where the device's hash puts some of the ESP: a socket each,
 * to receive only.  Those bound there before (for a predecessor, or before
 * a reload) first; then free ones, while one stays free for another
 * interface.  The parent says -ERANGE past the last queue and -ENOLINK
 * where the program is not on the interface (a tests' datapath without a
 * parent gets -EINVAL from the kernel past the last queue).
 */
static void xsk_queues(struct datapath *dp, unsigned first, const struct l2path *p, int nq)
{
	unsigned q, last = nq > 0 && nq < XSK_MAX ? (unsigned)nq : XSK_MAX;
	int j, spare, r;

	if (!dp->xsk[first].rx)
		return;
	for (q = 1; q < last; q++) {
		int nfree = xsk_find(first, p->ifindex, q, &j, &spare);
		unsigned k = j >= 0 ? (unsigned)j : (unsigned)spare;

		if (j >= 0 && (dp->xsk[j].asked || xsk_spent(k)))
			continue;	/* started already, or holds the queue for nothing */
		if (j < 0 && nfree < 2)
			break;
		r = xsk_start(dp, k, first, p->ifindex, q);
		if (r < 0 && j < 0 && dp->xsk[k].rx) {
			/* Still free: its ring is read once it is bound. */
			ev_del(dp->ev, xsk_fd(k));
			dp->xsk[k].rx = dp->xsk[k].asked = false;
		}
		if (r == -ERANGE || r == -ENOLINK || r == -EINVAL)
			return;
		if (r < 0) {
			/* Another AF_XDP user there (-EBUSY): the next queue. */
			log_rl(&dp->rl, LOG_WARN, NULL, "no AF_XDP socket on %s queue %u (%s): raw "
			       "ESP arriving there is received by the raw socket", p->dev, q,
			       strerror(-r));
			continue;
		}
		if (j < 0)
			log_info(NULL, "AF_XDP socket %u bound to %s queue %u to receive raw ESP", k,
				 p->dev, q);
	}
	if (q < (unsigned)nq)
		log_warn(NULL, "%s has %d receive queues, AF_XDP sockets on the first %u: raw ESP "
			 "arriving on the others is received by the raw socket (more with "
			 "[daemon] xdp-sockets; a flow rule such as 'ethtool -N %s flow-type esp4 "
			 "action 0' puts it all on queue 0)", p->dev, nq, q, p->dev);
}

/* What the sockets dropped before vtid read it: the kernel's running
 * counts of the UDP and raw sockets, and the AF_XDP rings' drops. */
static void count_sock_drops(struct datapath *dp)
{
	unsigned k;

	dp->st.rx_sock_dropped = dp->xsk_drops;
	for (k = 0; k < SK_COUNT; k++)
		dp->st.rx_sock_dropped += dp->socks[k].drops;
}

/* The segment size of a coalesced UDP datagram (UDP_GRO), or 0. */
static size_t gro_size(struct msghdr *m)
{
	int v;

	return sock_cmsg(m, IPPROTO_UDP, UDP_GRO, &v, sizeof(v)) && v > 0 ? (size_t)v : 0;
}

static void input(struct dp_sock *s, uint8_t *p, size_t len, const struct sockaddr_storage *from,
		  const struct addr *dst6)
{
	switch (s->kind) {
	case SK_UDP4:
	case SK_UDP6:
		dp_input_udp(s->dp, p, len, from);
		break;
	case SK_ESP4:
		dp_input_ip4(s->dp, p, len);
		break;
	default:
		input_ip6(s->dp, p, len, dst6);
		break;
	}
}

static void on_sock(void *arg)
{
	struct dp_sock *s = arg;
	struct datapath *dp = s->dp;
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_storage from[BATCH];
	union {
		char buf[SOCK_RX_CMSG];
		struct cmsghdr align;
	} ctl[BATCH];
	size_t off, len, seg;
	int n, i;

	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < BATCH; i++) {
		iov[i].iov_base = dp->rx + (size_t)i * SLOT + ESP_HEADROOM;
		iov[i].iov_len = PKT_MAX;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &from[i];
		msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
		msgs[i].msg_hdr.msg_control = ctl[i].buf;
		msgs[i].msg_hdr.msg_controllen = sizeof(ctl[i].buf);
	}
	n = recvmmsg(s->fd, msgs, BATCH, MSG_DONTWAIT, NULL);
	if (n > 0)
		dp_rx_start(dp);
	if (n > 0 && sock_rx_dropped(&msgs[n - 1].msg_hdr, &s->drops))
		count_sock_drops(dp);
	for (i = 0; i < n; i++) {
		uint8_t *p = iov[i].iov_base;
		struct addr dst6 = { 0 };

		if (s->kind == SK_ESP6 && sock_rx_dst6(&msgs[i].msg_hdr, dst6.a))
			dst6.family = AF_INET6;
		len = msgs[i].msg_len;
		if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
			dp->st.rx_short++;
			continue;
		}
		seg = gro_size(&msgs[i].msg_hdr);
		if (!seg || seg > len)
			seg = len ? len : 1;
		off = 0;
		do {
			input(s, p + off, len - off < seg ? len - off : seg, &from[i], &dst6);
			off += seg;
		} while (off < len);
	}
	dp_rx_flush(dp);
}

int dp_open_sockets(struct datapath *dp, uint16_t natt_port, char *err, size_t errlen)
{
	static const char *const what[SK_COUNT] = {
		"UDP/IPv4 port", "UDP/IPv6 port", "raw ESP/IPv4", "raw ESP/IPv6",
	};
	int i, fd;

	dp->natt_port = natt_port;
	for (i = 0; i < SK_COUNT; i++) {
		int family = (i == SK_UDP4 || i == SK_ESP4) ? AF_INET : AF_INET6;

		fd = i <= SK_UDP6 ? sock_udp_open(family, natt_port) : sock_esp_open(family);
		if (fd < 0) {
			if (i <= SK_UDP6)
				snprintf(err, errlen, "cannot bind %s %u: %s", what[i],
					 natt_port, strerror(-fd));
			else
				snprintf(err, errlen, "cannot open %s socket: %s", what[i],
					 strerror(-fd));
			return fd;
		}
		dp->socks[i].fd = fd;
		if (i <= SK_UDP6)
			sock_enable_gro(fd);
		if (ev_add(dp->ev, fd, on_sock, &dp->socks[i]) < 0) {
			snprintf(err, errlen, "cannot watch %s socket", what[i]);
			return -ENOMEM;
		}
	}
	/* Without them raw ESP takes the raw sockets: said by vtictl show. */
	fd = l2_tables_open(&dp->tables);
	if (fd < 0)
		log_warn(NULL, "no rtnetlink socket for the packet-socket ESP path (%s): raw "
			 "ESP leaves by the raw socket", strerror(-fd));
	fd = fd < 0 ? fd : l2_packet_open();
	if (fd < 0 && dp->tables.fd >= 0)
		log_warn(NULL, "no packet socket for raw ESP (%s): it leaves by the raw socket",
			 strerror(-fd));
	dp->pkt_fd = fd;
	return 0;
}

int dp_set_crypto_threads(struct datapath *dp, unsigned n)
{
	if (workers_threads(dp->workers) == n)
		return 0;
	if (dp->workers)
		return -EBUSY;	/* threads are started once */
	dp->workers = workers_new(n);
	dp->st.threads = workers_threads(dp->workers);
	return dp->workers ? 0 : -errno;
}

void dp_set_packet_path(struct datapath *dp, bool on)
{
	dp->packet_path = on && dp->pkt_fd >= 0 && dp->tables.fd >= 0;
}

/* The program first: before Linux 5.11 its maps are charged to the same
 * locked-memory limit as the sockets' frames, and a short limit should
 * cost sockets (interfaces, queues), not all receiving. */
int dp_open_xdp(unsigned n)
{
	char vlog[512];
	int p = xdp_load(n, vlog, sizeof(vlog)), r = xsk_open(n);

	if (p < 0)
		log_warn(NULL, "no XDP program (%s%s%s): raw ESP is received by the raw socket",
			 strerror(-p), vlog[0] ? "; the verifier said: " : "", vlog);
	if (r < 0) {
		log_warn(NULL, "no AF_XDP socket for raw ESP (%s): it leaves by the packet "
			 "socket", strerror(-r));
		xdp_close();
		return r;
	}
	if ((unsigned)r < n)
		log_warn(NULL, "%d AF_XDP sockets of %u (locked memory? RLIMIT_MEMLOCK, 5 MB a "
			 "socket): raw ESP takes the packet socket and the raw socket where "
			 "they do not reach", r, n);
	return r;
}

void dp_tick(struct datapath *dp)
{
	unsigned i;

	if (!dp->xdp_rx && !dp->xdp)
		return;
	xsk_flush();
	for (i = 0; i < XSK_MAX; i++) {
		struct dp_xsk *x = &dp->xsk[i];
		uint64_t d;
		int r;

		if (!x->rx)
			continue;
		if ((r = xsk_spent(i)) < 0) {
			xsk_rx_stop(dp, x, r);	/* no frame may come to say so */
			continue;
		}
		/* What the kernel dropped for a full RX ring or an empty
		 * fill ring counts as dropped at the sockets, like
		 * SO_RXQ_OVFL's. */
		d = xsk_rx_drops(i);
		if (d > x->drops) {
			dp->xsk_drops += d - x->drops;
			x->drops = d;
			count_sock_drops(dp);
		}
	}
}

void dp_set_xdp(struct datapath *dp, bool on, dp_xsk_bind_fn bind, dp_xdp_steer_fn steer_fn)
{
	unsigned i;

	dp->xdp_asked = on;
	dp->xdp = on && xsk_count() > 0;
	dp->xsk_bind = bind;
	dp->steer = steer_fn;
	/* Turned off by a reload: the program hands the sockets nothing
	 * more (the rings are still read to the end) and leaves the
	 * interfaces, so that raw ESP takes the IP stack again, as esp-path
	 * = socket is chosen for; also where this process has not asked yet
	 * (a restarted one, before a tunnel sent there). */
	for (i = 0; i < XSK_MAX && !dp->xdp; i++) {
		struct dp_xsk *x = &dp->xsk[i];

		/* Once, not again at each reload; again at the next if
		 * the parent could not be told. */
		if (!x->unasked && ((x->asked && x->rx) ||
				    (xsk_ifindex(i) && !xsk_queue(i) && !xsk_spent(i))))
			x->unasked = xsk_unask(dp, i) == 0;
		x->asked = false;
	}
	if (!dp->xdp)
		dp->xdp_rx = false;
}

enum dp_path dp_vif_path(const struct datapath *dp, const struct vif *v, const char **why)
{
	*why = NULL;
	if (v->out && v->out->encap == ENCAP_UDP)
		return DP_PATH_UDP;
	if (!dp->packet_path) {
		*why = l2_why_name(dp->pkt_fd >= 0 && dp->tables.fd >= 0 ? L2_CONFIGURED
									   : L2_NO_SOCKET);
		return DP_PATH_SOCKET;
	}
	if (!v->path_at) {
		*why = l2_why_name(L2_NOT_YET);
		return DP_PATH_SOCKET;
	}
	if (v->path.why != L2_OK) {
		*why = l2_why_name(v->path.why);
		return DP_PATH_SOCKET;
	}
	if (dp->xdp && v->xdp_sent)
		return DP_PATH_XDP;
	/* Why not AF_XDP, when it was asked for. */
	if (dp->xdp)
		*why = v->xdp_why ? v->xdp_why : "not tried yet";
	else if (dp->xdp_asked)
		*why = "no AF_XDP socket: they are made at start only (see the log)";
	return DP_PATH_PACKET;
}

/* One datagram from the NAT-T port, refusals counted. */
static int send_natt(struct datapath *dp, int fd, const struct addr *src,
		     const struct sockaddr_storage *dst, const uint8_t *p, size_t len)
{
	int r;

	if (fd < 0)
		return -EINVAL;
	r = sock_send(fd, src, dst, p, len);
	if (r < 0)
		refused(dp, -r, 1, dst, NULL);
	return r;
}

int dp_send_udp(struct datapath *dp, const struct addr *src,
		const struct sockaddr_storage *dst, const uint8_t *p, size_t len)
{
	int fd = dp->socks[dst->ss_family == AF_INET ? SK_UDP4 : SK_UDP6].fd;

	return send_natt(dp, fd, src, dst, p, len);
}

int dp_send_nonesp(struct datapath *dp, const struct addr *src,
		   const struct sockaddr_storage *dst, const uint8_t *msg, size_t len)
{
	uint8_t *p = dp->arena;	/* free between bursts: single-threaded */
	int fd = dp->socks[dst->ss_family == AF_INET ? SK_UDP4 : SK_UDP6].fd;

	if (len > PKT_MAX - 4 || fd < 0)
		return -EINVAL;
	/* RFC 3948 §2.2: four zero bytes where an ESP packet has its SPI. */
	memset(p, 0, 4);
	memcpy(p + 4, msg, len);
	return send_natt(dp, fd, src, dst, p, len + 4);
}

int dp_add_vif(struct datapath *dp, struct vif *v)
{
	v->dp = dp;
	if (v->tun_fd < 0 || !dp->ev)
		return 0;
	return ev_add(dp->ev, v->tun_fd, on_tun, v);
}

void dp_del_vif(struct datapath *dp, struct vif *v)
{
	if (v->tun_fd >= 0 && dp->ev)
		ev_del(dp->ev, v->tun_fd);
	sadb_flush_vif(&dp->db, v);
}
