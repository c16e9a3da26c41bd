/*
 * ikesa.h - internal to src/ike/: the IKE SA object shared by the files
 * that implement one exchange each (init.c, auth.c, info.c) and the core
 * (ike.c: sockets, lookup, message IDs, retransmission).
 */
#ifndef VTI_IKESA_H
#define VTI_IKESA_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "crypto/dh.h"
#include "ike/ike.h"
#include "ike/keys.h"
#include "ike/msg.h"
#include "ike/policy.h"
#include "ike/sk.h"
#include "lib/heap.h"
#include "lib/htab.h"
#include "lib/log.h"
#include "lib/prefix.h"

#define NONCE_LEN 32
#define RETX_FIRST_MS 1000
#define RETX_MAX 5		/* resent after 1, 3, 7, 15, 31 s; given up at 63 s */
#define HALF_OPEN_MS 30000	/* an IKE SA must authenticate within this */
#define SECRET_MS 300000	/* cookie secret lifetime */
#define KEEPALIVE_MS 20000	/* RFC 3948 §4: 20 s is the recommended default */
#define REINIT_MIN_MS 1000
#define REINIT_MAX_MS 30000
/* Jitter, in percent taken off at random: retransmission intervals and
 * re-initiation back-off (timer.c ike_jitter). */
#define RETX_JITTER 10
#define REINIT_JITTER 20
/* First initiations and re-initiations that the tick starts (not those
 * the operator asks for) are paced: by default at most this many per
 * second ([daemon] initiate-rate), in bursts of at most a tenth of that
 * (one 100 ms tick's worth), so that thousands of tunnels started
 * together, or that lost their hub together, reach it spread out
 * instead of in one burst that fills its socket and its half-open table
 * (and draws cookie demands from everybody). */
#define INIT_RATE 200
#define INIT_BURST (INIT_RATE / 10)
/* IKE_SA_INIT + IKE_AUTH must finish within this, whatever happens on the
 * way (cookies, INVALID_KE, an answer that makes no sense): past it the
 * tunnel starts over.  Longer than one full retransmission schedule. */
#define NEGOTIATE_MS 75000
/* An IKE SA replaced by the peer's rekey answers the peer's retransmitted
 * rekey request from its cache until the peer deletes it; if our answer
 * was lost, the peer retries for up to dpd-timeout (90 s by default), so
 * the old SA waits that long and more before it gives up on the DELETE. */
#define REPLACED_KEEP_MS 120000
/* How long an IKE SA whose last Child SA the peer deleted waits for the
 * peer to create another before it is closed (charon sends its
 * CREATE_CHILD_SA right after the DELETE; a tunnel with start = yes should
 * not stay down long if none comes). */
#define CHILDLESS_MS 2000
/* How long an IKE_AUTH waits for another tunnel's INITIAL_CONTACT, of the
 * same identities, to be answered (auth.c contact_pending): one lost copy
 * and a slow peer, and far inside the peer's patience with the half-open
 * SA that waits with it (30 s here, in charon). */
#define AUTH_WAIT_MS 3000

/* Half-open IKE SAs (IKE_SA_INIT answered, IKE_AUTH not yet) each cost a
 * DH and two stored messages: bounded in total and per source address,
 * so that one real (not spoofed) sender cannot fill the table that every
 * other peer needs (cookies only stop spoofed ones). */
#define HALF_OPEN_MAX 8192
#define HALF_OPEN_PER_SOURCE 32

#define IKE_MAX_CHILDREN 4

/* A Child SA as the IKE SA knows it: its SPIs (the names the protocol
 * uses for it), the pair it handed over (the SA table's, reached through
 * sa->pair; valid until IKE removes the child) and what IKE needs to
 * re-key it. */
struct ike_child {
	uint32_t in, out;
	struct sa *sa;		/* inbound half; sa->pair is the outbound */
	uint64_t installed_ms, rekey_at, expire_at;
	unsigned rekey_fails;	/* attempts that did not replace it */
	bool replaced;		/* a rekey of it completed; it awaits DELETE */
};

