/*
 * privsep.c - vtid's processes and the messages between them (privsep.h).
 *
 * Every message is one SOCK_SEQPACKET datagram: a header (type, length)
 * and a payload whose length the receiver checks against the type before
 * it looks inside.  Strings inside are fixed-size fields that are
 * NUL-terminated by the receiver, never trusted to be.
 */
#include "vtid/privsep.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "crypto/cipher.h"
#include "crypto/prf.h"
#include "crypto/sig.h"
#include "ike/keys.h"
#include "lib/log.h"
#include "lib/ev.h"
#include "lib/htab.h"
#include "platform/platform.h"
#include "vtid/daemon.h"
#include "vtid/hwm.h"
#include "vtid/kept.h"
#include "vtid/tunnel.h"

enum ps_type {
	PS_TUN_OPEN = 1,	/* net -> parent: ps_name; reply PS_TUN_REPLY + fd */
	PS_TUN_REPLY,
	PS_NETIF_SETUP,		/* net -> parent: ps_netif; reply PS_STATUS */
	PS_ADDR_ADD,		/* net -> parent: ps_addr; reply PS_STATUS */
	PS_RELOAD,		/* net -> parent: empty; reply PS_CONF_* then PS_STATUS */
	PS_STATUS,
	PS_CONF_BEGIN,		/* parent -> net, auth: ps_conf_begin */
	PS_CONF_TUNNEL,		/* struct tunnel_conf, redacted for the receiver */
	PS_CONF_END,
	PS_AUTH,		/* net -> auth: ps_auth + octets; reply PS_AUTH_REPLY */
	PS_AUTH_REPLY,
	PS_SEQ_RESERVE,		/* net -> parent: ps_seq; the parent answers in kind */
	PS_READY,		/* net -> parent: empty, start-up done; no reply */
	PS_AUTH_CHANNEL,	/* parent -> net: empty + fd, to a restarted auth */
	PS_ALIVE,		/* net -> parent: empty, once a second; no reply */
	PS_ADDR_DEL,		/* net -> parent: ps_addr; reply PS_STATUS */
	PS_ROUTE_ADD,		/* net -> parent: ps_addr (a host route); reply PS_STATUS */
	PS_ROUTE_DEL,
	PS_TUN_CLOSE,		/* net -> parent: ps_names, templates' instances gone; PS_STATUS */
	PS_PPK,			/* net -> auth: ps_ppk; reply PS_PPK_REPLY, ps_ppk */
	PS_PPK_REPLY,
	PS_CONF_PKI,		/* ps_conf_pki + PEM text: a file tunnels name (pki.h) */
	PS_SIGN,		/* net -> auth: ps_sign + octets; reply PS_SIGN_REPLY */
	PS_SIGN_REPLY,
	PS_TUN_OPEN_ID,		/* net -> parent: ps_tun_open_id; as PS_TUN_OPEN */
	PS_RESTART,		/* net -> parent: empty (vtictl restart); no reply */
	PS_XSK_BIND,		/* net -> parent: ps_xsk; reply PS_STATUS (queues) */
	PS_XDP_STEER,		/* net -> parent: ps_steer; no reply */
};

struct ps_hdr {
	uint16_t type;
	uint16_t zero;
	uint32_t len;		/* payload bytes after this header */
};

struct ps_name {
	char name[16];
};

/* A template's instance and the identity of the peer it is for: the
 * parent writes it down at a restart that keeps interfaces (kept.h). */
struct ps_tun_open_id {
	char name[16];
	uint8_t type;
	uint8_t zero;
	uint16_t len;
	uint8_t data[IKE_ID_MAX];
};

/* Interfaces of templates' instances that are gone (PS_TUN_CLOSE). */
#define PS_MAX_CLOSE 256
struct ps_names {
	uint32_t n;
	struct ps_name name[PS_MAX_CLOSE];
};

struct ps_tun_reply {
	int32_t err;
	int32_t ifindex;
	uint8_t offload;
};

struct ps_netif {
	int32_t ifindex;
	uint32_t mtu;
};

struct ps_xsk {
	uint32_t index;		/* which AF_XDP socket (xsk.c) */
	uint32_t first;		/* the one on queue 0 there (index, for queue 0) */
	int32_t ifindex;
	uint32_t queue;
	uint32_t rx;		/* 1: the XDP program hands it ESP; 0: no longer */
};

/* An SPI the XDP program hands to the network process, or no longer. */
struct ps_steer {
	uint32_t spi;
	uint8_t on;
	uint8_t zero[3];
	struct addr dst;	/* where the SA's packets arrive */
};

struct ps_addr {
	int32_t ifindex;
	struct prefix p;
};

struct ps_status {
	int32_t err;
	char text[4000];
};

struct ps_conf_begin {
	char file[256];
	struct daemon_conf d;
	uint32_t n;
};

struct ps_auth {
	char name[16];
	uint16_t prf;
	uint16_t zero;
};

struct ps_auth_reply {
	int32_t err;
	uint32_t len;
	uint8_t out[PRF_MAX];
};

/* RFC 8784 §3: SK_d, SK_pi, SK_pr in, mixed with the tunnel's PPK out. */
struct ps_ppk {
	char name[16];
	uint16_t prf;
	uint16_t zero;
	int32_t err;
	uint32_t len;
	uint8_t sk[3][PRF_MAX];
};

/* The n-th (from 1) of the configuration's PKI files, in order, before
 * the tunnels that name them.  A private key reaches the auth process
 * only; the network process gets its slot with no text. */
struct ps_conf_pki {
	uint16_t kind;
	uint16_t zero;
	char path[256];
};

/* RFC 7427: sign octets with the tunnel's local-key and this hash. */
struct ps_sign {
	char name[16];
	int32_t hash;
};

struct ps_sign_reply {
	int32_t err;
	uint32_t len;
	uint8_t sig[SIG_MAX];
};

/*
 * Sequence numbers for a manual outbound SA (hwm.h).  The request names
 * the tunnel, its spi-out and the fingerprint of the key-out the SA uses
 * (so a request for a key the parent no longer has is refused); the reply
 * carries err, next and limit.
 */
struct ps_seq {
	char name[16];
	uint32_t spi;
	uint32_t block;
	uint8_t fp[HWM_FP_LEN];
	uint64_t from;		/* 0: a new SA; else the last number it holds */
	int32_t err;
	uint32_t zero;
	uint64_t next, limit;
};

#define PS_MAX_PAYLOAD 65536
#define PS_MAX_TUNNELS 4096
#define PS_MAX_AUTH (PS_MAX_PAYLOAD - sizeof(struct ps_auth))

/* ---- messages ---- */

static int ps_send(int fd, uint16_t type, const void *a, size_t alen, const void *b, size_t blen,
		   int pass_fd)
{
	struct ps_hdr h = { .type = type, .len = (uint32_t)(alen + blen) };
	struct iovec iov[3] = { { &h, sizeof(h) }, { (void *)a, alen }, { (void *)b, blen } };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 3 };
	struct cmsghdr *c;

	if (pass_fd >= 0) {
		memset(&u, 0, sizeof(u));
		m.msg_control = u.buf;
		m.msg_controllen = sizeof(u.buf);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
	}
	return sendmsg(fd, &m, MSG_NOSIGNAL) == (ssize_t)(sizeof(h) + alen + blen) ? 0 : -EIO;
}

/*
 * One message into h and buf[0..cap).  Returns the payload length (maybe
 * 0), -EPIPE at end of file, or -errno for a malformed message.  A passed descriptor
 * goes to *fd_out, or is closed if the caller expects none.
 */
static ssize_t ps_recv_flags(int fd, struct ps_hdr *h, void *buf, size_t cap, int *fd_out,
			     int flags)
{
	struct iovec iov[2] = { { h, sizeof(*h) }, { buf, cap } };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2, .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c;
	ssize_t n;
	int got = -1;

	if (fd_out)
		*fd_out = -1;
	do
		n = recvmsg(fd, &m, MSG_CMSG_CLOEXEC | flags);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n < 0 ? -errno : -EPIPE;
	for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&got, CMSG_DATA(c), sizeof(int));
	if (got >= 0 && !fd_out)
		close(got);
	else if (fd_out)
		*fd_out = got;
	if ((m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || (size_t)n < sizeof(*h) ||
	    h->zero || h->len != (size_t)n - sizeof(*h)) {
		if (fd_out && *fd_out >= 0) {
			close(*fd_out);
			*fd_out = -1;
		}
		return -EBADMSG;
	}
	return (ssize_t)h->len;
}

static ssize_t ps_recv(int fd, struct ps_hdr *h, void *buf, size_t cap, int *fd_out)
{
	return ps_recv_flags(fd, h, buf, cap, fd_out, 0);
}

/* Fixed-size string fields come NUL-terminated only if we make them. */
#define TERMINATE(field) ((field)[sizeof(field) - 1] = '\0')

/* ---- configurations, sent field by field and reassembled ---- */

struct conf_rx {
	struct conf c;
	size_t got;
	bool open;
};

static void conf_rx_reset(struct conf_rx *rx)
{
	conf_free(&rx->c);
	memset(rx, 0, sizeof(*rx));
}

/*
 * The counts in a pushed tunnel are bounded as the parser bounds them
 * (defence in depth: the parsed proposals arrive as binary now, and IKE
 * indexes its arrays with them).
 */
static bool conf_counts_ok(const struct tunnel_conf *t)
{
	unsigned i, k;

	if (t->n_addrs > CONF_MAX_ADDRS || t->n_ike > CONF_MAX_PROPOSALS ||
	    t->n_esp > CONF_MAX_PROPOSALS || t->n_local_ts > CONF_MAX_TS ||
	    t->n_remote_ts > CONF_MAX_TS)
		return false;
	for (i = 0; i < t->n_ike; i++) {
		if (t->ike[i].spi_size > sizeof(t->ike[i].spi))
			return false;
		for (k = 0; k < 6; k++)
			if (t->ike[i].n[k] > PROP_MAX_TRANSFORMS)
				return false;
	}
	return true;
}

/* A PKI file's text, parsed here again (shared with the previous
 * configuration's object when unchanged). */
static int conf_rx_pki(struct conf_rx *rx, const void *p, size_t len)
{
	struct ps_conf_pki h;
	struct pki *obj;
	char why[160];

	if (len < sizeof(h))
		return -1;
	memcpy(&h, p, sizeof(h));
	TERMINATE(h.path);
	if (h.kind < PKI_CERT || h.kind > PKI_CRL || len - sizeof(h) > PKI_MAX_TEXT)
		return -1;
	obj = pki_get(h.kind, h.path, (const char *)p + sizeof(h), len - sizeof(h), why,
		      sizeof(why));
	if (!obj) {
		log_err(NULL, "pushed %s: %s", h.path, why);
		return -1;
	}
	if (conf_add_pki(&rx->c, obj)) {
		pki_put(obj);
		return -1;
	}
	pki_put(obj);
	return 0;
}

/* A pushed tunnel's PKI slots by index: the sender's pointers mean
 * nothing here. */
static int conf_rx_pki_refs(const struct conf *c, struct tunnel_conf *t)
{
	unsigned k;

	for (k = 0; k < PKI_SLOTS; k++) {
		t->pki[k] = NULL;
		if (!t->pki_ix[k])
			continue;
		if (t->pki_ix[k] > c->n_pki || (unsigned)c->pki[t->pki_ix[k] - 1]->kind != k + 1)
			return -1;
		t->pki[k] = c->pki[t->pki_ix[k] - 1];
	}
	return 0;
}

