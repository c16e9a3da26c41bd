/*
 * sa.h - one IPsec SA as the datapath sees it: SPI, direction, cipher
 * contexts, sequence/replay state, where its packets go, and counters.
 * The control plane builds SAs (sa_new), hands them to the SA table
 * (sadb.h) and takes them back; the datapath only reads what it needs and
 * advances sequence numbers and counters.
 */
#ifndef VTI_SA_H
#define VTI_SA_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "crypto/suite.h"

/* The longest key material an SA keeps: AES-256 and HMAC-SHA-512. */
#define ESP_KEYMAT_MAX (32 + 64)
#include "esp/replay.h"
#include "lib/prefix.h"

struct aead;
struct cbc;
struct hmac;
struct vif;

/* One thread's cipher contexts for an SA (see sa_ctx). */
struct sa_ctx {
	struct aead *aead;
	struct cbc *cbc;
	struct hmac *hmac;
	/* Outbound CBC, the event loop's: ESP_IV_BATCH IVs drawn ahead
	 * (esp.c next_iv), taken from the end: the first ivs_left unused. */
	uint8_t *ivs;
	unsigned ivs_left;
};

enum encap { ENCAP_RAW, ENCAP_UDP };

struct sa {
	uint32_t spi;
	bool inbound;
	struct esp_suite suite;
	size_t iv_len, icv_len, align;

	/*
	 * The cipher contexts are made from key[] when a packet needs them
	 * (sa_warm) and freed when the SA has been idle a while (sa_cool,
	 * sadb_sweep): an AES-GCM context is 1.2 KB, and a hub holds tens of
	 * thousands of idle SAs.  The key itself is 36 to 96 bytes.
	 */
	bool is_aead;
	struct sa_ctx c;	/* the event loop's */
	/* More threads' (workers.h: [daemon] crypto-threads), for threads
	 * 1..n_more, made by sa_warm_threads for a burst they share. */
	struct sa_ctx *more;
	unsigned n_more;
	uint8_t salt[4];
	uint8_t key[ESP_KEYMAT_MAX];
	size_t keylen;
	uint64_t swept;		/* packets at sadb_sweep's last visit */

	uint64_t seq;		/* outbound: last sequence number sent */
	/*
	 * Outbound: the last sequence number it may send.  Its whole space,
	 * or for manual keys the end of the block reserved on disk first
	 * (sa_seq_grant).  esp_encap compares seq with seq_check only, one
	 * compare a packet; at seq_check it looks at the limit and, half way
	 * through a reserved block, raises seq_want for the control plane.
	 */
	uint64_t seq_limit, seq_check;
	bool seq_want;
	bool exhausted;		/* outbound: no sequence number left */
	struct replay replay;	/* inbound */

	/* Outer path, for outbound SAs. */
	enum encap encap;
	struct addr local;
	struct sockaddr_storage peer;	/* with port for ENCAP_UDP */

	struct vif *vif;	/* the tunnel this SA belongs to */
	/*
	 * The other half of its Child SA (inbound <-> outbound): a Child SA
	 * is this pair, installed in the SA table, and nothing else keeps a
	 * copy of it.  NULL for an inbound SA whose outbound half is gone
	 * (draining after a rekey).
	 */
	struct sa *pair;
	struct sa *hnext;	/* SA table hash chain */
	bool steered;		/* inbound: the XDP program was told its SPI */

	uint64_t packets, bytes;
	uint64_t installed_ms;
	/* Inbound: when the last authentic packet arrived (0: not known), so
	 * that IKE's liveness check need not sample the counters each tick. */
	uint64_t rx_ms;
};

/*
 * Build an SA from KEYMAT in RFC 7296 §2.17 order for one direction:
 * encryption key (+ 4-byte salt for AEADs), then integrity key.
 */
struct sa *sa_new(uint32_t spi, bool inbound, const struct esp_suite *suite,
		  const uint8_t *keymat, size_t keylen, uint32_t replay_window);
void sa_free(struct sa *sa);
/* Make its cipher contexts if they are not there: 0 or -ENOMEM. */
int sa_warm(struct sa *sa);
/* Make contexts for threads 1..n-1 too, for a burst that n threads seal
 * (the event loop's are thread 0's): 0 or -ENOMEM. */
int sa_warm_threads(struct sa *sa, unsigned n);
/* Thread t's contexts; t < 1 + n_more. */
static inline struct sa_ctx *sa_ctx(struct sa *sa, unsigned t)
{
	return t ? &sa->more[t - 1] : &sa->c;
}
/* Free them all (the next packet makes them again). */
void sa_cool(struct sa *sa);
/* The highest sequence number this SA may send (RFC 4303 §3.3.3). */
uint64_t sa_seq_max(const struct sa *sa);
/*
 * Manual keys: numbers up to limit are reserved (written down) for this
 * SA; with next != 0 it is new and sends next first.  Nothing is sent
 * until the first grant: sa_seq_hold stops a new SA before that.
 */
void sa_seq_hold(struct sa *sa);
void sa_seq_grant(struct sa *sa, uint64_t next, uint64_t limit);

#endif