/* What our outstanding request is about. */
enum ike_op {
	OP_NONE,
	OP_INIT,		/* IKE_SA_INIT / IKE_AUTH */
	OP_DPD,
	OP_DELETE,		/* DELETE of this IKE SA */
	OP_DELETE_CHILD,	/* DELETE of child op_spi */
	OP_REKEY_CHILD,		/* CREATE_CHILD_SA replacing child op_spi */
	OP_REKEY_IKE,		/* CREATE_CHILD_SA replacing this IKE SA */
};

enum ike_state {
	IKE_S_INIT_SENT,	/* initiator: IKE_SA_INIT request out */
	IKE_S_AUTH_SENT,	/* initiator: IKE_AUTH request out */
	IKE_S_INIT_DONE,	/* responder: IKE_SA_INIT answered */
	IKE_S_ESTABLISHED,
	IKE_S_DELETING,		/* our DELETE is out */
	IKE_S_DEAD,		/* to be freed */
};

/* A registered policy and IKE's own state for it (ike.h ike_conn_add). */
struct ike_conn {
	struct ike_ctx *ctx;
	const struct ike_policy *pol;
	const struct ike_conn_ops *ops;
	void *arg;
	enum ike_conn_state state;	/* as last reported, or implied by children */
	unsigned children;	/* Child SAs installed, over all its IKE SAs */
	bool admin_down;	/* ike_conn_down: do not initiate or answer */
	uint64_t reinit_at, reinit_ms;	/* next initiation, current back-off */
	struct heap_node initq;	/* in ctx->inits while it may have to initiate */
	struct ike_conn *next, **pprev;	/* ctx->conns */
	/*
	 * Where IKE_AUTH finds it (ike_conn_file): by the peer's address if
	 * the policy names one, else by the one identity it admits, else on
	 * the list of those that may admit anyone.  seq: the order it was
	 * added in, which decides between several that admit a peer.
	 */
	enum { CONN_SEL_ADDR = 1, CONN_SEL_ID, CONN_SEL_ANY } sel;
	struct hnode hsel;
	struct ike_conn *any_next, **any_pprev;
	uint64_t seq;
};

struct ike_ctx {
	struct ev *ev;
	struct datapath *dp;
	struct ike_conn *conns, **conns_tail;	/* in the order they were added */
	struct htab conn_by_addr, conn_by_id;	/* see struct ike_conn.sel */
	struct ike_conn *conn_any;
	uint64_t conn_seq;
	int sock[2];		/* UDP port 500, IPv4 and IPv6 */
	uint16_t port;
	struct ike_sa *sas;
	struct htab by_spi;	/* every IKE SA, by the SPI we chose */
	struct htab by_peer;	/* responder SAs, by the peer's address */
	struct htab by_conn;	/* SAs that serve a connection, by the connection */
	struct htab by_ids;	/* SAs by the pair of identities they join (ids_key) */
	unsigned half_open;
	struct ratelimit rl;
	/* Anti-DoS cookies (RFC 7296 §2.6): demanded once this many IKE SAs
	 * are half-open; the secret rotates, the previous one still counts. */
	unsigned cookie_threshold;
	uint8_t secret[2][32];
	uint8_t secret_ver;
	uint64_t secret_at;
	struct ike_stats st;
	unsigned frag_mtu;	/* tests: the path MTU fragments are cut for (0: ask) */
	size_t reasm_bytes;	/* held by every reassembly (IKE_FRAG_BUDGET) */
	ike_send_hook hook;
	void *hook_arg;
	/* timer.c: every IKE SA by when its timers next need a look, and the
	 * connections that may have to initiate, by when; a tick looks at
	 * what is due and nothing else. */
	struct heap timers, inits;
	size_t n_conns;
	struct ike_sa *grave;	/* dead this tick, freed at its end */
	uint64_t init_credit, init_credit_at;	/* in 1/1000 initiations */
	unsigned init_rate;	/* initiations a second (ike_set_initiate_rate) */
	bool full_scan;		/* tests: every SA every tick, as before the heap */
	uint64_t timer_runs;	/* SAs whose timers ran (tests, bench) */
	uint8_t rx[65536];
};

/* What IKE_AUTH agreed for the first Child SA: the traffic selectors,
 * ours and the peer's, and the ESP proposal (its SPI the peer's). */
struct ike_agreed {
	struct prefix local[IKE_MAX_TS], remote[IKE_MAX_TS];
	unsigned n_local, n_remote;
	struct ike_prop prop;
};

