/*
 * fuzz_ikes.c - stateful libFuzzer target for the IKE engine.  For every
 * input, two engines (tests/inmem.h: node 0 initiates, node 1 responds)
 * are driven in memory into one protocol state, the input is delivered
 * to one of them as a datagram, the timers run, and everything is freed.
 * This reaches what an engine with no SAs never does: the lookup of a
 * live SA, the SK payload of each exchange, and the exchange handlers
 * (auth.c, child.c, info.c) behind the integrity check.
 *
 * Byte 0: state (bits 0-2, see build()), target node (bit 3), delivered
 * on the NAT-T port (bit 4), mode (bits 5-6), IKE port 500 (bit 7: the
 * engines know their port, so NAT detection finds none and IKE stays on
 * 500; without it they see port 0 and move to NAT-T as if behind a NAT).
 * Byte 1: IKE suite (bits 0-1; suite 2 with an RFC 8784 PPK on both
 * sides, so IKE_AUTH carries PPK_IDENTITY and NO_PPK_AUTH; suite 3 with
 * certificates and configuration payloads), what runs afterwards (bits 2-3: only the
 * target's timer, one round of the network, +1.1 s, +70 s), which of the
 * target's IKE SAs (bit 4: the oldest, else the newest; in state 1 node
 * 0's newest is a second tunnel's, of the same identities, whose IKE_AUTH
 * waits for the first's answer), exchange for mode 2 (bits 5-6:
 * IKE_AUTH, CREATE_CHILD_SA, INFORMATIONAL, IKE_SA_INIT), flip the
 * response flag (bit 7).
 * Modes: 0 the rest is a datagram; 1 byte 2 picks the message ID (exact,
 * +1, -1, 0), the rest is a datagram whose SPIs and message ID are
 * patched to the SA's; 2 the same message ID byte, byte 3 is the first
 * inner payload type and the rest an inner payload chain, sealed into an
 * SK payload with the SA's own keys, so the receiver decrypts it; 3 byte
 * 2 picks a message captured while the state was built (sent to the
 * target), the rest are edits (offset 2 bytes, xor 1 byte; xor 0
 * truncates there).
 * RFC 7383 fragmentation (modes 1 and 2, byte 2 bit 2): the pair cuts
 * its messages for a path MTU of FRAG_MTU, so the state is built from
 * Encrypted Fragment messages (and what stays queued is fragments); mode
 * 2 then seals the inner chain as Encrypted Fragments too: byte 2 bits
 * 3-5 + 1 is Total Fragments, the chain cut into that many pieces,
 * delivered starting with the one that bits 6-7 pick.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inmem.h"

#include "../unit/certs.h"
#include "crypto/cipher.h"
#include "ike/sk.h"
#include "lib/cursor.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { S_INIT_SENT, S_AUTH_SENT, S_HALF_OPEN, S_UP, S_REKEY_CHILD, S_REKEY_IKE, S_DELETING,
       S_COOKIE };

#define FRAG_MTU 240

/* The fourth authenticates with certificates (RFC 7427: CERT, CERTREQ,
 * AUTH with a signature), both sides the same self-signed Ed25519 one;
 * its lines are completed with the files' paths at start. */
static char cert_suite[1024];
static const char *suites[4] = {
	"psk = fuzz-secret\nike = aes128gcm16-prfsha256-x25519\nesp = aes128gcm16\n",
	"psk = fuzz-secret\nike = aes128-sha256-x25519\nesp = aes128-sha256-x25519\n",
	("psk = fuzz-secret\nike = chacha20poly1305-prfsha256-x25519\nesp = chacha20poly1305-esn\n"
	 "ppk-id = fuzz-ppk\n"
	 "ppk = 0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"),
	cert_suite,
};

/* Suite 3's pair also has the responder hand the initiator its inner
 * addresses (RFC 7296 §3.15): configuration payloads in IKE_AUTH, read at
 * both ends. */
static void setup_suite(unsigned k)
{
	char a[512], b[512];

	if (k != 3) {
		setup(suites[k], suites[k]);
		return;
	}
	snprintf(a, sizeof(a), "[tunnel t]\nlocal = 192.0.2.1\nremote = 192.0.2.2\n"
		 "address = auto\n%s", suites[k]);
	snprintf(b, sizeof(b), "[tunnel t]\nlocal = 192.0.2.2\nremote = 192.0.2.1\n"
		 "address = 10.0.0.1/24\npool = 10.0.0.0/24, fd00::/64\nstart = no\n%s",
		 suites[k]);
	setup_texts(a, b);
}

