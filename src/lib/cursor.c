/*
 * cursor.c - the one bounds-checked reader every decoder goes through.
 */
#include "lib/cursor.h"

#include <string.h>

void cur_init(struct cursor *c, const void *data, size_t len)
{
	c->p = data;
	c->left = data ? len : 0;
	c->bad = false;
}

const uint8_t *cur_take(struct cursor *c, size_t n)
{
	const uint8_t *p;

	if (c->bad || n > c->left) {
		c->bad = true;
		return NULL;
	}
	p = c->p;
	c->p += n;
	c->left -= n;
	return p;
}

bool cur_get_bytes(struct cursor *c, void *dst, size_t n)
{
	const uint8_t *p = cur_take(c, n);

	if (!p)
		return false;
	if (n)
		memcpy(dst, p, n);
	return true;
}

bool cur_skip(struct cursor *c, size_t n)
{
	return cur_take(c, n) != NULL;
}

bool cur_get_u8(struct cursor *c, uint8_t *v)
{
	const uint8_t *p = cur_take(c, 1);

	if (!p)
		return false;
	*v = p[0];
	return true;
}

bool cur_get_u16(struct cursor *c, uint16_t *v)
{
	const uint8_t *p = cur_take(c, 2);

	if (!p)
		return false;
	*v = be16_get(p);
	return true;
}

bool cur_get_u32(struct cursor *c, uint32_t *v)
{
	const uint8_t *p = cur_take(c, 4);

	if (!p)
		return false;
	*v = be32_get(p);
	return true;
}

bool cur_get_u64(struct cursor *c, uint64_t *v)
{
	const uint8_t *p = cur_take(c, 8);

	if (!p)
		return false;
	*v = (uint64_t)be32_get(p) << 32 | be32_get(p + 4);
	return true;
}

bool cur_sub(struct cursor *c, size_t n, struct cursor *sub)
{
	const uint8_t *p = cur_take(c, n);

	cur_init(sub, p, p ? n : 0);
	sub->bad = (p == NULL);
	return p != NULL;
}

bool cur_done(const struct cursor *c)
{
	return !c->bad && c->left == 0;
}
