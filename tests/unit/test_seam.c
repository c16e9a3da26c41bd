/*
 * test_seam.c - IKE through its seam alone (ike.h struct ike_conn_ops):
 * two engines run in memory (tests/inmem.h) with a small implementation
 * of the callbacks and no daemon, and each callback is checked for what
 * it is told and when: Child SAs installed with crossed SPIs and removed
 * when replaced, the selectors agreed, connecting and down, the reason
 * for closing (and "dead"), the IKE SA's rekey, a DELETE.  It includes
 * nothing of src/vtid itself (it still links the library and fills the
 * policy from src/conf); unit_seam_includes checks that src/ike includes
 * nothing from either.
 */
#include "inmem.h"
#include "test.h"

/* Does node i hold an inbound SA with this SPI? */
static bool has_in(int i, uint32_t spi)
{
	unsigned k;

	for (k = 0; k < INMEM_PAIRS; k++)
		if (nodes[i].in[k] && nodes[i].in[k]->spi == spi)
			return true;
	return false;
}

/* Both up, each with one Child SA whose halves cross the other's. */
static bool crossed(void)
{
	const struct node *a = &nodes[0], *b = &nodes[1];

	return a->active && b->active && a->state == IKE_CONN_UP && b->state == IKE_CONN_UP &&
	       has_in(1, a->active->spi) && has_in(0, b->active->spi) &&
	       a->installs - a->removes == 1 && b->installs - b->removes == 1;
}

static void t_establish(void)
{
	setup("psk = seam-secret\n", "psk = seam-secret\n");
	CHECK(nodes[0].state == IKE_CONN_DOWN, "nothing before the timer");
	ike_tick(nodes[0].ike);
	CHECK(nodes[0].state == IKE_CONN_CONNECTING, "connecting once IKE_SA_INIT is out");
	settle();
	CHECK(crossed(), "established: one crossed pair each");
	CHECK(nodes[0].n_ts_local == 2 && nodes[0].n_ts_remote == 2 && nodes[1].n_ts_local == 2,
	      "selectors told (%u/%u)", nodes[0].n_ts_local, nodes[0].n_ts_remote);
	CHECK(nodes[0].installs == 1 && nodes[1].installs == 1 && !nodes[0].removes,
	      "one install each");
	teardown();
}

static void t_rekeys(void)
{
	uint32_t old_in;

	setup("psk = seam-rekey\n", "psk = seam-rekey\n");
	settle();
	old_in = nodes[0].in[0]->spi;
	CHECK(ike_conn_rekey(nodes[0].conn, false) == 0, "child rekey by a");
	settle();
	CHECK(crossed() && nodes[0].installs == 2 && nodes[0].removes == 1 &&
	      nodes[1].installs == 2 && nodes[1].removes == 1, "replaced: installed, then removed");
	CHECK(!has_in(0, old_in), "the old pair is gone");
	CHECK(ike_conn_rekey(nodes[1].conn, true) == 0, "IKE rekey by b");
	settle();
	CHECK(nodes[0].ike_rekeys == 1 && nodes[1].ike_rekeys == 1 && crossed() && sas(0) == 1,
	      "IKE SA re-keyed: both told, the Child SA kept");
	teardown();
}

static void t_failures(void)
{
	setup("psk = seam-one\n", "psk = seam-two\n");
	settle();
	CHECK(nodes[0].state == IKE_CONN_DOWN && !nodes[0].installs && !nodes[1].installs,
	      "wrong psk: down, nothing installed");
	CHECK(strstr(nodes[0].why, "AUTHENTICATION_FAILED") != NULL, "reason: %s", nodes[0].why);
	CHECK(nodes[0].conn->reinit_at > fake_now, "initiation again after a back-off");
	teardown();
}

static void t_dead_and_delete(void)
{
	setup("psk = seam-dpd\ndpd = 1\ndpd-timeout = 3\n", "psk = seam-dpd\n");
	settle();
	CHECK(crossed(), "up");
	advance(1100);
	qlen = 0;		/* b is gone: nothing arrives from now on */
	advance(2000);
	qlen = 0;
	advance(1500);
	CHECK(nodes[0].deaths == 1 && !strcmp(nodes[0].why, "peer dead") &&
	      nodes[0].state != IKE_CONN_UP && nodes[0].installs == nodes[0].removes,
	      "dead: told once, the pair removed (%s)", nodes[0].why);
	teardown();

	setup("psk = seam-delete\n", "psk = seam-delete\n");
	settle();
	ike_conn_down(nodes[0].conn);
	CHECK(nodes[0].state == IKE_CONN_DOWN && nodes[0].installs == nodes[0].removes,
	      "down: the pair removed");
	settle();
	CHECK(nodes[1].installs == nodes[1].removes && nodes[1].state == IKE_CONN_DOWN &&
	      sas(1) == 0, "the peer's DELETE removed b's pair too");
	advance(60000);
	CHECK(qlen == 0 && sas(0) == 0, "down stays down");
	ike_conn_up(nodes[0].conn);
	settle();
	CHECK(crossed(), "up again");
	teardown();
}

int main(void)
{
	clock_set_source(fake_clock);
	log_set_level(LOG_ERR);
	t_establish();
	t_rekeys();
	t_failures();
	t_dead_and_delete();
	return test_done();
}
