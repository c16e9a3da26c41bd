/*
 * test_kept.c - the list of interfaces a restart keeps (kept.h): a
 * numbered table of lines, each accepted with what it must give or
 * refused, and every accepted line written back byte for byte.
 */
#include <stdint.h>

#include "test.h"
#include "vtid/kept.h"

struct row {
	int no;
	const char *line;
	int ok;			/* 1: accepted */
	const char *name;
	int ifindex;
	uint8_t type;
	const char *hex;	/* the identity's data */
};

static const struct row rows[] = {
	{ 1, "ta 5", 1, "ta", 5, 0, "" },
	{ 2, "br12 7 2 62322e6272616e636865732e6578616d706c65", 1, "br12", 7, 2,
	  "62322e6272616e636865732e6578616d706c65" },		/* ID_FQDN b2.branches.example */
	{ 3, "br0 2147483647 1 c0000201", 1, "br0", 2147483647, 1, "c0000201" },
	{ 4, "", 0, NULL, 0, 0, NULL },
	{ 5, "ta", 0, NULL, 0, 0, NULL },			/* no ifindex */
	{ 6, "ta 0", 0, NULL, 0, 0, NULL },			/* ifindex from 1 */
	{ 7, "ta -5", 0, NULL, 0, 0, NULL },
	{ 8, "ta 2147483648", 0, NULL, 0, 0, NULL },		/* above INT_MAX */
	{ 9, "ta 5x", 0, NULL, 0, 0, NULL },
	{ 10, "ta 5 2", 0, NULL, 0, 0, NULL },			/* a type without data */
	{ 11, "ta 5 2 6162 extra", 0, NULL, 0, 0, NULL },
	{ 12, "ta 5 0 6162", 0, NULL, 0, 0, NULL },		/* type 0 is reserved */
	{ 13, "ta 5 256 6162", 0, NULL, 0, 0, NULL },		/* one octet */
	{ 14, "ta 5 2 616", 0, NULL, 0, 0, NULL },		/* odd hex */
	{ 15, "ta 5 2 61zz", 0, NULL, 0, 0, NULL },
	{ 16, "ta 5 2 6A62", 0, NULL, 0, 0, NULL },		/* only what we write */
	{ 17, "0123456789abcdef 5", 0, NULL, 0, 0, NULL },	/* 16 characters */
	{ 18, "../etc 5", 0, NULL, 0, 0, NULL },
	{ 19, "t/a 5", 0, NULL, 0, 0, NULL },
	{ 20, "ta  5", 1, "ta", 5, 0, "" },			/* spaces collapse */
};

/* A line one byte longer than KEPT_MAX_LINE, and an identity of 257 bytes. */
static void long_lines(void)
{
	static char line[KEPT_MAX_LINE + 64];
	struct kept_if k;
	size_t i, n;

	n = (size_t)snprintf(line, sizeof(line), "br0 7 2 ");
	for (i = 0; i < IKE_ID_MAX + 1; i++, n += 2)
		memcpy(line + n, "61", 3);
	CHECK(kept_parse(line, &k) == -EINVAL, "an identity over IKE_ID_MAX");
	memset(line, 'a', KEPT_MAX_LINE + 1);
	line[KEPT_MAX_LINE + 1] = '\0';
	CHECK(kept_parse(line, &k) == -EINVAL, "a line over KEPT_MAX_LINE");
	/* The longest identity round-trips within KEPT_MAX_LINE. */
	memset(&k, 0, sizeof(k));
	memcpy(k.name, "abcdefghij99999", 16);
	k.ifindex = 2147483647;
	k.id.type = 255;
	k.id.len = IKE_ID_MAX;
	memset(k.id.data, 0xab, IKE_ID_MAX);
	n = (size_t)kept_format(&k, line, sizeof(line));
	CHECK(n > 0 && n <= KEPT_MAX_LINE + 1, "longest line: %zu", n);
}

int main(void)
{
	char out[KEPT_MAX_LINE + 2], expect[KEPT_MAX_LINE + 2];
	uint8_t data[IKE_ID_MAX];
	struct kept_if k;
	size_t i, n;
	int r;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *w = &rows[i];

		r = kept_parse(w->line, &k);
		CHECK((r == 0) == w->ok, "row %d '%s': %d", w->no, w->line, r);
		if (r || !w->ok)
			continue;
		n = w->hex[0] ? unhex(w->hex, data, sizeof(data)) : 0;
		CHECK(!strcmp(k.name, w->name) && k.ifindex == w->ifindex && k.id.type == w->type &&
		      k.id.len == n && !memcmp(k.id.data, data, n), "row %d: fields", w->no);
		r = kept_format(&k, out, sizeof(out));
		if (w->type)
			snprintf(expect, sizeof(expect), "%s %d %u %s\n", w->name, w->ifindex, w->type,
				 w->hex);
		else
			snprintf(expect, sizeof(expect), "%s %d\n", w->name, w->ifindex);
		CHECK(r == (int)strlen(expect) && !strcmp(out, expect), "row %d: wrote '%s'", w->no,
		      out);
	}
	r = kept_format(&(struct kept_if){ .name = "ta", .ifindex = 5 }, out, 5);
	CHECK(r == -ENOSPC, "a short buffer: %d", r);
	long_lines();
	return test_done();
}
