/*
 * fuzz_ike.c - libFuzzer target for the IKEv2 message decoder: header,
 * payload chain, every payload parser, the Encrypted payload, and the
 * daemon's dispatch of unsolicited messages (IKE_SA_INIT requests and
 * requests for unknown SAs, as any host on the network can send).
 *
 * First byte even: the rest is a whole message.  Odd: the rest is an
 * inner payload chain, sealed with a valid ICV into an INFORMATIONAL, so
 * the fuzzer reaches the decrypted parse behind the integrity check.
 *
 * Certificates: the CERT payloads of a message go through the chain check
 * (against a fixed CA), its AUTH through signature verification with an
 * RSA and an Ed25519 key (every method, RFC 7427 AlgorithmIdentifiers
 * decoded), CERTREQ and SIGNATURE_HASH_ALGORITHMS through their parsers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ike/ike.h"
#include "ike/keys.h"
#include "ike/msg.h"
#include "ike/proposal.h"
#include "ike/sk.h"
#include "crypto/sig.h"
#include "crypto/x509.h"

#include <openssl/evp.h>

#include "../unit/certs.h"

static struct ike_sk *init_sk, *resp_sk;
static struct ike_ctx *ctx;
static struct x509_certs *ca;
static EVP_PKEY *rsa;

static void setup(void)
{
	uint8_t gir[32] = { 5 }, ni[32] = { 1 }, nr[32] = { 2 };
	struct chunk a = { ni, 32 }, b = { nr, 32 }, g = { gir, 32 };
	struct ike_prop p;
	static struct ike_keys k;	/* the contexts read it (ike_sk_new) */
	unsigned n;
	char err[64];

	if (ike_props_parse("aes256-sha256-modp2048", &p, 1, &n, err, sizeof(err)) ||
	    ike_keys_derive(&k, &p, &a, &b, &g, 1, 2))
		abort();
	init_sk = ike_sk_new(&k, true);
	resp_sk = ike_sk_new(&k, false);
	ctx = ike_new(NULL, NULL);
	rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	if (!init_sk || !resp_sk || !ctx || !rsa ||
	    x509_certs_pem(UNIT_CERT, sizeof(UNIT_CERT) - 1, &ca))
		abort();
}

/* The certificate and signature checks of IKE_AUTH, on whatever came. */
static void cert_checks(const struct ike_msg *m)
{
	static const uint8_t o[] = "signed octets";
	struct chunk der[X509_MAX_CHAIN], oct = { o, sizeof(o) };
	struct x509_cert *leaf = NULL;
	const struct ike_pl *pl;
	const uint8_t *d;
	unsigned i, n = 0;
	size_t len;
	uint8_t enc, method;
	char why[200];

	for (i = 0; (pl = ike_find(m, PL_CERT, i)) && n < X509_MAX_CHAIN; i++)
		if (!ike_cert_parse(pl, &enc, &d, &len) && len <= X509_MAX_DER)
			der[n++] = (struct chunk){ d, len };
	if (n && !x509_verify(ca, NULL, der, n, 1800000000, ID_FQDN,
			      (const uint8_t *)"unit.example", 12, &leaf, why, sizeof(why)))
		x509_cert_free(leaf);
	pl = ike_find(m, PL_AUTH, 0);
	if (pl && !ike_auth_parse(pl, &method, &d, &len)) {
		(void)sig_verify(rsa, method, d, len, &oct, 1, SIG_HASHES_OURS);
		if (n && !x509_verify(ca, NULL, der, 1, 1800000000, ID_FQDN,
				      (const uint8_t *)"unit.example", 12, &leaf, why, sizeof(why))) {
			(void)sig_verify(x509_cert_pkey(leaf), method, d, len, &oct, 1,
					 SIG_HASHES_OURS);
			x509_cert_free(leaf);
		}
	}
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
	unsigned mask;

	for (i = 0; i < m->npl; i++) {
		const struct ike_pl *pl = &m->pl[i];

		switch (pl->type) {
		case PL_SA: (void)ike_sa_parse(pl, props, IKE_MAX_PROPS, &n); break;
		case PL_KE: (void)ike_ke_parse(pl, &g, &d, &len); break;
		case PL_NOTIFY:
			if (!ike_notify_parse(pl, &no) && no.type == N_SIGNATURE_HASH_ALGORITHMS)
				(void)ike_sig_hashes_parse(&no, &mask);
			break;
		case PL_CERT: (void)ike_cert_parse(pl, &x, &d, &len); break;
		case PL_CERTREQ: (void)ike_certreq_parse(pl, &x, &n); break;
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
	cert_checks(m);
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
