/*
 * cursor.h - bounds-checked read cursor for everything that arrives from
 * outside (packets, messages, files).  A cursor is a pointer and the bytes
 * left; every getter fails instead of reading short, and a failed cursor
 * stays failed so a parser can check once at the end.
 */
#ifndef VTI_CURSOR_H
#define VTI_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cursor {
	const uint8_t *p;
	size_t left;
	bool bad;
};

void cur_init(struct cursor *c, const void *data, size_t len);
bool cur_get_u8(struct cursor *c, uint8_t *v);
bool cur_get_u16(struct cursor *c, uint16_t *v);	/* network order in */
bool cur_get_u32(struct cursor *c, uint32_t *v);
bool cur_get_u64(struct cursor *c, uint64_t *v);
bool cur_get_bytes(struct cursor *c, void *dst, size_t n);
/* Borrow n bytes in place (no copy); NULL on underrun. */
const uint8_t *cur_take(struct cursor *c, size_t n);
bool cur_skip(struct cursor *c, size_t n);
/* Split off a sub-cursor of exactly n bytes (a length-prefixed block). */
bool cur_sub(struct cursor *c, size_t n, struct cursor *sub);
/* True when the cursor never failed and every byte was consumed. */
bool cur_done(const struct cursor *c);

/* Big-endian helpers for fixed headers that were memcpy'd out. */
static inline uint16_t be16_get(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t be32_get(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void be16_put(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void be32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);  p[3] = (uint8_t)v;
}
static inline void be64_put(uint8_t *p, uint64_t v)
{
	be32_put(p, (uint32_t)(v >> 32));
	be32_put(p + 4, (uint32_t)v);
}

#endif
