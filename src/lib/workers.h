/*
 * workers.h - a fork-join pool for the datapath's crypto: the calling
 * thread hands out the items of one burst to itself and to a few threads,
 * and goes on once every item is done.
 *
 * This is how WireGuard spreads one peer over many cores: packets are
 * numbered and framed in order by one thread, encrypted on any core, and
 * leave in the order they were numbered.  Here the burst is the unit: the
 * event loop numbers a burst's ESP packets (sequence numbers, headers),
 * workers_run seals them in parallel, the loop sends them in order; on the
 * way in, the loop looks a burst up and pre-checks it, workers_run checks
 * the ICVs and decrypts, the loop moves the replay windows and delivers in
 * arrival order.  The workers touch nothing but the items and the
 * per-thread cipher contexts each is handed; everything else (the SA
 * table, counters, replay windows) stays with the loop, which does nothing
 * else while a burst runs.
 */
#ifndef VTI_WORKERS_H
#define VTI_WORKERS_H

struct workers;

/* fn(arg, item, thread): thread 0 is the caller, 1.. the pool's threads. */
typedef void workers_fn(void *arg, unsigned item, unsigned thread);

/* A pool of n threads in all, the caller counted: n - 1 are started.  NULL
 * with errno set if a thread could not be started (none is left).  Sets
 * the process's malloc arena limit (M_ARENA_MAX) to n + 1. */
struct workers *workers_new(unsigned n);
/* Stop and join the threads.  NULL is fine. */
void workers_free(struct workers *w);
/* How many threads run a job: the caller and the pool's (1 for NULL). */
unsigned workers_threads(const struct workers *w);
/*
 * fn for every item in [0, n), each once, on the caller and whichever
 * threads wake in time; returns when all are done, with how many of them
 * the pool's threads ran (the rest ran on the caller).  Items are claimed
 * a few at a time, so a thread that wakes late finds less to do and a
 * thread that does not wake at all is not waited for.
 */
unsigned workers_run(struct workers *w, workers_fn *fn, void *arg, unsigned n);

#endif
