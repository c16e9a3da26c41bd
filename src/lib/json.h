/*
 * json.h - just enough JSON writing for `vtictl -j`: the caller emits the
 * structure, these helpers escape strings and keep commas right.
 */
#ifndef VTI_JSON_H
#define VTI_JSON_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/buf.h"

struct json {
	struct buf *b;
	bool need_comma;
};

void json_init(struct json *j, struct buf *b);
void json_obj_open(struct json *j, const char *key);	/* key NULL in arrays */
void json_obj_close(struct json *j);
void json_arr_open(struct json *j, const char *key);
void json_arr_close(struct json *j);
void json_str(struct json *j, const char *key, const char *v);	/* v NULL: null */
void json_u64(struct json *j, const char *key, uint64_t v);
void json_bool(struct json *j, const char *key, bool v);
void json_null(struct json *j, const char *key);

#endif
