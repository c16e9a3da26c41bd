/*
 * ev.c - epoll event loop (see ev.h).
 *
 * Busy polling (ev_set_busy_poll): a sleeping process that a packet wakes
 * costs a wake-up, and on a virtual machine whose idle vCPU has halted
 * that is a host event of tens of microseconds (doc/fastpath.md,
 * "Latency").  A tunnel's round trip crosses four of them.  After a
 * wake-up that had work, the loop keeps polling epoll without sleeping
 * for a while, so that the answer to what it just sent finds it awake;
 * an idle loop (no event for that long) sleeps as before and costs
 * nothing.  Polling is paid from a credit that grows with time, 1/BUSY_SHARE
 * of it, so that it never takes more than that share of a CPU: under bulk
 * traffic, where the CPUs are busy anyway and wake-ups are cheap, the
 * credit is soon spent and the loop sleeps as without it (measured: an
 * unlimited poll cost 4-9% of a TCP stream's throughput on two cores).
 */
#include "lib/ev.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"

#define BUSY_SHARE 50		/* poll for at most 1/50 of the time, 2% */
#define BUSY_CREDIT_MAX 2000	/* microseconds saved up while idle */

struct ev_handler {
	int fd;
	uint32_t events;	/* EPOLLIN, maybe EPOLLOUT (for ev_renew) */
	ev_fd_cb cb;
	void *arg;
	struct ev_handler *next;
};

struct ev {
	int epfd;
	bool stop;
	struct ev_handler *handlers;
	struct ev_handler *dead;	/* deleted during a wake-up, freed after it */
	unsigned tick_ms;
	ev_tick_cb tick;
	void *tick_arg;
	uint64_t next_tick;
	unsigned busy_us;	/* poll this long after the last event; 0: off */
	uint64_t busy_until;	/* CLOCK_MONOTONIC, microseconds */
	uint64_t credit;	/* microseconds of polling still allowed */
	uint64_t credit_at;	/* when it was last topped up */
};

struct ev *ev_new(void)
{
	struct ev *ev = calloc(1, sizeof(*ev));

	if (!ev)
		return NULL;
	ev->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (ev->epfd < 0) {
		free(ev);
		return NULL;
	}
	return ev;
}

static void free_list(struct ev_handler *h)
{
	struct ev_handler *n;

	for (; h; h = n) {
		n = h->next;
		free(h);
	}
}

void ev_free(struct ev *ev)
{
	if (!ev)
		return;
	free_list(ev->handlers);
	free_list(ev->dead);
	ev_detach(ev);
	free(ev);
}

int ev_add(struct ev *ev, int fd, ev_fd_cb cb, void *arg)
{
	struct epoll_event e = { .events = EPOLLIN };
	struct ev_handler *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	h->fd = fd;
	h->events = e.events;
	h->cb = cb;
	h->arg = arg;
	e.data.ptr = h;
	if (epoll_ctl(ev->epfd, EPOLL_CTL_ADD, fd, &e) < 0) {
		int err = -errno;

		free(h);
		return err;
	}
	h->next = ev->handlers;
	ev->handlers = h;
	return 0;
}

void ev_del(struct ev *ev, int fd)
{
	struct ev_handler **pp, *h;

	for (pp = &ev->handlers; (h = *pp); pp = &h->next) {
		if (h->fd != fd)
			continue;
		epoll_ctl(ev->epfd, EPOLL_CTL_DEL, fd, NULL);
		*pp = h->next;
		/* Other events of the same epoll_wait batch may still point at
		 * it: park it and free it once the batch is done. */
		h->cb = NULL;
		h->next = ev->dead;
		ev->dead = h;
		return;
	}
}

int ev_set_write(struct ev *ev, int fd, bool on)
{
	struct ev_handler *h;
	struct epoll_event e = { .events = EPOLLIN | (on ? EPOLLOUT : 0) };

	for (h = ev->handlers; h && h->fd != fd; h = h->next)
		;
	if (!h)
		return -ENOENT;
	e.data.ptr = h;
	if (epoll_ctl(ev->epfd, EPOLL_CTL_MOD, fd, &e) < 0)
		return -errno;
	h->events = e.events;
	return 0;
}

