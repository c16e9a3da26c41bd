/*
 * workers.c - the fork-join pool of workers.h.
 *
 * One job at a time, owned by the caller of workers_run.  A thread joins
 * the job under the lock while it is open (active++), claims items with
 * one atomic add each, and leaves (active--).  The caller claims items
 * too; when none is left it closes the job under the lock and waits only
 * for the threads that joined, so a thread that was slow to wake finds the
 * job closed and goes back to sleep without touching it.
 */
#include "lib/workers.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>

#define CHUNK 2			/* items a claim takes */

struct workers {
	pthread_mutex_t lock;
	pthread_cond_t start, done;
	/* The job, under lock (next is claimed without it). */
	workers_fn *fn;
	void *arg;
	unsigned n;
	unsigned long gen;	/* counts jobs */
	bool open, stop;
	unsigned active;	/* threads inside the open job */
	unsigned helped;	/* items the threads ran in this job */
	unsigned next;		/* the next unclaimed item (atomic) */
	unsigned count;		/* threads started */
	struct worker {
		struct workers *w;
		unsigned id;
		pthread_t t;
	} *thr;
};

/* Claim and run items until there are none: the caller's part and each
 * joined thread's.  How many it ran. */
static unsigned drain(struct workers *w, workers_fn *fn, void *arg, unsigned n, unsigned id)
{
	unsigned i, k, ran = 0;

	for (;;) {
		i = __atomic_fetch_add(&w->next, CHUNK, __ATOMIC_RELAXED);
		if (i >= n)
			return ran;
		for (k = i; k < n && k < i + CHUNK; k++, ran++)
			fn(arg, k, id);
	}
}

static void *worker_main(void *p)
{
	struct worker *me = p;
	struct workers *w = me->w;
	unsigned long seen = 0;
	workers_fn *fn;
	void *arg;
	unsigned n, ran;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->stop && !(w->open && w->gen != seen))
			pthread_cond_wait(&w->start, &w->lock);
		if (w->stop)
			break;
		seen = w->gen;
		fn = w->fn;
		arg = w->arg;
		n = w->n;
		w->active++;
		pthread_mutex_unlock(&w->lock);
		ran = drain(w, fn, arg, n, me->id);
		pthread_mutex_lock(&w->lock);
		w->helped += ran;
		if (--w->active == 0)
			pthread_cond_signal(&w->done);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

struct workers *workers_new(unsigned n)
{
	struct workers *w;
	sigset_t all, old;
	unsigned i;
	int r;

	if (n < 1) {
		errno = EINVAL;
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w || !(w->thr = calloc(n, sizeof(*w->thr)))) {
		free(w);
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->start, NULL);
	pthread_cond_init(&w->done, NULL);
	/* glibc gives each thread that allocates an arena of its own; past 8
	 * extra ones it first asks the CPU count (it opens a /sys file), which
	 * a sandboxed process may not do: a limit set here is not asked for. */
	mallopt(M_ARENA_MAX, (int)n + 1);
	/* The threads start with every signal blocked (a thread inherits its
	 * creator's mask): signals stay the event loop's, read by signalfd. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 1, r = 0; i < n && !r; i++) {
		w->thr[i].w = w;
		w->thr[i].id = i;
		r = pthread_create(&w->thr[i].t, NULL, worker_main, &w->thr[i]);
		if (!r)
			w->count = i;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		workers_free(w);
		errno = r;
		return NULL;
	}
	return w;
}

void workers_free(struct workers *w)
{
	unsigned i;

	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_broadcast(&w->start);
	pthread_mutex_unlock(&w->lock);
	for (i = 1; i <= w->count; i++)
		pthread_join(w->thr[i].t, NULL);
	pthread_cond_destroy(&w->start);
	pthread_cond_destroy(&w->done);
	pthread_mutex_destroy(&w->lock);
	free(w->thr);
	free(w);
}

unsigned workers_threads(const struct workers *w)
{
	return w ? w->count + 1 : 1;
}

unsigned workers_run(struct workers *w, workers_fn *fn, void *arg, unsigned n)
{
	unsigned i, helped;

	if (!w || !w->count) {
		for (i = 0; i < n; i++)
			fn(arg, i, 0);
		return 0;
	}
	pthread_mutex_lock(&w->lock);
	w->fn = fn;
	w->arg = arg;
	w->n = n;
	w->next = 0;
	w->helped = 0;
	w->gen++;
	w->open = true;
	pthread_cond_broadcast(&w->start);
	pthread_mutex_unlock(&w->lock);
	drain(w, fn, arg, n, 0);
	pthread_mutex_lock(&w->lock);
	w->open = false;
	while (w->active)
		pthread_cond_wait(&w->done, &w->lock);
	helped = w->helped;
	pthread_mutex_unlock(&w->lock);
	return helped;
}