#define IKE_COL_NONCE_MAX (NONCE_LEN * 8)

/* Both ends rekeyed the same Child SA (§2.8.1): the peer's exchange. */
struct ike_collision {
	uint32_t old_in, new_in;
	uint8_t ni[IKE_COL_NONCE_MAX], nr[NONCE_LEN];
	size_t ni_len;
};

struct ike_sa {
	struct ike_ctx *ctx;
	struct ike_conn *conn;	/* NULL for a responder before IKE_AUTH */
	bool initiator;
	enum ike_state state;
	uint64_t spi_i, spi_r;

	struct ike_prop chosen;
	struct dh *dh;
	uint16_t group;
	uint8_t ni[NONCE_LEN], nr[NONCE_LEN];
	size_t ni_len, nr_len;
	struct ike_keys keys;
	struct ike_sk *sk;
	struct buf init_req, init_resp;	/* what AUTH signs (RFC 7296 §2.15) */
	/* Responder: the first request retried with a valid cookie after we
	 * answered it (§2.6); the initiator may sign either. */
	struct buf init_req_alt;
	uint8_t cookie[64];
	size_t cookie_len;

	struct addr local;
	struct sockaddr_storage peer;
	bool natt;		/* IKE moved to the NAT-T port */
	bool nat_local, nat_remote;	/* NAT found in front of us / the peer */
	bool force_encap;
	bool frag;		/* RFC 7383: both sent IKEV2_FRAGMENTATION_SUPPORTED */
	/* Messages being reassembled: the peer's request [0], its response [1]. */
	struct ike_reasm *reasm[2];

	uint32_t next_req;	/* our next request's message ID */
	uint32_t peer_req;	/* the peer's next expected request ID */
	struct buf req;		/* our outstanding request, for retransmission */
	uint8_t req_exchange;	/* its exchange type: a response must match it */
	bool req_pending;
	unsigned retries;
	uint64_t retx_at;
	uint64_t req_first_ms;	/* when the outstanding request was first sent */
	struct buf resp;	/* our last response, for the peer's retransmits */
	bool have_resp;
	uint8_t resp_to[20];	/* SHA-1 of the request it answered (§2.1) */

	/* RFC 8784: both sides sent USE_PPK in IKE_SA_INIT; the PPK was
	 * mixed into SK_d, SK_pi and SK_pr (so into everything made from
	 * SK_d: Child SAs and the next IKE SA). */
	bool ppk_offered, ppk_used;

	uint32_t auth_in;	/* inbound SPI offered in IKE_AUTH */
	/* and the traffic selectors agreed there (§2.9), until the Child SA
	 * is made (the tunnel keeps them then): 0.8 KB an idle SA need not */
	struct ike_agreed *agreed;
	struct ike_child child[IKE_MAX_CHILDREN];
	uint64_t rekey_at;	/* of this IKE SA */
	uint64_t expire_at;	/* past it, without a rekey, start over */
	unsigned rekey_fails;

	enum ike_op op;		/* our outstanding request (with req_pending) */
	uint32_t op_spi, op_new_in;
	uint8_t op_nonce[NONCE_LEN];
	struct dh *op_dh;
	struct ike_sa *op_new;	/* OP_REKEY_IKE: the IKE SA being made */
	uint64_t kill_at;	/* a replaced IKE SA waiting for its DELETE */
	uint64_t childless_at;	/* the peer deleted the last Child SA: until then it may make another */
	uint16_t pfs_group;	/* the peer asked for this one (INVALID_KE_PAYLOAD) */
	/* The peer rekeyed the child we are rekeying (RFC 7296 §2.8.1):
	 * made then, freed when our rekey's answer settles it. */
	struct ike_collision *col;
	uint64_t created_ms;
	uint64_t established_ms;
	uint64_t last_rx_ms;	/* anything authentic from the peer, IKE or ESP */
	uint64_t esp_seen;	/* inbound ESP packets counted at the last tick */
	uint64_t keepalive_at;	/* next RFC 3948 NAT keep-alive */
	bool half_open;		/* counted in ctx->half_open */
	/* RFC 7427 §4: hashes the peer announced (mask of enum sig_hash) */
	unsigned peer_hashes;
	/* The peer's verified certificate for show: subject, issuer and
	 * expiry, three strings one after the other (NULL: none). */
	char *peer_cert;
	/* The pair of identities, ours and the peer's, that this SA joins
	 * (auth.c ids_key: RFC 7296 §2.4's INITIAL_CONTACT is about it): the
	 * peer's as IKE_AUTH proved it, or, while our IKE_AUTH is out, as
	 * the policy expects it.  0: not known. */
	uint64_t ids_key;
	/* Our IKE_AUTH carries INITIAL_CONTACT and is not answered yet. */
	bool contact;
	/* Ours waits for another's to be answered (auth.c contact_pending),
	 * until then at most (0: from now on, once more). */
	bool auth_wait;
	uint64_t auth_wait_until;
	struct hnode hspi, hpeer, htun, hids;
	struct heap_node timer;	/* in ctx->timers from birth to death */
	struct ike_sa *next, **pprev;
};