static void write_tmp(char *path, const char *text)
{
	int fd = mkstemp(path);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
}

static char cert_path[] = "/tmp/vti-fuzz-cert-XXXXXX", key_path[] = "/tmp/vti-fuzz-key-XXXXXX";

/* Read by every configuration load: gone only when the fuzzer exits. */
static void cert_files_gone(void)
{
	unlink(cert_path);
	unlink(key_path);
}

static void cert_files(void)
{
	write_tmp(cert_path, UNIT_CERT);
	write_tmp(key_path, UNIT_KEY);
	atexit(cert_files_gone);
	snprintf(cert_suite, sizeof(cert_suite), "ike = aes256-sha384-ecp256\nesp = aes256gcm16-ecp256\n"
		 "local-cert = %s\nlocal-key = %s\nca = %s\n"
		 "remote-id = \"C=CH, O=vti test, CN=unit\"\n", cert_path, key_path, cert_path);
}

/* Messages sent while the state was built: the material of mode 3. */
#define CAPS 16
static struct pkt caps[CAPS];
static unsigned ncaps;

static void tap(const struct pkt *p)
{
	if (ncaps < CAPS)
		caps[ncaps++] = *p;
}

/* Deterministic randomness (SPIs, nonces, IVs), restarted per input, so
 * that an input replays the same way; DH key pairs stay OpenSSL's. */
static uint64_t rng;

static int fuzz_rand(uint8_t *out, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t z = (rng += 0x9e3779b97f4a7c15ull);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		out[i] = (uint8_t)(z ^ (z >> 31));
	}
	return 0;
}

static void build(unsigned state, int side);
static void deliver_one(void);
static struct ike_sa *pick_sa(int side, bool last);
static void write_seeds(const char *dir);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("FUZZ_IKES_SEEDS");

	(void)argc;
	(void)argv;
	clock_set_source(fake_clock);
	rand_set_source(fuzz_rand);
	log_set_level(LOG_ERR);
	inmem_tap = tap;
	cert_files();
	if (dir) {
		write_seeds(dir);
		exit(0);
	}
	return 0;
}

/* Drive the pair into a state; side is the node the input goes to, and
 * the one that starts a rekey or a DELETE.  What the peer answered to
 * the last step is left queued (and captured), not delivered. */
static void build(unsigned state, int side)
{
	switch (state) {
	case S_COOKIE:
		ike_set_cookie_threshold(nodes[0].ike, 0);
		ike_set_cookie_threshold(nodes[1].ike, 0);
		ike_tick(nodes[0].ike);
		deliver_one();	/* COOKIE demanded */
		deliver_one();	/* IKE_SA_INIT again, with it */
		deliver_one();	/* answered: node 1 half-open */
		break;
	case S_INIT_SENT:
		ike_tick(nodes[0].ike);
		deliver_one();	/* node 1 answered; node 0 still waits */
		break;
	case S_AUTH_SENT:
		ike_tick(nodes[0].ike);
		deliver_one();
		deliver_one();
		deliver_one();	/* node 1 is up, its IKE_AUTH response held */
		if (side == 0) {
			/* node 0's second tunnel, same identities: its IKE_AUTH
			 * waits for that response (auth_wait) and goes when the
			 * first SA is answered or dies.  The newest SA: byte 1
			 * bit 4 picks the first tunnel's instead. */
			inmem_second_conn(0);
			for (unsigned k = 0; qlen > 1 && k < 4; k++)
				deliver(qlen - 1);
		}
		break;
	case S_HALF_OPEN:
		ike_tick(nodes[0].ike);
		deliver_one();
		deliver_one();	/* node 0's IKE_AUTH request held */
		break;
	default:
		settle();
		if (state == S_REKEY_CHILD || state == S_REKEY_IKE)
			(void)ike_conn_rekey(nodes[side].conn, state == S_REKEY_IKE);
		else if (state == S_DELETING)
			ike_conn_down(nodes[side].conn);
		if (qlen)
			deliver_one();
		break;
	}
}

/* The next message: one datagram, or every Encrypted Fragment of it
 * (they are queued together), so that a state is reached alike. */
static void deliver_one(void)
{
	uint8_t key[24];
	int to;

	if (!qlen)
		return;
	if (queue[0].len < IKE_HDR_LEN || queue[0].data[16] != PL_SKF) {
		deliver(0);
		return;
	}
	memcpy(key, queue[0].data, sizeof(key));	/* SPIs, type, exchange, flags, ID */
	to = queue[0].to;
	deliver(0);
	while (qlen && queue[0].to == to && queue[0].len >= IKE_HDR_LEN &&
	       !memcmp(queue[0].data, key, sizeof(key)))
		deliver(0);
}

