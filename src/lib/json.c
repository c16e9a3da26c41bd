/*
 * json.c - minimal JSON writer (see json.h).
 */
#include "lib/json.h"

#include <inttypes.h>

void json_init(struct json *j, struct buf *b)
{
	j->b = b;
	j->need_comma = false;
}

static void put_string(struct buf *b, const char *s)
{
	buf_add_u8(b, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			buf_printf(b, "\\%c", c);
		else if (c < 0x20)
			buf_printf(b, "\\u%04x", c);
		else
			buf_add_u8(b, c);
	}
	buf_add_u8(b, '"');
}

static void key(struct json *j, const char *k)
{
	if (j->need_comma)
		buf_add_u8(j->b, ',');
	if (k) {
		put_string(j->b, k);
		buf_add_u8(j->b, ':');
	}
	j->need_comma = true;
}

void json_obj_open(struct json *j, const char *k)
{
	key(j, k);
	buf_add_u8(j->b, '{');
	j->need_comma = false;
}

void json_obj_close(struct json *j)
{
	buf_add_u8(j->b, '}');
	j->need_comma = true;
}

void json_arr_open(struct json *j, const char *k)
{
	key(j, k);
	buf_add_u8(j->b, '[');
	j->need_comma = false;
}

void json_arr_close(struct json *j)
{
	buf_add_u8(j->b, ']');
	j->need_comma = true;
}

void json_str(struct json *j, const char *k, const char *v)
{
	key(j, k);
	if (v)
		put_string(j->b, v);
	else
		buf_printf(j->b, "null");
}

void json_u64(struct json *j, const char *k, uint64_t v)
{
	key(j, k);
	buf_printf(j->b, "%" PRIu64, v);
}

void json_bool(struct json *j, const char *k, bool v)
{
	key(j, k);
	buf_printf(j->b, "%s", v ? "true" : "false");
}

void json_null(struct json *j, const char *k)
{
	key(j, k);
	buf_printf(j->b, "null");
}