/* 1 when a whole configuration has arrived, 0 for more, -1 if malformed. */
static int conf_rx_feed(struct conf_rx *rx, const struct ps_hdr *h, const void *p, size_t len)
{
	const struct ps_conf_begin *b = p;

	switch (h->type) {
	case PS_CONF_BEGIN:
		conf_rx_reset(rx);
		if (len != sizeof(*b) || b->n > PS_MAX_TUNNELS)
			return -1;
		memcpy(rx->c.file, b->file, sizeof(rx->c.file));
		rx->c.d = b->d;
		TERMINATE(rx->c.file);
		TERMINATE(rx->c.d.socket);
		TERMINATE(rx->c.d.group);
		TERMINATE(rx->c.d.user);
		TERMINATE(rx->c.d.state_dir);
		rx->c.t = calloc(b->n ? b->n : 1, sizeof(struct tunnel_conf));
		if (!rx->c.t)
			return -1;
		rx->c.n = b->n;
		rx->open = true;
		return 0;
	case PS_CONF_PKI:
		return rx->open && !rx->got ? conf_rx_pki(rx, p, len) : -1;
	case PS_CONF_TUNNEL:
		if (!rx->open || rx->got >= rx->c.n || len != sizeof(struct tunnel_conf))
			return -1;
		memcpy(&rx->c.t[rx->got], p, len);
		if (conf_rx_pki_refs(&rx->c, &rx->c.t[rx->got]))
			return -1;
		TERMINATE(rx->c.t[rx->got].name);
		TERMINATE(rx->c.t[rx->got].local_id);
		TERMINATE(rx->c.t[rx->got].remote_id);
		if (!conf_counts_ok(&rx->c.t[rx->got]))
			return -1;
		rx->got++;
		return 0;
	case PS_CONF_END:
		if (!rx->open || rx->got != rx->c.n || len)
			return -1;
		rx->open = false;
		return 1;
	}
	return -1;
}

static void conf_rx_take(struct conf_rx *rx, struct conf *out)
{
	*out = rx->c;
	memset(rx, 0, sizeof(*rx));
}

enum redact { FOR_NET, FOR_AUTH };

/*
 * The net process gets no local-key, and a keyed fingerprint in place of
 * each PSK and PPK: equal secrets compare equal across reloads, and it
 * reveals nothing.  The auth
 * process gets no manual ESP keys: it has no use for them.
 */
static void redact(struct tunnel_conf *t, enum redact how, const uint8_t fp_key[32])
{
	struct chunk c = { t->psk, t->psk_len };
	uint8_t fp[PRF_MAX];

	if (how == FOR_AUTH) {
		wipe(t->key_in, sizeof(t->key_in));
		wipe(t->key_out, sizeof(t->key_out));
		return;
	}
	if (t->ppk_len) {	/* RFC 8784 PPK: the same treatment */
		c = (struct chunk){ t->ppk, t->ppk_len };
		if (prf(PRF_HMAC_SHA2_256, fp_key, 32, &c, 1, fp) < 0)
			memset(fp, 0, sizeof(fp));
		wipe(t->ppk, sizeof(t->ppk));
		memcpy(t->ppk, fp, 32);
		t->ppk_len = 32;
		c = (struct chunk){ t->psk, t->psk_len };
	}
	/* The network process signs through the auth process: no key slot. */
	t->pki[PKI_KEY - 1] = NULL;
	t->pki_ix[PKI_KEY - 1] = 0;
	if (!t->psk_len)
		return;
	if (prf(PRF_HMAC_SHA2_256, fp_key, 32, &c, 1, fp) < 0)
		memset(fp, 0, sizeof(fp));
	wipe(t->psk, sizeof(t->psk));
	memcpy(t->psk, fp, 32);
	t->psk_len = 32;
	wipe(fp, sizeof(fp));
}

static int send_conf(int fd, const struct conf *c, enum redact how, const uint8_t fp_key[32])
{
	struct ps_conf_begin b;
	struct tunnel_conf t;
	size_t i;
	int r = 0;

	memset(&b, 0, sizeof(b));
	memcpy(b.file, c->file, sizeof(b.file));
	b.d = c->d;
	b.n = (uint32_t)c->n;
	if (c->n > PS_MAX_TUNNELS || ps_send(fd, PS_CONF_BEGIN, &b, sizeof(b), NULL, 0, -1) < 0)
		return -EIO;
	for (i = 0; i < c->n_pki && !r; i++) {
		struct ps_conf_pki ph = { .kind = (uint16_t)c->pki[i]->kind };
		bool secret = c->pki[i]->kind == PKI_KEY && how == FOR_NET;

		memcpy(ph.path, c->pki[i]->path, sizeof(ph.path));
		r = ps_send(fd, PS_CONF_PKI, &ph, sizeof(ph), secret ? NULL : c->pki[i]->text,
			    secret ? 0 : c->pki[i]->len, -1);
	}
	for (i = 0; i < c->n && !r; i++) {
		t = c->t[i];
		redact(&t, how, fp_key);
		r = ps_send(fd, PS_CONF_TUNNEL, &t, sizeof(t), NULL, 0, -1);
		wipe(&t, sizeof(t));
	}
	return r ? r : ps_send(fd, PS_CONF_END, NULL, 0, NULL, 0, -1);
}

/* ---- the parent: root, vti's own interfaces only ---- */

/*
 * The parent holds a descriptor of its own for every TUN device it made,
 * and that is what keeps an interface (its ifindex, addresses and routes)
 * while a dead network process is replaced.  IFF_PERSIST would keep it
 * too, but beyond vtid's life: a parent killed by SIGKILL would leave
 * interfaces behind for the administrator to delete.  A descriptor goes
 * with the last process that holds it, so however vtid ends, the kernel
 * removes its interfaces.
 */
struct owned_if {
	struct hnode hname, hindex;	/* parent.by_name, parent.by_index */
	size_t slot;			/* in parent.ifs */
	char name[16];
	int ifindex;
	int fd;			/* the parent's own; -1 if it could not keep one */
	uint8_t offload;	/* TUN_OFFLOAD_* */
	struct kept_id *id;	/* a template's instance: its peer (kept.h) */
};

/*
 * What the parent granted each manual tunnel's key (SPEC "Staying up"):
 * the network process may continue only below what it was given, so a
 * compromised one cannot jump to the end of a key's sequence space in
 * one request, and it gets at most SEQ_GRANTS_PER_S blocks a second (a
 * 2^20 block each: 8 Mpps, several times what one core sends), so
 * burning a key's 2^32 numbers takes it minutes, in the log, not a
 * moment.
 */
#define SEQ_GRANTS_PER_S 8
struct seq_grant {
	char name[sizeof(((struct tunnel_conf *)0)->name)];
	uint8_t fp[HWM_FP_LEN];	/* the key-out these numbers are under */
	uint64_t limit;		/* the highest number granted */
	uint64_t second;	/* now_ms() / 1000 of the grants counted */
	unsigned grants;
};

/* SPEC "Staying up": at most 5 restarts of a child in 60 s. */
#define RESTART_MAX 5
#define RESTART_WINDOW_MS 60000

struct restarts {
	uint64_t at[RESTART_MAX];	/* when the last ones happened */
	unsigned n;
};

struct parent {
	struct conf conf;
	struct conf *net_conf;	/* where a new network process takes its own */
	const char *conf_path, *sock_path;
	struct ev *ev;		/* the network process's loop, renewed in each */
	uid_t uid;
	gid_t gid;
	sigset_t child_mask;	/* the signal mask children start with */
	pid_t net, auth;
	int net_fd, auth_fd, sig_fd;
	uint8_t fp_key[32];
	char state_dir[sizeof(((struct daemon_conf *)0)->state_dir)];	/* as at start */
	struct owned_if **ifs;
	size_t n_ifs, cap_ifs;
	/* The same, by name and by ifindex: a hub's parent holds 10,000. */
	struct htab by_name, by_index;
	struct seq_grant *grants;
	size_t n_grants;
	bool stopping;
	bool restarting;	/* vtictl restart, SIGUSR2: keep the interfaces */
	bool net_ran;		/* a network process finished starting */
	/* The service manager's watchdog (notify_watchdog_ms): pinged only
	 * while the network process says it is alive, at most this often. */
	uint64_t watchdog_ms, watchdog_at;
	bool respawn_net, respawn_auth;
	int exit_code;		/* of a stop the parent began itself */
	struct restarts net_restarts, auth_restarts;
};

static int status_reply(int fd, int err, const char *text)
{
	struct ps_status st = { .err = err };

	snprintf(st.text, sizeof(st.text), "%s", text ? text : "");
	return ps_send(fd, PS_STATUS, &st, sizeof(st), NULL, 0, -1);
}

/* The tunnel an interface the parent created belongs to, if it is still
 * configured and the kernel still calls that interface by its name. */
static const struct tunnel_conf *owned(struct parent *p, int ifindex)
{
	char name[IF_NAMESIZE];
	struct owned_if *o;
	struct hnode *h;

	for (h = htab_first(&p->by_index, (uint64_t)ifindex); h; h = htab_next(h)) {
		o = htab_entry(h, struct owned_if, hindex);
		if (o->ifindex != ifindex)
			continue;
		if (!if_indextoname((unsigned)ifindex, name) || strcmp(name, o->name))
			return NULL;
		return conf_owner(&p->conf, o->name);
	}
	return NULL;
}

static uint64_t if_name_key(const struct parent *p, const char *name)
{
	return htab_key(&p->by_name, name, strnlen(name, IF_NAMESIZE));
}

/* Where the device of that name is in p->ifs, or p->n_ifs. */
static size_t if_slot(const struct parent *p, const char *name)
{
	struct owned_if *o;
	struct hnode *h;

	for (h = htab_first(&p->by_name, if_name_key(p, name)); h; h = htab_next(h)) {
		o = htab_entry(h, struct owned_if, hname);
		if (!strcmp(o->name, name))
			return o->slot;
	}
	return p->n_ifs;
}

/* Keep fd for the device name (ifindex); false if it cannot be kept. */
static bool remember_if(struct parent *p, const char *name, int ifindex, int fd, uint8_t offload)
{
	size_t i = if_slot(p, name), cap;
	struct owned_if **v, *o;

	if (i == p->n_ifs) {
		if (p->n_ifs == p->cap_ifs) {
			cap = p->cap_ifs ? 2 * p->cap_ifs : 64;
			v = realloc(p->ifs, cap * sizeof(*v));
			if (!v)
				return false;	/* then requests for it are refused */
			p->ifs = v;
			p->cap_ifs = cap;
		}
		o = calloc(1, sizeof(*o));
		if (!o || htab_add(&p->by_name, &o->hname, if_name_key(p, name))) {
			free(o);
			return false;
		}
		snprintf(o->name, sizeof(o->name), "%s", name);
		o->slot = i;
		p->ifs[p->n_ifs++] = o;
	} else {
		o = p->ifs[i];
		htab_del(&p->by_index, &o->hindex);
		if (o->fd >= 0)
			close(o->fd);
	}
	o->ifindex = ifindex;
	o->fd = fd;
	o->offload = offload;
	/* Without room in that index the device is only not found by its
	 * index (owned(): requests for it are refused), never mistaken. */
	if (htab_add(&p->by_index, &o->hindex, (uint64_t)ifindex))
		o->hindex.key = UINT64_MAX;
	return true;
}

