/*
 * conf.c - configuration parser and validator (see conf.h).
 *
 * Every key has one parse function in a table; the table is the list of
 * what is allowed.  Values that need the whole section (manual keys need
 * the cipher to know their length) are checked once the section ends.
 */
#include "conf/conf.h"

#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto/cipher.h"
#include "crypto/x509.h"
#include "esp/replay.h"
#include "ike/policy.h"
#include "ike/proposal.h"
#include "lib/hex.h"

#define MAX_LINE 4096
#define MAX_KEYS 64

struct parser {
	const char *file;
	unsigned line;
	struct buf *errors;
	int nerr;
	struct conf *c;
	struct tunnel_conf *t;		/* current tunnel section, or NULL */
	bool in_daemon;
	bool seen_daemon;
	const char *seen[MAX_KEYS];	/* keys given in this section */
	unsigned nseen;
	unsigned key_line[MAX_KEYS];
};

static void err_at(struct parser *p, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void err_at(struct parser *p, unsigned line, const char *fmt, ...)
{
	va_list ap;

	buf_printf(p->errors, "%s:%u: ", p->file, line);
	va_start(ap, fmt);
	buf_vprintf(p->errors, fmt, ap);
	va_end(ap);
	buf_add_u8(p->errors, '\n');
	p->nerr++;
}

/* Where a key of the current section was set, for errors found later. */
static unsigned line_of(const struct parser *p, const char *key)
{
	unsigned i;

	for (i = 0; i < p->nseen; i++)
		if (strcmp(p->seen[i], key) == 0)
			return p->key_line[i];
	return p->t ? p->t->line : p->line;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Split a comma-separated list in place; returns the count or -1 if > max. */
static int split_list(char *v, char **items, int max)
{
	int n = 0;
	char *tok, *save = NULL;

	for (tok = strtok_r(v, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (n == max)
			return -1;
		items[n++] = trim(tok);
	}
	return n;
}

static int parse_uint(const char *v, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long x;

	if (!isdigit((unsigned char)v[0]))
		return -EINVAL;
	errno = 0;
	x = strtoul(v, &end, v[0] == '0' && (v[1] == 'x' || v[1] == 'X') ? 16 : 10);
	if (errno || *end || x < min || x > max)
		return -EINVAL;
	*out = x;
	return 0;
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on")) {
		*out = true;
		return 0;
	}
	if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off")) {
		*out = false;
		return 0;
	}
	return -EINVAL;
}

/* ---- [daemon] keys ---- */

static int d_socket(struct parser *p, char *v)
{
	if (v[0] != '/' || strlen(v) >= sizeof(p->c->d.socket)) {
		err_at(p, p->line, "socket must be an absolute path shorter than %zu bytes",
		       sizeof(p->c->d.socket));
		return -1;
	}
	strcpy(p->c->d.socket, v);
	return 0;
}

static int d_state_dir(struct parser *p, char *v)
{
	if (v[0] != '/' || strlen(v) >= sizeof(p->c->d.state_dir)) {
		err_at(p, p->line, "state-dir must be an absolute path shorter than %zu bytes",
		       sizeof(p->c->d.state_dir));
		return -1;
	}
	strcpy(p->c->d.state_dir, v);
	return 0;
}

static int d_port(struct parser *p, char *v, uint16_t *out, const char *key)
{
	unsigned long x;

	if (parse_uint(v, 1, 65535, &x) < 0) {
		err_at(p, p->line, "%s must be a port number (1-65535), not '%s'", key, v);
		return -1;
	}
	*out = (uint16_t)x;
	return 0;
}

static int d_ike_port(struct parser *p, char *v)
{
	return d_port(p, v, &p->c->d.port, "port");
}

static int d_natt_port(struct parser *p, char *v)
{
	return d_port(p, v, &p->c->d.natt_port, "natt-port");
}

/* A [daemon] count between lo and hi; what names its unit in the error. */
static int d_uint(struct parser *p, const char *key, char *v, unsigned long lo,
		  unsigned long hi, const char *what, unsigned *out)
{
	unsigned long x;

	if (parse_uint(v, lo, hi, &x) < 0) {
		err_at(p, p->line, "%s must be %lu-%lu %s, not '%s'", key, lo, hi, what, v);
		return -1;
	}
	*out = (unsigned)x;
	return 0;
}

static int d_cookie_threshold(struct parser *p, char *v)
{
	return d_uint(p, "cookie-threshold", v, 0, 100000, "half-open IKE SAs",
		      &p->c->d.cookie_threshold);
}

static int d_initiate_rate(struct parser *p, char *v)
{
	return d_uint(p, "initiate-rate", v, 1, 100000, "initiations a second",
		      &p->c->d.initiate_rate);
}

/* Microseconds the network process keeps polling after traffic before it
 * sleeps (lib/ev.c says why); 0 turns it off. */
static int d_busy_poll(struct parser *p, char *v)
{
	return d_uint(p, "busy-poll", v, 0, 1000, "microseconds", &p->c->d.busy_poll_us);
}

/* How raw ESP leaves (doc/fastpath.md): "auto" by the packet socket where
 * the route allows, "socket" always by the raw IP socket, through the
 * kernel's IP output and its netfilter hooks, "xdp" by AF_XDP where the
 * interface is Ethernet (past the qdisc too), else as auto. */
static int d_esp_path(struct parser *p, char *v)
{
	static const char *const names[] = {
		[ESP_PATH_AUTO] = "auto", [ESP_PATH_SOCKET] = "socket", [ESP_PATH_XDP] = "xdp",
	};
	unsigned i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(v, names[i])) {
			p->c->d.esp_path = (enum esp_path)i;
			return 0;
		}
	err_at(p, p->line, "esp-path must be auto, socket or xdp, not '%s'", v);
	return -1;
}

/* AF_XDP sockets made at start for esp-path = xdp: one for each interface
 * raw ESP leaves by, and one for each further receive queue (5 MB of
 * locked memory each). */
static int d_xdp_sockets(struct parser *p, char *v)
{
	return d_uint(p, "xdp-sockets", v, 1, XDP_SOCKETS_MAX, "sockets", &p->c->d.xdp_sockets);
}

/* Threads that seal and open ESP bursts, the network process's loop
 * counted (lib/workers.h, doc/fastpath.md "Multi-core"); 1: the loop alone. */
static int d_crypto_threads(struct parser *p, char *v)
{
	return d_uint(p, "crypto-threads", v, 1, CRYPTO_THREADS_MAX, "threads",
		      &p->c->d.crypto_threads);
}

/* ADDRESS:PORT, with an IPv6 address in brackets: [::1]:9107. */
static int d_metrics_listen(struct parser *p, char *v)
{
	char *colon = strrchr(v, ':'), *host = v;
	size_t hl;

	if (!colon || colon == v)
		goto bad;
	*colon = '\0';
	hl = strlen(host);
	if (host[0] == '[') {
		if (hl < 3 || host[hl - 1] != ']')
			goto bad;
		host[hl - 1] = '\0';
		host++;
	}
	if (addr_parse(host, &p->c->d.metrics_addr) < 0 ||
	    (v[0] == '[') != (p->c->d.metrics_addr.family == AF_INET6))
		goto bad;
	return d_port(p, colon + 1, &p->c->d.metrics_port, "metrics-listen's port");
bad:
	err_at(p, p->line, "metrics-listen must be ADDRESS:PORT (an IPv6 address in brackets), "
	       "e.g. 127.0.0.1:9107");
	return -1;
}

