/*
 * buf.c - growable, self-wiping write buffer (see buf.h).
 */
#include "lib/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cursor.h"

void buf_init(struct buf *b)
{
	memset(b, 0, sizeof(*b));
}

void buf_free(struct buf *b)
{
	if (!b)
		return;
	if (b->data) {
		explicit_bzero(b->data, b->cap);
		free(b->data);
	}
	buf_init(b);
}

void buf_reset(struct buf *b)
{
	if (b->data)
		explicit_bzero(b->data, b->len);
	b->len = 0;
	b->bad = false;
}

bool buf_reserve(struct buf *b, size_t extra)
{
	size_t want, cap;
	uint8_t *n;

	if (b->bad)
		return false;
	if (extra > SIZE_MAX / 2 - b->len - 1) {
		b->bad = true;
		return false;
	}
	want = b->len + extra + 1;	/* +1 keeps room for buf_str's NUL */
	if (want <= b->cap)
		return true;
	cap = b->cap ? b->cap : 256;
	while (cap < want)
		cap *= 2;
	/* Not realloc: the old block may hold secrets and must be wiped. */
	n = malloc(cap);
	if (!n) {
		b->bad = true;
		return false;
	}
	if (b->data) {
		memcpy(n, b->data, b->len);
		explicit_bzero(b->data, b->cap);
		free(b->data);
	}
	b->data = n;
	b->cap = cap;
	return true;
}

void buf_add(struct buf *b, const void *p, size_t n)
{
	if (!buf_reserve(b, n))
		return;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
}

void buf_add_u8(struct buf *b, uint8_t v)
{
	buf_add(b, &v, 1);
}

void buf_add_u16(struct buf *b, uint16_t v)
{
	uint8_t t[2];

	be16_put(t, v);
	buf_add(b, t, 2);
}

void buf_add_u32(struct buf *b, uint32_t v)
{
	uint8_t t[4];

	be32_put(t, v);
	buf_add(b, t, 4);
}

size_t buf_hole(struct buf *b, size_t n)
{
	size_t off = b->len;

	if (!buf_reserve(b, n))
		return 0;
	memset(b->data + b->len, 0, n);
	b->len += n;
	return off;
}

void buf_patch_u16(struct buf *b, size_t off, uint16_t v)
{
	if (b->bad || off + 2 > b->len)
		return;
	be16_put(b->data + off, v);
}

void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		b->bad = true;
		return;
	}
	if (!buf_reserve(b, (size_t)n))
		return;
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

const char *buf_str(struct buf *b)
{
	if (!buf_reserve(b, 0))
		return "";
	b->data[b->len] = '\0';
	return (const char *)b->data;
}
