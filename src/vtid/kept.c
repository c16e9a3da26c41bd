/*
 * kept.c - the list of interfaces a restart keeps (kept.h).
 *
 * The parent wrote the file, but it sits on disk between two runs: every
 * line is checked as if it came from anyone (bounded, names as the
 * configuration allows them, numbers in range, hex that decodes exactly),
 * and a bad line costs that line only.
 */
#include "vtid/kept.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "lib/hex.h"

/* A decimal number in [min, max], the whole token. */
static int number(const char *tok, long min, long max, long *out)
{
	char *end;
	long v;

	if (!tok || tok[0] < '0' || tok[0] > '9' || strlen(tok) > 10)
		return -EINVAL;
	errno = 0;
	v = strtol(tok, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Lower-case only: what kept_format writes. */
static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int hex_id(const char *tok, struct ike_ident *id)
{
	size_t n = tok ? strlen(tok) : 0;
	size_t i;
	int hi, lo;

	if (!n || n % 2 || n / 2 > sizeof(id->data))
		return -EINVAL;
	for (i = 0; i < n / 2; i++) {
		hi = hex_digit(tok[2 * i]);
		lo = hex_digit(tok[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		id->data[i] = (uint8_t)(hi << 4 | lo);
	}
	id->len = n / 2;
	return 0;
}

int kept_parse(const char *line, struct kept_if *out)
{
	char buf[KEPT_MAX_LINE + 1], *save = NULL, *tok[5];
	size_t n = 0;
	long v;

	memset(out, 0, sizeof(*out));
	if (strlen(line) > KEPT_MAX_LINE)
		return -EINVAL;
	strcpy(buf, line);
	for (tok[n] = strtok_r(buf, " ", &save); tok[n] && n < 4; tok[n] = strtok_r(NULL, " ", &save))
		n++;
	if ((n != 2 && n != 4) || tok[n] || !conf_ifname_ok(tok[0]))
		return -EINVAL;
	strcpy(out->name, tok[0]);
	if (number(tok[1], 1, 0x7fffffff, &v))
		return -EINVAL;
	out->ifindex = (int)v;
	if (n == 2)
		return 0;
	/* RFC 7296 §3.5: ID types are one octet; 0 is reserved. */
	if (number(tok[2], 1, 255, &v) || hex_id(tok[3], &out->id)) {
		memset(out, 0, sizeof(*out));
		return -EINVAL;
	}
	out->id.type = (uint8_t)v;
	return 0;
}

int kept_format(const struct kept_if *k, char *out, size_t len)
{
	size_t used;
	int r;

	r = snprintf(out, len, "%s %d", k->name, k->ifindex);
	if (r < 0 || (size_t)r >= len)
		return -ENOSPC;
	used = (size_t)r;
	if (k->id.type) {
		r = snprintf(out + used, len - used, " %u ", k->id.type);
		if (r < 0 || (size_t)r >= len - used || k->id.len > sizeof(k->id.data) ||
		    len - used - (size_t)r < 2 * k->id.len + 2)
			return -ENOSPC;
		used += (size_t)r;
		hex_encode(k->id.data, k->id.len, out + used);
		used += 2 * k->id.len;
	}
	if (len - used < 2)
		return -ENOSPC;
	out[used++] = '\n';
	out[used] = '\0';
	return (int)used;
}

struct kept_id *kept_id_dup(const struct ike_ident *id)
{
	struct kept_id *k;

	if (!id->type || id->len > sizeof(id->data))
		return NULL;
	k = malloc(sizeof(*k) + id->len);
	if (!k)
		return NULL;
	k->type = id->type;
	k->len = (uint16_t)id->len;
	memcpy(k->data, id->data, id->len);
	return k;
}