static void forget_if(struct parent *p, size_t i)
{
	struct owned_if *o = p->ifs[i];

	if (o->fd >= 0)
		close(o->fd);
	htab_del(&p->by_name, &o->hname);
	htab_del(&p->by_index, &o->hindex);
	free(o->id);
	free(o);
	if (i != --p->n_ifs) {
		p->ifs[i] = p->ifs[p->n_ifs];
		p->ifs[i]->slot = i;
	}
}

/* Is the device still there under its name (an administrator may have
 * deleted or renamed it, and the index be another's now)? */
static bool still_there(const struct owned_if *o)
{
	char now[IF_NAMESIZE];

	return o->fd >= 0 && if_indextoname((unsigned)o->ifindex, now) && !strcmp(now, o->name);
}

/* A device kept from an earlier network process, if it is still there. */
static struct owned_if *kept_if(struct parent *p, const char *name)
{
	size_t i = if_slot(p, name);

	if (i == p->n_ifs || p->ifs[i]->fd < 0)
		return NULL;
	if (still_there(p->ifs[i]))
		return p->ifs[i];
	forget_if(p, i);
	return NULL;
}

/* No SA, so no carrier (SPEC "The interface"), until a new network
 * process has negotiated again. */
static void carrier_off_all(struct parent *p)
{
	size_t i;

	for (i = 0; i < p->n_ifs; i++)
		if (p->ifs[i]->fd >= 0 && tun_set_carrier(p->ifs[i]->fd, false) < 0)
			log_warn(p->ifs[i]->name, "cannot take the carrier down");
}

/* The peer a template's instance is for, written down at a restart. */
static void note_peer(struct parent *p, const char *name, const struct ike_ident *id)
{
	const struct tunnel_conf *t = conf_owner(&p->conf, name);
	size_t i = if_slot(p, name);

	if (!id || !t || !t->is_template || i == p->n_ifs)
		return;
	free(p->ifs[i]->id);
	p->ifs[i]->id = kept_id_dup(id);
}

/* IPv6 on the interface as its section wants it (tunnel_conf_ipv6):
 * worth a debug line only, since it only saves the kernel work. */
static void set_ipv6(const char *name, bool on)
{
	if (netif_set_ipv6(name, on) < 0)
		log_debug(name, "cannot turn IPv6 %s on the interface", on ? "on" : "off");
}

static void do_tun_open(struct parent *p, struct ps_name *rq, const struct ike_ident *id)
{
	struct ps_tun_reply rep = { 0 };
	struct owned_if *k;
	uint8_t offload = TUN_OFFLOAD_ALL;
	int fd;

	TERMINATE(rq->name);
	if (!conf_owner(&p->conf, rq->name)) {
		log_warn(NULL, "privsep: refused to create interface '%s': not a configured tunnel "
			 "or template", rq->name);
		rep.err = -EPERM;
		ps_send(p->net_fd, PS_TUN_REPLY, &rep, sizeof(rep), NULL, 0, -1);
		return;
	}
	k = kept_if(p, rq->name);
	if (k) {
		/* A restarted network process: the same device, with the
		 * addresses and routes it has, carrier off until SAs exist. */
		tun_set_carrier(k->fd, false);
		/* Kept from a vtid whose configuration may have differed. */
		set_ipv6(rq->name, tunnel_conf_ipv6(conf_owner(&p->conf, rq->name)));
		rep.ifindex = k->ifindex;
		rep.offload = k->offload;
		ps_send(p->net_fd, PS_TUN_REPLY, &rep, sizeof(rep), NULL, 0, k->fd);
		log_info(rq->name, "interface handed to the network process again (ifindex %d)",
			 k->ifindex);
		note_peer(p, rq->name, id);
		return;
	}
	fd = tun_open(rq->name, &rep.ifindex, &offload);
	/* Down still: IPv6 goes before it could add anything. */
	if (fd >= 0 && !tunnel_conf_ipv6(conf_owner(&p->conf, rq->name)))
		set_ipv6(rq->name, false);
	rep.err = fd < 0 ? fd : 0;
	rep.offload = offload;
	ps_send(p->net_fd, PS_TUN_REPLY, &rep, sizeof(rep), NULL, 0, fd);
	if (fd >= 0 && !remember_if(p, rq->name, rep.ifindex, fd, offload))
		close(fd);	/* then the interface lives as long as net's copy */
	else if (fd >= 0)
		note_peer(p, rq->name, id);
}

static void do_tun_open_id(struct parent *p, const struct ps_tun_open_id *rq)
{
	struct ike_ident id = { .type = rq->type, .len = rq->len };
	struct ps_name name;

	memcpy(name.name, rq->name, sizeof(name.name));
	if (!rq->type || rq->zero || rq->len > sizeof(id.data)) {
		struct ps_tun_reply rep = { .err = -EINVAL };

		ps_send(p->net_fd, PS_TUN_REPLY, &rep, sizeof(rep), NULL, 0, -1);
		return;
	}
	memcpy(id.data, rq->data, rq->len);
	do_tun_open(p, &name, &id);
}

/*
 * Templates' instances are gone: their interfaces must go too, so the
 * parent lets go of them (a [tunnel]'s interface goes only with its
 * section).  Deleted as one link group, like at exit: one RCU grace
 * period for them all, where closing descriptors costs one each (16 ms;
 * 2,000 branches leaving at once held the network process 30 s).
 */
static int do_tun_close(struct parent *p, struct ps_names *rq)
{
	const struct tunnel_conf *t;
	uint32_t group, k;
	size_t i, n = 0;
	int r = 0;

	if (rq->n > PS_MAX_CLOSE || rand_bytes((uint8_t *)&group, sizeof(group)))
		return -EINVAL;
	group |= 0x40000000u;
	for (k = 0; k < rq->n; k++) {
		TERMINATE(rq->name[k].name);
		t = conf_owner(&p->conf, rq->name[k].name);
		if (!t)
			continue;	/* its template went at a reload: let go of already */
		if (!t->is_template) {
			r = -EPERM;
			continue;
		}
		i = if_slot(p, rq->name[k].name);
		if (i < p->n_ifs && still_there(p->ifs[i]) &&
		    !netif_set_group(p->ifs[i]->ifindex, group))
			n++;
	}
	if (n && netif_del_group(group) < 0)
		log_warn(NULL, "cannot delete instances' interfaces at once; they go one by one");
	for (k = 0; k < rq->n; k++) {
		t = conf_owner(&p->conf, rq->name[k].name);
		i = if_slot(p, rq->name[k].name);
		if (t && t->is_template && i < p->n_ifs)
			forget_if(p, i);
	}
	return r;
}

/* A new network process makes the instances again as their peers come
 * back.  Those whose peer the parent knows are kept, as after vtictl
 * restart: the new process's templates give each peer its interface
 * again (ps_kept_instance), or delete it when the peer stays away. */
static void forget_instances(struct parent *p)
{
	const struct tunnel_conf *t;
	size_t i = 0;

	while (i < p->n_ifs) {
		t = conf_owner(&p->conf, p->ifs[i]->name);
		if (t && t->is_template && !p->ifs[i]->id)
			forget_if(p, i);
		else
			i++;
	}
}

static int do_netif_setup(struct parent *p, const struct ps_netif *rq)
{
	if (!owned(p, rq->ifindex) || rq->mtu < 576 || rq->mtu > 65535)
		return -EPERM;
	return netif_setup(rq->ifindex, rq->mtu);
}

/* The XDP program hands socket i the ESP arriving on its queue. */
static void xdp_start(const struct ps_xsk *rq)
{
	static struct ratelimit rl;
	char name[IF_NAMESIZE] = "?";
	int r = xdp_attach(rq->first, rq->queue, rq->ifindex, xsk_fd(rq->index));

	if (r < 0) {
		if_indextoname((unsigned)rq->ifindex, name);
		log_rl(&rl, LOG_WARN, NULL, "no XDP program on %s queue %u (%s): its raw ESP is "
		       "received by the raw socket", name, rq->queue, strerror(-r));
	}
}

/* An AF_XDP socket to the underlay for raw ESP.  Not to one of vti's own
 * interfaces (ESP into a tunnel); xsk_bind refuses a socket already bound
 * elsewhere, and the kernel a second socket on the same queue.  Another
 * queue's socket only receives, so it is bound only to receive (rx = 0
 * only stops one bound before): -ERANGE where the interface has no such
 * queue, -ENOLINK where the program is not on it (not loaded, another
 * program there, or the interface went).  Binding queue 0 to receive
 * answers how many receive queues the interface has (at least 1), so that
 * the network process asks for no more. */
static int do_xsk_bind(struct parent *p, const struct ps_xsk *rq)
{
	int r, n;

	if (rq->ifindex <= 0 || owned(p, rq->ifindex))
		return -EPERM;
	if (rq->rx > 1 || rq->queue >= XSK_MAX)
		return -EINVAL;
	if (rq->queue && !rq->rx && !xsk_ifindex(rq->index))
		return -EINVAL;
	if (rq->queue && rq->rx && (int)rq->queue >= xdp_rx_queues(rq->ifindex))
		return -ERANGE;
	if (rq->queue && rq->rx && !xdp_attached(rq->first, rq->ifindex))
		return -ENOLINK;
	r = xsk_bind(rq->index, rq->first, rq->ifindex, rq->queue);
	if (r < 0)
		return r;
	if (!rq->rx) {
		xdp_stop(rq->first, rq->queue);
		return 0;
	}
	/* Asked again by each network process: the program, which pauses
	 * while one is replaced, hands the socket packets again. */
	if (xdp_loaded())
		xdp_start(rq);
	if (rq->queue)
		return 0;
	n = xdp_rx_queues(rq->ifindex);
	return n > 1 ? n : 1;
}

/* Whatever the network process names is steered to it, and to nobody
 * else: the raw ESP socket it holds receives every ESP packet anyway. */
static void do_xdp_steer(const struct ps_steer *rq)
{
	static struct ratelimit rl;
	int r;

	if (!xdp_loaded() || rq->on > 1 ||
	    (rq->dst.family != AF_INET && rq->dst.family != AF_INET6))
		return;
	r = xdp_steer(rq->spi, &rq->dst, rq->on);
	if (r < 0 && rq->on)
		log_rl(&rl, LOG_WARN, NULL, "XDP program cannot take SPI 0x%08x (%s): its ESP is "
		       "received by the raw socket", rq->spi, strerror(-r));
}

/*
 * An address the peer handed us (address = auto, RFC 7296 §3.15), as the
 * network process relays it: a unicast address that cannot capture the
 * host's own traffic (not unspecified, loopback, multicast, broadcast or
 * IPv6 link-local), with a prefix of at least /16 (IPv4) or /48 (IPv6),
 * which becomes a route into the tunnel, and one that does not cover
 * the tunnel's own outer addresses (that would route the tunnel's IKE
 * and ESP into itself).  A hostile peer or a compromised network process
 * can still route that much into this tunnel; no more.
 */
static bool given_ok(const struct tunnel_conf *t, const struct prefix *x)
{
	const uint8_t *a = x->addr.a;
	static const uint8_t zero[16];

	if (prefix_match(x, t->local.family, t->local.a) ||
	    (t->remote.family && prefix_match(x, t->remote.family, t->remote.a)))
		return false;
	if (x->addr.family == AF_INET)
		return x->len >= TUNNEL_GIVEN_MIN4 && x->len <= 32 && a[0] != 0 && a[0] != 127 && a[0] < 224;
	if (x->addr.family == AF_INET6)
		return x->len >= TUNNEL_GIVEN_MIN6 && x->len <= 128 && memcmp(a, zero, 15) != 0 && a[0] != 0xff &&
		       !(a[0] == 0xfe && (a[1] & 0xc0) == 0x80);
	return false;
}

