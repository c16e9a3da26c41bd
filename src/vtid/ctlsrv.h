/*
 * ctlsrv.h - the control socket's connections, served without ever
 * waiting for a client: every socket is non-blocking, a request must
 * arrive whole within CTLSRV_REQUEST_MS and its reply be taken within
 * CTLSRV_REPLY_MS, and at most CTLSRV_MAX_CONNS are open at once.  A
 * client that trickles bytes or never reads costs one slot until its
 * deadline, never the daemon's time.
 */
#ifndef VTI_CTLSRV_H
#define VTI_CTLSRV_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"
#include "lib/ev.h"

#define CTLSRV_MAX_CONNS 32
#define CTLSRV_REQUEST_MS 2000
#define CTLSRV_REPLY_MS 10000

/* Is the peer on fd allowed to ask anything at all? */
typedef bool (*ctlsrv_allow_fn)(void *arg, int fd);
/* Answer one request line: fill body, return a ctl_status and msg.  Set
 * *stream to keep the connection open afterwards for ctlsrv_broadcast(). */
typedef int (*ctlsrv_handle_fn)(void *arg, char *line, struct buf *body, char *msg,
				size_t msglen, bool *stream);

enum ctlsrv_proto {
	CTLSRV_CTL,	/* ctl.h: a request line, a status line, the body */
	CTLSRV_HTTP,	/* GET /metrics only; handed over as "text metrics" */
};

/* A subscriber whose unread backlog passes this is dropped, not waited for. */
#define CTLSRV_MAX_BACKLOG (1024 * 1024)

struct ctlsrv;

/* Serve the listening socket fd (non-blocking); allow may be NULL (every
 * peer); NULL on failure. */
struct ctlsrv *ctlsrv_new(struct ev *ev, int fd, enum ctlsrv_proto proto, ctlsrv_allow_fn allow,
			  ctlsrv_handle_fn handle, void *arg);
/* Append to every streaming connection's output. */
void ctlsrv_broadcast(struct ctlsrv *s, const char *data, size_t len);
/* Close connections past their deadline; call from the daemon's tick. */
void ctlsrv_tick(struct ctlsrv *s);
/* Close every connection and the listening socket. */
void ctlsrv_free(struct ctlsrv *s);

#endif