/* ike.c */
struct ike_sa *ikesa_new(struct ike_ctx *ctx, bool initiator);
/* A responder SA made by IKE_SA_INIT: findable by its peer's SPI and
 * address from now on, and counted as half-open until it authenticates. */
int ikesa_add_responder(struct ike_sa *sa);
void ikesa_half_open_end(struct ike_sa *sa);
/* IKE_AUTH's index of connections (struct ike_conn.sel): the keys a
 * peer's address and identity are found under; false for an identity
 * that cannot be a key (a DN that does not parse). */
uint64_t ike_conn_addr_key(const struct ike_ctx *ctx, const struct addr *a);
bool ike_conn_id_key(const struct ike_ctx *ctx, uint8_t type, const uint8_t *data, size_t len,
		     uint64_t *key);
/* The IKE SAs that serve c, one after another (NULL: the first), from
 * the index by connection: a hub's IKE_AUTH must not walk every SA. */
struct ike_sa *ikesa_of_conn(const struct ike_conn *c, const struct ike_sa *after);
/* File sa under the pair of identities it joins (0: none), and the IKE
 * SAs filed under one, one after another (NULL: the first). */
void ikesa_set_ids(struct ike_sa *sa, uint64_t key);
struct ike_sa *ikesa_of_ids(const struct ike_ctx *ctx, uint64_t key, const struct ike_sa *after);
/* sa's INITIAL_CONTACT was answered or never will be: the IKE_AUTHs that
 * wait for that (auth_wait_until) go at the next tick. */
void ikesa_contact_done(struct ike_sa *sa);
/* sa->agreed, made if it is not there yet: 0 or -ENOMEM. */
int ikesa_agreed(struct ike_sa *sa);
/* Free what an established SA no longer needs (ike.c). */
void ikesa_established_trim(struct ike_sa *sa);
/* The connection this SA serves from now on (NULL: none); always set it
 * here, so that the connection's SAs are found without a scan. */
int ikesa_set_conn(struct ike_sa *sa, struct ike_conn *c);
/* Tell the user of the connection (ike_conn_ops.state). */
void ike_conn_set_state(struct ike_conn *c, enum ike_conn_state s);
/* May a new half-open SA be made for this source? (HALF_OPEN_*) */
bool ike_half_open_admit(struct ike_ctx *ctx, const struct sockaddr_storage *from);
/* SHA-1 of a message, to recognise a retransmitted request. */
void ike_msg_digest(const uint8_t *p, size_t len, uint8_t out[20]);
void ikesa_kill(struct ike_sa *sa, const char *why);
const char *ikesa_name(const struct ike_sa *sa);
int ikesa_send_request(struct ike_sa *sa, struct buf *msg);
void ikesa_send_response(struct ike_sa *sa, struct buf *msg);
void ikesa_send_raw(struct ike_ctx *ctx, const struct addr *src,
		    const struct sockaddr_storage *dst, bool natt, const uint8_t *p, size_t len);
void ikesa_header(struct ike_sa *sa, struct ike_hdr *h, uint8_t exchange, bool response,
		  uint32_t msgid);
/* Write SK{inner} into a new message and send it (request or response). */
int ikesa_send_sk(struct ike_sa *sa, uint8_t exchange, bool response, uint32_t msgid,
		  const struct ike_wr *inner, struct buf *inner_buf);