static struct ike_sa *pick_sa(int side, bool last)
{
	struct ike_sa *sa, *found = NULL;

	for (sa = nodes[side].ike->sas; sa; sa = sa->next) {
		if (sa->state == IKE_S_DEAD)
			continue;
		found = sa;
		if (!last)
			break;
	}
	return found;
}

static uint32_t msgid_for(const struct ike_sa *sa, bool response, uint8_t how)
{
	uint32_t id = response ? sa->next_req - 1 : sa->peer_req;

	switch (how & 3) {
	case 1: return id + 1;
	case 2: return id - 1;
	case 3: return 0;
	default: return id;
	}
}

/* The SK context the target's peer would seal with: from the target's
 * keys with the roles swapped, or the peer's own while the target has
 * none yet (node 0 waiting for IKE_SA_INIT: the answer may still carry
 * an SK payload).  *owned: the caller frees it. */
static struct ike_sk *peer_sk(const struct ike_sa *sa, int side, bool *owned)
{
	struct ike_sa *p;

	*owned = false;
	if (sa->sk) {
		*owned = true;
		return ike_sk_new(&sa->keys, !sa->initiator);
	}
	for (p = nodes[1 - side].ike->sas; p; p = p->next)
		if (p->sk && p->spi_i == sa->spi_i && p->state != IKE_S_DEAD)
			return p->sk;
	return NULL;
}

static void feed(int side, const uint8_t *msg, size_t len, bool natt)
{
	struct sockaddr_storage from = nodes[1 - side].addr;

	if (natt)
		((struct sockaddr_in *)&from)->sin_port = htons(4500);
	ike_input(nodes[side].ike, msg, len, &from, natt);
}

/* Mode 1: the fuzzer's header, with the live SA's SPIs and message ID. */
static void patched(int side, struct ike_sa *sa, const uint8_t *d, size_t len, bool natt)
{
	uint8_t *copy;

	if (len < 1)
		return;
	copy = malloc(len - 1 ? len - 1 : 1);
	if (!copy)
		return;
	memcpy(copy, d + 1, len - 1);
	if (len - 1 >= 28 && sa) {
		be64_put(copy, sa->spi_i);
		be64_put(copy + 8, sa->spi_r);
		be32_put(copy + 20, msgid_for(sa, copy[19] & IKE_FLAG_RESPONSE, d[0]));
	}
	feed(side, copy, len - 1, natt);
	free(copy);
}

/* Mode 2 with byte 2 bit 2: the chain as Encrypted Fragments (§2.5). */
static void sealed_fragments(int side, struct ike_sk *sk, const struct ike_hdr *h, uint8_t how,
			     uint8_t first, const uint8_t *p, size_t len, bool natt)
{
	unsigned total = ((how >> 3) & 7) + 1, start = (how >> 6) & 3, k, idx;
	size_t chunk = (len + total - 1) / total, off, n;
	struct ike_wr w;
	struct buf b;

	buf_init(&b);
	for (k = 0; k < total; k++) {
		idx = (k + start) % total;
		off = idx * chunk < len ? idx * chunk : len;
		n = len - off < chunk ? len - off : chunk;
		buf_reset(&b);
		ikew_header(&w, &b, h);
		if (!ike_sk_seal_frag(sk, &w, first, (uint16_t)(idx + 1), (uint16_t)total, p + off,
				      n) && !b.bad)
			feed(side, b.data, b.len, natt);
	}
	buf_free(&b);
}

/* Mode 2: SK { fuzzed inner chain } in a header the SA accepts. */
static void sealed(int side, struct ike_sa *sa, uint8_t b1, const uint8_t *d, size_t len,
		   bool natt)
{
	static const uint8_t exch[4] = { IKE_AUTH, CREATE_CHILD_SA, INFORMATIONAL, IKE_SA_INIT };
	struct ike_hdr h = { 0 };
	struct ike_sk *sk;
	struct ike_wr w;
	struct buf b;
	bool owned, response;

	if (!sa || len < 2)
		return;
	sk = peer_sk(sa, side, &owned);
	if (!sk)
		return;
	response = sa->req_pending ^ (b1 >> 7);
	h.spi_i = sa->spi_i;
	h.spi_r = sa->spi_r;
	h.exchange = exch[(b1 >> 5) & 3];
	h.flags = (sa->initiator ? 0 : IKE_FLAG_INITIATOR) | (response ? IKE_FLAG_RESPONSE : 0);
	h.msgid = msgid_for(sa, response, d[0]);
	buf_init(&b);
	if (d[0] & 4) {
		sealed_fragments(side, sk, &h, d[0], d[1], d + 2, len - 2, natt);
	} else {
		ikew_header(&w, &b, &h);
		if (!ike_sk_seal(sk, &w, d[1], d + 2, len - 2) && !b.bad)
			feed(side, b.data, b.len, natt);
	}
	buf_free(&b);
	if (owned)
		ike_sk_free(sk);
}