static int d_name(struct parser *p, char *v, char *out, size_t cap, const char *what)
{
	if (!v[0] || strlen(v) >= cap) {
		err_at(p, p->line, "%s must be a %s name shorter than %zu bytes", what, what, cap);
		return -1;
	}
	strcpy(out, v);
	return 0;
}

static int d_group(struct parser *p, char *v)
{
	return d_name(p, v, p->c->d.group, sizeof(p->c->d.group), "group");
}

static int d_user(struct parser *p, char *v)
{
	return d_name(p, v, p->c->d.user, sizeof(p->c->d.user), "user");
}

/* ---- [tunnel] keys ---- */

static int t_addr(struct parser *p, char *v, struct addr *a, const char *key, bool any_ok)
{
	if (any_ok && strcmp(v, "any") == 0) {
		memset(a, 0, sizeof(*a));
		return 0;
	}
	if (addr_parse(v, a) < 0) {
		err_at(p, p->line, "%s: '%s' is not an IPv4 or IPv6 address%s", key, v,
		       any_ok ? " (or 'any')" : "");
		return -1;
	}
	return 0;
}

static int t_local(struct parser *p, char *v)
{
	return t_addr(p, v, &p->t->local, "local", false);
}

static int t_remote(struct parser *p, char *v)
{
	return t_addr(p, v, &p->t->remote, "remote", true);
}

static int t_remote_port(struct parser *p, char *v)
{
	return d_port(p, v, &p->t->remote_port, "remote-port");
}

static int t_id(struct parser *p, char *v, char *out, const char *key)
{
	size_t n = strlen(v);

	/* A DN has commas and spaces; it may be quoted as strongSwan's are. */
	if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
		v[n - 1] = '\0';
		v++;
	}
	if (!v[0] || strlen(v) >= CONF_MAX_ID) {
		err_at(p, p->line, "%s must be 1 to %d characters", key, CONF_MAX_ID - 1);
		return -1;
	}
	strcpy(out, v);
	return 0;
}

static int t_local_id(struct parser *p, char *v)
{
	return t_id(p, v, p->t->local_id, "local-id");
}

static int t_remote_id(struct parser *p, char *v)
{
	return t_id(p, v, p->t->remote_id, "remote-id");
}

