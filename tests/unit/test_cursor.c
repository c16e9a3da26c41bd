/*
 * test_cursor.c - the read cursor never reads past its end, and a
 * sub-cursor must be consumed exactly.
 */
#include <stdint.h>

#include "lib/cursor.h"
#include "test.h"

static const uint8_t data[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09 };

enum op { U8, U16, U32, U64, SKIP, SUB };

struct step {
	enum op op;
	size_t n;		/* for SKIP and SUB */
	bool ok;
	uint64_t value;
	size_t left;		/* after the step */
};

static const struct {
	const char *name;
	size_t len;
	struct step steps[5];
	int nsteps;
	bool done;
} cases[] = {
	{ "1 u8 u16 u32", 9, { { U8, 0, true, 0x01, 8 }, { U16, 0, true, 0x0203, 6 },
			       { U32, 0, true, 0x04050607, 2 } }, 3, false },
	{ "2 u64 from 9", 9, { { U64, 0, true, 0x0102030405060708ULL, 1 },
			       { U8, 0, true, 0x09, 0 } }, 2, true },
	{ "3 u32 from 3 fails", 3, { { U32, 0, false, 0, 3 } }, 1, false },
	{ "4 failure is sticky", 9, { { SKIP, 10, false, 0, 9 }, { U8, 0, false, 0, 9 } }, 2, false },
	{ "5 skip exactly to end", 4, { { SKIP, 4, true, 0, 0 } }, 1, true },
	{ "6 u16 on 1 byte", 1, { { U16, 0, false, 0, 1 } }, 1, false },
	{ "7 empty is done", 0, { { SKIP, 0, true, 0, 0 } }, 1, true },
	{ "8 sub of 4 then rest", 9, { { SUB, 4, true, 0, 5 }, { SKIP, 5, true, 0, 0 } }, 2, true },
	{ "9 sub longer than data", 3, { { SUB, 4, false, 0, 3 } }, 1, false },
};

static void sub_must_be_exact(void)
{
	struct cursor c, s;
	uint16_t v;
	uint8_t b;

	cur_init(&c, data, sizeof(data));
	CHECK(cur_sub(&c, 3, &s), "sub");
	CHECK(cur_get_u16(&s, &v) && v == 0x0102, "first field");
	CHECK(!cur_done(&s), "one byte left in the sub-cursor is not done");
	CHECK(cur_get_u8(&s, &b) && cur_done(&s), "consumed exactly");
	CHECK(!cur_get_u8(&s, &b), "a sub-cursor stops at its own end");
	CHECK(c.left == 6, "parent advanced by the sub length");
}

int main(void)
{
	size_t i;
	int j;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cursor c, sub;

		cur_init(&c, data, cases[i].len);
		for (j = 0; j < cases[i].nsteps; j++) {
			const struct step *s = &cases[i].steps[j];
			uint8_t v8 = 0;
			uint16_t v16 = 0;
			uint32_t v32 = 0;
			uint64_t v64 = 0, got = 0;
			bool ok = false;

			switch (s->op) {
			case U8: ok = cur_get_u8(&c, &v8); got = v8; break;
			case U16: ok = cur_get_u16(&c, &v16); got = v16; break;
			case U32: ok = cur_get_u32(&c, &v32); got = v32; break;
			case U64: ok = cur_get_u64(&c, &v64); got = v64; break;
			case SKIP: ok = cur_skip(&c, s->n); break;
			case SUB: ok = cur_sub(&c, s->n, &sub); break;
			}
			CHECK(ok == s->ok, "case %s step %d: result", cases[i].name, j);
			if (ok && s->op <= U64)
				CHECK(got == s->value, "case %s step %d: value %llx", cases[i].name,
				      j, (unsigned long long)got);
			CHECK(c.left == s->left, "case %s step %d: left %zu", cases[i].name, j,
			      c.left);
		}
		CHECK(cur_done(&c) == cases[i].done, "case %s: done", cases[i].name);
	}
	sub_must_be_exact();
	return test_done();
}
