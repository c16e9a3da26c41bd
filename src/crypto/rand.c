/*
 * rand.c - randomness through OpenSSL's DRBG, replaceable in tests so that
 * a packet or an exchange can be checked byte for byte.
 */
#include "crypto/cipher.h"

#include <errno.h>
#include <limits.h>

#include <openssl/rand.h>

static rand_fn source;

void rand_set_source(rand_fn fn)
{
	source = fn;
}

int rand_bytes(uint8_t *out, size_t n)
{
	if (source)
		return source(out, n);
	if (n > INT_MAX || RAND_bytes(out, (int)n) != 1)
		return -EIO;
	return 0;
}