int conf_add_pki(struct conf *c, struct pki *obj)
{
	struct pki **v;

	if (c->n_pki >= UINT16_MAX)
		return -ENOSPC;
	v = realloc(c->pki, (c->n_pki + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	c->pki = v;
	c->pki[c->n_pki++] = obj;
	obj->refs++;
	return 0;
}

/* A PKI file, read and parsed once per load however many tunnels name it
 * (SPEC "Templates": one CA for thousands of peers). */
static int t_pki(struct parser *p, char *v, enum pki_kind kind, const char *key)
{
	struct tunnel_conf *t = p->t;
	struct pki *obj = NULL;
	char why[160], *text;
	size_t i, len;

	for (i = 0; i < p->c->n_pki; i++)
		if (p->c->pki[i]->kind == kind && !strcmp(p->c->pki[i]->path, v))
			break;
	if (i == p->c->n_pki) {
		if (strlen(v) >= sizeof(obj->path)) {
			err_at(p, p->line, "%s: path too long", key);
			return -1;
		}
		if (pki_read(kind, v, &text, &len, why, sizeof(why))) {
			err_at(p, p->line, "%s %s: %s", key, v, why);
			return -1;
		}
		obj = pki_get(kind, v, text, len, why, sizeof(why));
		wipe(text, len);
		free(text);
		if (!obj || conf_add_pki(p->c, obj)) {
			err_at(p, p->line, "%s %s: %s", key, v, obj ? "out of memory" : why);
			pki_put(obj);
			return -1;
		}
		pki_put(obj);	/* the configuration's reference is the one kept */
	}
	t->pki[kind - 1] = p->c->pki[i];
	t->pki_ix[kind - 1] = (uint16_t)(i + 1);
	return 0;
}

static int t_local_cert(struct parser *p, char *v)
{
	return t_pki(p, v, PKI_CERT, "local-cert");
}

static int t_local_key(struct parser *p, char *v)
{
	return t_pki(p, v, PKI_KEY, "local-key");
}

static int t_ca(struct parser *p, char *v)
{
	return t_pki(p, v, PKI_CA, "ca");
}

static int t_crl(struct parser *p, char *v)
{
	return t_pki(p, v, PKI_CRL, "crl");
}

/* "0x..." is hex; anything else is the secret's bytes as written. */
static int set_psk(struct parser *p, const char *v, unsigned line)
{
	struct tunnel_conf *t = p->t;
	int n;

	if (v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
		n = hex_decode(v, t->psk, sizeof(t->psk));
		if (n <= 0) {
			err_at(p, line, "psk: bad hex or longer than %zu bytes", sizeof(t->psk));
			return -1;
		}
		t->psk_len = (size_t)n;
	} else {
		if (strlen(v) >= sizeof(t->psk) || !v[0]) {
			err_at(p, line, "psk must be 1 to %zu bytes", sizeof(t->psk) - 1);
			return -1;
		}
		t->psk_len = strlen(v);
		memcpy(t->psk, v, t->psk_len);
	}
	/* RFC 7296 §2.15 leaves strength to the operator; warn-level
	 * strictness here would be a policy, so only refuse the absurd. */
	if (t->psk_len < 8) {
		err_at(p, line, "psk is %zu bytes; use at least 8 (20 or more recommended)",
		       t->psk_len);
		return -1;
	}
	return 0;
}

static int t_psk(struct parser *p, char *v)
{
	p->t->has_secret = true;
	return set_psk(p, v, p->line);
}

/* A secret kept beside the config: it must be private too. */
static int t_psk_file(struct parser *p, char *v)
{
	char data[CONF_MAX_PSK * 2 + 8], *s;
	struct stat st;
	ssize_t n;
	int fd, r;

	fd = open(v, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		err_at(p, p->line, "psk-file %s: %s", v, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		err_at(p, p->line, "psk-file %s: not a regular file", v);
		return -1;
	}
	if (st.st_mode & 077) {
		close(fd);
		err_at(p, p->line, "psk-file %s is readable by group or others (mode %04o); "
		       "run chmod 600 %s", v, (unsigned)(st.st_mode & 07777), v);
		return -1;
	}
	n = read(fd, data, sizeof(data) - 1);
	close(fd);
	if (n < 0) {
		err_at(p, p->line, "psk-file %s: %s", v, strerror(errno));
		return -1;
	}
	data[n] = '\0';
	s = trim(data);
	r = set_psk(p, s, p->line);
	wipe(data, sizeof(data));
	return r;
}

/*
 * RFC 8784 post-quantum preshared key.  Its strength is the point of it
 * (RFC 8784 §6: 256 bits of entropy for 128-bit security against a
 * quantum computer), so it is given as hex of at least 32 random bytes,
 * never as a pass phrase.
 */
static int set_ppk(struct parser *p, const char *v, unsigned line)
{
	struct tunnel_conf *t = p->t;
	int n = -EINVAL;

	if (v[0] == '0' && (v[1] == 'x' || v[1] == 'X'))
		n = hex_decode(v, t->ppk, sizeof(t->ppk));
	if (n < CONF_PPK_MIN) {
		t->ppk_len = 0;
		wipe(t->ppk, sizeof(t->ppk));
		err_at(p, line, "ppk must be 0x followed by the hex of %d to %d random bytes "
		       "(RFC 8784: at least 256 bits of entropy)", CONF_PPK_MIN, CONF_MAX_PPK);
		return -1;
	}
	t->ppk_len = (size_t)n;
	return 0;
}

static int t_ppk(struct parser *p, char *v)
{
	p->t->has_secret = true;
	return set_ppk(p, v, p->line);
}

/* Like psk-file: private to its owner, or refused.  It holds what ppk =
 * takes, or the PPK's raw bytes. */
static int t_ppk_file(struct parser *p, char *v)
{
	char data[CONF_MAX_PPK * 2 + 8];
	struct stat st;
	ssize_t n;
	int fd, r;

	fd = open(v, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		err_at(p, p->line, "ppk-file %s: %s", v, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077)) {
		close(fd);
		err_at(p, p->line, "ppk-file %s: not a regular file private to its owner "
		       "(mode %04o); run chmod 600 %s", v, (unsigned)(st.st_mode & 07777), v);
		return -1;
	}
	n = read(fd, data, sizeof(data) - 1);
	close(fd);
	if (n < 0) {
		err_at(p, p->line, "ppk-file %s: %s", v, strerror(errno));
		return -1;
	}
	data[n] = '\0';
	if (n >= 2 && data[0] == '0' && (data[1] == 'x' || data[1] == 'X')) {
		r = set_ppk(p, trim(data), p->line);
	} else if (n >= CONF_PPK_MIN && n <= CONF_MAX_PPK) {
		/* Raw bytes, as from head -c 32 /dev/urandom. */
		memcpy(p->t->ppk, data, (size_t)n);
		p->t->ppk_len = (size_t)n;
		r = 0;
	} else {
		err_at(p, p->line, "ppk-file %s: want 0x and hex, or %d to %d raw bytes; it has %zd "
		       "bytes", v, CONF_PPK_MIN, CONF_MAX_PPK, n);
		r = -1;
	}
	wipe(data, sizeof(data));
	return r;
}

/* The PPK_ID goes on the wire after a type octet (RFC 8784 §5.1). */
static int t_ppk_id(struct parser *p, char *v)
{
	if (!v[0] || strlen(v) > IKE_PPK_ID_MAX) {
		err_at(p, p->line, "ppk-id must be 1 to %d characters", IKE_PPK_ID_MAX);
		return -1;
	}
	strcpy(p->t->ppk_id, v);
	return 0;
}

static int t_ppk_required(struct parser *p, char *v)
{
	if (parse_bool(v, &p->t->ppk_required) < 0) {
		err_at(p, p->line, "ppk-required must be yes or no, not '%s'", v);
		return -1;
	}
	return 0;
}

static int t_address(struct parser *p, char *v)
{
	char *items[CONF_MAX_ADDRS];
	int n = split_list(v, items, CONF_MAX_ADDRS), i;

	if (n == 1 && !strcmp(items[0], "auto")) {
		p->t->address_auto = true;	/* asked of the peer (RFC 7296 §3.15) */
		return 0;
	}
	if (n <= 0) {
		err_at(p, p->line, "address: give 1 to %d addresses with prefix length, or auto",
		       CONF_MAX_ADDRS);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (!strchr(items[i], '/') || ifaddr_parse(items[i], &p->t->addrs[i]) < 0) {
			err_at(p, p->line, "address: '%s' is not ADDRESS/PREFIXLEN", items[i]);
			return -1;
		}
	}
	p->t->n_addrs = (unsigned)n;
	return 0;
}

/*
 * pool = PREFIX[, PREFIX]: at most one a family.  Peers get addresses from
 * it in order (the network and IPv4 broadcast addresses and the tunnel's
 * own addresses left out); IPv4 needs room for one at least (/30).  Host
 * bits are cleared, as in the selectors.
 */
static int t_pool(struct parser *p, char *v)
{
	char *items[3];
	int n = split_list(v, items, 3), i;
	struct prefix *x;

	if (n <= 0 || n > 2) {
		err_at(p, p->line, "pool: give one IPv4 and/or one IPv6 prefix");
		return -1;
	}
	for (i = 0; i < n; i++) {
		x = &p->t->pool[i];
		if (!strchr(items[i], '/') || prefix_parse(items[i], x) < 0) {
			err_at(p, p->line, "pool: '%s' is not PREFIX/LEN", items[i]);
			return -1;
		}
		if ((x->addr.family == AF_INET && (x->len < 8 || x->len > 30)) ||
		    (x->addr.family == AF_INET6 && (x->len < 8 || x->len > 126))) {
			err_at(p, p->line, "pool: '%s': the prefix length must be 8-30 for IPv4, "
			       "8-126 for IPv6", items[i]);
			return -1;
		}
		if (i == 1 && x->addr.family == p->t->pool[0].addr.family) {
			err_at(p, p->line, "pool: one prefix per address family");
			return -1;
		}
	}
	p->t->n_pool = (unsigned)n;
	return 0;
}

static int t_mtu(struct parser *p, char *v)
{
	unsigned long x;

	if (parse_uint(v, 576, 65535, &x) < 0) {
		err_at(p, p->line, "mtu must be 576-65535, not '%s'", v);
		return -1;
	}
	p->t->mtu = (unsigned)x;
	return 0;
}

static int t_mss_clamp(struct parser *p, char *v)
{
	if (parse_bool(v, &p->t->mss_clamp) < 0) {
		err_at(p, p->line, "mss-clamp must be yes or no, not '%s'", v);
		return -1;
	}
	return 0;
}

static int t_ike(struct parser *p, char *v)
{
	char why[160];

	if (ike_props_parse(v, p->t->ike, CONF_MAX_PROPOSALS, &p->t->n_ike, why, sizeof(why))) {
		err_at(p, p->line, "tunnel %s: ike: %s", p->t->name, why);
		return -1;
	}
	return 0;
}

static int t_esp(struct parser *p, char *v)
{
	char *items[CONF_MAX_PROPOSALS], why[160];
	int n = split_list(v, items, CONF_MAX_PROPOSALS), i;

	if (n <= 0) {
		err_at(p, p->line, "esp: give 1 to %d proposals", CONF_MAX_PROPOSALS);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (esp_suite_parse(items[i], &p->t->esp[i], why, sizeof(why)) < 0) {
			err_at(p, p->line, "esp: %s", why);
			return -1;
		}
	}
	p->t->n_esp = (unsigned)n;
	return 0;
}

static int t_ts(struct parser *p, char *v, struct prefix *ts, unsigned *count, const char *key)
{
	char *items[CONF_MAX_TS];
	int n = split_list(v, items, CONF_MAX_TS), i;

	if (n <= 0) {
		err_at(p, p->line, "%s: give 1 to %d prefixes", key, CONF_MAX_TS);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (prefix_parse(items[i], &ts[i]) < 0) {
			err_at(p, p->line, "%s: '%s' is not a prefix", key, items[i]);
			return -1;
		}
	}
	*count = (unsigned)n;
	return 0;
}

static int t_local_ts(struct parser *p, char *v)
{
	return t_ts(p, v, p->t->local_ts, &p->t->n_local_ts, "local-ts");
}

static int t_remote_ts(struct parser *p, char *v)
{
	return t_ts(p, v, p->t->remote_ts, &p->t->n_remote_ts, "remote-ts");
}

static int t_encap(struct parser *p, char *v)
{
	if (!strcmp(v, "auto"))
		p->t->encap = ENCAP_MODE_AUTO;
	else if (!strcmp(v, "yes"))
		p->t->encap = ENCAP_MODE_YES;
	else if (!strcmp(v, "no"))
		p->t->encap = ENCAP_MODE_NO;
	else {
		err_at(p, p->line, "encap must be auto, yes or no, not '%s'", v);
		return -1;
	}
	return 0;
}

static int t_start(struct parser *p, char *v)
{
	if (parse_bool(v, &p->t->start) < 0) {
		err_at(p, p->line, "start must be yes or no, not '%s'", v);
		return -1;
	}
	return 0;
}

static int t_fragmentation(struct parser *p, char *v)
{
	if (parse_bool(v, &p->t->fragmentation) < 0) {
		err_at(p, p->line, "fragmentation must be yes or no, not '%s'", v);
		return -1;
	}
	return 0;
}

static int t_seconds(struct parser *p, char *v, unsigned *out, const char *key,
		     unsigned long min, unsigned long max)
{
	unsigned long x;

	if (parse_uint(v, min, max, &x) < 0) {
		err_at(p, p->line, "%s must be %lu-%lu seconds, not '%s'", key, min, max, v);
		return -1;
	}
	*out = (unsigned)x;
	return 0;
}

static int t_dpd(struct parser *p, char *v)
{
	return t_seconds(p, v, &p->t->dpd, "dpd", 0, 3600);
}

static int t_dpd_timeout(struct parser *p, char *v)
{
	return t_seconds(p, v, &p->t->dpd_timeout, "dpd-timeout", 3, 86400);
}

static int t_ike_lifetime(struct parser *p, char *v)
{
	return t_seconds(p, v, &p->t->ike_lifetime, "ike-lifetime", 60, 604800);
}

static int t_esp_lifetime(struct parser *p, char *v)
{
	return t_seconds(p, v, &p->t->esp_lifetime, "esp-lifetime", 60, 604800);
}

static int t_replay_window(struct parser *p, char *v)
{
	unsigned long x;

	if (parse_uint(v, REPLAY_WINDOW_MIN, REPLAY_WINDOW_MAX, &x) < 0) {
		err_at(p, p->line, "replay-window must be %d-%d packets, not '%s'",
		       REPLAY_WINDOW_MIN, REPLAY_WINDOW_MAX, v);
		return -1;
	}
	p->t->replay_window = (uint32_t)x;
	return 0;
}

static int t_mode(struct parser *p, char *v)
{
	if (!strcmp(v, "manual"))
		p->t->mode = MODE_MANUAL;
	else if (!strcmp(v, "ike"))
		p->t->mode = MODE_IKE;
	else {
		err_at(p, p->line, "mode must be ike or manual, not '%s'", v);
		return -1;
	}
	return 0;
}

static int t_spi(struct parser *p, char *v, uint32_t *out, const char *key)
{
	unsigned long x;

	/* RFC 4303 §2.1: SPIs 1-255 are reserved, 0 is never sent. */
	if (parse_uint(v, 256, UINT32_MAX, &x) < 0) {
		err_at(p, p->line, "%s must be 256-4294967295 (0x100-0xffffffff), not '%s'",
		       key, v);
		return -1;
	}
	*out = (uint32_t)x;
	return 0;
}

static int t_spi_in(struct parser *p, char *v)
{
	return t_spi(p, v, &p->t->spi_in, "spi-in");
}

static int t_spi_out(struct parser *p, char *v)
{
	return t_spi(p, v, &p->t->spi_out, "spi-out");
}

static int t_key(struct parser *p, char *v, uint8_t *out, size_t *len, const char *key)
{
	int n = hex_decode(v, out, CONF_MAX_KEY);

	p->t->has_secret = true;
	if (n <= 0) {
		err_at(p, p->line, "%s must be hex (0x...), at most %d bytes", key, CONF_MAX_KEY);
		return -1;
	}
	*len = (size_t)n;
	return 0;
}

static int t_key_in(struct parser *p, char *v)
{
	return t_key(p, v, p->t->key_in, &p->t->key_in_len, "key-in");
}

static int t_key_out(struct parser *p, char *v)
{
	return t_key(p, v, p->t->key_out, &p->t->key_out_len, "key-out");
}

struct keydef {
	const char *key;
	int (*parse)(struct parser *p, char *v);
};

static const struct keydef daemon_keys[] = {
	{ "socket", d_socket },
	{ "port", d_ike_port },
	{ "natt-port", d_natt_port },
	{ "group", d_group },
	{ "user", d_user },
	{ "cookie-threshold", d_cookie_threshold },
	{ "initiate-rate", d_initiate_rate },
	{ "busy-poll", d_busy_poll },
	{ "esp-path", d_esp_path },
	{ "xdp-sockets", d_xdp_sockets },
	{ "crypto-threads", d_crypto_threads },
	{ "metrics-listen", d_metrics_listen },
	{ "state-dir", d_state_dir },
};

static const struct keydef tunnel_keys[] = {
	{ "local", t_local },
	{ "remote", t_remote },
	{ "remote-port", t_remote_port },
	{ "local-id", t_local_id },
	{ "remote-id", t_remote_id },
	{ "psk", t_psk },
	{ "psk-file", t_psk_file },
	{ "local-cert", t_local_cert },
	{ "local-key", t_local_key },
	{ "ca", t_ca },
	{ "crl", t_crl },
	{ "address", t_address },
	{ "pool", t_pool },
	{ "mtu", t_mtu },
	{ "mss-clamp", t_mss_clamp },
	{ "ike", t_ike },
	{ "esp", t_esp },
	{ "local-ts", t_local_ts },
	{ "remote-ts", t_remote_ts },
	{ "encap", t_encap },
	{ "start", t_start },
	{ "dpd", t_dpd },
	{ "dpd-timeout", t_dpd_timeout },
	{ "ike-lifetime", t_ike_lifetime },
	{ "esp-lifetime", t_esp_lifetime },
	{ "replay-window", t_replay_window },
	{ "fragmentation", t_fragmentation },
	{ "mode", t_mode },
	{ "spi-in", t_spi_in },
	{ "spi-out", t_spi_out },
	{ "key-in", t_key_in },
	{ "key-out", t_key_out },
	{ "ppk-id", t_ppk_id },
	{ "ppk", t_ppk },
	{ "ppk-file", t_ppk_file },
	{ "ppk-required", t_ppk_required },
};

static bool given(const struct parser *p, const char *key)
{
	unsigned i;

	for (i = 0; i < p->nseen; i++)
		if (strcmp(p->seen[i], key) == 0)
			return true;
	return false;
}

static void tunnel_defaults(struct tunnel_conf *t)
{
	static const char *const any[] = { "0.0.0.0/0", "::/0" };
	int i;

	t->mtu = 0;
	t->mss_clamp = true;
	t->remote_port = 500;
	t->start = true;
	t->fragmentation = true;
	t->dpd = 30;
	t->ike_lifetime = 14400;
	t->esp_lifetime = 3600;
	t->replay_window = REPLAY_WINDOW_DEFAULT;
	if (ike_props_parse("aes128gcm16-prfsha256-x25519, aes256-sha256-modp2048", t->ike,
			    CONF_MAX_PROPOSALS, &t->n_ike, NULL, 0))
		t->n_ike = 0;	/* cannot happen: the words are in crypto/alg.c */
	/* SPEC.md: a VTI carries anything routed into it. */
	for (i = 0; i < 2; i++) {
		prefix_parse(any[i], &t->local_ts[i]);
		prefix_parse(any[i], &t->remote_ts[i]);
	}
	t->n_local_ts = t->n_remote_ts = 2;
	esp_suite_parse("aes128gcm16", &t->esp[0], NULL, 0);
	t->n_esp = 1;
}

static void check_manual(struct parser *p, struct tunnel_conf *t)
{
	static const char *const need[] = { "spi-in", "spi-out", "key-in", "key-out", "esp" };
	size_t want = esp_suite_keymat_len(&t->esp[0]), i;
	char name[64];

	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (!given(p, need[i]))
			err_at(p, t->line, "tunnel %s: mode = manual needs %s", t->name, need[i]);
	if (t->n_esp != 1)
		err_at(p, line_of(p, "esp"), "tunnel %s: mode = manual takes exactly one esp "
		       "proposal", t->name);
	if (!t->remote.family)
		err_at(p, line_of(p, "remote"), "tunnel %s: mode = manual needs a remote address, "
		       "not 'any'", t->name);
	if (t->esp[0].dh)
		err_at(p, line_of(p, "esp"), "tunnel %s: manual keys have no key exchange; drop "
		       "the DH group from esp", t->name);
	esp_suite_name(&t->esp[0], name, sizeof(name));
	if (given(p, "key-in") && t->key_in_len != want)
		err_at(p, line_of(p, "key-in"), "tunnel %s: key-in is %zu bytes but %s needs %zu",
		       t->name, t->key_in_len, name, want);
	if (given(p, "key-out") && t->key_out_len != want)
		err_at(p, line_of(p, "key-out"), "tunnel %s: key-out is %zu bytes but %s needs %zu",
		       t->name, t->key_out_len, name, want);
	/* Both directions would count sequence numbers, and so nonces, from
	 * 1 under one key (RFC 4106 §3.1, RFC 7634 §2.1: never repeat). */
	if (given(p, "key-in") && given(p, "key-out") && t->key_in_len == t->key_out_len &&
	    ct_equal(t->key_in, t->key_out, t->key_in_len))
		err_at(p, line_of(p, "key-out"), "tunnel %s: key-out equals key-in; each direction "
		       "needs its own key", t->name);
}

/*
 * Does the key belong to the certificate?  Asked in a child process that
 * exits after: parsing a private key leaves pieces of it in freed memory
 * (OpenSSL's decoders), and the daemon's parent forks the network process
 * from its memory, which must hold no private key.  Once per pair.
 */
static bool key_mismatch(const struct pki *cert, const struct pki *key, char *why, size_t whylen)
{
	static uint8_t last_cert[32], last_key[32];	/* fingerprints: addresses are reused */
	int fds[2], st;
	ssize_t n;
	pid_t pid;

	if (!memcmp(cert->fp, last_cert, 32) && !memcmp(key->fp, last_key, 32))
		return false;
	if (pipe(fds) < 0) {
		snprintf(why, whylen, "cannot check: %s", strerror(errno));
		return true;
	}
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		st = x509_key_matches(cert->certs, key->text, key->len, why, whylen);
		if (st && write(fds[1], why, strlen(why)) < 0)
			_exit(2);
		_exit(st ? 1 : 0);
	}
	close(fds[1]);
	n = pid > 0 ? read(fds[0], why, whylen - 1) : -1;
	close(fds[0]);
	why[n > 0 ? n : 0] = '\0';
	if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		if (!why[0])
			snprintf(why, whylen, "cannot check it against the certificate");
		return true;
	}
	memcpy(last_cert, cert->fp, 32);
	memcpy(last_key, key->fp, 32);
	return false;
}

/* We sign with local-cert + local-key or MAC with the psk; the peer's
 * signature is verified against `ca`, its MAC with the psk. */
static void check_auth(struct parser *p, struct tunnel_conf *t)
{
	struct pki *cert = t->pki[PKI_CERT - 1], *key = t->pki[PKI_KEY - 1];
	char why[160];

	if (!t->psk_len && !cert) {
		err_at(p, t->line, "tunnel %s: mode = ike needs psk or psk-file, or local-cert and "
		       "local-key", t->name);
		return;
	}
	if (!cert != !key)
		err_at(p, line_of(p, cert ? "local-cert" : "local-key"), "tunnel %s: local-cert "
		       "and local-key go together", t->name);
	if (cert && key && key->len && key_mismatch(cert, key, why, sizeof(why)))
		err_at(p, line_of(p, "local-key"), "tunnel %s: local-key %s: %s", t->name, key->path,
		       why);
	if (cert && !t->psk_len && !t->pki[PKI_CA - 1])
		err_at(p, line_of(p, "local-cert"), "tunnel %s: give ca (to verify the peer's "
		       "certificate) or psk", t->name);
	if (t->pki[PKI_CRL - 1] && !t->pki[PKI_CA - 1])
		err_at(p, line_of(p, "crl"), "tunnel %s: crl needs ca", t->name);
}

static void check_ike(struct parser *p, struct tunnel_conf *t)
{
	uint8_t type, data[CONF_MAX_ID];
	size_t len;

	check_auth(p, t);
	if (t->local_id[0] && ike_id_from_string(t->local_id, &type, data, &len))
		err_at(p, line_of(p, "local-id"), "tunnel %s: local-id is not a valid identity",
		       t->name);
	if (t->remote_id[0] && ike_id_from_string(t->remote_id, &type, data, &len))
		err_at(p, line_of(p, "remote-id"), "tunnel %s: remote-id is not a valid identity",
		       t->name);
	if (!t->remote.family && t->start)
		err_at(p, line_of(p, "remote"), "tunnel %s: remote = any can only wait for the "
		       "peer; set start = no", t->name);
}

/* A [template] answers many peers and never calls one. */
static void check_template(struct parser *p, struct tunnel_conf *t)
{
	if (t->mode == MODE_MANUAL)
		err_at(p, line_of(p, "mode"), "template %s: mode = manual has no peers to tell "
		       "apart; templates are for IKE", t->name);
	if (given(p, "start") && t->start)
		err_at(p, line_of(p, "start"), "template %s: a template waits for its peers; "
		       "start = yes is for a [tunnel]", t->name);
	if (t->address_auto)
		err_at(p, line_of(p, "address"), "template %s: address = auto asks a peer; a "
		       "template hands addresses out (pool)", t->name);
}

/* RFC 8784: a PPK is used under its identity, and only by IKE. */
static void check_ppk(struct parser *p, struct tunnel_conf *t)
{
	bool value = given(p, "ppk") || given(p, "ppk-file");

	if (!value && !given(p, "ppk-id") && !given(p, "ppk-required"))
		return;
	if (t->mode == MODE_MANUAL)
		err_at(p, line_of(p, given(p, "ppk-id") ? "ppk-id" : value ? (given(p, "ppk") ?
		       "ppk" : "ppk-file") : "ppk-required"), "tunnel %s: a PPK is for mode = ike",
		       t->name);
	else if (value && !given(p, "ppk-id"))
		err_at(p, line_of(p, given(p, "ppk") ? "ppk" : "ppk-file"), "tunnel %s: ppk needs "
		       "ppk-id (the name the peer knows it by)", t->name);
	else if (!value && given(p, "ppk-id"))
		err_at(p, line_of(p, "ppk-id"), "tunnel %s: ppk-id needs ppk or ppk-file", t->name);
	else if (!value && given(p, "ppk-required"))
		err_at(p, line_of(p, "ppk-required"), "tunnel %s: ppk-required needs ppk-id and "
		       "ppk or ppk-file", t->name);
}

/* Checks that need the whole [tunnel] section. */
static void end_tunnel(struct parser *p)
{
	struct tunnel_conf *t = p->t;
	size_t i;

	if (!t)
		return;
	if (!given(p, "local"))
		err_at(p, t->line, "tunnel %s: local address missing", t->name);
	if (!given(p, "remote"))
		err_at(p, t->line, "tunnel %s: remote address missing (or 'any')", t->name);
	if (t->local.family && t->remote.family && t->local.family != t->remote.family)
		err_at(p, line_of(p, "remote"), "tunnel %s: local and remote are of different "
		       "address families", t->name);
	if (!given(p, "dpd-timeout"))
		t->dpd_timeout = t->dpd * 3 < 3 ? 3 : t->dpd * 3;
	for (i = 0; i < t->n_addrs; i++)
		if (t->addrs[i].addr.family == AF_INET6 && t->mtu && t->mtu < 1280)
			err_at(p, line_of(p, "mtu"), "tunnel %s: IPv6 needs mtu >= 1280", t->name);
	if (t->mode == MODE_MANUAL && (t->address_auto || t->n_pool))
		err_at(p, line_of(p, t->n_pool ? "pool" : "address"), "tunnel %s: mode = manual "
		       "has no IKE to ask for or hand out addresses (address = auto, pool)", t->name);
	if (t->address_auto && t->n_pool)
		err_at(p, line_of(p, "pool"), "tunnel %s: a tunnel that asks for its address "
		       "(address = auto) cannot also hand them out (pool)", t->name);
	if (t->is_template)
		check_template(p, t);
	if (t->mode == MODE_MANUAL)
		check_manual(p, t);
	else
		check_ike(p, t);
	check_ppk(p, t);
	/* Inbound SPIs select the tunnel: they must be unique. */
	for (i = 0; t->mode == MODE_MANUAL && i + 1 < p->c->n; i++)
		if (p->c->t[i].mode == MODE_MANUAL && p->c->t[i].spi_in == t->spi_in)
			err_at(p, line_of(p, "spi-in"), "tunnel %s: spi-in 0x%x is already used by "
			       "tunnel %s", t->name, t->spi_in, p->c->t[i].name);
}

static bool valid_ifname(const char *n);

bool conf_ifname_ok(const char *n)
{
	return valid_ifname(n);
}

static bool valid_ifname(const char *n)
{
	size_t len = strlen(n), i;

	if (len < 1 || len > 15 || !strcmp(n, ".") || !strcmp(n, ".."))
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)n[i]) && !strchr("-_.", n[i]))
			return false;
	return true;
}

