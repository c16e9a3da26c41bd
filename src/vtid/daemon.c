/*
 * daemon.c - the daemon's event loop and control socket (see daemon.h).
 */
#include "vtid/daemon.h"

#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "conf/conf.h"
#include "ctl/ctl.h"
#include "esp/datapath.h"
#include "esp/sadb.h"
#include "ike/ike.h"
#include "lib/buf.h"
#include "lib/ev.h"
#include "lib/log.h"
#include "platform/platform.h"
#include "vtid/ctlsrv.h"
#include "vtid/events.h"
#include "vtid/metrics.h"
#include "vtid/privsep.h"
#include "vtid/show.h"
#include "vtid/template.h"
#include "vtid/tunnel.h"

struct daemon;
static void on_event(void *arg, const char *line, unsigned long len);

struct daemon {
	const char *conf_path;
	const char *socket_override;
	struct conf conf;
	struct ev *ev;
	struct datapath *dp;
	struct ike_ctx *ike;
	struct tunnel_list tunnels;	/* [tunnel]s, and templates' instances */
	struct tmpl **tmpls;		/* [template]s */
	size_t n_tmpls;
	struct ctlsrv *ctl;
	struct ctlsrv *metrics;		/* [daemon] metrics-listen, or NULL */
	int sig_fd;
	char sock_path[108];
	gid_t ctl_gid;
	bool have_gid;
};

static void print_errors(struct buf *errors)
{
	fputs(buf_str(errors), stderr);
}

int daemon_check(const char *conf_path)
{
	struct conf c;
	struct buf errors;
	int nerr;

	buf_init(&errors);
	nerr = conf_load(conf_path, &c, &errors);
	print_errors(&errors);
	buf_free(&errors);
	if (!nerr)
		printf("%s: OK, %zu tunnel%s\n", conf_path, c.n, c.n == 1 ? "" : "s");
	conf_free(&c);
	return nerr ? EXIT_CONFIG : EXIT_OK;
}

static int add_tunnel(struct daemon *d, const struct tunnel_conf *tc)
{
	char err[256] = "";
	struct tunnel *t;

	t = tunnel_create(d->dp, d->ike, tc, err, sizeof(err));
	if (!t) {
		log_err(tc->name, "%s", err);
		return -1;
	}
	/* Configuration order, so that "show" lists tunnels as written. */
	tunnel_list_add(&d->tunnels, t);
	return 0;
}

static int add_template(struct daemon *d, const struct tunnel_conf *tc)
{
	char err[256] = "";
	struct tmpl **v = realloc(d->tmpls, (d->n_tmpls + 1) * sizeof(*v));

	if (!v) {
		log_err(tc->name, "out of memory");
		return -1;
	}
	d->tmpls = v;
	v[d->n_tmpls] = tmpl_create(tc, d->dp, d->ike, &d->tunnels, err, sizeof(err));
	if (!v[d->n_tmpls]) {
		log_err(tc->name, "%s", err);
		return -1;
	}
	d->n_tmpls++;
	return 0;
}

static int add_section(struct daemon *d, const struct tunnel_conf *tc)
{
	return tc->is_template ? add_template(d, tc) : add_tunnel(d, tc);
}

/* Templates whose section is gone or changed go, with their instances;
 * new ones come.  Instances of an unchanged template keep their SAs. */
static void apply_templates(struct daemon *d, const struct conf *nc)
{
	const struct tunnel_conf *tc;
	size_t i, k = 0;

	for (i = 0; i < d->n_tmpls; i++) {
		tc = conf_find(nc, tmpl_conf(d->tmpls[i])->name);
		if (tc && tc->is_template && tunnel_conf_equal(tc, tmpl_conf(d->tmpls[i]))) {
			d->tmpls[k++] = d->tmpls[i];
			continue;
		}
		log_info(tmpl_conf(d->tmpls[i])->name, "template %s: removing it and its interfaces",
			 tc ? "changed" : "removed");
		tmpl_destroy(d->tmpls[i], true);
	}
	d->n_tmpls = k;
	for (i = 0; i < nc->n; i++) {
		if (!nc->t[i].is_template)
			continue;
		for (k = 0; k < d->n_tmpls && strcmp(tmpl_conf(d->tmpls[k])->name, nc->t[i].name); k++)
			;
		if (k == d->n_tmpls)
			add_template(d, &nc->t[i]);
	}
}

static void remove_tunnel(struct daemon *d, struct tunnel *t)
{
	(void)d;
	log_info(t->vif.name, "removing tunnel");
	tunnel_destroy(t);
}

