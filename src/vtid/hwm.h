/*
 * hwm.h - high-water marks of manual SAs' outbound sequence numbers, kept
 * in [daemon] state-dir so that a (key, nonce) pair never repeats across
 * restarts, reloads and re-created tunnels (SPEC.md "Staying up"; with
 * AES-GCM and ChaCha20-Poly1305 the sequence number is the nonce's
 * counter, RFC 4106 §3.1 and RFC 7634 §2).
 *
 * One small file per outbound key, named after a keyed fingerprint of it
 * (never the key): every number ever sent under that key is below the
 * "next" it records.  A block is written down (temporary file, fsync,
 * rename, fsync of the directory) before any number in it is used.  Only
 * the privileged parent calls hwm_reserve; the network process cannot
 * open files.
 */
#ifndef VTI_HWM_H
#define VTI_HWM_H

#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"

#define HWM_FP_LEN 32
#define HWM_BLOCK (1u << 20)		/* numbers reserved at a time */
#define HWM_BLOCK_MAX (1u << 24)	/* the most the parent grants at once */

/* fp = HMAC-SHA-256(key-out, label): equal keys, equal fingerprints. */
int hwm_fingerprint(const struct tunnel_conf *t, uint8_t fp[HWM_FP_LEN])
	__attribute__((warn_unused_result));

/*
 * Reserve block numbers for tunnel t's outbound key in dir (created with
 * mode 0700 if missing).  from = 0: a new SA, which starts at *next;
 * otherwise the last number the SA may already send, which the new
 * reservation continues.  *limit is the last number it may send.  The
 * mark on disk only grows.  -ENOSPC: the key's sequence space is used
 * up (non-ESN: 2^32 - 1); other errors are the file system's.  why says
 * what went wrong, for the log.
 */
int hwm_reserve(const char *dir, const struct tunnel_conf *t, uint64_t from, uint32_t block,
		uint64_t *next, uint64_t *limit, char *why, size_t whylen)
	__attribute__((warn_unused_result));

#endif