/* Mode 3: a real message of this exchange, edited. */
static void replayed(int side, const uint8_t *d, size_t len, bool natt)
{
	unsigned i, n = 0, want;
	struct pkt *p = NULL;
	uint8_t *copy;
	size_t mlen;

	if (len < 1)
		return;
	for (i = 0; i < ncaps; i++)
		n += caps[i].to == side;
	if (!n)
		return;
	want = d[0] % n;
	for (i = 0; i < ncaps && !p; i++)
		if (caps[i].to == side && want-- == 0)
			p = &caps[i];
	mlen = p->len;
	copy = malloc(mlen);
	if (!copy)
		return;
	memcpy(copy, p->data, mlen);
	for (d++, len--; len >= 3 && mlen; d += 3, len -= 3) {
		size_t off = be16_get(d) % mlen;

		if (d[2] == 0)
			mlen = off;
		else
			copy[off] ^= d[2];
	}
	feed(side, copy, mlen, natt);
	free(copy);
}

static void after(unsigned how)
{
	unsigned i, steps = how == 2 ? 11 : 70;

	switch (how) {
	case 0:
		break;
	case 1:
		/* Three rounds: what is queued now, then what that drew. */
		for (i = 0; i < 3 && qlen; i++) {
			unsigned n = qlen;

			ike_tick(nodes[0].ike);
			ike_tick(nodes[1].ike);
			while (n-- && qlen)
				deliver(0);
		}
		break;
	default:
		/* Retransmissions, give-ups, half-open expiry, DPD. */
		for (i = 0; i < steps; i++) {
			fake_now += how == 2 ? 100 : 1000;
			ike_tick(nodes[0].ike);
			ike_tick(nodes[1].ike);
			qlen = 0;
		}
		break;
	}
}

static uint8_t seed_suite;	/* which suite write_seeds uses (0 or 3) */

static void write_seed(const char *dir, const char *name, const uint8_t *head, size_t hlen,
		       const uint8_t *body, size_t blen)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(head, 1, hlen, f) != hlen || fwrite(body, 1, blen, f) != blen)
		abort();
	fclose(f);
}

/* The inner chain of a captured message, decrypted with the receiver's
 * keys, in the header of mode 2 (the seal in the harness redoes it). */
static void sealed_seed(const char *dir, unsigned state, int side, unsigned k,
			const struct pkt *p)
{
	struct ike_sa *sa = pick_sa(side, false), *o = NULL;
	uint8_t raw[4096], head[4];
	struct ike_msg m;
	unsigned first;
	size_t start, end;
	char name[64];
	int i, r = -1;

	/* Whichever SA still holds the keys: the receiver's, or the
	 * sender's with the roles swapped (a DELETE's receiver forgot). */
	for (i = 0; i < 2 && r; i++)
		for (o = nodes[i].ike->sas; o && r; o = o->next) {
			struct ike_sk *sk;

			if (!o->sk || o->spi_i != ((uint64_t)be32_get(p->data) << 32 | be32_get(p->data + 4)))
				continue;
			memcpy(raw, p->data, p->len);
			if (ike_msg_parse(raw, p->len, &m) || !m.sk)
				return;
			first = m.npl;
			sk = i == side ? o->sk : ike_sk_new(&o->keys, !o->initiator);
			r = sk ? ike_sk_open(sk, raw, &m) : -1;
			if (sk != o->sk)
				ike_sk_free(sk);
		}
	if (r || !sa || m.npl == first)
		return;
	start = (size_t)(m.pl[first].start - raw);
	end = (size_t)(m.pl[m.npl - 1].body + m.pl[m.npl - 1].len - raw);
	head[0] = (uint8_t)(state | (unsigned)side << 3 | 2u << 5);
	head[1] = (uint8_t)(((m.h.exchange == IKE_AUTH ? 0u : m.h.exchange == CREATE_CHILD_SA ? 1u :
			      m.h.exchange == INFORMATIONAL ? 2u : 3u) << 5) |
			    (unsigned)(!!(m.h.flags & IKE_FLAG_RESPONSE) != sa->req_pending) << 7);
	head[1] |= seed_suite;
	head[2] = 0;
	head[3] = m.sk_first;
	snprintf(name, sizeof(name), "%ss%u-n%d-sk%u", seed_suite ? "cert-" : "", state, side, k);
	write_seed(dir, name, head, 4, raw + start, end - start);
	/* The same chain as three Encrypted Fragments, the second first. */
	head[2] = 4 | 2u << 3 | 1u << 6;
	snprintf(name, sizeof(name), "s%u-n%d-skf%u", state, side, k);
	write_seed(dir, name, head, 4, raw + start, end - start);
}

