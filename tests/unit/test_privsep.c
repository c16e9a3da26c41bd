/*
 * test_privsep.c - the privileged parent's checks, driven from the real
 * network process: requests for interfaces, MTUs and addresses that are
 * not vti's own are refused, malformed messages are answered with an error
 * and change nothing, and the auth process signs AUTH octets with a
 * tunnel's PSK (checked against ike_psk_sign with the PSK the test knows)
 * while the network process's configuration holds only a fingerprint.
 *
 * Needs root and the user from the file's [daemon] user; run inside a
 * network namespace (tests/net/privsep.sh does), since it creates a TUN
 * device.  Usage: test_privsep CONF PSK
 */
#include <errno.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crypto/prf.h"
#include "ike/keys.h"
#include "vtid/hwm.h"
#include "vtid/privsep.h"
#include "test.h"

/* The wire format of privsep.c's messages, for hand-made bad ones. */
struct hdr {
	uint16_t type, zero;
	uint32_t len;
};

#define PS_STATUS 6

/* The parent's answer to a bad message: a status carrying -EBADMSG. */
static bool refused(int fd)
{
	uint8_t buf[8192];
	struct hdr h;
	int32_t err;
	ssize_t n = recv(fd, buf, sizeof(buf), 0);

	if (n < (ssize_t)(sizeof(h) + sizeof(err)))
		return false;
	memcpy(&h, buf, sizeof(h));
	memcpy(&err, buf + sizeof(h), sizeof(err));
	return h.type == PS_STATUS && err == -EBADMSG;
}

static void bad_messages(int ifindex)
{
	int fd = ps_parent_fd();
	struct hdr h = { .type = 1, .len = 3 };	/* a TUN request 3 bytes long */
	uint8_t msg[sizeof(h) + 3] = { 0 };

	memcpy(msg, &h, sizeof(h));
	CHECK(write(fd, "xx", 2) == 2 && refused(fd), "garbage answered with EBADMSG");
	CHECK(write(fd, msg, sizeof(msg)) == (ssize_t)sizeof(msg) && refused(fd),
	      "short request answered with EBADMSG");
	h.len = 1;	/* the header says 1, the datagram carries 3 */
	memcpy(msg, &h, sizeof(h));
	CHECK(write(fd, msg, sizeof(msg)) == (ssize_t)sizeof(msg) && refused(fd),
	      "lying length answered with EBADMSG");
	CHECK(ps_netif_setup(ifindex, 1400) == 0, "and the parent still serves requests");
}

static void auth(const struct conf *c, const char *psk)
{
	static const uint8_t octets[] = "signed octets: an IKE_SA_INIT message, a nonce, a MAC";
	struct chunk ch = { octets, sizeof(octets) };
	const struct tunnel_conf *t = conf_find(c, "pv0");
	struct tunnel_conf other;
	uint8_t got[PRF_MAX], want[PRF_MAX];

	CHECK(t && t->psk_len == 32 && memcmp(t->psk, psk, strlen(psk)) != 0,
	      "the network process holds a fingerprint, not the PSK");
	if (!t)
		return;
	CHECK(ike_psk_sign(PRF_HMAC_SHA2_256, (const uint8_t *)psk, strlen(psk), &ch, 1, want) == 0,
	      "local signature");
	CHECK(ps_psk_sign(NULL, t, PRF_HMAC_SHA2_256, &ch, 1, got) == 0 && !memcmp(got, want, 32),
	      "auth process signs with the PSK");
	CHECK(ps_psk_sign(NULL, t, 9999, &ch, 1, got) < 0, "unknown PRF refused");
	other = *t;
	strcpy(other.name, "nosuch");
	CHECK(ps_psk_sign(NULL, &other, PRF_HMAC_SHA2_256, &ch, 1, got) < 0,
	      "no PSK for an unknown tunnel");
}

/*
 * Sequence numbers for manual SAs: granted only for a configured manual
 * tunnel, its spi-out and its key, in bounded blocks, always upwards.
 * The file's [tunnel pm0] is manual; pv0 is not.
 */
