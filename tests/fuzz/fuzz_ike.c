/*
 * fuzz_ike.c - libFuzzer target for the IKEv2 message decoder: header,
 * payload chain, every payload parser, the Encrypted payload, and the
 * daemon's dispatch of unsolicited messages (IKE_SA_INIT requests and
 * requests for unknown SAs, as any host on the network can send).
 *
 * First byte even: the rest is a whole message.  Odd: the rest is an
 * inner payload chain, sealed with a valid ICV into an INFORMATIONAL, so
 * the fuzzer reaches the decrypted parse behind the integrity check.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ike/ike.h"
#include "ike/keys.h"
#include "ike/msg.h"
#include "ike/proposal.h"
#include "ike/sk.h"

static struct ike_sk *init_sk, *resp_sk;
static struct ike_ctx *ctx;

static void setup(void)
{
	uint8_t gir[32] = { 5 }, ni[32] = { 1 }, nr[32] = { 2 };
	struct chunk a = { ni, 32 }, b = { nr, 32 }, g = { gir, 32 };
	struct ike_prop p;
	struct ike_keys k;
	unsigned n;
	char err[64];

	if (ike_props_parse("aes256-sha256-modp2048", &p, 1, &n, err, sizeof(err)) ||
	    ike_keys_derive(&k, &p, &a, &b, &g, 1, 2))
		abort();
	init_sk = ike_sk_new(&k, true);
	resp_sk = ike_sk_new(&k, false);
	ctx = ike_new(NULL, NULL);
	if (!init_sk || !resp_sk || !ctx)
		abort();
}

static void every_payload(const struct ike_msg *m)
{
	struct ike_prop props[IKE_MAX_PROPS];
	struct ike_ts ts[IKE_MAX_TS];
	struct ike_notify no;
	struct ike_id id;
	struct ike_cp cp;
	const uint8_t *d;
	size_t len;
	unsigned i, n;
	uint16_t g;
	uint8_t x, y;

	for (i = 0; i < m->npl; i++) {
		const struct ike_pl *pl = &m->pl[i];

		switch (pl->type) {
		case PL_SA: (void)ike_sa_parse(pl, props, IKE_MAX_PROPS, &n); break;
		case PL_KE: (void)ike_ke_parse(pl, &g, &d, &len); break;
		case PL_NOTIFY: (void)ike_notify_parse(pl, &no); break;
		case PL_IDI:
		case PL_IDR: (void)ike_id_parse(pl, &id); break;
		case PL_AUTH: (void)ike_auth_parse(pl, &x, &d, &len); break;
		case PL_TSI:
		case PL_TSR: (void)ike_ts_parse(pl, ts, IKE_MAX_TS, &n); break;
		case PL_DELETE: (void)ike_delete_parse(pl, &x, &y, &d, &n); break;
		case PL_CP: (void)ike_cp_parse(pl, &cp); break;
		default: break;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_storage from = { .ss_family = AF_INET };
	struct ike_hdr h = { .spi_i = 1, .spi_r = 2, .exchange = INFORMATIONAL };
	struct ike_msg m;
	struct ike_wr w;
	struct buf b;
	uint8_t *copy;

	if (!ctx)
		setup();
	if (size < 1 || size > 65536)
		return 0;
	copy = malloc(size);
	if (!copy)
		return 0;
	memcpy(copy, data + 1, size - 1);
	if (!(data[0] & 1)) {
		if (ike_msg_parse(copy, size - 1, &m) == 0)
			every_payload(&m);
		ike_input(ctx, data + 1, size - 1, &from, false);
	} else if (size > 2) {
		buf_init(&b);
		ikew_header(&w, &b, &h);
		if (!ike_sk_seal(init_sk, &w, data[1], data + 2, size - 2) &&
		    !ike_msg_parse(b.data, b.len, &m) && !ike_sk_open(resp_sk, b.data, &m))
			every_payload(&m);
		buf_free(&b);
	}
	free(copy);
	return 0;
}