/* Each state built with fragmentation (mode 1, byte 2 bit 2): its
 * Encrypted Fragment messages to the target, as they were sent. */
static void frag_seeds(const char *dir, unsigned state, int side)
{
	uint8_t head[3] = { (uint8_t)(state | (unsigned)side << 3 | 1u << 5), 0, 4 };
	char name[64];
	unsigned k;

	fake_now = 1000000;
	rng = 0;
	ncaps = 0;
	setup(suites[0], suites[0]);
	ike_set_frag_mtu(nodes[0].ike, FRAG_MTU);
	ike_set_frag_mtu(nodes[1].ike, FRAG_MTU);
	build(state, side);
	for (k = 0; k < ncaps; k++) {
		if (caps[k].to != side || caps[k].len < IKE_HDR_LEN || caps[k].data[16] != PL_SKF)
			continue;
		snprintf(name, sizeof(name), "s%u-n%d-frag%u", state, side, k);
		write_seed(dir, name, head, 3, caps[k].data, caps[k].len);
	}
	teardown();
}

/* FUZZ_IKES_SEEDS=dir: the messages of every state, as seeds (mode 3 as
 * captured; mode 2 their decrypted inner chains; mode 0 as sent). */
static void write_seeds(const char *dir)
{
	unsigned state, k, n;
	int side;

	for (seed_suite = 0; seed_suite < 4; seed_suite += 3)
	for (state = 0; state < 8; state++)
		for (side = 0; side < 2; side++) {
			const char *pre = seed_suite ? "cert-" : "";

			fake_now = 1000000;
			rng = 0;
			ncaps = 0;
			setup_suite(seed_suite);
			build(state, side);
			for (k = n = 0; k < ncaps; k++) {
				uint8_t head[3] = { (uint8_t)(state | (unsigned)side << 3), seed_suite, 0 };
				char name[64];

				if (caps[k].to != side)
					continue;
				snprintf(name, sizeof(name), "%ss%u-n%d-raw%u", pre, state, side, k);
				write_seed(dir, name, head, 2, caps[k].data, caps[k].len);
				head[0] |= 3u << 5;
				head[2] = (uint8_t)n++;
				snprintf(name, sizeof(name), "%ss%u-n%d-cap%u", pre, state, side, k);
				write_seed(dir, name, head, 3, NULL, 0);
				sealed_seed(dir, state, side, k, &caps[k]);
			}
			teardown();
			frag_seeds(dir, state, side);
		}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned state, mode;
	struct ike_sa *sa;
	bool natt;
	int side;

	if (size < 2 || size > 8192)
		return 0;
	state = data[0] & 7;
	side = (data[0] >> 3) & 1;
	natt = (data[0] >> 4) & 1;
	mode = (data[0] >> 5) & 3;
	fake_now = 1000000;
	rng = 0;
	ncaps = 0;
	setup_suite(data[1] & 3);
	if ((mode == 1 || mode == 2) && size > 2 && (data[2] & 4)) {
		ike_set_frag_mtu(nodes[0].ike, FRAG_MTU);
		ike_set_frag_mtu(nodes[1].ike, FRAG_MTU);
	}
	if (data[0] & 0x80)
		nodes[0].ike->port = nodes[1].ike->port = 500;
	build(state, side);
	sa = pick_sa(side, (data[1] >> 4) & 1);
	switch (mode) {
	case 0: feed(side, data + 2, size - 2, natt); break;
	case 1: patched(side, sa, data + 2, size - 2, natt); break;
	case 2: sealed(side, sa, data[1], data + 2, size - 2, natt); break;
	case 3: replayed(side, data + 2, size - 2, natt); break;
	}
	ike_tick(nodes[side].ike);
	after((data[1] >> 2) & 3);
	teardown();
	return 0;
}
