/*
 * test_htab.c - the intrusive hash table: lookups through growth, shared
 * keys, deletion (also of a node never added), and keyed byte hashing.
 */
#include "lib/htab.h"
#include "test.h"

struct item {
	int id;
	struct hnode h;
};

#define N 5000

static unsigned count_key(const struct htab *t, uint64_t key)
{
	struct hnode *n;
	unsigned k = 0;

	for (n = htab_first(t, key); n; n = htab_next(n))
		k++;
	return k;
}

int main(void)
{
	static struct item it[N];
	struct htab t, u;
	struct item lone = { .id = -1 };
	struct hnode *n;
	unsigned i, ok = 0;
	uint8_t a[16] = { 192, 0, 2, 1 }, b[16] = { 192, 0, 2, 2 };

	CHECK(htab_init(&t) == 0, "init");
	for (i = 0; i < N; i++) {
		it[i].id = (int)i;
		/* keys 0..N/2-1, each twice: shared keys and many grows */
		CHECK(htab_add(&t, &it[i].h, i / 2) == 0, "add %u", i);
	}
	CHECK(t.n == N && t.mask + 1 >= N, "grew: %zu nodes in %zu buckets", t.n, t.mask + 1);
	for (i = 0; i < N / 2; i++)
		ok += count_key(&t, i) == 2;
	CHECK(ok == N / 2, "every key found twice after growth (%u)", ok);
	CHECK(count_key(&t, N) == 0, "an absent key finds nothing");
	for (i = 0; i < N; i += 2)
		htab_del(&t, &it[i].h);
	htab_del(&t, &lone.h);	/* never added: no harm */
	htab_del(&t, &it[0].h);	/* twice: no harm */
	CHECK(t.n == N / 2, "half deleted (%zu)", t.n);
	ok = 0;
	for (i = 0; i < N / 2; i++) {
		n = htab_first(&t, i);
		ok += n && htab_entry(n, struct item, h)->id == (int)(2 * i + 1) && !htab_next(n);
	}
	CHECK(ok == N / 2, "the odd ones left, one per key (%u)", ok);
	CHECK(htab_key(&t, a, 4) != htab_key(&t, b, 4) && htab_key(&t, a, 4) == htab_key(&t, a, 4) &&
	      htab_key(&t, a, 4) != htab_key(&t, a, 16), "byte keys: stable, distinct, length counts");
	CHECK(htab_init(&u) == 0 && htab_key(&t, a, 4) != htab_key(&u, a, 4),
	      "byte keys depend on the table's seed");
	htab_free(&t);
	htab_free(&u);
	CHECK(htab_first(&t, 1) == NULL, "a freed table finds nothing");
	return test_done();
}