/* [daemon] esp-path, at start and after a reload. */
static void set_esp_path(struct daemon *d)
{
	dp_set_packet_path(d->dp, d->conf.d.esp_path != ESP_PATH_SOCKET);
	dp_set_xdp(d->dp, d->conf.d.esp_path == ESP_PATH_XDP, ps_xsk_bind, ps_xdp_steer);
}

/*
 * Apply a new configuration: unchanged tunnels are left alone (their SAs
 * keep passing traffic), changed ones are re-keyed (re-created only if
 * their interface changed), removed ones send DELETE and go away.
 */
static void daemon_apply(struct daemon *d, struct conf *nc)
{
	struct tunnel *t, *next;
	size_t i, at = 0;
	bool *kept = calloc(nc->n ? nc->n : 1, sizeof(*kept));

	apply_templates(d, nc);
	for (t = d->tunnels.head; t; t = next) {
		const struct tunnel_conf *tc;
		char err[256] = "";

		next = t->next;
		if (tmpl_of(t))
			continue;	/* its template's (above) */
		tc = conf_find_next(nc, t->vif.name, &at);
		if (!tc || tc->is_template) {
			remove_tunnel(d, t);
			continue;
		}
		/* Unchanged, or changed and re-keyed in place (the interface
		 * can stay): kept, not one to add below. */
		if (!tunnel_conf_equal(tc, t->conf) &&
		    tunnel_reconfigure(t, tc, err, sizeof(err)) == -EAGAIN) {
			remove_tunnel(d, t);	/* made anew below */
			continue;
		}
		if (err[0])
			log_err(t->vif.name, "%s", err);
		if (kept)
			kept[tc - nc->t] = true;
	}
	for (i = 0; i < nc->n; i++)
		if (!nc->t[i].is_template && (kept ? !kept[i] : !tunnel_list_find(&d->tunnels, nc->t[i].name)))
			add_tunnel(d, &nc->t[i]);
	free(kept);
	if (nc->d.xdp_sockets != d->conf.d.xdp_sockets)
		log_warn(NULL, "xdp-sockets = %u takes effect at the next start (%u AF_XDP "
			 "sockets now)", nc->d.xdp_sockets, xsk_count());
	if (nc->d.crypto_threads != dp_stats(d->dp)->threads)
		log_warn(NULL, "crypto-threads = %u takes effect at the next start (%" PRIu64
			 " now)", nc->d.crypto_threads, dp_stats(d->dp)->threads);
	conf_free(&d->conf);
	d->conf = *nc;
	ike_set_cookie_threshold(d->ike, d->conf.d.cookie_threshold);
	ike_set_initiate_rate(d->ike, d->conf.d.initiate_rate);
	ev_set_busy_poll(d->ev, d->conf.d.busy_poll_us);
	set_esp_path(d);
	log_info(NULL, "configuration reloaded: %zu tunnel%s", nc->n, nc->n == 1 ? "" : "s");
}

/*
 * Apply a new configuration: unchanged tunnels are left alone (their SAs
 * keep passing traffic), changed ones are re-keyed (re-created only if
 * their interface changed), removed ones send DELETE and go away.  The
 * privileged parent reads the file (privsep.h).
 */
static void daemon_reload(struct daemon *d)
{
	struct conf nc;
	struct buf errors;

	buf_init(&errors);
	if (ps_reload(&nc, &errors)) {
		print_errors(&errors);
		log_err(NULL, "reload of %s failed; keeping the running configuration",
			d->conf_path);
		buf_free(&errors);
		conf_free(&nc);
		return;
	}
	buf_free(&errors);
	daemon_apply(d, &nc);
}

/* Sequence numbers the parent wrote down for manual SAs (privsep.h). */
static void take_seq_answers(struct daemon *d)
{
	struct ps_seq_answer a;
	struct tunnel *t;

	while (ps_seq_answer(&a))
		if ((t = tunnel_list_find(&d->tunnels, a.name)))
			tunnel_seq_answer(t, a.spi, a.from, a.next, a.limit, a.err);
}

/* The parent got SIGHUP and sent the configuration it read. */
static void on_parent(void *arg)
{
	struct daemon *d = arg;
	struct conf nc;

	if (ps_pushed_conf(&nc))
		daemon_apply(d, &nc);
	take_seq_answers(d);
}

/* ---- control socket ---- */

static bool peer_allowed(void *arg, int fd)
{
	struct daemon *d = arg;
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return false;
	if (cr.uid == 0)	/* not vtid's own user: only root and the group */
		return true;
	return d->have_gid && cr.gid == d->ctl_gid;
}