/* Addresses: those configured, or, with address = auto, what the peer gave. */
static int do_addr(struct parent *p, const struct ps_addr *rq, bool add)
{
	const struct tunnel_conf *t = owned(p, rq->ifindex);
	unsigned i;

	if (!t)
		return -EPERM;
	if (t->address_auto && given_ok(t, &rq->p))
		return add ? netif_add_addr(rq->ifindex, &rq->p) : netif_del_addr(rq->ifindex, &rq->p);
	for (i = 0; add && i < t->n_addrs; i++)
		if (addr_equal(&t->addrs[i].addr, &rq->p.addr) && t->addrs[i].len == rq->p.len)
			return netif_add_addr(rq->ifindex, &t->addrs[i]);
	return -EPERM;
}

/* A host route to an address the tunnel's pool gave its peer. */
static int do_route(struct parent *p, const struct ps_addr *rq, bool add)
{
	const struct tunnel_conf *t = owned(p, rq->ifindex);
	unsigned i, host = rq->p.addr.family == AF_INET ? 32 : 128;

	for (i = 0; t && i < t->n_pool && rq->p.len == host; i++)
		if (prefix_match(&t->pool[i], rq->p.addr.family, rq->p.addr.a))
			return netif_route(rq->ifindex, &rq->p, add);
	return -EPERM;
}

/*
 * Reserve sequence numbers for a manual SA: only for a configured manual
 * tunnel, its spi-out and its current key-out, in bounded blocks; the
 * mark on disk only grows (hwm_reserve).
 */
/* The tunnel's grant record for key fp (a new key starts it over). */
static struct seq_grant *grant_of(struct parent *p, const char *name, const uint8_t *fp)
{
	struct seq_grant *g;
	size_t i;

	for (i = 0; i < p->n_grants; i++)
		if (!strcmp(p->grants[i].name, name))
			break;
	if (i == p->n_grants) {
		g = realloc(p->grants, (p->n_grants + 1) * sizeof(*g));
		if (!g)
			return NULL;
		p->grants = g;
		p->n_grants++;
		memset(&g[i], 0, sizeof(g[i]));
		snprintf(g[i].name, sizeof(g[i].name), "%s", name);
	}
	g = &p->grants[i];
	if (!ct_equal(g->fp, fp, sizeof(g->fp))) {
		memcpy(g->fp, fp, sizeof(g->fp));
		g->limit = 0;
	}
	return g;
}

/* 0, or why the network process may not have these numbers. */
static int grant_check(struct seq_grant *g, uint64_t from)
{
	uint64_t second = now_ms() / 1000;

	if (!g)
		return -ENOMEM;
	if (from > g->limit)
		return -EPERM;	/* continuing numbers it was never given */
	if (g->second != second) {
		g->second = second;
		g->grants = 0;
	}
	if (g->grants >= SEQ_GRANTS_PER_S)
		return -EAGAIN;
	g->grants++;
	return 0;
}

static void do_seq_reserve(struct parent *p, struct ps_seq *rq)
{
	static struct ratelimit rl;
	const struct tunnel_conf *t;
	struct seq_grant *g = NULL;
	uint8_t fp[HWM_FP_LEN];
	char why[512] = "";
	int r = -EPERM;

	TERMINATE(rq->name);
	t = conf_find(&p->conf, rq->name);
	if (t && t->mode == MODE_MANUAL && t->spi_out == rq->spi && !hwm_fingerprint(t, fp))
		r = ct_equal(fp, rq->fp, sizeof(fp)) ? 0 : -ESTALE;
	/* The network process asks for HWM_BLOCK at a time; more would let
	 * a compromised one take 2^24 numbers a request. */
	if (!r && (rq->block == 0 || rq->block > HWM_BLOCK))
		r = -EINVAL;
	if (r == -EPERM || r == -EINVAL) {
		log_warn(NULL, "privsep: refused sequence numbers for '%s': not a manual tunnel "
			 "with that spi-out, or a bad block", rq->name);
	} else if (!r) {
		/* -ESTALE is no news: a reload replaced the key, and the
		 * SA that asked is about to go. */
		g = grant_of(p, t->name, fp);
		r = grant_check(g, rq->from);
		if (r == -EPERM || r == -EAGAIN)
			log_rl(&rl, LOG_WARN, rq->name, r == -EPERM ?
			       "privsep: refused sequence numbers: asked to continue above what "
			       "was granted" : "privsep: refused sequence numbers: more than %d "
			       "blocks in a second", SEQ_GRANTS_PER_S);
	}
	if (!r) {
		r = hwm_reserve(p->state_dir, t, rq->from, rq->block, &rq->next, &rq->limit, why,
				sizeof(why));
		if (r)
			log_rl(&rl, LOG_ERR, rq->name, "no sequence numbers reserved, nothing is "
			       "sent: %s", why[0] ? why : strerror(-r));
		else if (rq->limit > g->limit)
			g->limit = rq->limit;
	}
	rq->err = r;
	if (r)
		rq->next = rq->limit = 0;
	wipe(fp, sizeof(fp));
	ps_send(p->net_fd, PS_SEQ_RESERVE, rq, sizeof(*rq), NULL, 0, -1);
}

/*
 * Let go of the devices of tunnels that are gone or whose interface
 * changes: the network process closes its descriptor too, and the
 * interface goes (or is made anew) as it did before the parent kept one.
 */
static void forget_changed(struct parent *p, const struct conf *nc)
{
	const struct tunnel_conf *old, *now;
	size_t i = 0, at_old = 0, at_new = 0;

	while (i < p->n_ifs) {
		old = conf_find_next(&p->conf, p->ifs[i]->name, &at_old);
		now = conf_find_next(nc, p->ifs[i]->name, &at_new);
		if (!old && !now) {	/* a template's instance */
			old = conf_owner(&p->conf, p->ifs[i]->name);
			now = conf_owner(nc, p->ifs[i]->name);
		}
		if (old && now && tunnel_same_interface(old, now))
			i++;
		else
			forget_if(p, i);
	}
}

/* Re-read the file; on success push it to auth first, then to net. */
static int parent_reload(struct parent *p, struct buf *errors)
{
	struct conf nc;

	if (conf_load(p->conf_path, &nc, errors)) {
		conf_free(&nc);
		return -EINVAL;
	}
	forget_changed(p, &nc);
	conf_free(&p->conf);
	p->conf = nc;
	if (p->auth > 0 && send_conf(p->auth_fd, &p->conf, FOR_AUTH, p->fp_key) < 0) {
		/* Dying already, or stuck: its successor starts with this one. */
		log_warn(NULL, "auth process did not take the configuration; restarting it");
		kill(p->auth, SIGKILL);
	}
	if (p->net < 0)
		return 0;	/* being restarted: the new one gets this configuration */
	if (send_conf(p->net_fd, &p->conf, FOR_NET, p->fp_key) < 0)
		return -EIO;
	return 0;
}

/*
 * A stop that keeps the interfaces (vtictl restart, SIGUSR2): as SIGTERM,
 * the network process says DELETE to every peer (so they negotiate again
 * at once, with the next vtid), but parent_exit keeps the devices.
 */
static void begin_restart(struct parent *p, const char *why)
{
	if (p->stopping)
		return;
	log_info(NULL, "%s: stopping for a restart; the interfaces are kept", why);
	p->restarting = true;
	p->exit_code = EXIT_RESTART;
	p->stopping = true;
	notify_stopping();
	if (p->net > 0)
		kill(p->net, SIGTERM);
}

static void parent_request(struct parent *p)
{
	union {
		struct ps_name name;
		struct ps_netif netif;
		struct ps_xsk xsk;
		struct ps_steer steer;
		struct ps_addr addr;
		struct ps_seq seq;
		struct ps_names names;
		struct ps_tun_open_id open_id;
		uint8_t raw[512];
	} rq;
	struct ps_hdr h;
	struct buf errors;
	ssize_t n = ps_recv(p->net_fd, &h, &rq, sizeof(rq), NULL);
	int r = -EBADMSG;

	if (n == -EPIPE) {
		/* net is exiting; its SIGCHLD tells how. */
		close(p->net_fd);
		p->net_fd = -1;
		return;
	}
	if (n < 0 && n != -EBADMSG)
		return;
	if (n == 0 && h.type == PS_READY) {
		p->net_ran = true;
		notify_ready("running; every interface exists");
		return;
	}
	if (n == 0 && h.type == PS_ALIVE) {
		/* A stalled network process sends nothing: the manager's
		 * watchdog then fires, which is the point. */
		if (p->watchdog_ms && now_ms() >= p->watchdog_at) {
			notify_watchdog();
			p->watchdog_at = now_ms() + p->watchdog_ms;
		}
		return;
	}
	if (n >= 0 && h.type == PS_TUN_OPEN && n == sizeof(rq.name)) {
		do_tun_open(p, &rq.name, NULL);
		return;
	}
	if (n >= 0 && h.type == PS_TUN_OPEN_ID && n == sizeof(rq.open_id)) {
		do_tun_open_id(p, &rq.open_id);
		return;
	}
	if (n >= 0 && h.type == PS_XDP_STEER && n == sizeof(rq.steer)) {
		do_xdp_steer(&rq.steer);
		return;
	}
	if (n == 0 && h.type == PS_RESTART) {
		begin_restart(p, "vtictl restart");
		return;
	}
	if (n >= 0 && h.type == PS_SEQ_RESERVE && n == sizeof(rq.seq)) {
		do_seq_reserve(p, &rq.seq);
		return;
	}
	if (n >= 0 && h.type == PS_RELOAD && n == 0) {
		buf_init(&errors);
		notify_reloading();
		r = parent_reload(p, &errors);
		notify_ready("running; configuration reloaded");
		status_reply(p->net_fd, r, buf_str(&errors));
		buf_free(&errors);
		return;
	}
	if (n >= 0 && h.type == PS_NETIF_SETUP && n == sizeof(rq.netif))
		r = do_netif_setup(p, &rq.netif);
	else if (n >= 0 && h.type == PS_XSK_BIND && n == sizeof(rq.xsk))
		r = do_xsk_bind(p, &rq.xsk);
	else if (n >= 0 && (h.type == PS_ADDR_ADD || h.type == PS_ADDR_DEL) &&
		 n == sizeof(rq.addr))
		r = do_addr(p, &rq.addr, h.type == PS_ADDR_ADD);
	else if (n >= 0 && (h.type == PS_ROUTE_ADD || h.type == PS_ROUTE_DEL) &&
		 n == sizeof(rq.addr))
		r = do_route(p, &rq.addr, h.type == PS_ROUTE_ADD);
	else if (n >= 0 && h.type == PS_TUN_CLOSE && n == sizeof(rq.names))
		r = do_tun_close(p, &rq.names);
	else
		log_warn(NULL, "privsep: malformed request from the network process (type %u, "
			 "%zd bytes) refused", h.type, n);
	if (r == -EPERM)
		log_warn(NULL, "privsep: refused a request for an interface vtid does not own, "
			 "or an address or route its configuration does not allow");
	status_reply(p->net_fd, r, NULL);
}

static int spawn_auth(struct parent *p);
static pid_t spawn_net(struct parent *p, int auth_end);

/*
 * The interfaces go with vtid.  Put in one link group of their own (a
 * random one: this vtid's alone), they are deleted in one
 * request: 1,000 of them in well under a second, where closing their
 * descriptors at exit took 16 s (one RCU grace period each).  What is
 * not in the group still goes when its descriptor closes.
 */
static bool any_there(const struct parent *p, const struct owned_if *o)
{
	(void)p;
	return still_there(o);
}