void ikesa_peer_addr(const struct ike_sa *sa, struct addr *a, uint16_t *port);
/* An IKE_SA_INIT request from this address carries a cookie we made (RFC
 * 7296 §2.6: this secret or the one before). */
bool ike_cookie_valid(struct ike_ctx *ctx, const struct ike_msg *m,
		      const struct sockaddr_storage *from);
uint32_t ikesa_alloc_spi(struct ike_sa *sa);
/*
 * Derive KEYMAT from (Ni, Nr) of the exchange that created the child and
 * install it; exch_initiator says whose keys come first (§2.17).  With
 * activate false the new outbound SA waits until the child it replaces
 * is gone (a rekey responder, so no packet goes out on an SA the peer
 * cannot read yet).
 */
int ikesa_child_add(struct ike_sa *sa, uint32_t in, uint32_t out, const struct ike_prop *prop,
		    const struct chunk *gir, const struct chunk *ni, const struct chunk *nr,
		    bool exch_initiator, bool activate);
struct ike_child *ikesa_child_by_in(struct ike_sa *sa, uint32_t spi);
struct ike_child *ikesa_child_by_out(struct ike_sa *sa, uint32_t spi);
unsigned ikesa_child_count(const struct ike_sa *sa);
void ikesa_child_del(struct ike_sa *sa, uint32_t in);
void ikesa_children_remove(struct ike_sa *sa);
uint64_t ikesa_jitter(uint64_t base_ms, unsigned seconds);
/* How long to wait before rekey attempt number fails + 1: 5 s, 10 s, 20 s
 * ... up to 5 min, jittered, so that a peer that refuses is not asked
 * every second for ever; the old SA serves until it expires. */
uint64_t ikesa_rekey_backoff(unsigned fails);

/* timer.c */
/* The earliest time any of sa's timers can fire (never later). */
uint64_t ikesa_next_due(const struct ike_sa *sa, uint64_t now);
/* Something changed sa's deadlines: look at its timers next tick. */
void ikesa_touch(struct ike_sa *sa);
/* c may have to (re)initiate: look at it at its reinit_at. */
void ike_conn_wake(struct ike_conn *c);
/* ms less up to pct percent, at random (never more than ms: a deadline
 * that was promised is kept). */
uint64_t ike_jitter(uint64_t ms, unsigned pct);
/* May the tick start one more initiation now (INIT_RATE)?  Takes it. */
bool ike_init_paced(struct ike_ctx *ctx, uint64_t now);

/* init.c */
void ike_init_start(struct ike_ctx *ctx, struct ike_conn *c);
void ike_init_request(struct ike_ctx *ctx, struct ike_msg *m, const struct sockaddr_storage *from,
		      bool natt);
void ike_init_response(struct ike_sa *sa, struct ike_msg *m);
void ike_nat_hash(uint64_t spi_i, uint64_t spi_r, const struct addr *a, uint16_t port,
		  uint8_t out[20]);

/* auth.c */
void ike_auth_start(struct ike_sa *sa);
/* CERTREQ for the policy's ca, if it has one (auth.c). */
void ike_certreq(struct ike_wr *w, const struct ike_policy *pol);
void ike_auth_request(struct ike_sa *sa, struct ike_msg *m);
void ike_auth_response(struct ike_sa *sa, struct ike_msg *m);

void ike_esp_props(const struct ike_policy *pol, uint32_t spi, bool with_dh, struct ike_prop *p,
		   unsigned *n);
unsigned ike_ts_of_prefixes(const struct prefix *p, unsigned n, struct ike_ts *ts);
unsigned ike_ts_narrow(const struct ike_ts *peer, unsigned np, const struct prefix *ours,
		       unsigned no, struct ike_ts *out);
/* Address ranges as the fewest prefixes that cover exactly them; 0 if
 * that takes more than max (the caller refuses such selectors rather than
 * pass less than was agreed). */
unsigned ike_ts_to_prefixes(const struct ike_ts *ts, unsigned n, struct prefix *out,
			    unsigned max);

/* ppk.c: RFC 8784 post-quantum preshared keys */
/* Mix c's PPK into SK_d, SK_pi, SK_pr; the old ones are kept in
 * keys.no_ppk until ike_ppk_revert or ike_ppk_forget. */