static int handle_request(void *arg, char *line, struct buf *body, char *msg, size_t msglen,
			  bool *stream)
{
	struct daemon *d = arg;
	char *argv[5], *save = NULL, *tok;
	int argc = 0, id;
	bool json;
	struct tunnel *t = NULL;

	for (tok = strtok_r(line, " \t\r\n", &save); tok && argc < 5;
	     tok = strtok_r(NULL, " \t\r\n", &save))
		argv[argc++] = tok;
	if (argc < 2 || (strcmp(argv[0], "json") && strcmp(argv[0], "text"))) {
		snprintf(msg, msglen, "malformed request");
		return CTL_EUSAGE;
	}
	json = argv[0][0] == 'j';
	id = ctl_cmd_find(argv[1]);
	if (id < 0 || argc - 2 < ctl_cmds[id].min_args || argc - 2 > ctl_cmds[id].max_args) {
		snprintf(msg, msglen, "unknown command or wrong arguments");
		return CTL_EUSAGE;
	}
	if (argc > 2 && !(t = tunnel_list_find(&d->tunnels, argv[2]))) {
		snprintf(msg, msglen, "no tunnel named '%s' (see 'vtictl show')", argv[2]);
		return CTL_ENOTUNNEL;
	}
	switch ((enum ctl_cmd_id)id) {
	case CTL_SHOW:
		show_tunnels(body, d->tunnels.head, t ? t->vif.name : NULL, json);
		break;
	case CTL_STATS:
		show_stats(body, dp_stats(d->dp), d->ike, json);
		break;
	case CTL_METRICS:
		metrics_render(body, d->ike, dp_stats(d->dp), d->tunnels.head);
		break;
	case CTL_MONITOR:
		*stream = true;
		break;
	case CTL_UP:
		log_info(t->vif.name, "up requested by vtictl");
		if (tunnel_up(t, msg, msglen) < 0)
			return CTL_EFAIL;
		break;
	case CTL_DOWN:
		log_info(t->vif.name, "down requested by vtictl");
		tunnel_down(t);
		break;
	case CTL_REKEY: {
		bool ike = argc > 3 && !strcmp(argv[3], "ike");
		int r;

		if (argc > 3 && !ike && strcmp(argv[3], "child")) {
			snprintf(msg, msglen, "rekey takes 'ike' or 'child', not '%s'", argv[3]);
			return CTL_EUSAGE;
		}
		if (t->conf->mode != MODE_IKE) {
			snprintf(msg, msglen, "tunnel %s uses manual keys; there is nothing to re-key",
				 t->vif.name);
			return CTL_EFAIL;
		}
		r = ike_conn_rekey(t->conn, ike);
		if (r) {
			snprintf(msg, msglen, "%s", r == -EBUSY ? "an exchange is in progress; try again"
				 : "the tunnel has no established IKE SA");
			return CTL_EFAIL;
		}
		log_info(t->vif.name, "%s rekey requested by vtictl", ike ? "IKE" : "Child SA");
		break;
	}
	case CTL_RELOAD:
		daemon_reload(d);
		break;
	case CTL_RESTART:
		/* The parent answers with SIGTERM once it has our request:
		 * this reply is written first. */
		if (ps_restart() < 0) {
			snprintf(msg, msglen, "cannot reach the privileged process");
			return CTL_EFAIL;
		}
		log_info(NULL, "restart requested by vtictl");
		snprintf(msg, msglen, "stopping for a restart; interfaces kept");
		return CTL_OK;
	case CTL_NCMDS:
		break;
	}
	snprintf(msg, msglen, "ok");
	return CTL_OK;
}

static int open_ctl(struct daemon *d, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct group *g;
	mode_t mode = 0600;
	int fd;

	snprintf(d->sock_path, sizeof(d->sock_path), "%s",
		 d->socket_override ? d->socket_override : d->conf.d.socket);
	if (strlen(d->sock_path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "control socket path too long");
		return -1;
	}
	strcpy(sun.sun_path, d->sock_path);
	if (d->conf.d.group[0]) {
		g = getgrnam(d->conf.d.group);
		if (!g) {
			snprintf(err, errlen, "control group '%s' does not exist", d->conf.d.group);
			return -1;
		}
		d->ctl_gid = g->gr_gid;
		d->have_gid = true;
		mode = 0660;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "control socket: %s", strerror(errno));
		return -1;
	}
	/* A socket left by a crashed daemon is stale only if nobody answers. */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		snprintf(err, errlen, "another vtid is running on %s", d->sock_path);
		close(fd);
		return -1;
	}
	unlink(d->sock_path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    chmod(d->sock_path, mode) < 0 ||
	    (d->have_gid && chown(d->sock_path, 0, d->ctl_gid) < 0) || listen(fd, 16) < 0) {
		snprintf(err, errlen, "control socket %s: %s", d->sock_path, strerror(errno));
		close(fd);
		return -1;
	}
	d->ctl = ctlsrv_new(d->ev, fd, CTLSRV_CTL, peer_allowed, handle_request, d);
	if (!d->ctl) {
		snprintf(err, errlen, "control socket: out of memory");
		close(fd);
		return -1;
	}
	return 0;
}