/*
 * Room for one more tunnel (n now).  Not realloc: sections hold PSKs and
 * manual keys, and realloc would leave them behind in the block it frees.
 * The array doubles (8, 16, 32 ...): grown one section at a time, 4,000
 * tunnels cost 4,000 copies and wipes of all before them (a reload of an
 * unchanged hub took 1.8 s, most of it here).
 */
static struct tunnel_conf *grow_tunnels(struct tunnel_conf *t, size_t n)
{
	struct tunnel_conf *nt;
	size_t cap = 8;

	if (t && (n < 8 || (n & (n - 1))))
		return t;	/* not full: capacity is 8, then powers of two */
	while (cap <= n)
		cap *= 2;
	nt = calloc(cap, sizeof(*nt));
	if (!nt)
		return NULL;
	if (t) {
		memcpy(nt, t, n * sizeof(*t));
		wipe(t, n * sizeof(*t));
		free(t);
	}
	return nt;
}

static void start_section(struct parser *p, char *hdr)
{
	char *name;
	struct tunnel_conf *nt;
	bool is_template = false;

	end_tunnel(p);
	p->t = NULL;
	p->in_daemon = false;
	p->nseen = 0;
	hdr = trim(hdr);
	if (strcmp(hdr, "daemon") == 0) {
		if (p->seen_daemon)
			err_at(p, p->line, "second [daemon] section");
		p->in_daemon = p->seen_daemon = true;
		return;
	}
	if (!strncmp(hdr, "tunnel", 6) && isspace((unsigned char)hdr[6])) {
		name = trim(hdr + 6);
	} else if (!strncmp(hdr, "template", 8) && isspace((unsigned char)hdr[8])) {
		name = trim(hdr + 8);
		is_template = true;
	} else {
		err_at(p, p->line, "unknown section [%s]; expected [daemon], [tunnel NAME] or "
		       "[template NAME]", hdr);
		return;
	}
	if (!valid_ifname(name)) {
		err_at(p, p->line, "tunnel name '%s' is not a valid interface name "
		       "(1-15 of A-Z a-z 0-9 - _ .)", name);
		return;
	}
	/* Room for the instance numbers in an interface name. */
	if (is_template && strlen(name) > 15 - CONF_TEMPLATE_DIGITS) {
		err_at(p, p->line, "template name '%s' is too long: its interfaces add up to %d "
		       "digits, and interface names have 15 characters", name, CONF_TEMPLATE_DIGITS);
		return;
	}
	nt = grow_tunnels(p->c->t, p->c->n);
	if (!nt) {
		err_at(p, p->line, "out of memory");
		return;
	}
	p->c->t = nt;
	p->t = &nt[p->c->n++];
	memset(p->t, 0, sizeof(*p->t));
	strcpy(p->t->name, name);
	p->t->line = p->line;
	tunnel_defaults(p->t);
	p->t->is_template = is_template;
	if (is_template)
		p->t->start = false;	/* it waits for its peers */
}

