/*
 * ev.h - a minimal epoll event loop: file descriptors with callbacks and a
 * periodic tick.  Single-threaded; callbacks run to completion.
 */
#ifndef VTI_EV_H
#define VTI_EV_H

#include <stdbool.h>

struct ev;
typedef void (*ev_fd_cb)(void *arg);
typedef void (*ev_tick_cb)(void *arg);

struct ev *ev_new(void);
void ev_free(struct ev *ev);
int ev_add(struct ev *ev, int fd, ev_fd_cb cb, void *arg)
	__attribute__((warn_unused_result));
void ev_del(struct ev *ev, int fd);
/* Also wake for fd when it can be written to (on) or only to read. */
int ev_set_write(struct ev *ev, int fd, bool on) __attribute__((warn_unused_result));
void ev_set_tick(struct ev *ev, unsigned ms, ev_tick_cb cb, void *arg);
/* After a wake-up with events, poll for us microseconds more before
 * sleeping (ev.c says why); 0 turns it off. */
void ev_set_busy_poll(struct ev *ev, unsigned us);
/* Runs until ev_stop(); returns 0 or a negative errno from epoll. */
int ev_run(struct ev *ev);
void ev_stop(struct ev *ev);
/*
 * After fork: one epoll set is shared by every process holding it, and a
 * registration lives as long as its file is open anywhere.  ev_detach
 * closes this process's handle and keeps the list of descriptors;
 * ev_renew gives this process a set of its own watching that list.
 */
void ev_detach(struct ev *ev);
int ev_renew(struct ev *ev) __attribute__((warn_unused_result));

#endif