/* [daemon] metrics-listen: GET /metrics over HTTP, nothing else. */
static int open_metrics(struct daemon *d, char *err, size_t errlen)
{
	const struct daemon_conf *c = &d->conf.d;
	struct sockaddr_storage ss;
	int fd, one = 1;

	if (!c->metrics_addr.family)
		return 0;
	addr_to_sockaddr(&c->metrics_addr, c->metrics_port, &ss);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, ss.ss_family == AF_INET ?
		 sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)) < 0 ||
	    listen(fd, 16) < 0) {
		snprintf(err, errlen, "metrics-listen: cannot listen on port %u: %s",
			 c->metrics_port, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	d->metrics = ctlsrv_new(d->ev, fd, CTLSRV_HTTP, NULL, handle_request, d);
	if (!d->metrics) {
		close(fd);
		snprintf(err, errlen, "metrics-listen: out of memory");
		return -1;
	}
	return 0;
}

static void on_event(void *arg, const char *line, unsigned long len)
{
	struct daemon *d = arg;

	ctlsrv_broadcast(d->ctl, line, len);
}

static void on_signal(void *arg)
{
	struct daemon *d = arg;
	struct signalfd_siginfo si;

	while (read(d->sig_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			log_info(NULL, "SIGHUP: reloading %s", d->conf_path);
			daemon_reload(d);
		} else {
			log_info(NULL, "%s: shutting down", strsignal((int)si.ssi_signo));
			ev_stop(d->ev);
		}
	}
}

static int block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	signal(SIGPIPE, SIG_IGN);
	return sigprocmask(SIG_BLOCK, set, NULL);
}

/* After privsep_start: a signalfd only wakes epoll in the process that
 * created it, so the network process makes its own. */
static int open_signals(struct daemon *d, const sigset_t *set)
{
	d->sig_fd = signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (d->sig_fd < 0)
		return -1;
	return ev_add(d->ev, d->sig_fd, on_signal, d) < 0 ? -1 : 0;
}

static void teardown(struct daemon *d)
{
	struct tunnel *t, *next;
	size_t i;

	/* Templates and their instances first (DELETE to their peers), with
	 * IKE still there; the parent removes every interface itself. */
	for (i = 0; i < d->n_tmpls; i++)
		tmpl_destroy(d->tmpls[i], false);
	free(d->tmpls);
	d->tmpls = NULL;
	d->n_tmpls = 0;
	/* DELETE to every peer first, while the sockets are still open;
	 * that frees the tunnels' IKE connections too. */
	ike_free(d->ike);
	d->ike = NULL;
	for (t = d->tunnels.head; t; t = next) {
		next = t->next;
		t->ike = NULL;
		t->conn = NULL;
		tunnel_destroy(t);
	}
	tunnel_list_free(&d->tunnels);
	events_set_sink(NULL, NULL);
	ctlsrv_free(d->metrics);
	d->metrics = NULL;
	if (d->ctl) {
		ctlsrv_free(d->ctl);
		d->ctl = NULL;
		/* After privsep_start the privileged parent removes it. */
		if (ps_parent_fd() < 0)
			unlink(d->sock_path);
	}
	if (d->sig_fd >= 0)
		close(d->sig_fd);
	dp_free(d->dp);
	ev_free(d->ev);
	conf_free(&d->conf);
}

static void on_natt_ike(void *arg, const uint8_t *msg, size_t len,
			const struct sockaddr_storage *from)
{
	struct daemon *d = arg;

	ike_input(d->ike, msg, len, from, true);
}

