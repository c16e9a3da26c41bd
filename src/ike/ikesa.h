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
#include "ike/sk.h"
#include "lib/log.h"
#include "lib/prefix.h"

#define NONCE_LEN 32
#define RETX_FIRST_MS 1000
#define RETX_MAX 5		/* 1+2+4+8+16 s, then give up */
#define KEEPALIVE_MS 20000	/* RFC 3948 §4: 20 s is the recommended default */
#define REINIT_MIN_MS 1000
#define REINIT_MAX_MS 30000

enum ike_state {
	IKE_S_INIT_SENT,	/* initiator: IKE_SA_INIT request out */
	IKE_S_AUTH_SENT,	/* initiator: IKE_AUTH request out */
	IKE_S_INIT_DONE,	/* responder: IKE_SA_INIT answered */
	IKE_S_ESTABLISHED,
	IKE_S_DELETING,		/* our DELETE is out */
	IKE_S_DEAD,		/* to be freed */
};

struct ike_ctx {
	struct ev *ev;
	struct datapath *dp;
	struct tunnel **tunnels;
	int sock[2];		/* UDP port 500, IPv4 and IPv6 */
	uint16_t port;
	struct ike_sa *sas;
	struct ratelimit rl;
	uint8_t rx[65536];
};

struct ike_sa {
	struct ike_ctx *ctx;
	struct tunnel *t;	/* NULL for a responder before IKE_AUTH */
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
	uint8_t cookie[64];
	size_t cookie_len;

	struct addr local;
	struct sockaddr_storage peer;
	bool natt;		/* IKE moved to the NAT-T port */
	bool nat_local, nat_remote;	/* NAT found in front of us / the peer */
	bool force_encap;

	uint32_t next_req;	/* our next request's message ID */
	uint32_t peer_req;	/* the peer's next expected request ID */
	struct buf req;		/* our outstanding request, for retransmission */
	bool req_pending;
	unsigned retries;
	uint64_t retx_at;
	uint64_t req_first_ms;	/* when the outstanding request was first sent */
	struct buf resp;	/* our last response, for the peer's retransmits */
	bool have_resp;

	uint32_t child_in, child_out;	/* Child SA SPIs */
	struct ike_prop child_prop;
	bool child_up;
	uint64_t established_ms;
	uint64_t last_rx_ms;	/* anything authentic from the peer, IKE or ESP */
	uint64_t esp_seen;	/* inbound ESP packets counted at the last tick */
	uint64_t keepalive_at;	/* next RFC 3948 NAT keep-alive */
	struct ike_sa *next;
};

/* ike.c */
struct ike_sa *ikesa_new(struct ike_ctx *ctx, bool initiator);
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
void ikesa_child_remove(struct ike_sa *sa);
int ikesa_child_install(struct ike_sa *sa, const struct chunk *ni, const struct chunk *nr);

/* init.c */
void ike_init_start(struct ike_ctx *ctx, struct tunnel *t);
void ike_init_request(struct ike_ctx *ctx, struct ike_msg *m, const struct sockaddr_storage *from,
		      bool natt);
void ike_init_response(struct ike_sa *sa, struct ike_msg *m);
void ike_nat_hash(uint64_t spi_i, uint64_t spi_r, const struct addr *a, uint16_t port,
		  uint8_t out[20]);

/* auth.c */
void ike_auth_start(struct ike_sa *sa);
void ike_auth_request(struct ike_sa *sa, struct ike_msg *m);
void ike_auth_response(struct ike_sa *sa, struct ike_msg *m);

/* info.c */
void ike_info_request(struct ike_sa *sa, struct ike_msg *m);
void ike_info_response(struct ike_sa *sa, struct ike_msg *m);
void ike_send_delete(struct ike_sa *sa);
void ike_send_dpd(struct ike_sa *sa);
void ike_send_error(struct ike_ctx *ctx, const struct ike_hdr *req, uint16_t notify,
		    const struct addr *src, const struct sockaddr_storage *to, bool natt,
		    const uint8_t *data, size_t len);

#endif