static void seq_reserve(const struct conf *c)
{
	const struct tunnel_conf *pm = conf_find(c, "pm0"), *pv = conf_find(c, "pv0");
	struct tunnel_conf other;
	uint64_t next = 0, limit = 0, next2 = 0, limit2 = 0;

	CHECK(pm && pv, "pm0 and pv0 configured");
	if (!pm || !pv)
		return;
	CHECK(ps_seq_reserve(pm, 0, HWM_BLOCK, &next, &limit) == 0 && next == 1 &&
	      limit == HWM_BLOCK, "a new SA gets 1..2^20: %llu..%llu", (unsigned long long)next,
	      (unsigned long long)limit);
	CHECK(ps_seq_reserve(pm, limit, HWM_BLOCK, &next2, &limit2) == 0 &&
	      limit2 == 2ULL * HWM_BLOCK, "half way, the next block: up to %llu",
	      (unsigned long long)limit2);
	CHECK(ps_seq_reserve(pm, 0, 10, &next, &limit) == 0 && next == limit2 + 1,
	      "a re-created SA starts above both: %llu", (unsigned long long)next);
	other = *pv;	/* the parent's pv0 has no keys, whatever net says */
	memcpy(other.key_out, pm->key_out, sizeof(other.key_out));
	other.key_out_len = pm->key_out_len;
	other.spi_out = pm->spi_out;
	CHECK(ps_seq_reserve(&other, 0, 10, &next, &limit) == -EPERM, "an IKE tunnel refused");
	other = *pm;
	strcpy(other.name, "nosuch");
	CHECK(ps_seq_reserve(&other, 0, 10, &next, &limit) == -EPERM, "unknown tunnel refused");
	other = *pm;
	other.spi_out ^= 1;
	CHECK(ps_seq_reserve(&other, 0, 10, &next, &limit) == -EPERM, "another spi-out refused");
	other = *pm;
	other.key_out[0] ^= 1;
	CHECK(ps_seq_reserve(&other, 0, 10, &next, &limit) == -ESTALE,
	      "a key-out the parent does not have refused");
	CHECK(ps_seq_reserve(pm, 0, 0, &next, &limit) == -EINVAL, "an empty block refused");
	CHECK(ps_seq_reserve(pm, 0, HWM_BLOCK_MAX + 1, &next, &limit) == -EINVAL,
	      "a block over 2^24 refused");
}

int main(int argc, char **argv)
{
	struct conf c;
	struct buf errors;
	struct prefix p;
	char err[256];
	bool offload;
	int ifindex, fd;

	if (argc != 3) {
		fprintf(stderr, "usage: test_privsep CONF PSK\n");
		return 2;
	}
	buf_init(&errors);
	if (conf_load(argv[1], &c, &errors)) {
		fputs(buf_str(&errors), stderr);
		return 2;
	}
	if (privsep_start(&c, argv[1], "/nonexistent/sock", err, sizeof(err)) < 0) {
		fprintf(stderr, "privsep_start: %s\n", err);
		return 2;
	}
	/* Now the unprivileged network process. */
	CHECK(getuid() != 0 && geteuid() != 0, "not root any more");
	CHECK(ps_tun_open("nosuch0", &ifindex, &offload) == -EPERM, "unconfigured name refused");
	fd = ps_tun_open("pv0", &ifindex, &offload);
	CHECK(fd >= 0 && ifindex > 0, "configured interface created: fd %d", fd);
	CHECK(ps_netif_setup(1, 1400) == -EPERM, "loopback's MTU refused");
	CHECK(ps_netif_setup(ifindex, 100) == -EPERM, "MTU below 576 refused");
	CHECK(ps_netif_setup(ifindex, 1400) == 0, "own interface's MTU set");
	ifaddr_parse("10.77.0.1/30", &p);
	CHECK(ps_addr_add(1, &p) == -EPERM, "configured address on loopback refused");
	CHECK(ps_addr_add(ifindex, &p) == 0, "configured address added");
	ifaddr_parse("10.66.0.1/24", &p);
	CHECK(ps_addr_add(ifindex, &p) == -EPERM, "unconfigured address refused");
	bad_messages(ifindex);
	auth(&c, argv[2]);
	seq_reserve(&c);
	if (fd >= 0)
		close(fd);
	conf_free(&c);
	buf_free(&errors);
	return test_done();
}
