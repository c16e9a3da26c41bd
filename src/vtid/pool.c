/*
 * pool.c - see pool.h.  An address is the pool's prefix plus an index, the
 * same index in both families, so a peer's IPv4 and IPv6 addresses end
 * alike (10.128.0.7 and fd00:128::7) and one lease serves both.
 */
#include "vtid/pool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct pool_lease {
	struct hnode node;
	struct pool_lease *prev, *next;	/* on the idle list, when released */
	uint64_t index;
	bool idle;
	size_t idlen;
	uint8_t id[];
};

/* Host indices a prefix holds: IPv4 leaves out its network and broadcast
 * addresses; IPv6 only its subnet-router anycast address (index 0), and
 * stops at 2^32, more than any hub will hold. */
static uint64_t capacity(const struct prefix *net)
{
	unsigned host = (net->addr.family == AF_INET ? 32u : 128u) - net->len;

	if (net->addr.family == AF_INET)
		return host >= 32 ? 0 : (1ULL << host) - 2;
	return host >= 32 ? 1ULL << 32 : (1ULL << host) - 1;
}

static void address_at(const struct prefix *net, uint64_t index, struct prefix *out)
{
	size_t alen = addr_len(net->addr.family), i;
	uint64_t carry = index;

	*out = *net;
	for (i = alen; i-- > 0 && carry;) {
		carry += out->addr.a[i];
		out->addr.a[i] = (uint8_t)carry;
		carry >>= 8;
	}
}

static bool is_own(const struct pool *p, uint64_t index)
{
	struct prefix a;
	unsigned i, j;

	for (i = 0; i < p->n; i++) {
		address_at(&p->net[i], index, &a);
		for (j = 0; j < p->n_own; j++)
			if (addr_equal(&a.addr, &p->own[j].addr))
				return true;
	}
	return false;
}

int pool_init(struct pool *p, const struct prefix *net, unsigned n, const struct prefix *own,
	      unsigned n_own)
{
	unsigned i;

	memset(p, 0, sizeof(*p));
	if (n > 2 || n_own > POOL_MAX_OWN)
		return -EINVAL;
	p->n = n;
	memcpy(p->net, net, n * sizeof(*net));
	p->n_own = n_own;
	memcpy(p->own, own, n_own * sizeof(*own));
	p->size = UINT64_MAX;
	for (i = 0; i < n; i++)
		if (capacity(&net[i]) < p->size)
			p->size = capacity(&net[i]);
	if (!n)
		p->size = 0;
	p->next = 1;
	return htab_init(&p->by_id);
}

static void idle_unlink(struct pool *p, struct pool_lease *l)
{
	if (!l->idle)
		return;
	if (l->prev)
		l->prev->next = l->next;
	else
		p->idle_head = l->next;
	if (l->next)
		l->next->prev = l->prev;
	else
		p->idle_tail = l->prev;
	l->prev = l->next = NULL;
	l->idle = false;
}

void pool_free(struct pool *p)
{
	struct pool_lease *l;
	size_t b;

	if (!p->by_id.b)
		return;
	for (b = 0; b <= p->by_id.mask; b++)
		while (p->by_id.b[b]) {
			l = htab_entry(p->by_id.b[b], struct pool_lease, node);
			htab_del(&p->by_id, &l->node);
			free(l);
		}
	htab_free(&p->by_id);
	memset(p, 0, sizeof(*p));
}

static struct pool_lease *find(const struct pool *p, const uint8_t *id, size_t idlen)
{
	struct hnode *h;

	for (h = htab_first(&p->by_id, htab_key(&p->by_id, id, idlen)); h; h = htab_next(h)) {
		struct pool_lease *l = htab_entry(h, struct pool_lease, node);

		if (l->idlen == idlen && !memcmp(l->id, id, idlen))
			return l;
	}
	return NULL;
}

/* An index for a newcomer: one never given, else the longest idle one's. */
static bool take_index(struct pool *p, uint64_t *index)
{
	struct pool_lease *old;

	while (p->next <= p->size && is_own(p, p->next))
		p->next++;
	if (p->next <= p->size) {
		*index = p->next++;
		return true;
	}
	old = p->idle_head;
	if (!old)
		return false;
	*index = old->index;
	idle_unlink(p, old);
	htab_del(&p->by_id, &old->node);
	free(old);
	p->leases--;
	return true;
}

unsigned pool_lease(struct pool *p, const uint8_t *id, size_t idlen, bool want4, bool want6,
		    struct prefix *out)
{
	struct pool_lease *l = find(p, id, idlen);
	uint64_t index;
	unsigned i, n = 0;

	if (!l) {
		if (!take_index(p, &index))
			return 0;
		l = calloc(1, sizeof(*l) + idlen);
		if (!l)
			return 0;
		l->index = index;
		l->idlen = idlen;
		memcpy(l->id, id, idlen);
		if (htab_add(&p->by_id, &l->node, htab_key(&p->by_id, id, idlen))) {
			free(l);
			return 0;
		}
		p->leases++;
	}
	idle_unlink(p, l);
	for (i = 0; i < p->n; i++)
		if ((p->net[i].addr.family == AF_INET && want4) ||
		    (p->net[i].addr.family == AF_INET6 && want6))
			address_at(&p->net[i], l->index, &out[n++]);
	return n;
}

void pool_release(struct pool *p, const uint8_t *id, size_t idlen)
{
	struct pool_lease *l = find(p, id, idlen);

	if (!l || l->idle)
		return;
	l->idle = true;
	l->prev = p->idle_tail;
	l->next = NULL;
	if (p->idle_tail)
		p->idle_tail->next = l;
	else
		p->idle_head = l;
	p->idle_tail = l;
}
