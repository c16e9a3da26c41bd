/*
 * privsep.h - vtid's three processes, and the only ways they talk.
 *
 *   vtid         root, keeping CAP_NET_ADMIN, CAP_KILL, CAP_SETUID and
 *   (parent)     CAP_SETGID only.  Reads the configuration; creates TUN
 *                devices and sets MTU and addresses on request, each
 *                request checked against its own copy of the configuration
 *                (vti's interfaces, their configured addresses, nothing
 *                else).  Never sees a packet.  Supervises the other two:
 *                keeps a descriptor of each TUN device and the sockets, so
 *                that a crashed child is replaced (SPEC "Staying up")
 *                while the interfaces keep their ifindex and routes.
 *   vtid: auth   the configured user, no capabilities, seccomp.  Holds the
 *                pre-shared keys and applies them to AUTH octets on request,
 *                and the post-quantum PPKs (RFC 8784), mixed into keys on
 *                request.
 *                Parses nothing from the network.
 *   vtid: net    the configured user, no capabilities, seccomp.  Everything
 *                that parses untrusted input: IKE, ESP, the control socket.
 *                Its copy of the configuration has each PSK replaced by a
 *                keyed fingerprint (so a reload still sees a changed PSK).
 *
 * They talk over SOCK_SEQPACKET socketpairs, one typed, length-checked
 * message per datagram.  The parent and auth trust nothing net sends.
 */
#ifndef VTI_PRIVSEP_H
#define VTI_PRIVSEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "crypto/prf.h"
#include "lib/buf.h"
#include "lib/prefix.h"

struct tunnel_conf;
struct chunk;

struct ev;

/*
 * Fork the auth and net processes.  Returns 0 in the net process, with
 * privileges dropped and conf's PSKs redacted; the auth process never
 * returns.  The parent supervises: a net process that crashes (dies other
 * than by exiting 0, after it called ps_ready) is replaced by a new one
 * forked from the parent, which returns 0 here with the current
 * configuration in *conf and its own epoll set in ev (ev_renew); a dead
 * auth process is replaced too.  The parent exits with net's status when
 * net exits, or 3 after 5 restarts of one child in 60 s.  Returns -1 with
 * err set if nothing was forked.
 */
int privsep_start(struct conf *conf, const char *conf_path, const char *sock_path,
		  struct ev *ev, char *err, size_t errlen);
/* Start-up is done: from now on this process's death is a crash that the
 * parent recovers from, not a failure to start. */
void ps_ready(void);
/* A heartbeat to the parent, at most 4 times a second (call it often): the
 * parent pings the service manager's watchdog only while they come. */
void ps_alive(void);

/* The net process's requests, after privsep_start (-EIO before). */
int ps_tun_open(const char *name, int *ifindex, uint8_t *offload);
/* The same for a template's instance, naming the peer it is for: the
 * parent writes it down at a restart that keeps interfaces. */
struct ike_ident;
int ps_tun_open_id(const char *name, const struct ike_ident *id, int *ifindex, uint8_t *offload);
/*
 * Templates' instances whose devices the parent holds from before this
 * process (adopted after vtictl restart): from *at (start at 0), the next
 * one's interface name and peer; false at the end.
 */
bool ps_kept_instance(size_t *at, char name[16], struct ike_ident *id);
/* vtictl restart: have the parent stop everything but the interfaces
 * (it sends us SIGTERM); -EIO without privsep. */
int ps_restart(void);
int ps_netif_setup(int ifindex, unsigned mtu);
/* esp-path = xdp: have the parent bind AF_XDP socket i (xsk.c) to a
 * queue of an interface that is not one of vti's own (another queue than
 * 0: next to first, on 0, and only to receive), and with rx have the XDP
 * program hand it ESP (false: no longer).  0, or for queue 0 with rx how
 * many receive queues the interface has; -ERANGE: no such queue;
 * -ENOLINK: no program on the interface; -EINVAL: another queue than 0
 * without rx, for a socket not bound yet; what xsk_bind says. */
int ps_xsk_bind(unsigned i, unsigned first, int ifindex, unsigned queue, bool rx);
/* The XDP program hands an SA's raw ESP to AF_XDP, or no longer (no reply). */
void ps_xdp_steer(uint32_t spi, const struct addr *dst, bool on);
int ps_addr_add(int ifindex, const struct prefix *p);
/* Addresses the peer gave (address = auto) come and go; a host route to
 * the address a tunnel's pool gave its peer. */
int ps_addr_del(int ifindex, const struct prefix *p);
int ps_route(int ifindex, const struct prefix *p, bool add);
/* Templates' instances are gone: the parent lets go of their interfaces
 * (and deletes them at once); at most PS_MAX_CLOSE (256) names. */
int ps_tun_close(const char (*names)[16], size_t n);
/* RFC 7427: the auth process signs octets with tc's local-key and hash
 * (enum sig_hash); the signature's length or -errno. */
int ps_sign(void *arg, const struct tunnel_conf *tc, int hash, const struct chunk *octets,
	    size_t n, uint8_t *out, size_t max);
/* An ike_psk_signer that asks the auth process. */
int ps_psk_sign(void *arg, const struct tunnel_conf *tc, uint16_t prf_id,
		const struct chunk *octets, size_t n, uint8_t *out);
/* An ike_ppk_mixer (RFC 8784) that asks the auth process, which holds
 * the PPKs as it holds the PSKs. */
int ps_ppk_mix(void *arg, const struct tunnel_conf *tc, uint16_t prf_id, size_t len,
	       uint8_t sk[3][PRF_MAX]);
/*
 * Have the parent reserve sequence numbers for tc's manual outbound SA
 * (hwm.h): from = 0 for a new SA, which starts at *next; else the SA's
 * current limit.  *limit: the last number it may send.
 */
int ps_seq_reserve(const struct tunnel_conf *tc, uint64_t from, uint32_t block, uint64_t *next,
		   uint64_t *limit) __attribute__((warn_unused_result));
/*
 * The same for an SA that holds numbers up to from (!= 0), without
 * waiting: the parent's fsync must not stall the datapath.  The answer
 * comes back through ps_seq_answer (after on_parent or a tick).
 */
int ps_seq_ask(const struct tunnel_conf *tc, uint64_t from, uint32_t block)
	__attribute__((warn_unused_result));
struct ps_seq_answer {
	char name[16];
	uint32_t spi;
	uint64_t from, limit;	/* the SA may now send up to limit */
	uint64_t next;		/* from next on: the numbers between from and next
				 * went to someone else sharing the key's mark */
	int err;
};
bool ps_seq_answer(struct ps_seq_answer *a);
/* Have the parent re-read its file: 0 with *out filled, or errors. */
int ps_reload(struct conf *out, struct buf *errors);
/* A configuration the parent pushed (it got SIGHUP), if one is waiting. */
bool ps_pushed_conf(struct conf *out);
/* The descriptor to watch for such pushes; -1 without privsep. */
int ps_parent_fd(void);

#endif
