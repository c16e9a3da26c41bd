/*
 * ctlsrv.c - control socket connections (see ctlsrv.h).
 *
 * A connection reads its one request line, is answered at once into a
 * buffer, then writes that buffer out as the client takes it.  The
 * request format and the reply's status line are the control protocol
 * of ctl.h.
 */
#include "vtid/ctlsrv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "lib/log.h"

#define HTTP_MAX_REQUEST 2048

struct conn {
	struct ctlsrv *srv;
	int fd;
	bool replying;
	bool streaming;		/* stays open for broadcasts; no deadline */
	char line[HTTP_MAX_REQUEST + 1];
	size_t got;
	struct buf out;
	size_t sent;
	uint64_t deadline;
	struct conn *next;
};

struct ctlsrv {
	struct ev *ev;
	int fd;
	enum ctlsrv_proto proto;
	ctlsrv_allow_fn allow;
	ctlsrv_handle_fn handle;
	void *arg;
	struct conn *conns;
	unsigned n;
	struct ratelimit rl;
};

static void conn_close(struct conn *c)
{
	struct ctlsrv *s = c->srv;
	struct conn **pp;

	for (pp = &s->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	s->n--;
	ev_del(s->ev, c->fd);
	close(c->fd);
	buf_free(&c->out);
	free(c);
}

/* Write what the client will take now; true when the connection ended. */
static bool conn_flush(struct conn *c)
{
	ssize_t w;

	while (c->sent < c->out.len) {
		w = send(c->fd, c->out.data + c->sent, c->out.len - c->sent,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0 && (errno == EAGAIN || errno == EINTR))
			return false;
		if (w <= 0) {
			conn_close(c);
			return true;
		}
		c->sent += (size_t)w;
	}
	if (!c->streaming) {
		conn_close(c);
		return true;
	}
	buf_reset(&c->out);
	c->sent = 0;
	/* Caught up: wake only when it says something (or hangs up). */
	if (ev_set_write(c->srv->ev, c->fd, false) < 0) {
		conn_close(c);
		return true;
	}
	return false;
}

/* Write now what fits; the rest goes out as the client reads. */
static void conn_push(struct conn *c)
{
	if (!conn_flush(c) && c->sent < c->out.len && ev_set_write(c->srv->ev, c->fd, true) < 0)
		conn_close(c);
}

static void conn_reply(struct conn *c, int code, const char *msg, struct buf *body)
{
	size_t blen = body ? body->len : 0;

	if (c->srv->proto == CTLSRV_HTTP)
		buf_printf(&c->out, "HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			   "Connection: close\r\n\r\n", code == CTL_OK ? "200 OK" :
			   code == CTL_EUSAGE ? msg : "500 Internal Server Error",
			   code == CTL_OK ? "text/plain; version=0.0.4; charset=utf-8" :
			   "text/plain", blen);
	else
		buf_printf(&c->out, "%d %s\n", code, msg);
	if (blen)
		buf_add(&c->out, body->data, blen);
	c->replying = true;
	c->deadline = now_ms() + CTLSRV_REPLY_MS;
	conn_push(c);
}

/* HTTP: the request line of a complete request, or NULL while it is not.
 * Only "GET /metrics" is anything; it becomes the control request. */
static const char *http_request(struct conn *c, const char **status)
{
	if (!strstr(c->line, "\r\n\r\n") && !strstr(c->line, "\n\n"))
		return NULL;
	if (!strncmp(c->line, "GET /metrics ", 13) || !strncmp(c->line, "GET /metrics\r", 13))
		return "text metrics\n";
	*status = strncmp(c->line, "GET ", 4) ? "405 Method Not Allowed" : "404 Not Found";
	return "";
}

/* True once it has replied: then c may be closed and freed already. */
static bool conn_request(struct conn *c)
{
	struct ctlsrv *s = c->srv;
	const char *status = NULL, *rq = c->line;
	char msg[256];
	struct buf body;
	bool stream = false;
	int code;

	if (s->proto == CTLSRV_HTTP) {
		rq = http_request(c, &status);
		if (!rq)
			return false;	/* more to come */
		if (!rq[0]) {
			conn_reply(c, CTL_EUSAGE, status, NULL);
			return true;
		}
		snprintf(c->line, sizeof(c->line), "%s", rq);
	} else if (!memchr(c->line, '\n', c->got)) {
		return false;
	}
	buf_init(&body);
	code = s->handle(s->arg, c->line, &body, msg, sizeof(msg), &stream);
	c->streaming = stream && s->proto == CTLSRV_CTL && code == CTL_OK;
	conn_reply(c, code, msg, &body);
	buf_free(&body);
	return true;
}

static void on_conn(void *arg)
{
	struct conn *c = arg;
	size_t max = c->srv->proto == CTLSRV_HTTP ? HTTP_MAX_REQUEST : CTL_MAX_REQUEST;
	char sink[256];
	ssize_t n;

	if (c->replying) {
		/* A streaming client says nothing; reading finds its hang-up. */
		if (c->streaming) {
			n = recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT);
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
				conn_close(c);
				return;
			}
		}
		conn_flush(c);
		return;
	}
	for (;;) {
		n = recv(c->fd, c->line + c->got, max - c->got, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0)
			break;
		c->got += (size_t)n;
		c->line[c->got] = '\0';
		if (conn_request(c))
			return;
		if (c->got == max)
			break;
	}
	conn_reply(c, CTL_EUSAGE, c->srv->proto == CTLSRV_HTTP ? "400 Bad Request" :
		   "request too long or incomplete", NULL);
}