static void on_tick(void *arg)
{
	struct daemon *d = arg;
	size_t i;

	ike_tick(d->ike);
	/* Answers a synchronous request read past wake nobody: take them. */
	take_seq_answers(d);
	tunnel_list_tick(&d->tunnels);
	sadb_sweep(dp_sadb(d->dp));
	dp_tick(d->dp);
	for (i = 0; i < d->n_tmpls; i++)
		tmpl_tick(d->tmpls[i]);
	ctlsrv_tick(d->ctl);
	ctlsrv_tick(d->metrics);
	ps_alive();
}

static int start(struct daemon *d)
{
	sigset_t set;
	struct buf errors;
	char err[256] = "";
	size_t i;
	int r;

	buf_init(&errors);
	if (conf_load(d->conf_path, &d->conf, &errors)) {
		print_errors(&errors);
		buf_free(&errors);
		return EXIT_CONFIG;
	}
	buf_free(&errors);
	d->ev = ev_new();
	d->dp = d->ev ? dp_new(d->ev) : NULL;
	if (!d->dp || tunnel_list_init(&d->tunnels)) {
		log_err(NULL, "out of memory");
		return EXIT_RUNTIME;
	}
	if (block_signals(&set) < 0) {
		log_err(NULL, "cannot block signals: %s", strerror(errno));
		return EXIT_RUNTIME;
	}
	d->ike = ike_new(d->ev, d->dp);
	if (!d->ike) {
		log_err(NULL, "out of memory");
		return EXIT_RUNTIME;
	}
	dp_set_ike_handler(d->dp, on_natt_ike, d);
	ev_set_tick(d->ev, 100, on_tick, d);
	/* AF_XDP's sockets and memory only while root: esp-path = xdp
	 * set by a reload later finds none, and says so (nor does a
	 * reload change how many). */
	_Static_assert(XDP_SOCKETS_MAX == XSK_MAX, "xdp-sockets is bounded by XSK_MAX");
	if (d->conf.d.esp_path == ESP_PATH_XDP)
		dp_open_xdp(d->conf.d.xdp_sockets);
	if (dp_open_sockets(d->dp, d->conf.d.natt_port, err, sizeof(err)) < 0 ||
	    ike_open(d->ike, d->conf.d.port, err, sizeof(err)) < 0 ||
	    open_ctl(d, err, sizeof(err)) < 0 || open_metrics(d, err, sizeof(err)) < 0) {
		log_err(NULL, "%s", err);
		return EXIT_RUNTIME;
	}
	/* glibc reads the time zone file on the first time conversion, even
	 * for gmtime_r (events' timestamps): do it while files may be read. */
	tzset();
	/* From here on this is the unprivileged network process. */
	if (privsep_start(&d->conf, d->conf_path, d->sock_path, d->ev, err, sizeof(err)) < 0) {
		log_err(NULL, "%s", err);
		return EXIT_RUNTIME;
	}
	/* A restarted network process gets the configuration of the moment. */
	ike_set_cookie_threshold(d->ike, d->conf.d.cookie_threshold);
	ike_set_initiate_rate(d->ike, d->conf.d.initiate_rate);
	ev_set_busy_poll(d->ev, d->conf.d.busy_poll_us);
	set_esp_path(d);
	r = dp_set_crypto_threads(d->dp, d->conf.d.crypto_threads);
	if (r < 0)
		log_err(NULL, "cannot start %u crypto threads (%s): the event loop seals alone",
			d->conf.d.crypto_threads - 1, strerror(-r));
	events_set_sink(on_event, d);
	if (ev_add(d->ev, ps_parent_fd(), on_parent, d) < 0 || open_signals(d, &set) < 0) {
		log_err(NULL, "cannot watch the parent or signals: %s", strerror(errno));
		return EXIT_RUNTIME;
	}
	for (i = 0; i < d->conf.n; i++)
		if (add_section(d, &d->conf.t[i]) < 0)
			return EXIT_RUNTIME;
	log_info(NULL, "running with %zu tunnel%s, control socket %s", d->conf.n,
		 d->conf.n == 1 ? "" : "s", d->sock_path);
	ps_ready();
	return EXIT_OK;
}

int daemon_run(const char *conf_path, const char *socket_override)
{
	struct daemon d = {
		.conf_path = conf_path,
		.socket_override = socket_override,
		.sig_fd = -1,
	};
	int r;

	/* Descriptors a careless parent left open must not reach the
	 * unprivileged processes. */
	close_range(3, ~0U, 0);
	r = start(&d);

	if (r == EXIT_OK && ev_run(d.ev) < 0) {
		log_err(NULL, "event loop failed: %s", strerror(errno));
		r = EXIT_RUNTIME;
	}
	teardown(&d);
	if (r == EXIT_OK)
		log_info(NULL, "stopped");
	return r;
}