static void key_value(struct parser *p, char *line)
{
	const struct keydef *defs;
	size_t ndefs, i;
	char *eq = strchr(line, '='), *k, *v;

	if (!eq) {
		err_at(p, p->line, "expected 'key = value'");
		return;
	}
	*eq = '\0';
	k = trim(line);
	v = trim(eq + 1);
	if (p->in_daemon) {
		defs = daemon_keys;
		ndefs = sizeof(daemon_keys) / sizeof(daemon_keys[0]);
	} else if (p->t) {
		defs = tunnel_keys;
		ndefs = sizeof(tunnel_keys) / sizeof(tunnel_keys[0]);
	} else {
		err_at(p, p->line, "'%s' outside of a [daemon] or [tunnel NAME] section", k);
		return;
	}
	for (i = 0; i < ndefs; i++)
		if (strcmp(defs[i].key, k) == 0)
			break;
	if (i == ndefs) {
		err_at(p, p->line, "unknown key '%s' in [%s]", k, p->in_daemon ? "daemon" :
		       p->t->is_template ? "template" : "tunnel");
		return;
	}
	if (given(p, defs[i].key)) {
		err_at(p, p->line, "'%s' given twice (first at line %u)", k, line_of(p, defs[i].key));
		return;
	}
	if (!v[0]) {
		err_at(p, p->line, "'%s' has no value", k);
		return;
	}
	if (p->nseen < MAX_KEYS) {
		p->seen[p->nseen] = defs[i].key;
		p->key_line[p->nseen++] = p->line;
	}
	if (p->t && !strcmp(k, "psk-file") && given(p, "psk"))
		err_at(p, p->line, "give psk or psk-file, not both");
	if (p->t && !strcmp(k, "ppk-file") && given(p, "ppk"))
		err_at(p, p->line, "give ppk or ppk-file, not both");
	defs[i].parse(p, v);
}

