/*
 * test_buf.c - the write buffer grows, back-patches and formats.
 */
#include "lib/buf.h"
#include "lib/json.h"
#include "test.h"

int main(void)
{
	struct buf b;
	struct json j;
	size_t off, i;

	buf_init(&b);
	buf_add_u8(&b, 0xaa);
	off = buf_hole(&b, 2);
	buf_add_u32(&b, 0x01020304);
	buf_patch_u16(&b, off, (uint16_t)b.len);
	CHECK(b.len == 7, "len %zu", b.len);
	CHECK(b.data[0] == 0xaa && b.data[1] == 0 && b.data[2] == 7, "patched length");
	CHECK(b.data[3] == 1 && b.data[6] == 4, "u32 big-endian");
	buf_patch_u16(&b, 6, 1);	/* would run past the end: ignored */
	CHECK(b.data[6] == 4, "out-of-range patch ignored");

	/* Growth keeps content across many reallocations. */
	for (i = 0; i < 10000; i++)
		buf_add_u8(&b, (uint8_t)i);
	CHECK(b.len == 10007 && !b.bad, "grew to %zu", b.len);
	CHECK(b.data[7 + 9999] == (uint8_t)9999, "content kept");
	buf_free(&b);
	CHECK(b.data == NULL && b.len == 0, "freed");
	buf_free(NULL);

	buf_printf(&b, "%s-%d", "x", 42);
	CHECK(strcmp(buf_str(&b), "x-42") == 0, "printf: %s", buf_str(&b));
	buf_reset(&b);

	json_init(&j, &b);
	json_arr_open(&j, NULL);
	json_obj_open(&j, NULL);
	json_str(&j, "name", "a\"b\\c\n");
	json_u64(&j, "n", 18446744073709551615ULL);
	json_null(&j, "ike");
	json_obj_close(&j);
	json_obj_open(&j, NULL);
	json_bool(&j, "up", true);
	json_obj_close(&j);
	json_arr_close(&j);
	CHECK(strcmp(buf_str(&b), "[{\"name\":\"a\\\"b\\\\c\\u000a\",\"n\":18446744073709551615,"
			       "\"ike\":null},{\"up\":true}]") == 0, "json: %s", buf_str(&b));
	buf_free(&b);
	return test_done();
}
