/*
 * buf.h - the one growable write buffer.  Appends never fail silently: an
 * allocation failure marks the buffer bad and later appends are no-ops, so
 * a writer checks once.  Memory is wiped when freed or moved, because these
 * buffers carry key material and decrypted payloads.
 */
#ifndef VTI_BUF_H
#define VTI_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	bool bad;
};

void buf_init(struct buf *b);
void buf_free(struct buf *b);		/* wipes; accepts an untouched buf */
void buf_reset(struct buf *b);		/* len = 0, keeps the memory (wiped) */
bool buf_reserve(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *p, size_t n);
void buf_add_u8(struct buf *b, uint8_t v);
void buf_add_u16(struct buf *b, uint16_t v);
void buf_add_u32(struct buf *b, uint32_t v);
/* Reserve n bytes and return their offset, to back-patch a length later. */
size_t buf_hole(struct buf *b, size_t n);
void buf_patch_u16(struct buf *b, size_t off, uint16_t v);
void buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* NUL-terminated view of a text buffer (the NUL is not counted in len). */
const char *buf_str(struct buf *b);

#endif