static void parse_line(struct parser *p, char *line)
{
	char *s = trim(line), *hash, *close;

	/* '#' starts a comment at the line start or after white space, so
	 * that a secret may contain '#'. */
	for (hash = s; (hash = strchr(hash, '#')); hash++) {
		if (hash == s || isspace((unsigned char)hash[-1])) {
			*hash = '\0';
			break;
		}
	}
	s = trim(s);
	if (!*s)
		return;
	if (*s == '[') {
		close = strchr(s, ']');
		if (!close || *trim(close + 1)) {
			err_at(p, p->line, "section header must be [name] alone on its line");
			return;
		}
		*close = '\0';
		start_section(p, s + 1);
		return;
	}
	key_value(p, s);
}

static int by_name_line(const void *a, const void *b)
{
	const struct tunnel_conf *x = *(const struct tunnel_conf *const *)a;
	const struct tunnel_conf *y = *(const struct tunnel_conf *const *)b;
	int r = strcmp(x->name, y->name);

	return r ? r : (x->line > y->line) - (x->line < y->line);
}

/* NAME followed by 1 to CONF_TEMPLATE_DIGITS digits, no leading zero. */
static bool instance_of(const char *ifname, const char *tmpl)
{
	size_t n = strlen(tmpl), d = strlen(ifname);

	if (d <= n || d - n > CONF_TEMPLATE_DIGITS || strncmp(ifname, tmpl, n) ||
	    (ifname[n] == '0' && d - n > 1))
		return false;
	for (; n < d; n++)
		if (!isdigit((unsigned char)ifname[n]))
			return false;
	return true;
}