/* Those of p's interfaces that pick chooses, deleted as one link group.
 * Random, not the PID: vtids in other PID namespaces may share this
 * network namespace; never 0 (every interface's group).  How many. */
static size_t delete_picked(struct parent *p,
			    bool (*pick)(const struct parent *p, const struct owned_if *o))
{
	uint32_t group;
	size_t i, n = 0;

	if (rand_bytes((uint8_t *)&group, sizeof(group)))
		return 0;
	group |= 0x40000000u;
	for (i = 0; i < p->n_ifs; i++)
		if (pick(p, p->ifs[i]) && !netif_set_group(p->ifs[i]->ifindex, group))
			n++;
	if (n && netif_del_group(group) < 0)
		log_warn(NULL, "cannot delete %zu interfaces at once; they go one by one", n);
	return n;
}

static void delete_interfaces(struct parent *p)
{
	delete_picked(p, any_there);
}

static void reap_within(pid_t pid, unsigned ms)
{
	unsigned waited;

	for (waited = 0; pid > 0 && waited < ms; waited += 10) {
		if (waitpid(pid, NULL, WNOHANG) != 0)
			return;
		usleep(10000);
	}
}

/* <state-dir>/interfaces, and its temporary twin. */
static void kept_path(const struct parent *p, char *out, size_t len, bool tmp)
{
	snprintf(out, len, "%s/%s%s", p->state_dir, KEPT_FILE, tmp ? ".new" : "");
}

/* Write the list of kept devices: a temporary file, synced, renamed over
 * the old one, so that the next vtid reads all of it or nothing. */
static int write_kept(struct parent *p, const bool *kept)
{
	char path[sizeof(p->state_dir) + 32], tmp[sizeof(path)], line[KEPT_MAX_LINE + 2];
	struct kept_if k;
	size_t i;
	FILE *f;
	int fd, r = 0;

	kept_path(p, path, sizeof(path), false);
	kept_path(p, tmp, sizeof(tmp), true);
	if (mkdir(p->state_dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		r = -errno;
		close(fd);
		unlink(tmp);
		return r;
	}
	for (i = 0; i < p->n_ifs && !r; i++) {
		if (!kept[i])
			continue;
		memset(&k, 0, sizeof(k));
		memcpy(k.name, p->ifs[i]->name, sizeof(k.name));
		k.ifindex = p->ifs[i]->ifindex;
		if (p->ifs[i]->id) {
			k.id.type = p->ifs[i]->id->type;
			k.id.len = p->ifs[i]->id->len;
			memcpy(k.id.data, p->ifs[i]->id->data, k.id.len);
		}
		if (kept_format(&k, line, sizeof(line)) < 0 || fputs(line, f) < 0)
			r = -EIO;
	}
	if (fflush(f) || fsync(fd))
		r = r ? r : -errno;
	if (fclose(f) && !r)
		r = -EIO;
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (r)
		unlink(tmp);
	return r;
}

/*
 * A restart that keeps the interfaces: IFF_PERSIST on each (the kernel
 * keeps a device after its last descriptor then), no carrier (no SA),
 * and their list for the next vtid.  Only for this stop: in normal
 * operation a device goes with its descriptors (struct owned_if).  0, or
 * -errno with nothing kept.
 */
static int keep_interfaces(struct parent *p)
{
	bool *kept = calloc(p->n_ifs ? p->n_ifs : 1, sizeof(*kept));
	size_t i, n = 0;
	int r;

	if (!kept)
		return -ENOMEM;
	for (i = 0; i < p->n_ifs; i++) {
		if (!still_there(p->ifs[i]))
			continue;
		tun_set_carrier(p->ifs[i]->fd, false);
		if (tun_set_persist(p->ifs[i]->fd, true) < 0) {
			log_warn(p->ifs[i]->name, "cannot keep the interface across the restart");
			continue;
		}
		kept[i] = true;
		n++;
	}
	r = write_kept(p, kept);
	if (r < 0) {
		log_err(NULL, "cannot write %s/%s: %s; the interfaces are deleted", p->state_dir,
			KEPT_FILE, strerror(-r));
		for (i = 0; i < p->n_ifs; i++)
			if (kept[i])
				tun_set_persist(p->ifs[i]->fd, false);
	} else {
		log_info(NULL, "%zu interface%s kept for the next vtid (%s/%s)", n, n == 1 ? "" : "s",
			 p->state_dir, KEPT_FILE);
	}
	free(kept);
	return r;
}

static void __attribute__((noreturn)) parent_exit(struct parent *p, int code)
{
	if (p->auth > 0)
		kill(p->auth, SIGKILL);
	if (p->net > 0)
		kill(p->net, SIGKILL);
	/* Gone before we are: a vtid started right after this one exits
	 * must find the ports free (a child still dying holds them).  At
	 * most 2 s: a child stuck in the kernel does not keep us. */
	reap_within(p->auth, 2000);
	reap_within(p->net, 2000);
	if (p->restarting && !keep_interfaces(p)) {
		unlink(p->sock_path);
		/* Whatever the network process's end: the devices are kept,
		 * so the next vtid must come (systemd: RestartForceExitStatus). */
		exit(EXIT_RESTART);
	}
	delete_interfaces(p);
	unlink(p->sock_path);
	exit(code);	/* and with the kept descriptors any interface left goes */
}

static void describe(int st, char *out, size_t len)
{
	const char *abbrev;

	if (!WIFSIGNALED(st)) {
		snprintf(out, len, "exited with status %d", WEXITSTATUS(st));
		return;
	}
	abbrev = sigabbrev_np(WTERMSIG(st));
	snprintf(out, len, "was killed by signal %d (SIG%s)%s", WTERMSIG(st), abbrev ? abbrev : "?",
		 WTERMSIG(st) == SIGSYS ? ": a system call outside its seccomp allow-list" : "");
}

/* Room for one more restart in the window (recorded), or none left. */
static bool restart_allowed(struct restarts *r, unsigned *crashes)
{
	uint64_t now = now_ms();
	unsigned i, k = 0;

	for (i = 0; i < r->n; i++)
		if (now - r->at[i] < RESTART_WINDOW_MS)
			r->at[k++] = r->at[i];
	r->n = k;
	*crashes = k + 1;
	if (k == RESTART_MAX)
		return false;
	r->at[r->n++] = now;
	return true;
}

/*
 * The network process is gone.  Its own clean exit (status 0: it got
 * SIGTERM, from us or anyone, and said DELETE to its peers) and a failure
 * to start end vtid with its status, as before supervision; anything else
 * is a crash: keep the interfaces, start a new one.
 */
static void net_died(struct parent *p, int st)
{
	char how[128];
	unsigned crashes;

	p->net = -1;
	describe(st, how, sizeof(how));
	if (p->stopping || (WIFEXITED(st) && WEXITSTATUS(st) == 0) || !p->net_ran) {
		if (WIFSIGNALED(st) && !(p->stopping && WTERMSIG(st) == SIGTERM))
			log_err(NULL, "network process %s", how);
		parent_exit(p, WIFSIGNALED(st)	       ? EXIT_RUNTIME
			       : WEXITSTATUS(st) == 0 ? p->exit_code
						      : WEXITSTATUS(st));
	}
	if (!restart_allowed(&p->net_restarts, &crashes)) {
		log_err(NULL, "network process %s", how);
		log_err(NULL, "network process crashed %u times in %d s; giving up", crashes,
			RESTART_WINDOW_MS / 1000);
		parent_exit(p, EXIT_RUNTIME);
	}
	log_err(NULL, "network process %s; restarting it (restart %u of %d in %d s), "
		"interfaces kept", how, crashes, RESTART_MAX, RESTART_WINDOW_MS / 1000);
	carrier_off_all(p);
	forget_instances(p);
	/* A new auth process too: the old one served the dead process's
	 * channel and leaves with it. */
	if (p->auth > 0)
		kill(p->auth, SIGKILL);
	p->auth = -1;
	p->respawn_net = true;
}

/* The auth process is gone while the network process runs: a new one,
 * and a new channel to it handed to the network process (tunnels stay). */
static void auth_died(struct parent *p, int st)
{
	char how[128];
	unsigned crashes;

	p->auth = -1;
	/* Status 0: the network process closed its channel, so it is on its
	 * way out, and its own restart brings a new auth process. */
	if (p->stopping || p->net < 0 || (WIFEXITED(st) && WEXITSTATUS(st) == 0))
		return;
	describe(st, how, sizeof(how));
	if (!restart_allowed(&p->auth_restarts, &crashes)) {
		log_err(NULL, "auth process %s", how);
		log_err(NULL, "auth process crashed %u times in %d s; giving up", crashes,
			RESTART_WINDOW_MS / 1000);
		/* The network process says DELETE to its peers, then we exit. */
		p->exit_code = EXIT_RUNTIME;
		p->stopping = true;
		kill(p->net, SIGTERM);
		return;
	}
	log_err(NULL, "auth process %s; restarting it (restart %u of %d in %d s)", how, crashes,
		RESTART_MAX, RESTART_WINDOW_MS / 1000);
	p->respawn_auth = true;
}

static void parent_reap(struct parent *p)
{
	int st;
	pid_t pid;

	/* Another pid is an auth process already replaced. */
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (pid == p->net)
			net_died(p, st);
		else if (pid == p->auth)
			auth_died(p, st);
	}
}

static void parent_signal(struct parent *p)
{
	struct signalfd_siginfo si;
	struct buf errors;
	int r;

	while (read(p->sig_fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			parent_reap(p);
			break;
		case SIGHUP:
			log_info(NULL, "SIGHUP: reloading %s", p->conf_path);
			buf_init(&errors);
			notify_reloading();
			r = parent_reload(p, &errors);
			notify_ready("running; configuration reloaded");
			if (r < 0) {
				fputs(buf_str(&errors), stderr);
				log_err(NULL, "reload of %s failed; keeping the running configuration",
					p->conf_path);
			}
			buf_free(&errors);
			break;
		case SIGUSR2:
			begin_restart(p, "SIGUSR2");
			break;
		default:	/* SIGTERM, SIGINT: net says goodbye to its peers */
			p->stopping = true;
			notify_stopping();
			if (p->net > 0)
				kill(p->net, SIGTERM);
			break;
		}
	}
}

/* Start what parent_reap found dead.  1 in a new network process. */
static int supervise(struct parent *p)
{
	pid_t pid;
	int end;

	if (p->stopping && p->net < 0)
		parent_exit(p, p->exit_code);	/* asked to stop between two */
	if (p->respawn_net) {
		p->respawn_net = p->respawn_auth = false;
		/* Nothing to the sockets until the new process has set their
		 * rings up (xsk_rx_ready) and asked again. */
		xdp_pause();
		end = spawn_auth(p);
		pid = end < 0 ? end : spawn_net(p, end);
		if (pid == 0)
			return 1;
		if (pid < 0) {
			log_err(NULL, "cannot restart the network process: %s", strerror((int)-pid));
			parent_exit(p, EXIT_RUNTIME);
		}
		log_info(NULL, "network process restarted (pid %d)", (int)pid);
	} else if (p->respawn_auth) {
		p->respawn_auth = false;
		end = spawn_auth(p);
		if (end < 0) {
			log_err(NULL, "cannot restart the auth process: %s", strerror(-end));
			parent_exit(p, EXIT_RUNTIME);
		}
		if (ps_send(p->net_fd, PS_AUTH_CHANNEL, NULL, 0, NULL, 0, end) < 0)
			log_warn(NULL, "cannot hand the new auth channel to the network process");
		close(end);
		log_info(NULL, "auth process restarted (pid %d)", (int)p->auth);
	}
	return 0;
}

