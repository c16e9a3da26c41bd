/*
 * test_pool.c - addresses for peers that ask (vtid/pool.c): in order,
 * around the hub's own addresses, the same ones for an identity that
 * comes back, and, when all are given, those idle longest go first.
 */
#include <sys/socket.h>

#include "test.h"
#include "vtid/pool.h"

static const char *lease(struct pool *p, const char *id, bool w4, bool w6, char *out, size_t n)
{
	struct prefix a[2];
	char s[PREFIX_STRLEN];
	unsigned k, got = pool_lease(p, (const uint8_t *)id, strlen(id), w4, w6, a);

	out[0] = '\0';
	for (k = 0; k < got; k++)
		snprintf(out + strlen(out), n - strlen(out), "%s%s", k ? "," : "",
			 prefix_str(&a[k], s, sizeof(s)));
	return got ? out : "none";
}

static void release(struct pool *p, const char *id)
{
	pool_release(p, (const uint8_t *)id, strlen(id));
}

static void init(struct pool *p, const char *nets, const char *own)
{
	struct prefix net[2], mine[2];
	char buf[128], *s, *save = NULL;
	unsigned n = 0, m = 0;

	snprintf(buf, sizeof(buf), "%s", nets);
	for (s = strtok_r(buf, " ", &save); s; s = strtok_r(NULL, " ", &save))
		CHECK(!prefix_parse(s, &net[n++]), "pool %s", s);
	snprintf(buf, sizeof(buf), "%s", own);
	for (s = strtok_r(buf, " ", &save); s; s = strtok_r(NULL, " ", &save))
		CHECK(!ifaddr_parse(s, &mine[m++]), "own %s", s);
	CHECK(!pool_init(p, net, n, mine, m), "pool_init %s", nets);
}

static void steps(void)
{
	static const struct {
		char op;		/* L: lease, R: release, 4/6: lease one family */
		const char *id, *want;
	} seq[] = {
		/* the hub holds .1 and ::1: the first peer gets .2 and ::2 */
		{ 'L', "branch-a", "10.128.0.2/29,fd00:128::2/64" },
		{ 'L', "branch-b", "10.128.0.3/29,fd00:128::3/64" },
		{ 'L', "branch-a", "10.128.0.2/29,fd00:128::2/64" },	/* the same again */
		{ '4', "branch-c", "10.128.0.4/29" },			/* one family */
		{ '6', "branch-c", "fd00:128::4/64" },
		{ 'L', "branch-d", "10.128.0.5/29,fd00:128::5/64" },
		{ 'L', "branch-e", "10.128.0.6/29,fd00:128::6/64" },	/* .7: broadcast */
		{ 'L', "branch-f", "none" },				/* all given */
		{ 'R', "branch-b", "" },
		{ 'R', "branch-d", "" },
		{ 'L', "branch-b", "10.128.0.3/29,fd00:128::3/64" },	/* back: its own */
		{ 'L', "branch-f", "10.128.0.5/29,fd00:128::5/64" },	/* d's: idle longest */
		{ 'L', "branch-d", "none" },				/* d lost it */
		{ 'R', "never-seen", "" },				/* harmless */
	};
	struct pool p;
	char out[128];
	const char *got;
	size_t i;

	init(&p, "10.128.0.0/29 fd00:128::/64", "10.128.0.1/29 fd00:128::1/64");
	for (i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
		if (seq[i].op == 'R') {
			release(&p, seq[i].id);
			continue;
		}
		got = lease(&p, seq[i].id, seq[i].op != '6', seq[i].op != '4', out, sizeof(out));
		CHECK(!strcmp(got, seq[i].want), "step %zu %c %s: got %s, want %s", i, seq[i].op,
		      seq[i].id, got, seq[i].want);
	}
	pool_free(&p);
}

static void shapes(void)
{
	static const struct {
		const char *nets, *own, *id;
		bool w4, w6;
		const char *want;
	} cases[] = {
		{ "10.0.0.0/30", "", "x", true, true, "10.0.0.1/30" },
		{ "10.0.0.0/30", "10.0.0.1/30 10.0.0.2/30", "x", true, true, "none" },
		{ "fd00::/126", "", "x", true, true, "fd00::1/126" },
		{ "10.0.0.0/24", "", "x", false, true, "none" },	/* no IPv6 in it */
		{ "10.1.255.0/16", "", "x", true, false, "10.1.0.1/16" },	/* host bits cleared */
	};
	struct pool p;
	char out[128];
	const char *got;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		init(&p, cases[i].nets, cases[i].own);
		got = lease(&p, cases[i].id, cases[i].w4, cases[i].w6, out, sizeof(out));
		CHECK(!strcmp(got, cases[i].want), "%s: got %s, want %s", cases[i].nets, got,
		      cases[i].want);
		pool_free(&p);
	}
}

/* Past 256 addresses the carry reaches the next byte; 4,000 leases come
 * and go without a cost that grows. */
static void many(void)
{
	struct pool p;
	char id[32], out[128];
	unsigned i;

	init(&p, "10.128.0.0/17", "10.128.0.1/17");
	for (i = 0; i < 4000; i++) {
		snprintf(id, sizeof(id), "branch-%u", i);
		lease(&p, id, true, false, out, sizeof(out));
	}
	CHECK(!strcmp(out, "10.128.15.161/17"), "the 4,000th: %s", out);
	CHECK(!strcmp(lease(&p, "branch-254", true, false, out, sizeof(out)), "10.128.1.0/17"),
	      "the 255th (index 256): %s", out);
	CHECK(p.leases == 4000, "%zu leases", p.leases);
	pool_free(&p);
}

int main(void)
{
	steps();
	shapes();
	many();
	return test_done();
}