/* The template whose interface ifname would be. */
static const struct tunnel_conf *template_for(const struct conf *c, const char *ifname)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (c->t[i].is_template && instance_of(ifname, c->t[i].name))
			return &c->t[i];
	return NULL;
}

/* Each tunnel name once.  Sorted, not compared pairwise: a hub's
 * thousands of sections made that quadratic. */
static void check_names(struct parser *p)
{
	const struct tunnel_conf **v, *first;
	size_t i, n = p->c->n;

	if (n < 2)
		return;
	v = malloc(n * sizeof(*v));
	if (!v) {
		err_at(p, p->line, "out of memory");
		return;
	}
	for (i = 0; i < n; i++)
		v[i] = &p->c->t[i];
	qsort(v, n, sizeof(*v), by_name_line);
	for (first = v[0], i = 1; i < n; i++) {
		if (strcmp(v[i]->name, first->name)) {
			first = v[i];
			continue;
		}
		err_at(p, v[i]->line, "tunnel %s is defined twice (first at line %u)", v[i]->name,
		       first->line);
	}
	free(v);
	for (i = 0; i < n; i++) {
		first = template_for(p->c, p->c->t[i].name);
		if (first)
			err_at(p, p->c->t[i].line, "%s %s has the name of an interface of "
			       "template %s (line %u)", p->c->t[i].is_template ? "template" : "tunnel",
			       p->c->t[i].name, first->name, first->line);
	}
}

int conf_parse(const char *file, const char *text, size_t len, struct conf *out,
	       struct buf *errors)
{
	struct parser p = { .file = file, .errors = errors, .c = out };
	char line[MAX_LINE];
	size_t i = 0, n;

	memset(out, 0, sizeof(*out));
	snprintf(out->file, sizeof(out->file), "%s", file);
	strcpy(out->d.socket, "/run/vtid.sock");
	out->d.port = 500;
	out->d.natt_port = 4500;
	out->d.cookie_threshold = 64;
	out->d.initiate_rate = 200;
	out->d.busy_poll_us = BUSY_POLL_DEFAULT;
	out->d.xdp_sockets = XDP_SOCKETS_DEFAULT;
	out->d.crypto_threads = 1;
	strcpy(out->d.user, "vtid");
	strcpy(out->d.state_dir, "/var/lib/vti");
	while (i < len) {
		p.line++;
		for (n = 0; i < len && text[i] != '\n'; i++) {
			if (n < sizeof(line) - 1)
				line[n] = text[i];
			n++;
		}
		i++;	/* the newline */
		if (n >= sizeof(line)) {
			err_at(&p, p.line, "line longer than %d bytes", MAX_LINE - 1);
			continue;
		}
		line[n] = '\0';
		if (memchr(line, '\0', n)) {
			err_at(&p, p.line, "NUL byte in line");
			continue;
		}
		parse_line(&p, line);
	}
	end_tunnel(&p);
	check_names(&p);
	if (out->d.port == out->d.natt_port)
		err_at(&p, p.line, "port and natt-port must differ (both %u)", out->d.port);
	wipe(line, sizeof(line));
	return p.nerr;
}

int conf_load(const char *path, struct conf *out, struct buf *errors)
{
	struct buf text;
	struct stat st;
	char chunk[4096];
	ssize_t n;
	size_t i;
	int fd, nerr;

	memset(out, 0, sizeof(*out));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		buf_printf(errors, "%s: cannot open: %s\n", path, strerror(errno));
		return 1;
	}
	buf_init(&text);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_add(&text, chunk, (size_t)n);
	if (n < 0 || text.bad || fstat(fd, &st) < 0) {
		buf_printf(errors, "%s: cannot read: %s\n", path, strerror(errno));
		close(fd);
		buf_free(&text);
		return 1;
	}
	close(fd);
	nerr = conf_parse(path, (const char *)text.data, text.len, out, errors);
	buf_free(&text);
	wipe(chunk, sizeof(chunk));
	for (i = 0; i < out->n; i++) {
		if (out->t[i].has_secret && (st.st_mode & 077)) {
			buf_printf(errors, "%s:%u: tunnel %s has a key or psk but the file is "
				   "readable by group or others (mode %04o); run chmod 600 %s\n",
				   path, out->t[i].line, out->t[i].name,
				   (unsigned)(st.st_mode & 07777), path);
			nerr++;
			break;
		}
	}
	return nerr;
}