/* The parent's loop; returns (0) only in a new network process. */
static int parent_run(struct parent *p)
{
	struct pollfd pfd[2];
	sigset_t set;
	char err[256];

	prctl(PR_SET_NAME, "vtid", 0, 0, 0);
	p->watchdog_ms = notify_watchdog_ms();
	if (sandbox_parent(err, sizeof(err)) < 0)
		log_warn(NULL, "%s", err);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	p->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (p->sig_fd < 0) {
		log_err(NULL, "signalfd: %s", strerror(errno));
		parent_exit(p, EXIT_RUNTIME);
	}
	parent_reap(p);		/* a child may have died before signalfd */
	for (;;) {
		if (supervise(p))
			return 0;
		pfd[0] = (struct pollfd){ .fd = p->sig_fd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = p->net_fd, .events = POLLIN };
		if (poll(pfd, p->net_fd >= 0 ? 2 : 1, -1) < 0 && errno != EINTR)
			parent_exit(p, EXIT_RUNTIME);
		if (pfd[0].revents)
			parent_signal(p);
		if (p->net_fd >= 0 && pfd[1].revents)
			parent_request(p);
	}
}

/* ---- the auth process: the PSKs, and nothing else ---- */

/* RFC 8784 §3: mix the tunnel's PPK into the three keys net sends. */
static void ppk_request(int fd, const struct conf *c, const uint8_t *msg, size_t len)
{
	const struct tunnel_conf *t;
	struct ps_ppk rq;

	if (len != sizeof(rq)) {
		memset(&rq, 0, sizeof(rq));
		rq.err = -EBADMSG;
		goto reply;
	}
	memcpy(&rq, msg, sizeof(rq));
	TERMINATE(rq.name);
	t = conf_find(c, rq.name);
	rq.err = -EPERM;
	if (t && t->mode == MODE_IKE && t->ppk_len && rq.len <= PRF_MAX)
		rq.err = ike_ppk_mix(rq.prf, t->ppk, t->ppk_len, rq.len, rq.sk);
reply:
	if (rq.err)
		wipe(rq.sk, sizeof(rq.sk));
	ps_send(fd, PS_PPK_REPLY, &rq, sizeof(rq), NULL, 0, -1);
	wipe(&rq, sizeof(rq));
}

/* RFC 7427: the tunnel's private key signs octets the network process
 * sends; it never gets the key. */
/*
 * What IKE signs (RFC 7296 §2.15) begins with an IKE_SA_INIT message,
 * whose nonce and MAC of the ID follow: the key-holding process signs
 * nothing else with a private key, so that a compromised network process
 * cannot have it sign data for use outside IKE.
 */
static bool ike_octets(const uint8_t *p, size_t n)
{
	uint32_t len;

	if (n < IKE_HDR_LEN + 16 + 20 || p[17] != IKE_VERSION || p[18] != IKE_SA_INIT)
		return false;
	len = (uint32_t)p[24] << 24 | (uint32_t)p[25] << 16 | (uint32_t)p[26] << 8 | p[27];
	return len >= IKE_HDR_LEN && len <= n - 16 - 20;
}

static void sign_request(int fd, const struct conf *c, const uint8_t *buf, size_t n)
{
	struct ps_sign_reply rep = { .err = -EPERM };
	const struct tunnel_conf *t;
	struct ps_sign rq;
	struct chunk oct;
	int r;

	if (n < sizeof(rq)) {
		rep.err = -EBADMSG;
		goto reply;
	}
	memcpy(&rq, buf, sizeof(rq));
	TERMINATE(rq.name);
	t = conf_find(c, rq.name);
	if (!t || t->mode != MODE_IKE || !t->pki[PKI_KEY - 1])
		goto reply;
	oct = (struct chunk){ buf + sizeof(rq), n - sizeof(rq) };
	if (!ike_octets(oct.p, oct.n)) {
		log_warn(t->name, "key-holding process: refused to sign what is not IKE_AUTH's "
			 "octets");
		goto reply;
	}
	r = sig_sign(pki_key(t->pki[PKI_KEY - 1]), rq.hash, &oct, 1, rep.sig, sizeof(rep.sig));
	rep.err = r < 0 ? r : 0;
	rep.len = r < 0 ? 0 : (uint32_t)r;
reply:
	ps_send(fd, PS_SIGN_REPLY, &rep, sizeof(rep), NULL, 0, -1);
}

static void auth_request(int fd, const struct conf *c)
{
	static uint8_t buf[PS_MAX_PAYLOAD];
	struct ps_auth_reply rep = { .err = -EPERM };
	struct ps_auth rq;
	const struct tunnel_conf *t;
	struct chunk oct;
	struct ps_hdr h;
	ssize_t n = ps_recv(fd, &h, buf, sizeof(buf), NULL);

	if (n == -EPIPE)
		exit(0);	/* net is gone */
	if (n >= 0 && h.type == PS_PPK) {
		ppk_request(fd, c, buf, (size_t)n);
		wipe(buf, (size_t)n);	/* SK_d, SK_pi, SK_pr */
		return;
	}
	if (n >= 0 && h.type == PS_SIGN) {
		sign_request(fd, c, buf, (size_t)n);
		wipe(buf, (size_t)n);
		return;
	}
	if (n < (ssize_t)sizeof(rq) || h.type != PS_AUTH) {
		rep.err = -EBADMSG;
		goto reply;
	}
	memcpy(&rq, buf, sizeof(rq));
	TERMINATE(rq.name);
	t = conf_find(c, rq.name);
	rep.len = (uint32_t)prf_len(rq.prf);
	if (!t || t->mode != MODE_IKE || !t->psk_len || !rep.len)
		goto reply;
	oct = (struct chunk){ buf + sizeof(rq), (size_t)n - sizeof(rq) };
	rep.err = ike_psk_sign(rq.prf, t->psk, t->psk_len, &oct, 1, rep.out);
reply:
	if (rep.err)
		rep.len = 0;
	ps_send(fd, PS_AUTH_REPLY, &rep, sizeof(rep), NULL, 0, -1);
	wipe(&rep, sizeof(rep));
}

static void __attribute__((noreturn)) auth_run(int net_fd, int parent_fd, struct conf *c)
{
	static uint8_t buf[PS_MAX_PAYLOAD];
	struct conf_rx rx;
	struct pollfd pfd[2];
	struct ps_hdr h;
	ssize_t n;

	memset(&rx, 0, sizeof(rx));
	for (;;) {
		pfd[0] = (struct pollfd){ .fd = net_fd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = parent_fd, .events = POLLIN };
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			exit(EXIT_RUNTIME);
		if (pfd[1].revents) {
			n = ps_recv(parent_fd, &h, buf, sizeof(buf), NULL);
			if (n == -EPIPE)
				exit(0);
			if (n < 0 || conf_rx_feed(&rx, &h, buf, (size_t)n) < 0)
				conf_rx_reset(&rx);
			else if (!rx.open && rx.c.t) {
				conf_free(c);
				conf_rx_take(&rx, c);
			}
			wipe(buf, sizeof(buf));
		}
		if (pfd[0].revents)
			auth_request(net_fd, c);
	}
}

/* ---- the net process's side ---- */

#define PS_SEQ_QUEUE 64

static struct {
	bool active;
	int parent_fd, auth_fd;
	struct conf_rx rx;
	bool pushed;		/* rx holds a whole configuration */
	/* Answers to ps_seq_ask, waiting for ps_seq_answer. */
	struct ps_seq seq[PS_SEQ_QUEUE];
	unsigned n_seq;
	/* The parent's devices when it forked us (our copy of its list):
	 * templates' instances with their peers (ps_kept_instance). */
	struct owned_if *const *kept;
	size_t n_kept;
} ps = { .parent_fd = -1, .auth_fd = -1 };

/* Messages from the parent that are not the reply: configurations, and
 * answers to ps_seq_ask, and a channel to an auth process the parent
 * restarted (fd).  The receive buffer is wiped after: a tunnel's manual
 * keys passed through. */
static void take_push(const struct ps_hdr *h, void *p, size_t len, int fd)
{
	int r;

	if (h->type == PS_AUTH_CHANNEL && !len && fd >= 0) {
		if (ps.auth_fd >= 0)
			close(ps.auth_fd);
		ps.auth_fd = fd;
		log_info(NULL, "privsep: connected to the restarted auth process");
		return;
	}
	if (fd >= 0)
		close(fd);
	if (h->type == PS_SEQ_RESERVE) {
		/* A full queue loses the answer; the SA asks again later. */
		if (len == sizeof(struct ps_seq) && ps.n_seq < PS_SEQ_QUEUE)
			memcpy(&ps.seq[ps.n_seq++], p, len);
		return;
	}
	r = conf_rx_feed(&ps.rx, h, p, len);

	wipe(p, len);
	if (r < 0)
		conf_rx_reset(&ps.rx);
	ps.pushed = r > 0;
}

/* Send a request and wait for the reply of type want (len bytes). */
static int ps_call(uint16_t type, const void *rq, size_t rqlen, uint16_t want, void *rep,
		   size_t replen, int *fd_out)
{
	static uint8_t buf[PS_MAX_PAYLOAD];
	struct ps_hdr h;
	ssize_t n;
	int fd;

	if (fd_out)
		*fd_out = -1;
	if (ps_send(ps.parent_fd, type, rq, rqlen, NULL, 0, -1) < 0)
		return -EIO;
	for (;;) {
		n = ps_recv(ps.parent_fd, &h, buf, sizeof(buf), &fd);
		if (n < 0)
			return (int)n;
		if (h.type == want) {
			if ((size_t)n != replen || !fd_out) {
				if (fd >= 0)
					close(fd);
				if ((size_t)n != replen)
					return -EBADMSG;
			} else {
				*fd_out = fd;
			}
			memcpy(rep, buf, replen);
			return 0;
		}
		take_push(&h, buf, (size_t)n, fd);
	}
}

int ps_parent_fd(void)
{
	return ps.active ? ps.parent_fd : -1;
}

bool ps_pushed_conf(struct conf *out)
{
	static uint8_t buf[PS_MAX_PAYLOAD];
	struct ps_hdr h;
	ssize_t n;
	int fd;

	/* Called when the parent's socket is readable: take what is there. */
	while (ps.active && !ps.pushed) {
		n = ps_recv_flags(ps.parent_fd, &h, buf, sizeof(buf), &fd, MSG_DONTWAIT);
		if (n == -EAGAIN)
			break;
		if (n == -EPIPE) {
			/* Parent death kills us too (PR_SET_PDEATHSIG); be sure. */
			log_err(NULL, "the privileged process is gone; stopping");
			exit(EXIT_RUNTIME);
		}
		if (n < 0)
			conf_rx_reset(&ps.rx);
		else
			take_push(&h, buf, (size_t)n, fd);
	}
	if (!ps.pushed)
		return false;
	conf_rx_take(&ps.rx, out);
	ps.pushed = false;
	return true;
}

void ps_ready(void)
{
	ps.n_kept = 0;	/* the templates took their kept instances, once */
	if (ps.active && ps_send(ps.parent_fd, PS_READY, NULL, 0, NULL, 0, -1) < 0)
		log_warn(NULL, "privsep: cannot tell the parent that start-up is done");
}

void ps_alive(void)
{
	static uint64_t next;

	if (!ps.active || now_ms() < next)
		return;
	next = now_ms() + 250;
	if (ps_send(ps.parent_fd, PS_ALIVE, NULL, 0, NULL, 0, -1) < 0)
		log_warn(NULL, "privsep: cannot tell the parent it is alive");
}