void ctlsrv_broadcast(struct ctlsrv *s, const char *data, size_t len)
{
	struct conn *c, *next;

	for (c = s ? s->conns : NULL; c; c = next) {
		next = c->next;
		if (!c->streaming)
			continue;
		if (c->out.len - c->sent + len > CTLSRV_MAX_BACKLOG) {
			log_rl(&s->rl, LOG_WARN, NULL, "control socket: a monitor fell %zu bytes "
			       "behind; closed", c->out.len - c->sent);
			conn_close(c);
			continue;
		}
		buf_add(&c->out, data, len);
		conn_push(c);
	}
}

static void on_listen(void *arg)
{
	struct ctlsrv *s = arg;
	struct conn *c;
	int fd;

	while ((fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		if (s->n >= CTLSRV_MAX_CONNS || !(c = calloc(1, sizeof(*c)))) {
			log_rl(&s->rl, LOG_WARN, NULL, "control socket: %u connections open; one "
			       "refused", s->n);
			close(fd);
			continue;
		}
		c->srv = s;
		c->fd = fd;
		buf_init(&c->out);
		c->deadline = now_ms() + CTLSRV_REQUEST_MS;
		if (ev_add(s->ev, fd, on_conn, c) < 0) {
			close(fd);
			free(c);
			continue;
		}
		c->next = s->conns;
		s->conns = c;
		s->n++;
		/* Refused before anything is read: an unprivileged peer gets
		 * the refusal and nothing else. */
		if (s->allow && !s->allow(s->arg, fd))
			conn_reply(c, CTL_EPERM, "permission denied: run as root or as a member "
				   "of the control group", NULL);
	}
}

struct ctlsrv *ctlsrv_new(struct ev *ev, int fd, enum ctlsrv_proto proto, ctlsrv_allow_fn allow,
			  ctlsrv_handle_fn handle, void *arg)
{
	struct ctlsrv *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->ev = ev;
	s->fd = fd;
	s->proto = proto;
	s->allow = allow;
	s->handle = handle;
	s->arg = arg;
	if (ev_add(ev, fd, on_listen, s) < 0) {
		free(s);
		return NULL;
	}
	return s;
}

void ctlsrv_tick(struct ctlsrv *s)
{
	uint64_t now = now_ms();
	struct conn *c, *next;

	for (c = s ? s->conns : NULL; c; c = next) {
		next = c->next;
		if (c->streaming || now < c->deadline)
			continue;
		log_rl(&s->rl, LOG_WARN, NULL, "control socket: a client %s in time; closed",
		       c->replying ? "did not read its reply" : "did not send its request");
		conn_close(c);
	}
}

void ctlsrv_free(struct ctlsrv *s)
{
	if (!s)
		return;
	while (s->conns)
		conn_close(s->conns);
	ev_del(s->ev, s->fd);
	close(s->fd);
	free(s);
}
