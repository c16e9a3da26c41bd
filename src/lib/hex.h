/*
 * hex.h - hex strings for keys in the config and for test vectors.
 */
#ifndef VTI_HEX_H
#define VTI_HEX_H

#include <stddef.h>
#include <stdint.h>

/*
 * Decode "0x..." or plain hex; spaces and ':' between byte pairs are
 * allowed (so RFC test vectors can be pasted).  Returns the number of bytes
 * or -EINVAL (bad digit, odd count) / -ENOSPC (more than cap bytes).
 */
int hex_decode(const char *s, uint8_t *out, size_t cap);
void hex_encode(const uint8_t *in, size_t n, char *out /* 2n+1 */);

#endif