void ev_detach(struct ev *ev)
{
	if (ev && ev->epfd >= 0) {
		close(ev->epfd);
		ev->epfd = -1;
	}
}

int ev_renew(struct ev *ev)
{
	struct epoll_event e;
	struct ev_handler *h;

	ev_detach(ev);
	ev->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (ev->epfd < 0)
		return -errno;
	for (h = ev->handlers; h; h = h->next) {
		e.events = h->events;
		e.data.ptr = h;
		if (epoll_ctl(ev->epfd, EPOLL_CTL_ADD, h->fd, &e) < 0)
			return -errno;
	}
	return 0;
}

void ev_set_tick(struct ev *ev, unsigned ms, ev_tick_cb cb, void *arg)
{
	ev->tick_ms = ms;
	ev->tick = cb;
	ev->tick_arg = arg;
	ev->next_tick = now_ms() + ms;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

void ev_set_busy_poll(struct ev *ev, unsigned us)
{
	ev->busy_us = us;
	ev->busy_until = 0;
	ev->credit = 0;
	ev->credit_at = now_us();
}

/* Top the polling credit up for the time since it last was. */
static void credit_refill(struct ev *ev, uint64_t now)
{
	ev->credit += (now - ev->credit_at) / BUSY_SHARE;
	if (ev->credit > BUSY_CREDIT_MAX)
		ev->credit = BUSY_CREDIT_MAX;
	ev->credit_at = now;
}

/* Events that come within busy_until of the last ones, polled for without
 * sleeping while the credit lasts; 0 if none came (or busy polling is
 * off).  One sched_yield after the first empty poll: the peer or the
 * application that this process's packets woke is often queued on this
 * CPU (a synchronous wake-up expects the waker to sleep), and polling
 * on would keep it waiting; measured, polling without it made the round
 * trip slower than not polling.  Only one: under EEVDF each yield pushes
 * this process's deadline a slice later, and yielding at every poll let
 * a CPU-bound neighbour keep it off the CPU for a whole tick when its
 * answer came (one run: p90 4 ms). */
static int busy_poll(struct ev *ev, struct epoll_event *evs, int max)
{
	uint64_t start, now, end;
	bool yielded = false;
	int n = 0;

	if (!ev->busy_until)
		return 0;
	start = now = now_us();
	credit_refill(ev, now);
	end = ev->busy_until < now + ev->credit ? ev->busy_until : now + ev->credit;
	while (now < end) {
		n = epoll_wait(ev->epfd, evs, max, 0);
		if (n != 0)
			break;
		if (!yielded) {
			sched_yield();
			yielded = true;
		}
		now = now_us();
	}
	if (n <= 0)
		ev->busy_until = 0;
	now = now_us();
	ev->credit -= now - start < ev->credit ? now - start : ev->credit;
	return n;
}

void ev_stop(struct ev *ev)
{
	ev->stop = true;
}

int ev_run(struct ev *ev)
{
	struct epoll_event evs[64];
	int n, i, timeout;
	uint64_t now;

	while (!ev->stop) {
		n = busy_poll(ev, evs, 64);
		if (!n) {
			timeout = -1;
			if (ev->tick) {
				now = now_ms();
				timeout = ev->next_tick > now ? (int)(ev->next_tick - now) : 0;
			}
			n = epoll_wait(ev->epfd, evs, 64, timeout);
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (i = 0; i < n && !ev->stop; i++) {
			struct ev_handler *h = evs[i].data.ptr;

			if (h->cb)
				h->cb(h->arg);
		}
		free_list(ev->dead);
		ev->dead = NULL;
		if (n > 0 && ev->busy_us)
			ev->busy_until = now_us() + ev->busy_us;
		if (ev->tick && now_ms() >= ev->next_tick) {
			ev->next_tick = now_ms() + ev->tick_ms;
			ev->tick(ev->tick_arg);
		}
	}
	return 0;
}
