/*
 * test.h - the unit-test harness: CHECK records a failure with its place
 * and goes on; test_done() prints "N passed, N failed" and sets the exit
 * status that CTest reads.
 */
#ifndef VTI_TEST_H
#define VTI_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include "lib/hex.h"

static int test_pass, test_fail;

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (cond) {                                                    \
			test_pass++;                                           \
		} else {                                                       \
			test_fail++;                                           \
			fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, \
				__LINE__, #cond);                              \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
		}                                                              \
	} while (0)

static inline int test_done(void)
{
	printf("%d passed, %d failed\n", test_pass, test_fail);
	return test_fail ? 1 : 0;
}

/* Decode a hex test vector into a fresh buffer; exits on a bad vector. */
static inline size_t unhex(const char *s, unsigned char *out, size_t cap)
{
	int n = hex_decode(s, out, cap);

	if (n < 0) {
		fprintf(stderr, "bad test vector: %.40s\n", s);
		exit(2);
	}
	return (size_t)n;
}

#endif
