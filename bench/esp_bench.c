/*
 * esp_bench.c - drives the real esp_encap()/esp_decap() over N packets of
 * one size, for counting instructions per packet under callgrind or
 * perf stat (bench/cycles.sh).  Not a test: it asserts nothing about speed.
 * Usage: esp_bench SUITE COUNT SIZE
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esp/esp.h"
#include "lib/cursor.h"

int main(int argc, char **argv)
{
	static uint8_t key[128];
	struct esp_suite s;
	struct sa *out, *in;
	uint8_t *buf, *pkt, *inner, nh;
	size_t size, plen, ilen;
	long i, n, ok = 0;
	char why[128];

	if (argc != 4 || esp_suite_parse(argv[1], &s, why, sizeof(why)) ||
	    (n = atol(argv[2])) <= 0 || (size = (size_t)atol(argv[3])) < 40 || size > 9000) {
		fprintf(stderr, "usage: esp_bench SUITE COUNT SIZE (40-9000)\n");
		return 2;
	}
	out = sa_new(0x1000, false, &s, key, esp_suite_keymat_len(&s), 0);
	in = sa_new(0x1000, true, &s, key, esp_suite_keymat_len(&s), 1024);
	buf = malloc(ESP_HEADROOM + size + ESP_TAILROOM);
	if (!out || !in || !buf)
		return 1;
	for (i = 0; i < n; i++) {
		inner = buf + ESP_HEADROOM;
		memset(inner, 0x5a, size);
		inner[0] = 0x45;
		be16_put(inner + 2, (uint16_t)size);
		if (esp_encap(out, inner, size, &pkt, &plen) != ESP_OK ||
		    esp_decap(in, pkt, plen, &inner, &ilen, &nh) != ESP_OK)
			break;
		ok++;
	}
	printf("%ld packets of %zu bytes, %s\n", ok, size, argv[1]);
	sa_free(out);
	sa_free(in);
	free(buf);
	return ok == n ? 0 : 1;
}