void conf_free(struct conf *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->n_pki; i++)
		pki_put(c->pki[i]);
	free(c->pki);
	if (c->t) {
		wipe(c->t, c->n * sizeof(*c->t));
		free(c->t);
	}
	memset(c, 0, sizeof(*c));
}

const struct tunnel_conf *conf_find(const struct conf *c, const char *name)
{
	size_t at = 0;

	return conf_find_next(c, name, &at);
}

const struct tunnel_conf *conf_find_next(const struct conf *c, const char *name, size_t *at)
{
	size_t k, i;

	for (k = 0; k < c->n; k++) {
		i = (*at + k) % c->n;
		if (strcmp(c->t[i].name, name) == 0) {
			*at = i + 1;
			return &c->t[i];
		}
	}
	return NULL;
}

const struct tunnel_conf *conf_owner(const struct conf *c, const char *ifname)
{
	const struct tunnel_conf *t = conf_find(c, ifname);

	return t && !t->is_template ? t : template_for(c, ifname);
}

static bool any_ipv6(const struct prefix *p, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (p[i].addr.family == AF_INET6)
			return true;
	return false;
}

bool tunnel_conf_ipv6(const struct tunnel_conf *t)
{
	return (any_ipv6(t->local_ts, t->n_local_ts) && any_ipv6(t->remote_ts, t->n_remote_ts)) ||
	       any_ipv6(t->addrs, t->n_addrs) || any_ipv6(t->pool, t->n_pool);
}

bool tunnel_conf_equal(const struct tunnel_conf *a, const struct tunnel_conf *b)
{
	struct tunnel_conf x, y;
	bool eq;

	/* Sections come from calloc'd memory and are filled field by
	 * field, so padding is zero and memcmp is exact. */
	memcpy(&x, a, sizeof(x));
	memcpy(&y, b, sizeof(y));
	x.line = y.line = 0;
	/* The same files with the same content are the same shared objects:
	 * the pointers compare, the indexes into one configuration do not. */
	memset(x.pki_ix, 0, sizeof(x.pki_ix));
	memset(y.pki_ix, 0, sizeof(y.pki_ix));
	eq = memcmp(&x, &y, sizeof(x)) == 0;
	wipe(&x, sizeof(x));
	wipe(&y, sizeof(y));
	return eq;
}

_Static_assert(CONF_MAX_PROPOSALS <= IKE_POL_MAX_PROPS && CONF_MAX_TS <= IKE_POL_MAX_TS,
	       "the IKE policy holds what a [tunnel] may configure");

/* A remote-id with '*' is kept as text, of the type its form gives
 * (ike_id_from_string): the peer's ID is matched as text against it. */
static void id_pattern(const char *s, struct ike_ident *id, bool *wild)
{
	if (id->type != ID_DER_ASN1_DN && s[0] == '@')
		s++;
	id->len = strlen(s) < sizeof(id->data) ? strlen(s) : sizeof(id->data) - 1;
	memcpy(id->data, s, id->len);
	*wild = true;
}

void tunnel_conf_policy(const struct tunnel_conf *c, struct ike_policy *p,
			struct ike_policy_ids *ids)
{
	int n;

	memset(p, 0, sizeof(*p));
	memset(ids, 0, sizeof(*ids));
	p->local_id = &ids->local_id;
	p->remote_id = &ids->remote_id;
	p->ppk_id = ids->ppk_id;
	snprintf(p->name, sizeof(p->name), "%s", c->name);
	p->local = c->local;
	p->remote = c->remote;
	p->remote_port = c->remote_port;
	/* conf.c checked both identities at load: they parse. */
	if (c->local_id[0] && ike_id_from_string(c->local_id, &ids->local_id.type,
						 ids->local_id.data, &ids->local_id.len))
		ids->local_id.type = 0;
	if (c->remote_id[0] && ike_id_from_string(c->remote_id, &ids->remote_id.type,
						  ids->remote_id.data, &ids->remote_id.len)) {
		ids->remote_id.type = 0;
		p->remote_id_bad = true;	/* fail closed, never "any peer" */
	}
	if (ids->remote_id.type && strchr(c->remote_id, '*'))
		id_pattern(c->remote_id, &ids->remote_id, &p->remote_id_glob);
	p->authby = IKE_AUTHBY_PSK;
	p->want_address = c->address_auto;
	p->ipv6 = tunnel_conf_ipv6(c);
	p->is_template = c->is_template;
	/* remote-id = *@branches.example.com: '*' matches any run (id_pattern
	 * above, from the text: a DN's DER may hold a 0x2a byte of its own). */
	p->gives_address = c->n_pool > 0;
	p->psk = c->psk_len > 0;
	if (c->pki[PKI_CERT - 1]) {
		p->authby = IKE_AUTHBY_CERT;
		p->cert = c->pki[PKI_CERT - 1]->certs;
		p->key_type = (uint8_t)x509_certs_key(p->cert);
		/* RFC 4945 §3.1.5: the subject is the identity a certificate
		 * vouches for first; without local-id we are our subject. */
		if (!c->local_id[0]) {
			n = x509_certs_subject(p->cert, ids->local_id.data,
					       sizeof(ids->local_id.data));
			ids->local_id.type = n > 0 ? ID_DER_ASN1_DN : 0;
			ids->local_id.len = n > 0 ? (size_t)n : 0;
		}
	}
	if (c->pki[PKI_CA - 1])
		p->ca = c->pki[PKI_CA - 1]->certs;
	if (c->pki[PKI_CRL - 1])
		p->crl = c->pki[PKI_CRL - 1]->crls;
	/* The counts are the parser's (bounded), or came from the privileged
	 * parent: bounded again rather than trusted with a memcpy. */
	p->n_ike = c->n_ike < CONF_MAX_PROPOSALS ? c->n_ike : CONF_MAX_PROPOSALS;
	p->ike = c->ike;
	p->n_esp = c->n_esp < CONF_MAX_PROPOSALS ? c->n_esp : CONF_MAX_PROPOSALS;
	memcpy(p->esp, c->esp, p->n_esp * sizeof(c->esp[0]));
	p->n_local_ts = c->n_local_ts < CONF_MAX_TS ? c->n_local_ts : CONF_MAX_TS;
	p->local_ts = c->local_ts;
	p->n_remote_ts = c->n_remote_ts < CONF_MAX_TS ? c->n_remote_ts : CONF_MAX_TS;
	p->remote_ts = c->remote_ts;
	p->ike_lifetime = c->ike_lifetime;
	p->esp_lifetime = c->esp_lifetime;
	p->dpd = c->dpd;
	p->dpd_timeout = c->dpd_timeout;
	p->encap = c->encap == ENCAP_MODE_YES ? IKE_ENCAP_FORCE :
		   c->encap == ENCAP_MODE_NO ? IKE_ENCAP_NO : IKE_ENCAP_AUTO;
	p->replay_window = c->replay_window;
	p->initiate = c->start;
	p->fragmentation = c->fragmentation;
	/* The PPK's value stays in the configuration (key holder's copy). */
	p->ppk_id_len = c->ppk_len ? strnlen(c->ppk_id, IKE_PPK_ID_MAX) : 0;
	memcpy(ids->ppk_id, c->ppk_id, p->ppk_id_len);
	p->ppk_required = p->ppk_id_len && c->ppk_required;
}