/* The parent's answer to PS_TUN_OPEN or PS_TUN_OPEN_ID: a descriptor. */
static int tun_call(uint16_t type, const void *rq, size_t len, int *ifindex, uint8_t *offload)
{
	struct ps_tun_reply rep;
	int fd = -1, r;

	r = ps_call(type, rq, len, PS_TUN_REPLY, &rep, sizeof(rep), &fd);
	if (r < 0 || rep.err < 0 || fd < 0) {
		if (fd >= 0)
			close(fd);
		return r < 0 ? r : rep.err < 0 ? rep.err : -EIO;
	}
	*ifindex = rep.ifindex;
	*offload = rep.offload;
	return fd;
}

int ps_tun_open(const char *name, int *ifindex, uint8_t *offload)
{
	struct ps_name rq;

	memset(&rq, 0, sizeof(rq));
	snprintf(rq.name, sizeof(rq.name), "%s", name);
	return tun_call(PS_TUN_OPEN, &rq, sizeof(rq), ifindex, offload);
}

int ps_tun_open_id(const char *name, const struct ike_ident *id, int *ifindex, uint8_t *offload)
{
	static struct ps_tun_open_id rq;

	if (id->len > sizeof(rq.data))
		return -EINVAL;
	memset(&rq, 0, sizeof(rq));
	snprintf(rq.name, sizeof(rq.name), "%s", name);
	rq.type = id->type;
	rq.len = (uint16_t)id->len;
	memcpy(rq.data, id->data, id->len);
	return tun_call(PS_TUN_OPEN_ID, &rq, sizeof(rq), ifindex, offload);
}

bool ps_kept_instance(size_t *at, char name[16], struct ike_ident *id)
{
	const struct owned_if *o;

	for (; *at < ps.n_kept; (*at)++) {
		o = ps.kept[*at];
		if (!o->id)
			continue;
		memcpy(name, o->name, 16);
		name[15] = '\0';
		memset(id, 0, sizeof(*id));
		id->type = o->id->type;
		id->len = o->id->len;
		memcpy(id->data, o->id->data, o->id->len);
		(*at)++;
		return true;
	}
	return false;
}

int ps_restart(void)
{
	if (!ps.active)
		return -EIO;
	return ps_send(ps.parent_fd, PS_RESTART, NULL, 0, NULL, 0, -1);
}

static int status_call(uint16_t type, const void *rq, size_t len)
{
	static struct ps_status st;
	int r = ps_call(type, rq, len, PS_STATUS, &st, sizeof(st), NULL);

	return r < 0 ? r : st.err;
}

int ps_netif_setup(int ifindex, unsigned mtu)
{
	struct ps_netif rq = { .ifindex = ifindex, .mtu = mtu };

	return status_call(PS_NETIF_SETUP, &rq, sizeof(rq));
}

int ps_xsk_bind(unsigned i, unsigned first, int ifindex, unsigned queue, bool rx)
{
	struct ps_xsk rq = { .index = i, .first = first, .ifindex = ifindex, .queue = queue,
			     .rx = rx };

	return status_call(PS_XSK_BIND, &rq, sizeof(rq));
}

void ps_xdp_steer(uint32_t spi, const struct addr *dst, bool on)
{
	struct ps_steer rq = { .spi = spi, .on = on, .dst = *dst };

	if (!ps.active) {
		xdp_steer(spi, dst, on);
		return;
	}
	if (ps_send(ps.parent_fd, PS_XDP_STEER, &rq, sizeof(rq), NULL, 0, -1) < 0)
		log_warn(NULL, "cannot tell the parent SPI 0x%08x: its ESP stays on the raw "
			 "socket", spi);
}

static int addr_call(uint16_t type, int ifindex, const struct prefix *p)
{
	struct ps_addr rq;

	memset(&rq, 0, sizeof(rq));
	rq.ifindex = ifindex;
	rq.p = *p;
	return status_call(type, &rq, sizeof(rq));
}

int ps_addr_add(int ifindex, const struct prefix *p)
{
	return addr_call(PS_ADDR_ADD, ifindex, p);
}

int ps_addr_del(int ifindex, const struct prefix *p)
{
	return addr_call(PS_ADDR_DEL, ifindex, p);
}

int ps_route(int ifindex, const struct prefix *p, bool add)
{
	return addr_call(add ? PS_ROUTE_ADD : PS_ROUTE_DEL, ifindex, p);
}

int ps_tun_close(const char (*names)[16], size_t n)
{
	static struct ps_names rq;
	size_t i;

	if (n > PS_MAX_CLOSE)
		return -EINVAL;
	memset(&rq, 0, sizeof(rq));
	rq.n = (uint32_t)n;
	for (i = 0; i < n; i++)
		memcpy(rq.name[i].name, names[i], sizeof(rq.name[i].name));
	return status_call(PS_TUN_CLOSE, &rq, sizeof(rq));
}

int ps_reload(struct conf *out, struct buf *errors)
{
	static struct ps_status st;
	int r;

	memset(out, 0, sizeof(*out));
	r = ps_call(PS_RELOAD, NULL, 0, PS_STATUS, &st, sizeof(st), NULL);
	if (r < 0 || st.err < 0) {
		TERMINATE(st.text);
		buf_printf(errors, "%s", r < 0 ? "the privileged process did not answer\n" : st.text);
		return r < 0 ? r : st.err;
	}
	return ps_pushed_conf(out) ? 0 : -EBADMSG;
}

static int seq_send(const struct tunnel_conf *tc, uint64_t from, uint32_t block)
{
	struct ps_seq rq;
	int r;

	memset(&rq, 0, sizeof(rq));
	snprintf(rq.name, sizeof(rq.name), "%s", tc->name);
	rq.spi = tc->spi_out;
	rq.block = block;
	rq.from = from;
	r = hwm_fingerprint(tc, rq.fp);
	if (!r)
		r = ps_send(ps.parent_fd, PS_SEQ_RESERVE, &rq, sizeof(rq), NULL, 0, -1);
	wipe(&rq, sizeof(rq));
	return r;
}

/* A grant is sane or it is refused: the SA relies on it. */
static int seq_check_grant(const struct ps_seq *rep)
{
	if (rep->err < 0)
		return rep->err;
	if (rep->limit < (rep->from ? rep->from : rep->next) || (!rep->from && !rep->next))
		return -EBADMSG;
	return 0;
}

int ps_seq_reserve(const struct tunnel_conf *tc, uint64_t from, uint32_t block, uint64_t *next,
		   uint64_t *limit)
{
	static uint8_t buf[PS_MAX_PAYLOAD];
	struct ps_seq rep;
	struct ps_hdr h;
	ssize_t n;
	int r, fd;

	r = seq_send(tc, from, block);
	/* The parent answers in order: answers to earlier ps_seq_ask calls
	 * come first and are queued. */
	for (;;) {
		if (r < 0)
			return r;
		n = ps_recv(ps.parent_fd, &h, buf, sizeof(buf), &fd);
		if (n < 0)
			return (int)n;
		if (h.type == PS_SEQ_RESERVE && (size_t)n == sizeof(rep) && fd < 0) {
			memcpy(&rep, buf, sizeof(rep));
			if (rep.from == from && !strncmp(rep.name, tc->name, sizeof(rep.name)))
				break;
		}
		take_push(&h, buf, (size_t)n, fd);
	}
	r = seq_check_grant(&rep);
	if (r < 0)
		return r;
	*next = rep.next;
	*limit = rep.limit;
	return 0;
}

int ps_seq_ask(const struct tunnel_conf *tc, uint64_t from, uint32_t block)
{
	return from ? seq_send(tc, from, block) : -EINVAL;
}

bool ps_seq_answer(struct ps_seq_answer *a)
{
	struct ps_seq rep;

	if (!ps.n_seq)
		return false;
	rep = ps.seq[0];
	memmove(&ps.seq[0], &ps.seq[1], --ps.n_seq * sizeof(ps.seq[0]));
	memset(a, 0, sizeof(*a));
	memcpy(a->name, rep.name, sizeof(a->name) - 1);
	a->spi = rep.spi;
	a->from = rep.from;
	a->next = rep.next;
	a->limit = rep.limit;
	a->err = seq_check_grant(&rep);
	return true;
}

/* The octets to MAC or sign, in one piece for the auth process. */
static uint8_t gathered[PS_MAX_AUTH];

static ssize_t gather(const struct chunk *octets, size_t n)
{
	size_t len = 0, i;

	for (i = 0; i < n; len += octets[i++].n) {
		if (octets[i].n > sizeof(gathered) - len)
			return -EMSGSIZE;
		memcpy(gathered + len, octets[i].p, octets[i].n);
	}
	return (ssize_t)len;
}

/* One request to the auth process (with the first octets gathered bytes
 * after it) and its reply of type want and exactly replen bytes. */
static int auth_call(uint16_t type, const void *rq, size_t rqlen, size_t octets, uint16_t want,
		     void *rep, size_t replen)
{
	struct ps_hdr h;

	if (ps_send(ps.auth_fd, type, rq, rqlen, gathered, octets, -1) < 0 ||
	    ps_recv(ps.auth_fd, &h, rep, replen, NULL) != (ssize_t)replen || h.type != want)
		return -EIO;
	return 0;
}

int ps_psk_sign(void *arg, const struct tunnel_conf *tc, uint16_t prf_id,
		const struct chunk *octets, size_t n, uint8_t *out)
{
	struct ps_auth rq;
	struct ps_auth_reply rep;
	ssize_t len = gather(octets, n);

	(void)arg;
	if (len < 0)
		return (int)len;
	memset(&rq, 0, sizeof(rq));
	snprintf(rq.name, sizeof(rq.name), "%s", tc->name);
	rq.prf = prf_id;
	if (auth_call(PS_AUTH, &rq, sizeof(rq), (size_t)len, PS_AUTH_REPLY, &rep, sizeof(rep)))
		return -EIO;
	if (rep.err < 0 || rep.len != prf_len(prf_id))
		return rep.err < 0 ? rep.err : -EIO;
	memcpy(out, rep.out, rep.len);
	wipe(&rep, sizeof(rep));
	return 0;
}

int ps_ppk_mix(void *arg, const struct tunnel_conf *tc, uint16_t prf_id, size_t len,
	       uint8_t sk[3][PRF_MAX])
{
	struct ps_ppk rq;
	int r = -EIO;

	(void)arg;
	if (len > PRF_MAX)
		return -EINVAL;
	memset(&rq, 0, sizeof(rq));
	snprintf(rq.name, sizeof(rq.name), "%s", tc->name);
	rq.prf = prf_id;
	rq.len = (uint32_t)len;
	memcpy(rq.sk, sk, sizeof(rq.sk));
	if (auth_call(PS_PPK, &rq, sizeof(rq), 0, PS_PPK_REPLY, &rq, sizeof(rq)) || rq.len != len)
		goto out;
	r = rq.err < 0 ? rq.err : 0;
	if (!r)
		memcpy(sk, rq.sk, sizeof(rq.sk));
out:
	wipe(&rq, sizeof(rq));
	return r;
}

