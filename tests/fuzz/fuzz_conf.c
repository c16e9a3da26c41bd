/*
 * fuzz_conf.c - libFuzzer target for the configuration parser.
 */
#include <stdint.h>

#include "conf/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf c;
	struct buf errors;

	buf_init(&errors);
	conf_parse("fuzz.conf", (const char *)data, size, &c, &errors);
	conf_free(&c);
	buf_free(&errors);
	return 0;
}
