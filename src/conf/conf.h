/*
 * conf.h - the configuration file (SPEC.md "Configuration file"): an
 * INI-like file of one [daemon] section and [tunnel NAME] sections.
 * Unknown keys, bad values, missing values and contradictions are errors
 * reported as "FILE:LINE: what is wrong"; nothing is silently ignored.
 */
#ifndef VTI_CONF_H
#define VTI_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/pki.h"
#include "crypto/suite.h"
#include "ike/msg.h"
#include "lib/buf.h"
#include "lib/prefix.h"

#define CONF_MAX_ADDRS 8
#define BUSY_POLL_DEFAULT 100	/* microseconds: [daemon] busy-poll */
#define XDP_SOCKETS_DEFAULT 4	/* [daemon] xdp-sockets */
#define XDP_SOCKETS_MAX 16	/* XSK_MAX (platform.h) */
#define CRYPTO_THREADS_MAX 16	/* [daemon] crypto-threads */
#define CONF_MAX_PROPOSALS 8
#define CONF_MAX_TS 16
#define CONF_MAX_KEY 128
#define CONF_MAX_PSK 256
#define CONF_MAX_ID 256
#define CONF_MAX_PPK 256
#define CONF_PPK_MIN 32		/* bytes: RFC 8784 §6, 256 bits of entropy */

enum tunnel_mode { MODE_IKE, MODE_MANUAL };
enum encap_mode { ENCAP_MODE_AUTO, ENCAP_MODE_YES, ENCAP_MODE_NO };

struct tunnel_conf {
	char name[16];
	unsigned line;			/* of the [tunnel NAME] header */
	bool is_template;		/* [template NAME]: one interface NAME<n> per peer */

	struct addr local, remote;	/* remote.family 0: "any" */
	uint16_t remote_port;		/* the peer's IKE port */
	char local_id[CONF_MAX_ID], remote_id[CONF_MAX_ID];
	uint8_t psk[CONF_MAX_PSK];
	size_t psk_len;
	struct prefix addrs[CONF_MAX_ADDRS];
	unsigned n_addrs;
	bool address_auto;		/* address = auto: asked of the peer (§3.15) */
	struct prefix pool[2];		/* addresses for peers that ask: one prefix a family */
	unsigned n_pool;
	unsigned mtu;			/* 0: derived from the outer path */
	bool mss_clamp;
	/* ike =, parsed once here (the IKE policy takes it as it is) */
	struct ike_prop ike[CONF_MAX_PROPOSALS];
	unsigned n_ike;
	struct esp_suite esp[CONF_MAX_PROPOSALS];
	unsigned n_esp;
	struct prefix local_ts[CONF_MAX_TS], remote_ts[CONF_MAX_TS];
	unsigned n_local_ts, n_remote_ts;
	enum encap_mode encap;
	bool start;
	unsigned dpd, dpd_timeout, ike_lifetime, esp_lifetime;
	uint32_t replay_window;
	bool fragmentation;		/* RFC 7383 IKE fragmentation offered */

	enum tunnel_mode mode;
	uint32_t spi_in, spi_out;
	uint8_t key_in[CONF_MAX_KEY], key_out[CONF_MAX_KEY];
	size_t key_in_len, key_out_len;

	bool has_secret;		/* psk or key given inline in the file */

	/* RFC 8784 post-quantum preshared key: ppk_len 0 without one */
	char ppk_id[CONF_MAX_ID];
	uint8_t ppk[CONF_MAX_PPK];
	size_t ppk_len;
	bool ppk_required;
	/* local-cert, local-key, ca, crl (slot kind - 1): objects shared with
	 * every tunnel naming the same file (pki.h), not owned; pki_ix (from
	 * 1; 0: none) is the slot's index in conf.pki, which is how they are
	 * named when a configuration is pushed to another process. */
	struct pki *pki[PKI_SLOTS];
	uint16_t pki_ix[PKI_SLOTS];
};

/* [daemon] esp-path (doc/fastpath.md). */
enum esp_path {
	ESP_PATH_AUTO,		/* the packet socket where the path allows */
	ESP_PATH_SOCKET,	/* the raw IP socket, through the kernel's IP output */
	ESP_PATH_XDP,		/* AF_XDP on Ethernet, else as auto */
};

struct daemon_conf {
	char socket[108];
	char group[64];			/* may use the control socket; "" = root only */
	char user[64];			/* the network and auth processes run as */
	uint16_t port, natt_port;
	unsigned cookie_threshold;	/* half-open IKE SAs before cookies */
	unsigned initiate_rate;		/* IKE_SA_INIT a second the daemon starts itself */
	unsigned busy_poll_us;		/* the network process polls this long after traffic */
	enum esp_path esp_path;		/* how raw ESP leaves */
	unsigned xdp_sockets;		/* AF_XDP sockets made at start (esp-path = xdp) */
	unsigned crypto_threads;	/* threads that seal and open ESP, the loop's counted */
	struct addr metrics_addr;	/* metrics-listen; family 0: off */
	uint16_t metrics_port;
	char state_dir[256];		/* manual SAs' sequence high-water marks */
};

struct conf {
	char file[256];
	struct daemon_conf d;
	struct tunnel_conf *t;
	size_t n;
	struct pki **pki;		/* each distinct PKI file once, a reference each */
	size_t n_pki;
};

/*
 * Parse text (named file for messages).  Returns the number of errors,
 * each appended to errors as "FILE:LINE: message\n".  The result is only
 * meaningful when it returns 0.
 */
int conf_parse(const char *file, const char *text, size_t len, struct conf *out,
	       struct buf *errors);
/* Read and parse a file; also refuses secrets in a group/world-readable file. */
int conf_load(const char *path, struct conf *out, struct buf *errors);
void conf_free(struct conf *c);		/* wipes keys and PSKs */
/* Hold obj in c (a new reference) as index n_pki (1-based); 0 or -ENOMEM. */
int conf_add_pki(struct conf *c, struct pki *obj);
const struct tunnel_conf *conf_find(const struct conf *c, const char *name);
/* The same, looking at index *at first and on from there; *at is left
 * just past the match.  Walking two configurations in the same order,
 * each lookup then costs one compare (an unchanged reload of thousands
 * of tunnels was quadratic). */
const struct tunnel_conf *conf_find_next(const struct conf *c, const char *name, size_t *at);
/*
 * The section an interface belongs to: the [tunnel] of that name, or the
 * [template] whose instance it is (NAME followed by a number).
 */
const struct tunnel_conf *conf_owner(const struct conf *c, const char *ifname);
/* A name a section may give its interface (1-15 of [A-Za-z0-9-_.]). */
bool conf_ifname_ok(const char *n);
/* A template's interface names: NAME and at most this many digits. */
#define CONF_TEMPLATE_DIGITS 5

/* The IKE policy of a mode = ike tunnel (ike/policy.h), from its checked
 * configuration: nothing is parsed again, and no secret goes in it.  The
 * policy points into c (proposals, selectors) and ids (identities, which
 * this fills): both must outlive it. */
struct ike_policy;
struct ike_policy_ids;
void tunnel_conf_policy(const struct tunnel_conf *c, struct ike_policy *p,
			struct ike_policy_ids *ids);
/* Same settings (so a reload keeps the tunnel's SAs)? */
bool tunnel_conf_equal(const struct tunnel_conf *a, const struct tunnel_conf *b);
/* Can its interface carry IPv6: an IPv6 prefix in both local-ts and
 * remote-ts (a packet needs both), or an IPv6 address or pool of its own?
 * If not, the interface is made without IPv6. */
bool tunnel_conf_ipv6(const struct tunnel_conf *t);

#endif
