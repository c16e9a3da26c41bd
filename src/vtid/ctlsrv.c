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

struct conn {
	struct ctlsrv *srv;
	int fd;
	bool replying;
	char line[CTL_MAX_REQUEST + 1];
	size_t got;
	struct buf out;
	size_t sent;
	uint64_t deadline;
	struct conn *next;
};

struct ctlsrv {
	struct ev *ev;
	int fd;
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
		if (w <= 0)
			break;
		c->sent += (size_t)w;
	}
	conn_close(c);
	return true;
}

static void conn_reply(struct conn *c, int code, const char *msg, struct buf *body)
{
	buf_printf(&c->out, "%d %s\n", code, msg);
	if (body)
		buf_add(&c->out, body->data, body->len);
	c->replying = true;
	c->deadline = now_ms() + CTLSRV_REPLY_MS;
	if (conn_flush(c))
		return;
	/* The rest goes out as the client reads. */
	if (ev_set_write(c->srv->ev, c->fd, true) < 0)
		conn_close(c);
}

static void conn_request(struct conn *c)
{
	struct ctlsrv *s = c->srv;
	char msg[256];
	struct buf body;
	int code;

	buf_init(&body);
	code = s->handle(s->arg, c->line, &body, msg, sizeof(msg));
	conn_reply(c, code, msg, &body);
	buf_free(&body);
}

static void on_conn(void *arg)
{
	struct conn *c = arg;
	ssize_t n;

	if (c->replying) {
		conn_flush(c);
		return;
	}
	for (;;) {
		n = recv(c->fd, c->line + c->got, CTL_MAX_REQUEST - c->got, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0)
			break;
		c->got += (size_t)n;
		c->line[c->got] = '\0';
		if (memchr(c->line, '\n', c->got)) {
			conn_request(c);
			return;
		}
		if (c->got == CTL_MAX_REQUEST)
			break;
	}
	conn_reply(c, CTL_EUSAGE, "request too long or incomplete", NULL);
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
		if (!s->allow(s->arg, fd))
			conn_reply(c, CTL_EPERM, "permission denied: run as root or as a member "
				   "of the control group", NULL);
	}
}

struct ctlsrv *ctlsrv_new(struct ev *ev, int fd, ctlsrv_allow_fn allow, ctlsrv_handle_fn handle,
			  void *arg)
{
	struct ctlsrv *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->ev = ev;
	s->fd = fd;
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
		if (now < c->deadline)
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