int ike_ppk_apply(struct ike_sa *sa, const struct ike_conn *c) __attribute__((warn_unused_result));
void ike_ppk_revert(struct ike_sa *sa);
void ike_ppk_forget(struct ike_sa *sa);
/* N(PPK_IDENTITY) with the policy's PPK_ID (§3, §5.1: PPK_ID_FIXED). */
void ike_ppk_identity(struct ike_wr *w, const struct ike_policy *pol);
/* Does a received PPK_IDENTITY name the policy's PPK? */
bool ike_ppk_id_match(const struct ike_policy *pol, const struct ike_notify *n);

/* child.c: CREATE_CHILD_SA (§1.3) */
void ike_rekey_child_start(struct ike_sa *sa, struct ike_child *c);
void ike_rekey_ike_start(struct ike_sa *sa);
/* vtictl rekey: -EBUSY while another request is outstanding. */
int ike_rekey_now(struct ike_sa *sa, bool ike);
void ike_child_request(struct ike_sa *sa, struct ike_msg *m);
void ike_child_response(struct ike_sa *sa, struct ike_msg *m);
void ike_delete_child(struct ike_sa *sa, uint32_t in);

/* frag.c: RFC 7383 IKE message fragmentation */
#define IKE_FRAG_MAX 64		/* fragments of one message we reassemble */
/* An incomplete message is given up after the last retransmission
 * interval of a full schedule (RETX_FIRST_MS << (RETX_MAX - 1)): its
 * sender has sent every fragment again by then, or given up itself. */
#define IKE_FRAG_REASM_MS 16000
/* What all reassemblies together may hold.  A peer that has done nothing
 * but IKE_SA_INIT holds keys and can send authentic fragments, and
 * HALF_OPEN_MAX such SAs at 64 KB each would be 512 MB; this budget is
 * room for 256 certificate-sized IKE_AUTH messages at once. */
#define IKE_FRAG_BUDGET (4u << 20)
/* What an IKE SA not yet authenticated may have in reassembly: an
 * IKE_AUTH with a long certificate chain fits (a 4096-bit RSA chain of
 * three is under 6 KB). */
#define IKE_FRAG_UNAUTH (16u << 10)
/* One message being reassembled: its fragments' content, by number. */
struct ike_reasm {
	uint32_t msgid;
	uint16_t total, got;
	uint8_t first;		/* fragment 1's Next Payload */
	size_t bytes;
	uint64_t until;
	uint8_t *part[IKE_FRAG_MAX];
	size_t len[IKE_FRAG_MAX];
};
/*
 * Protect inner (the payload chain starting with type first) for the
 * message with header h: one SK payload, or, when fragmentation was
 * negotiated and the message would not fit the path MTU, Encrypted
 * Fragment messages one after the other in out (RFC 7383 §2.5).
 */
int ike_frag_seal(struct ike_sa *sa, const struct ike_hdr *h, uint8_t first,
		  const uint8_t *inner, size_t len, struct buf *out)
	__attribute__((warn_unused_result));
/*
 * One Encrypted Fragment message of the peer's current request (response
 * false) or of the answer to ours.  1: that was the last one missing; m
 * now holds the message's inner payloads, whose bytes whole holds (the
 * caller frees it).  0: kept, or a duplicate; <0: dropped (counted).
 */
int ike_frag_input(struct ike_sa *sa, struct ike_msg *m, uint8_t *raw, bool response,
		   struct buf *whole) __attribute__((warn_unused_result));
/* A fragment of the request we answered last: true if it is an authentic
 * first fragment, which is what draws the cached answer (§2.6.1). */
bool ike_frag_retransmitted(struct ike_sa *sa, struct ike_msg *m, uint8_t *raw);
void ike_frag_timers(struct ike_sa *sa, uint64_t now);
void ike_frag_free(struct ike_sa *sa);

/* info.c */
void ike_info_request(struct ike_sa *sa, struct ike_msg *m);
void ike_info_response(struct ike_sa *sa, struct ike_msg *m);
void ike_send_delete(struct ike_sa *sa);
void ike_send_dpd(struct ike_sa *sa);
void ike_send_error(struct ike_ctx *ctx, const struct ike_hdr *req, uint16_t notify,
		    const struct addr *src, const struct sockaddr_storage *to, bool natt,
		    const uint8_t *data, size_t len);

#endif
