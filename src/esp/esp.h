/*
 * esp.h - ESP tunnel-mode encapsulation and decapsulation (RFC 4303).
 *
 * Packets are processed in place.  The caller keeps ESP_HEADROOM bytes in
 * front of an inner packet and ESP_TAILROOM behind it so that header, IV,
 * padding, trailer and ICV fit without copying.
 */
#ifndef VTI_ESP_H
#define VTI_ESP_H

#include <stddef.h>
#include <stdint.h>

#include "esp/sa.h"

#define ESP_HDR_LEN 8
#define ESP_HEADROOM (ESP_HDR_LEN + 16)		/* SPI, seq, IV (CBC: 16) */
#define ESP_TAILROOM (15 + 2 + 32)		/* padding, trailer, ICV */
/* Outbound CBC IVs are drawn from OpenSSL's DRBG this many at a time: a
 * draw costs about as much whatever its size (the DRBG's locks, its fork
 * check's getpid(), re-keying its own cipher), and one per packet took a
 * quarter of an AES-CBC + HMAC-SHA-256 packet's time. */
#define ESP_IV_BATCH 16

/* RFC 4303 §2.6 next header values carried inside the tunnel. */
#define NH_IPV4 4
#define NH_IPV6 41
#define NH_NONE 59			/* RFC 4303 §2.7: a dummy (TFC) packet */

/* Why an inbound packet was not delivered. */
enum esp_result {
	ESP_OK = 0,
	ESP_DUMMY,		/* authentic dummy packet: consumed silently */
	ESP_MALFORMED,		/* too short, misaligned, bad padding/trailer */
	ESP_REPLAY,		/* duplicate or left of the window */
	ESP_AUTH,		/* ICV did not verify */
	ESP_EXHAUSTED,		/* outbound: sequence numbers used up */
	ESP_UNRESERVED,		/* outbound: the next number is not reserved yet */
	ESP_INTERNAL,		/* a crypto library failure */
};

/*
 * Encapsulate inner[0..len) for sa.  inner must have ESP_HEADROOM bytes
 * before it and ESP_TAILROOM after it.  On success *out points at the
 * SPI and *outlen is the ESP packet length.
 */
enum esp_result esp_encap(struct sa *sa, uint8_t *inner, size_t len,
			  uint8_t **out, size_t *outlen);
/* Encapsulate with a given IV (known-answer tests); NULL: as esp_encap. */
enum esp_result esp_encap_iv(struct sa *sa, uint8_t *inner, size_t len,
			     const uint8_t *iv, uint8_t **out, size_t *outlen);

/*
 * esp_encap in two halves, so that a burst's packets can be sealed on
 * several threads (lib/workers.h): esp_frame, in order on the thread that
 * owns the SA, takes the next sequence number, writes header, IV (NULL:
 * the next one) and trailer, and counts the packet; esp_seal encrypts and
 * authenticates it with thread t's cipher contexts (sa_warm_threads made
 * them) and reads nothing the first half changes, so any thread may run it
 * while others seal the same SA's other packets.  A packet that fails to
 * seal has used its number (a gap, which RFC 4303 §3.4.3 receivers take).
 */
struct esp_frame {
	uint8_t *hdr;		/* the ESP packet: SPI first */
	size_t len;		/* its length, ICV included */
	size_t plen;		/* what is encrypted: payload, padding, trailer */
	uint64_t seq;
};
enum esp_result esp_frame(struct sa *sa, uint8_t *inner, size_t len, const uint8_t *iv,
			  struct esp_frame *f);
int esp_seal(struct sa *sa, unsigned t, const struct esp_frame *f);

/*
 * Decapsulate the ESP packet pkt[0..len) already matched to sa by SPI:
 * replay pre-check, ICV, replay update, trailer (RFC 4303 §3.4).  On
 * ESP_OK, inner and inner_len give the inner packet and *nh its protocol.
 */
enum esp_result esp_decap(struct sa *sa, uint8_t *pkt, size_t len,
			  uint8_t **inner, size_t *inner_len, uint8_t *nh);

/*
 * esp_decap in three steps, so that a burst's packets can be opened on
 * several threads: esp_check (in order, on the thread that owns the SA)
 * checks the length and the replay window (§3.4.3's pre-check) and warms
 * the loop's contexts; esp_open, on any thread t with contexts made by
 * sa_warm_threads, checks the ICV and decrypts in place (0, -EBADMSG for
 * a bad ICV, or -EIO), reading nothing the other steps change; esp_accept
 * (in order again) takes esp_open's result, moves the replay window (or
 * finds the number taken since esp_check) and checks the trailer.
 */
enum esp_result esp_check(struct sa *sa, uint8_t *pkt, size_t len, struct esp_frame *f);
int esp_open(struct sa *sa, unsigned t, const struct esp_frame *f);
enum esp_result esp_accept(struct sa *sa, const struct esp_frame *f, int opened,
			   uint8_t **inner, size_t *inner_len, uint8_t *nh);

/* The largest inner packet whose ESP packet fits in avail bytes. */
size_t esp_max_inner(const struct esp_suite *s, size_t avail);

/* The SPI of an ESP packet, or 0 when it is too short to have one. */
uint32_t esp_spi(const uint8_t *pkt, size_t len);

#endif
