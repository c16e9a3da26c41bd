/*
 * test_workers.c - lib/workers.c: every item of a job runs exactly once,
 * on a thread the pool has, and the job is done when workers_run returns;
 * for pools of 1 to 8 threads and jobs of 0 to 1000 items, many jobs in a
 * row (a thread that wakes late must not touch the next job).
 */
#include <stdatomic.h>
#include <string.h>

#include "lib/workers.h"
#include "test.h"

#define ITEMS_MAX 1000

struct job {
	atomic_uint runs[ITEMS_MAX];
	atomic_uint by[8];	/* items per thread */
	unsigned threads;
	atomic_uint bad_thread;
};

static void count(void *arg, unsigned item, unsigned thread)
{
	struct job *j = arg;

	atomic_fetch_add(&j->runs[item], 1);
	if (thread >= j->threads)
		atomic_fetch_add(&j->bad_thread, 1);
	else
		atomic_fetch_add(&j->by[thread], 1);
}

static void each_item_once(void)
{
	static const struct {
		unsigned threads, items, jobs;
	} rows[] = {
		{ 1, 0, 3 }, { 1, 1, 3 }, { 1, 100, 10 },
		{ 2, 0, 100 }, { 2, 1, 500 }, { 2, 3, 500 }, { 2, 128, 500 }, { 2, 1000, 50 },
		{ 3, 7, 500 }, { 4, 128, 300 }, { 8, 9, 300 }, { 8, 1000, 50 },
	};
	static struct job j;
	unsigned r, n, i, wrong, helped, others;

	for (r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		struct workers *w = workers_new(rows[r].threads);

		CHECK(w && workers_threads(w) == rows[r].threads, "pool of %u", rows[r].threads);
		if (!w)
			continue;
		for (n = 0; n < rows[r].jobs; n++) {
			memset(&j, 0, sizeof(j));
			j.threads = rows[r].threads;
			helped = workers_run(w, count, &j, rows[r].items);
			for (i = 0, wrong = 0; i < ITEMS_MAX; i++)
				wrong += atomic_load(&j.runs[i]) != (i < rows[r].items);
			for (i = 1, others = 0; i < 8; i++)
				others += atomic_load(&j.by[i]);
			/* What workers_run says the pool's threads ran. */
			wrong += helped != others;
			if (wrong || atomic_load(&j.bad_thread))
				break;
		}
		CHECK(n == rows[r].jobs, "%u threads, %u items: job %u ran %u items wrongly, "
		      "%u on no thread of the pool", rows[r].threads, rows[r].items, n, wrong,
		      atomic_load(&j.bad_thread));
		workers_free(w);
	}
	workers_free(NULL);
	CHECK(workers_threads(NULL) == 1, "no pool: the caller alone");
	CHECK(!workers_new(0), "a pool of no thread is refused");
}

/* A NULL pool runs the job on the caller. */
static void no_pool(void)
{
	static struct job j;

	memset(&j, 0, sizeof(j));
	j.threads = 1;
	workers_run(NULL, count, &j, 5);
	CHECK(atomic_load(&j.by[0]) == 5 && atomic_load(&j.runs[4]) == 1, "five on the caller");
}

/* An item that takes a few microseconds, as sealing a packet does. */
static void slow(void *arg, unsigned item, unsigned thread)
{
	volatile unsigned x = 0;
	unsigned k;

	for (k = 0; k < 5000; k++)
		x += k;
	(void)x;
	count(arg, item, thread);
}

/* With work worth sharing, the other threads do take part. */
static void shared(void)
{
	static struct job j;
	struct workers *w = workers_new(2);
	unsigned n, helped = 0;

	for (n = 0; w && n < 200 && !helped; n++) {
		memset(&j, 0, sizeof(j));
		j.threads = 2;
		workers_run(w, slow, &j, ITEMS_MAX);
		helped = atomic_load(&j.by[1]);
	}
	CHECK(helped > 0, "the second thread ran items of a 1000-item job (%u jobs)", n);
	workers_free(w);
}

int main(void)
{
	each_item_once();
	no_pool();
	shared();
	return test_done();
}
