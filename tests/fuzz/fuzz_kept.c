/*
 * fuzz_kept.c - libFuzzer target for the list of interfaces a restart
 * keeps (kept.h): a line the parser accepts is written back and must
 * parse again to the same fields.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vtid/kept.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[KEPT_MAX_LINE + 64], out[KEPT_MAX_LINE + 2];
	struct kept_if k, again;

	if (size >= sizeof(line))
		size = sizeof(line) - 1;
	memcpy(line, data, size);
	line[size] = '\0';
	if (kept_parse(line, &k) < 0)
		return 0;
	if (kept_format(&k, out, sizeof(out)) < 0)
		abort();
	out[strlen(out) - 1] = '\0';
	if (kept_parse(out, &again) < 0 || strcmp(k.name, again.name) ||
	    k.ifindex != again.ifindex || k.id.type != again.id.type || k.id.len != again.id.len ||
	    memcmp(k.id.data, again.id.data, k.id.len))
		abort();
	return 0;
}