int ps_sign(void *arg, const struct tunnel_conf *tc, int hash, const struct chunk *octets,
	    size_t n, uint8_t *out, size_t max)
{
	struct ps_sign rq;
	struct ps_sign_reply rep;
	ssize_t len = gather(octets, n);

	(void)arg;
	if (len < 0)
		return (int)len;
	memset(&rq, 0, sizeof(rq));
	snprintf(rq.name, sizeof(rq.name), "%s", tc->name);
	rq.hash = hash;
	if (auth_call(PS_SIGN, &rq, sizeof(rq), (size_t)len, PS_SIGN_REPLY, &rep, sizeof(rep)))
		return -EIO;
	if (rep.err < 0 || rep.len > sizeof(rep.sig) || rep.len > max)
		return rep.err < 0 ? rep.err : -EMSGSIZE;
	memcpy(out, rep.sig, rep.len);
	return (int)rep.len;
}

/* ---- start-up ---- */

/* Close every descriptor but stdio and keep[0..n). */
static void close_others(const int *keep, size_t n)
{
	int fd, max = (int)sysconf(_SC_OPEN_MAX);
	size_t i;

	for (fd = 3; fd < max && fd < 65536; fd++) {
		for (i = 0; i < n && keep[i] != fd; i++)
			;
		if (i == n)
			close(fd);
	}
}

static void redact_all(struct conf *c, enum redact how, const uint8_t fp_key[32])
{
	size_t i;

	for (i = 0; i < c->n; i++)
		redact(&c->t[i], how, fp_key);
}

static void __attribute__((noreturn)) become_auth(struct parent *p, int net_fd, int parent_fd)
{
	char err[256];
	int keep[2] = { net_fd, parent_fd };

	prctl(PR_SET_NAME, "vtid: auth", 0, 0, 0);
	sigprocmask(SIG_SETMASK, &p->child_mask, NULL);
	xsk_close_all();	/* the rings and frames too, not only the sockets */
	xdp_close();
	close_others(keep, 2);
	wipe(p->fp_key, sizeof(p->fp_key));
	redact_all(&p->conf, FOR_AUTH, NULL);
	if (sandbox_enter(p->uid, p->gid, SANDBOX_AUTH, false, err, sizeof(err)) < 0) {
		log_err(NULL, "auth process: %s", err);
		exit(EXIT_RUNTIME);
	}
	auth_run(net_fd, parent_fd, &p->conf);
}

/* Fork an auth process: the network process's end of a fresh channel to
 * it, or -errno. */
static int spawn_auth(struct parent *p)
{
	int na[2], pa[2], r;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, na) < 0)
		return -errno;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pa) < 0) {
		r = -errno;
		close(na[0]);
		close(na[1]);
		return r;
	}
	pid = fork();
	if (pid == 0)
		become_auth(p, na[1], pa[1]);
	r = -errno;
	close(na[1]);
	close(pa[1]);
	if (pid < 0) {
		close(na[0]);
		close(pa[0]);
		return r;
	}
	if (p->auth_fd >= 0)
		close(p->auth_fd);
	p->auth_fd = pa[0];
	p->auth = pid;
	return na[0];
}

/*
 * In the new network process: nothing of the parent's (its channels, its
 * signals, the TUN devices it keeps: this process asks for them by name),
 * the current configuration with fingerprints for PSKs, an epoll set of
 * its own, then the sandbox.
 */
static void become_net(struct parent *p, int parent_end, int parent_fd, int auth_fd)
{
	char err[256];
	size_t i;

	prctl(PR_SET_NAME, "vtid: net", 0, 0, 0);
	sigprocmask(SIG_SETMASK, &p->child_mask, NULL);
	close(parent_end);
	if (p->net_fd >= 0)
		close(p->net_fd);
	if (p->auth_fd >= 0)
		close(p->auth_fd);
	if (p->sig_fd >= 0)
		close(p->sig_fd);
	for (i = 0; i < p->n_ifs; i++)
		if (p->ifs[i]->fd >= 0)
			close(p->ifs[i]->fd);
	xdp_close();	/* the parent's: programs, links, maps */
	ps.kept = p->ifs;
	ps.n_kept = p->n_ifs;
	*p->net_conf = p->conf;
	memset(&p->conf, 0, sizeof(p->conf));
	redact_all(p->net_conf, FOR_NET, p->fp_key);
	pki_forget_keys();	/* the parent's private key texts, copied by fork */
	wipe(p->fp_key, sizeof(p->fp_key));
	if (p->ev && ev_renew(p->ev) < 0) {
		log_err(NULL, "network process: epoll: %s", strerror(errno));
		exit(EXIT_RUNTIME);
	}
	if (sandbox_enter(p->uid, p->gid, SANDBOX_NET, p->net_conf->d.crypto_threads > 1, err,
			  sizeof(err)) < 0) {
		log_err(NULL, "network process: %s", err);
		exit(EXIT_RUNTIME);
	}
	ps.parent_fd = parent_fd;
	ps.auth_fd = auth_fd;
	ps.active = true;
}

/* Fork a network process whose channel to auth is auth_end (taken).
 * Returns 0 in it, its pid in the parent, or -errno. */
static pid_t spawn_net(struct parent *p, int auth_end)
{
	int np[2], r;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, np) < 0) {
		r = -errno;
		close(auth_end);
		return r;
	}
	pid = fork();
	if (pid == 0) {
		become_net(p, np[0], np[1], auth_end);
		return 0;
	}
	r = -errno;
	close(np[1]);
	close(auth_end);
	if (pid < 0) {
		close(np[0]);
		return r;
	}
	if (p->net_fd >= 0)
		close(p->net_fd);
	p->net_fd = np[0];
	p->net = pid;
	return pid;
}

/* Is the listed device the configuration's (a [tunnel] of that name, or
 * an instance of a template with the peer it was made for)? */
static bool still_wanted(const struct parent *p, const struct owned_if *o)
{
	const struct tunnel_conf *t = conf_owner(&p->conf, o->name);

	return t && (t->is_template ? o->id != NULL : o->id == NULL);
}

/* One line of the list: the device adopted into p->ifs, or not. */
static void adopt_one(struct parent *p, const struct kept_if *k)
{
	uint8_t offload = TUN_OFFLOAD_ALL;
	int fd, ifindex;

	/* Only the device we left: by that name with that index.  Another
	 * of that name is someone else's (tun_open's IFF_TUN_EXCL rule).
	 * One this configuration no longer names is adopted too, to be
	 * deleted (drop_unwanted): the list is ours (kept_open). */
	if (if_nametoindex(k->name) != (unsigned)k->ifindex) {
		log_warn(k->name, "kept interface is gone or was replaced; not adopted");
		return;
	}
	fd = tun_adopt(k->name, &ifindex, &offload);
	if (fd < 0) {
		log_warn(k->name, "cannot adopt the kept interface: %s", strerror(-fd));
		return;
	}
	/* Another device by that name since we looked: closed as it was
	 * (persistent), not deleted. */
	if (ifindex != k->ifindex) {
		log_warn(k->name, "kept interface was replaced; not adopted");
		close(fd);
		return;
	}
	/* At once: from here a SIGKILL must take the device with the
	 * descriptor again (struct owned_if). */
	if (tun_set_persist(fd, false) < 0)
		log_warn(k->name, "cannot clear IFF_PERSIST of the kept interface");
	if (!remember_if(p, k->name, ifindex, fd, offload)) {
		close(fd);
		return;
	}
	/* A new entry, last (a second line of the name found it busy). */
	if (k->id.type)
		p->ifs[p->n_ifs - 1]->id = kept_id_dup(&k->id);
}

/* The listed devices that this configuration does not name go, in one
 * link group as at exit (delete_interfaces). */
static bool unwanted(const struct parent *p, const struct owned_if *o)
{
	return !still_wanted(p, o);
}

static void drop_unwanted(struct parent *p)
{
	size_t i = 0, n = delete_picked(p, unwanted);

	if (n)
		log_info(NULL, "%zu kept interface%s no longer configured: deleted", n,
			 n == 1 ? "" : "s");
	while (i < p->n_ifs)
		if (still_wanted(p, p->ifs[i]))
			i++;
		else
			forget_if(p, i);
}

/*
 * At start: the devices a vtid stopped for a restart kept (keep_interfaces),
 * adopted as if this parent had made them, so that do_tun_open hands them
 * to the network process with their ifindex, addresses and routes.  The
 * file is read once and removed.
 */
/* The list, if it is one this parent's user wrote: a regular file (not a
 * FIFO that would hang the start, nor a link elsewhere), ours, writable
 * by nobody else. */
static FILE *kept_open(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct stat st;
	FILE *f;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 022)) {
		log_warn(NULL, "%s: not a regular file of ours, writable only by us; ignored", path);
		close(fd);
		return NULL;
	}
	f = fdopen(fd, "re");
	if (!f)
		close(fd);
	return f;
}

static void adopt_kept(struct parent *p)
{
	char path[sizeof(p->state_dir) + 32], line[KEPT_MAX_LINE + 2];
	struct kept_if k;
	size_t len, bad = 0;
	bool skipping = false;
	FILE *f;

	kept_path(p, path, sizeof(path), false);
	f = kept_open(path);
	if (!f)
		return;
	unlink(path);
	while (fgets(line, sizeof(line), f)) {
		len = strlen(line);
		if (!len || line[len - 1] != '\n') {
			skipping = true;	/* too long: this part and the rest */
			continue;
		}
		line[--len] = '\0';
		if (skipping) {
			skipping = false;
			bad++;
			continue;
		}
		if (kept_parse(line, &k) < 0)
			bad++;
		else
			adopt_one(p, &k);
	}
	fclose(f);
	if (bad)
		log_warn(NULL, "%s: %zu malformed line%s ignored", path, bad, bad == 1 ? "" : "s");
	drop_unwanted(p);
	log_info(NULL, "adopted %zu interface%s kept by the previous vtid", p->n_ifs,
		 p->n_ifs == 1 ? "" : "s");
}

int privsep_start(struct conf *conf, const char *conf_path, const char *sock_path,
		  struct ev *ev, char *err, size_t errlen)
{
	static struct parent p;
	pid_t pid;
	int end;

	if (sandbox_lookup(conf->d.user, &p.uid, &p.gid) < 0) {
		snprintf(err, errlen, "user '%s' does not exist or is root: create it (useradd "
			 "--system %s) or set [daemon] user", conf->d.user, conf->d.user);
		return -1;
	}
	/* Load OpenSSL's configuration and providers while files can be read. */
	OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL);
	if (rand_bytes(p.fp_key, sizeof(p.fp_key)) < 0 || htab_init(&p.by_name) ||
	    htab_init(&p.by_index)) {
		snprintf(err, errlen, "privilege separation: no random bytes or no memory");
		return -1;
	}
	/* The parent keeps the configuration with its secrets: it re-sends
	 * them to auth on reload, and starts new children with it. */
	p.conf = *conf;
	p.net_conf = conf;
	p.conf_path = conf_path;
	p.sock_path = sock_path;
	snprintf(p.state_dir, sizeof(p.state_dir), "%s", conf->d.state_dir);
	p.ev = ev;
	p.net = p.auth = -1;
	p.net_fd = p.auth_fd = p.sig_fd = -1;
	adopt_kept(&p);
	sigprocmask(SIG_BLOCK, NULL, &p.child_mask);
	end = spawn_auth(&p);
	pid = end < 0 ? end : spawn_net(&p, end);
	if (pid == 0)
		return 0;
	if (pid < 0) {
		if (p.auth > 0)
			kill(p.auth, SIGKILL);
		snprintf(err, errlen, "privilege separation: %s", strerror((int)-pid));
		return -1;
	}
	/*
	 * The parent keeps the sockets the network process inherited (IKE,
	 * ESP, the control socket), never reading them, so that a new one can
	 * take over the same bound ports; the epoll set is the child's.
	 */
	ev_detach(ev);
	return parent_run(&p);
}
