/*
 * test_ike.c - IKEv2 building blocks: prf+ against an independent
 * implementation, key exchange in every group with RFC 6989 rejections,
 * the message codec (round trip, every truncation, unknown critical
 * payloads), proposal selection as a table, and the Encrypted payload.
 */
#include "crypto/alg.h"
#include "crypto/cipher.h"
#include "crypto/dh.h"
#include "crypto/prf.h"
#include "crypto/suite.h"
#include "ike/keys.h"
#include "ike/msg.h"
#include "ike/proposal.h"
#include "ike/sk.h"
#include "lib/cursor.h"
#include "lib/hex.h"
#include "test.h"

/* RFC 7296 publishes no prf+ vectors; these were computed with Python's
 * hmac module (an independent implementation) for key 00..1f and the
 * seed below, to 100/150/200 bytes. */
static const struct {
	uint16_t prf;
	size_t len;
	const char *want;
} prfplus_kats[] = {
	{ PRF_HMAC_SHA2_256, 100,
	  "7d55853a0a15b03cdbeb92829f55b607a2f09139752f49441ece518ef975ffacf79b825e0d0eb84ab63bd709"
	  "3ea4956436f9faa919ab79662686f4eb8ab663b2da54520f0f5137ca8ba05bbaac3779a2e6a0d045efcdbab0"
	  "f267118f2ceffc4587724fc0" },
	{ PRF_HMAC_SHA2_384, 150,
	  "6285300e233ddf678d65a319db01373329e99837c4bc80d33175043f5e1016ec18e56141d012780ee3331082"
	  "b8ed9a146f6e1fb57781a24dc7896825e12abe1bfab78780df7bd765e9a10112a062cf2e1483f8dd8833ac0a"
	  "a36c62176eeda95b6768a1d7c7eae8a9d51c1de9556aced67c9d768d30fd40252585fc1c14aea98131f82bfa"
	  "040178a588dba198dc43b13a9972cc517734" },
	{ PRF_HMAC_SHA2_512, 200,
	  "0e99a719a47e130127e1f9d3c5e2d8e4cd9a10ae92a7bc284c16aadaeacac204693a26def1c2f804caa4e1cf"
	  "7d58aa939b3e14295ffccdc96caad583be37a85ff229403dcf90cf2c8657ea4a34319a54182606db1a68d8ea"
	  "9ccd8dfeda4c1722001d1e7d0ab7412cafc6408bc38c52ccc86a713518e03c88626d04c45c0947053828c036"
	  "f0b2b9d9ec6c889a112111774f89a8a628611f128ace211e87069b1699421ce2cc020070617399b5ed5d83a4"
	  "8cf44c8b4803c7425c15f9383a2ebd83e49293cd53506b9a" },
};

static void prf_plus_kats(void)
{
	static const char seed[] = "vti prf+ test seed: Ni | Nr | SPIi | SPIr";
	uint8_t key[32], out[256], want[256];
	struct chunk s[2] = { { (const uint8_t *)seed, 20 },
			      { (const uint8_t *)seed + 20, sizeof(seed) - 21 } };
	size_t i;

	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)i;
	for (i = 0; i < sizeof(prfplus_kats) / sizeof(prfplus_kats[0]); i++) {
		unhex(prfplus_kats[i].want, want, sizeof(want));
		CHECK(prf_plus(prfplus_kats[i].prf, key, 32, s, 2, out, prfplus_kats[i].len) == 0 &&
		      memcmp(out, want, prfplus_kats[i].len) == 0, "prf+ %u", prfplus_kats[i].prf);
	}
	CHECK(prf_plus(PRF_HMAC_SHA2_256, key, 32, s, 2, out, 255 * 32 + 1) == -EINVAL,
	      "prf+ stops at 255 blocks");
}

/* RFC 8784 §3: SK_d' = prf+(PPK, SK_d), SK_pi' = prf+(PPK, SK_pi),
 * SK_pr' = prf+(PPK, SK_pr), each as long as the prf's output.  The RFC
 * gives no vectors; these were computed with Python's hmac module
 * (hmac.new(PPK, SK + b"\x01", hash)) for PPK bytes ppk0, ppk0+1, ...
 * and SK_d, SK_pi, SK_pr bytes 0x40+i, 0x60+i, 0x80+i (mod 256). */
static const struct {
	uint16_t prf;
	uint8_t ppk0;
	size_t ppklen;
	const char *want[3];
} ppk_kats[] = {
	{ PRF_HMAC_SHA2_256, 0x00, 32,
	  { "bbbb40f2c542c2c58846dc609224829eae0a8b9a5d31f500caff2964dc6bf9de",
	    "c0a6730557450591d078e9fb880ca71dd4aa25672d4c4522038c125b42d65cae",
	    "8d2f952e07a9c1cd3cea5b9b961cf91ff95cfedffe48886f85604d7874fbf953" } },
	{ PRF_HMAC_SHA2_256, 0xa0, 40,
	  { "0006495d1579b0abf89a01d09975e524bf9219abea052b07c676a43798957270",
	    "2d1f7318ec6a8d1d782e720c89e6e356c255fd8dcf0d5e5959530b25de00e805",
	    "4a168f0d74809855a406e72b05cce7608dd0e7d96521f50414b1817150336459" } },
	{ PRF_HMAC_SHA2_384, 0x00, 32,
	  { "54cc771b8cc46873c9a1e2775947dabcc6053ef44c51abf6bf805ee04f7428cac2fca4a36a35c776cd5f1e5ca43c98ea",
	    "5610f38066ad84fe83de2cc88ac51731e22086145ef9bff7ec49c6c407b16cc8199535a1846399e4ffb02320082d26e6",
	    "37280b86ae6f0c527f05e8af9bf5d05b44e99ce7250bcc94f98e6007f92df3876b2369480e47e0fdfd3b878b92bf9b03" } },
	{ PRF_HMAC_SHA2_512, 0x00, 32,
	  { "f91b7d51ef2bf03ad1404a159a53e5f83e501c7469aee27ff5f9e675905b0b78"
	    "2e8229b2c9cb384da83b33eba77d956fae08e8d1662385faba09ec04d426844d",
	    "38459c1ea886e572182bb88b6d78f96d831e8e00c997a7d3e4974d82c000dd01"
	    "00df02a7b3afc4977e17190712e9a9ff1bef89c902d9f7f60a1d0ac95d88dc6e",
	    "5a7ce100db7e7cb29a79bead06676c0b62bd63e5531651632882f8ab410a609a"
	    "321dfb09f216b88abd94869c0814d8c26e7045c95368036ccc80ecc13c892883" } },
};

static void ppk_mix_kats(void)
{
	uint8_t ppk[64], sk[3][PRF_MAX], want[PRF_MAX];
	size_t i, j, k, len;

	for (i = 0; i < sizeof(ppk_kats) / sizeof(ppk_kats[0]); i++) {
		len = prf_len(ppk_kats[i].prf);
		for (k = 0; k < ppk_kats[i].ppklen; k++)
			ppk[k] = (uint8_t)(ppk_kats[i].ppk0 + k);
		for (j = 0; j < 3; j++)
			for (k = 0; k < PRF_MAX; k++)
				sk[j][k] = (uint8_t)(0x40 + 0x20 * j + k);
		CHECK(ike_ppk_mix(ppk_kats[i].prf, ppk, ppk_kats[i].ppklen, len, sk) == 0,
		      "ppk mix %zu", i);
		for (j = 0; j < 3; j++) {
			CHECK(unhex(ppk_kats[i].want[j], want, sizeof(want)) == len &&
			      memcmp(sk[j], want, len) == 0, "ppk kat %zu key %zu", i, j);
			/* Past the prf's length nothing is touched. */
			CHECK(len == PRF_MAX || sk[j][len] == (uint8_t)(0x40 + 0x20 * j + len),
			      "ppk kat %zu key %zu: only len bytes", i, j);
		}
	}
	CHECK(ike_ppk_mix(PRF_HMAC_SHA2_256, ppk, 0, 32, sk) == -EINVAL, "no PPK");
	CHECK(ike_ppk_mix(PRF_HMAC_SHA2_256, ppk, 32, 48, sk) == -EINVAL, "length is the prf's");
}

static void dh_groups(void)
{
	static const uint16_t groups[] = { DH_MODP2048, DH_MODP3072, DH_ECP256, DH_ECP384, DH_X25519 };
	uint8_t pa[DH_MAX_PUB], pb[DH_MAX_PUB], sa[DH_MAX_SHARED], sb[DH_MAX_SHARED], bad[DH_MAX_PUB];
	size_t i, la, lb, n;

	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		struct dh *a = dh_new(groups[i]), *b = dh_new(groups[i]);

		n = dh_pub_len(groups[i]);
		CHECK(a && b && !dh_public(a, pa, n) && !dh_public(b, pb, n), "group %u: keys",
		      groups[i]);
		CHECK(!dh_shared(a, pb, n, sa, &la) && !dh_shared(b, pa, n, sb, &lb) && la == lb &&
		      !memcmp(sa, sb, la), "group %u: both sides agree", groups[i]);
		/* RFC 6989: 0, 1 and p-1 (all 0xff is > p-1 here), points off the
		 * curve and low-order X25519 points are refused. */
		memset(bad, 0, n);
		CHECK(dh_shared(a, bad, n, sa, &la) == -EINVAL, "group %u: zero refused", groups[i]);
		bad[n - 1] = 1;
		if (groups[i] != DH_X25519)
			CHECK(dh_shared(a, bad, n, sa, &la) == -EINVAL, "group %u: 1 refused", groups[i]);
		memset(bad, 0xff, n);
		if (groups[i] != DH_X25519)
			CHECK(dh_shared(a, bad, n, sa, &la) == -EINVAL, "group %u: all-ones refused",
			      groups[i]);
		CHECK(dh_shared(a, pb, n - 1, sa, &la) == -EINVAL, "group %u: short refused", groups[i]);
		dh_free(a);
		dh_free(b);
	}
	CHECK(dh_new(21) == NULL && !dh_supported(2), "unsupported groups");
}

static void build_sample(struct buf *b)
{
	struct ike_prop p[2];
	struct ike_ts ts = { .type = TS_IPV4_ADDR_RANGE, .eport = 0xffff,
			     .end = { 255, 255, 255, 255 } };
	unsigned n;
	char err[64];
	struct ike_hdr h = { .spi_i = 0x0102030405060708ULL, .exchange = IKE_SA_INIT,
			     .flags = IKE_FLAG_INITIATOR, .msgid = 7 };
	struct ike_wr w;
	uint8_t ke[32] = { 1 }, spi[4] = { 0, 0, 0x10, 1 };

	if (ike_props_parse("aes128gcm16-prfsha256-x25519-ecp256, aes256-sha384-modp2048", p, 2, &n,
			    err, sizeof(err)))
		exit(2);
	ikew_header(&w, b, &h);
	ikew_sa(&w, p, n);
	ikew_ke(&w, DH_X25519, ke, 32);
	ikew_bytes(&w, PL_NONCE, (const uint8_t *)"0123456789abcdef", 16);
	ikew_notify(&w, 0, N_NAT_DETECTION_SOURCE_IP, NULL, 0, ke, 20);
	ikew_id(&w, PL_IDI, ID_FQDN, (const uint8_t *)"vti.example", 11);
	ikew_auth(&w, AUTH_SHARED_KEY_MIC, ke, 32);
	ikew_ts(&w, PL_TSI, &ts, 1);
	ikew_delete(&w, PROTO_ESP, spi, 4, 1);
	ikew_finish(&w);
}

static void codec(void)
{
	struct ike_prop props[4];
	struct ike_notify no;
	struct ike_id id;
	struct ike_ts ts[2];
	struct ike_msg m;
	struct buf b;
	const uint8_t *d, *spis;
	uint8_t method, proto, size, copy[1024];
	uint16_t group;
	unsigned n, count;
	size_t len, cut;

	buf_init(&b);
	build_sample(&b);
	CHECK(ike_msg_parse(b.data, b.len, &m) == 0 && m.npl == 8, "parse: %u payloads", m.npl);
	CHECK(m.h.spi_i == 0x0102030405060708ULL && m.h.msgid == 7 && m.h.exchange == IKE_SA_INIT,
	      "header");
	CHECK(ike_sa_parse(ike_find(&m, PL_SA, 0), props, 4, &n) == 0 && n == 2 &&
	      props[0].n[TT_DH] == 2 && props[1].t[TT_ENCR][0].keylen == 256 &&
	      props[1].t[TT_INTEG][0].id == AUTH_HMAC_SHA2_384_192, "SA round trip");
	CHECK(ike_ke_parse(ike_find(&m, PL_KE, 0), &group, &d, &len) == 0 && group == DH_X25519 &&
	      len == 32 && d[0] == 1, "KE");
	CHECK(ike_find_notify(&m, N_NAT_DETECTION_SOURCE_IP, &no) == 0 && no.len == 20, "notify");
	CHECK(ike_id_parse(ike_find(&m, PL_IDI, 0), &id) == 0 && id.type == ID_FQDN &&
	      id.len == 11 && id.bodylen == 15, "ID");
	CHECK(ike_auth_parse(ike_find(&m, PL_AUTH, 0), &method, &d, &len) == 0 &&
	      method == AUTH_SHARED_KEY_MIC && len == 32, "AUTH");
	CHECK(ike_ts_parse(ike_find(&m, PL_TSI, 0), ts, 2, &n) == 0 && n == 1 &&
	      ts[0].end[3] == 255, "TS");
	CHECK(ike_delete_parse(ike_find(&m, PL_DELETE, 0), &proto, &size, &spis, &count) == 0 &&
	      proto == PROTO_ESP && count == 1 && be32_get(spis) == 0x1001, "DELETE");

	/* Every truncation is refused, never read past. */
	for (cut = 0; cut < b.len; cut++) {
		memcpy(copy, b.data, cut);
		if (cut >= IKE_HDR_LEN)
			be32_put(copy + 24, (uint32_t)cut);
		CHECK(ike_msg_parse(copy, cut, &m) < 0, "truncated to %zu accepted", cut);
	}
	/* An unknown payload type: skipped, or refused when critical. */
	memcpy(copy, b.data, b.len);
	copy[16] = 200;		/* first payload type: unknown */
	CHECK(ike_msg_parse(copy, b.len, &m) == 0 && m.npl == 7, "unknown non-critical skipped");
	copy[IKE_HDR_LEN + 1] = 0x80;
	CHECK(ike_msg_parse(copy, b.len, &m) == -N_UNSUPPORTED_CRITICAL_PAYLOAD &&
	      m.unsupported == 200, "unknown critical refused");
	copy[17] = 0x30;
	CHECK(ike_msg_parse(copy, b.len, &m) == -N_INVALID_MAJOR_VERSION, "IKEv3 refused");
	buf_free(&b);
}

static const struct {
	int no;
	const char *peer, *ours;
	const char *want;	/* NULL: NO_PROPOSAL_CHOSEN */
} selections[] = {
	{ 1, "aes128gcm16-prfsha256-x25519", "aes128gcm16-prfsha256-x25519",
	  "aes128gcm16-prfsha256-x25519" },
	{ 2, "aes256gcm16-prfsha384-ecp384, aes128gcm16-prfsha256-x25519",
	  "aes128gcm16-prfsha256-x25519, aes256gcm16-prfsha384-ecp384",
	  "aes256gcm16-prfsha384-ecp384" },	/* the initiator's order wins */
	{ 3, "aes128gcm16-prfsha256-ecp256-x25519", "aes128gcm16-prfsha256-x25519",
	  "aes128gcm16-prfsha256-x25519" },
	{ 4, "aes256-sha256-modp2048", "aes256-sha384-modp2048", NULL },
	{ 5, "aes128-sha256-modp2048", "aes256-sha256-modp2048", NULL },	/* key length */
	{ 6, "chacha20poly1305-prfsha256-x25519", "aes128gcm16-prfsha256-x25519", NULL },
	{ 7, "aes256-sha256-sha512-modp3072", "aes256-sha512-modp3072",
	  "aes256-sha512-prfsha512-modp3072" },
};

static void selection(void)
{
	struct ike_prop peer[4], ours[4], chosen;
	unsigned np, no;
	char err[128], got[160];
	size_t i;

	for (i = 0; i < sizeof(selections) / sizeof(selections[0]); i++) {
		CHECK(!ike_props_parse(selections[i].peer, peer, 4, &np, err, sizeof(err)) &&
		      !ike_props_parse(selections[i].ours, ours, 4, &no, err, sizeof(err)),
		      "#%d: parse", selections[i].no);
		if (!selections[i].want) {
			CHECK(ike_props_select(peer, np, ours, no, false, &chosen) ==
			      -N_NO_PROPOSAL_CHOSEN, "#%d: want no proposal", selections[i].no);
			continue;
		}
		CHECK(ike_props_select(peer, np, ours, no, false, &chosen) == 0, "#%d: select",
		      selections[i].no);
		ike_prop_str(&chosen, got, sizeof(got));
		/* Case 7: the peer offered sha256 and sha512 with prfs derived
		 * from both; the first acceptable prf is chosen. */
		CHECK(strstr(got, strtok(strcpy(err, selections[i].want), "-")) != NULL &&
		      ike_prop_offered(&chosen, ours, no), "#%d: chose %s", selections[i].no, got);
	}
}

static void encrypted_payload(void)
{
	static const char *const suites[] = { "aes128gcm16-prfsha256-x25519",
					      "chacha20poly1305-prfsha256-x25519",
					      "aes256-sha512-modp2048" };
	uint8_t gir[32] = { 5 }, ni[32] = { 1 }, nr[32] = { 2 }, inner[40];
	struct chunk cni = { ni, 32 }, cnr = { nr, 32 }, cg = { gir, 32 };
	size_t i;

	memset(inner, 0, sizeof(inner));
	inner[2] = 0;
	inner[3] = 8;		/* one empty Notify-shaped payload header: len 8 */
	inner[4] = 0;
	for (i = 0; i < 3; i++) {
		struct ike_prop p;
		unsigned n;
		char err[64];
		struct ike_keys k;
		struct ike_sk *init, *resp;
		struct ike_hdr h = { .spi_i = 1, .spi_r = 2, .exchange = INFORMATIONAL };
		struct ike_wr w;
		struct ike_msg m;
		struct buf b;
		uint8_t copy[512];

		CHECK(!ike_props_parse(suites[i], &p, 1, &n, err, sizeof(err)), "parse");
		p.n[TT_DH] = 1;
		CHECK(!ike_keys_derive(&k, &p, &cni, &cnr, &cg, 1, 2), "%s: derive", suites[i]);
		init = ike_sk_new(&k, true);
		resp = ike_sk_new(&k, false);
		buf_init(&b);
		ikew_header(&w, &b, &h);
		CHECK(init && resp && !ike_sk_seal(init, &w, PL_NOTIFY, inner, 8), "%s: seal",
		      suites[i]);
		memcpy(copy, b.data, b.len);
		CHECK(!ike_msg_parse(copy, b.len, &m) && m.sk && !ike_sk_open(resp, copy, &m) &&
		      m.npl == 2 && m.pl[1].type == PL_NOTIFY, "%s: open", suites[i]);
		memcpy(copy, b.data, b.len);
		copy[b.len - 1] ^= 1;
		CHECK(!ike_msg_parse(copy, b.len, &m) && ike_sk_open(resp, copy, &m) < 0,
		      "%s: tampered ICV refused", suites[i]);
		memcpy(copy, b.data, b.len);
		CHECK(!ike_msg_parse(copy, b.len, &m) && ike_sk_open(init, copy, &m) < 0,
		      "%s: own direction's key refused", suites[i]);
		ike_sk_free(init);
		ike_sk_free(resp);
		buf_free(&b);
		ike_keys_wipe(&k);
	}
}

static void identities(void)
{
	static const struct {
		const char *s;
		int type;	/* -1: refused */
		size_t len;
	} ids[] = {
		{ "192.0.2.1", ID_IPV4_ADDR, 4 },
		{ "2001:db8::1", ID_IPV6_ADDR, 16 },
		{ "@vpn.example.net", ID_FQDN, 15 },
		{ "vpn.example.net", ID_FQDN, 15 },
		{ "branch17@example.net", ID_RFC822_ADDR, 20 },
		{ "@#0a0b0c", ID_KEY_ID, 3 },
		{ "@#xyz", -1, 0 },
		{ "@", -1, 0 },
	};
	uint8_t type, data[256];
	size_t i, len;

	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		int r = ike_id_from_string(ids[i].s, &type, data, &len);

		if (ids[i].type < 0)
			CHECK(r < 0, "identity '%s' must be refused", ids[i].s);
		else
			CHECK(r == 0 && type == ids[i].type && len == ids[i].len,
			      "identity '%s': type %u len %zu", ids[i].s, type, len);
	}
}

/*
 * One vocabulary (crypto/alg.c): every keyword means the same transform
 * and key size to the ESP suite parser and the IKE proposal parser.
 * ChaCha20-Poly1305 is the case that once disagreed (256 bits to one,
 * 0 to the other, patched over in three places): 256-bit key, no Key
 * Length attribute on the wire (RFC 7634 §2).
 */
static const struct {
	const char *kw;
	uint8_t type;
	uint16_t id, key_bits, attr;	/* attr: Key Length attribute, 0: none */
} vocab[] = {
	{ "aes128gcm16", TT_ENCR, ENCR_AES_GCM_16, 128, 128 },
	{ "aes128gcm128", TT_ENCR, ENCR_AES_GCM_16, 128, 128 },
	{ "aes256gcm16", TT_ENCR, ENCR_AES_GCM_16, 256, 256 },
	{ "aes256gcm128", TT_ENCR, ENCR_AES_GCM_16, 256, 256 },
	{ "chacha20poly1305", TT_ENCR, ENCR_CHACHA20_POLY1305, 256, 0 },
	{ "aes128", TT_ENCR, ENCR_AES_CBC, 128, 128 },
	{ "aes256", TT_ENCR, ENCR_AES_CBC, 256, 256 },
	{ "sha256", TT_INTEG, AUTH_HMAC_SHA2_256_128, 0, 0 },
	{ "sha384", TT_INTEG, AUTH_HMAC_SHA2_384_192, 0, 0 },
	{ "sha512", TT_INTEG, AUTH_HMAC_SHA2_512_256, 0, 0 },
	{ "prfsha256", TT_PRF, PRF_HMAC_SHA2_256, 0, 0 },
	{ "prfsha384", TT_PRF, PRF_HMAC_SHA2_384, 0, 0 },
	{ "prfsha512", TT_PRF, PRF_HMAC_SHA2_512, 0, 0 },
	{ "modp2048", TT_DH, DH_MODP2048, 0, 0 },
	{ "modp3072", TT_DH, DH_MODP3072, 0, 0 },
	{ "ecp256", TT_DH, DH_ECP256, 0, 0 },
	{ "ecp384", TT_DH, DH_ECP384, 0, 0 },
	{ "x25519", TT_DH, DH_X25519, 0, 0 },
	{ "curve25519", TT_DH, DH_X25519, 0, 0 },
	{ "esn", TT_ESN, 1, 0, 0 },
	{ "noesn", TT_ESN, 0, 0, 0 },
};

/* The ESP suite and the IKE proposal parsed from one cipher keyword. */
static void vocab_encr(size_t i)
{
	struct ike_prop ike, esp;
	struct esp_suite s, back;
	char text[64], err[128];
	unsigned n;

	CHECK(!esp_suite_parse(vocab[i].kw, &s, err, sizeof(err)) ||
	      !esp_suite_parse((snprintf(text, sizeof(text), "%s-sha256", vocab[i].kw), text), &s,
			       err, sizeof(err)), "%s: ESP: %s", vocab[i].kw, err);
	CHECK(s.encr == vocab[i].id && s.key_bits == vocab[i].key_bits &&
	      esp_suite_enc_key_len(&s) * 8 == vocab[i].key_bits, "%s: ESP key %u bits",
	      vocab[i].kw, s.key_bits);
	esp_prop_from_suite(&s, &esp);
	CHECK(esp.n[TT_ENCR] == 1 && esp.t[TT_ENCR][0].keylen == vocab[i].attr,
	      "%s: ESP proposal Key Length %u", vocab[i].kw, esp.t[TT_ENCR][0].keylen);
	CHECK(!esp_suite_from_prop(&esp, &back) && back.key_bits == s.key_bits &&
	      back.encr == s.encr, "%s: ESP proposal back to a suite", vocab[i].kw);
	snprintf(text, sizeof(text), "%s-%sprfsha256-x25519", vocab[i].kw,
		 alg_encr_aead(vocab[i].id) ? "" : "sha256-");
	CHECK(!ike_props_parse(text, &ike, 1, &n, err, sizeof(err)), "%s: %s", text, err);
	CHECK(ike.n[TT_ENCR] == 1 && ike.t[TT_ENCR][0].id == vocab[i].id &&
	      ike.t[TT_ENCR][0].keylen == vocab[i].attr &&
	      ike_encr_keylen(&ike.t[TT_ENCR][0]) * 8 == vocab[i].key_bits,
	      "%s: IKE Key Length %u, key %zu bytes", vocab[i].kw, ike.t[TT_ENCR][0].keylen,
	      ike_encr_keylen(&ike.t[TT_ENCR][0]));
}

static void vocabulary(void)
{
	const struct alg *a;
	size_t i, rows = 0;

	for (i = 0; i < sizeof(vocab) / sizeof(vocab[0]); i++) {
		a = alg_find(vocab[i].kw);
		CHECK(a && a->type == vocab[i].type && a->id == vocab[i].id &&
		      a->key_bits == vocab[i].key_bits && alg_attr_bits(a) == vocab[i].attr,
		      "%s: table row", vocab[i].kw);
		if (vocab[i].type == TT_ENCR)
			vocab_encr(i);
	}
	/* Every row of the table is one of the cases above. */
	while (alg_at((unsigned)rows))
		rows++;
	CHECK(rows == sizeof(vocab) / sizeof(vocab[0]), "%zu table rows", rows);
	/* A wire transform names its first keyword; chacha20 with a Key
	 * Length attribute is not a transform we know. */
	a = alg_by_wire(TT_ENCR, ENCR_AES_GCM_16, 128);
	CHECK(a && !strcmp(a->kw, "aes128gcm16"), "canonical GCM name");
	CHECK(!alg_by_wire(TT_ENCR, ENCR_CHACHA20_POLY1305, 256), "chacha20 with Key Length");
	CHECK(alg_encr_key_bits(ENCR_CHACHA20_POLY1305, 0) == 256, "chacha20 key size");
}

/* Proposals printed as they would be configured: the prf that parsing
 * added for an integrity algorithm is left out, an explicit other one is
 * kept (the "we accept" log line). */
static void conf_strings(void)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "aes256-sha384-modp3072", "aes256-sha384-modp3072" },
		{ "aes128gcm16-prfsha256-x25519, aes256-sha256-modp2048",
		  "aes128gcm16-prfsha256-x25519, aes256-sha256-modp2048" },
		{ "aes256-sha256-prfsha512-ecp256", "aes256-sha256-prfsha512-ecp256" },
		{ "curve25519-aes256gcm128-prfsha384", "aes256gcm16-prfsha384-x25519" },
	};
	struct ike_prop p[4];
	char err[128], got[400];
	unsigned n;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK(!ike_props_parse(cases[i].in, p, 4, &n, err, sizeof(err)), "%s: %s",
		      cases[i].in, err);
		ike_props_conf_str(p, n, got, sizeof(got));
		CHECK(!strcmp(got, cases[i].want), "%s: printed %s", cases[i].in, got);
	}
}

/* Configuration payloads (RFC 7296 §3.15): what a peer may send. */
static void config_payload(void)
{
	static const struct {
		const char *hex;	/* payload body */
		int rc;
		uint8_t type;
		bool want4, want6;
		const char *addrs;	/* as printed, comma-separated */
		const char *what;
	} cases[] = {
		{ "01000000", 0, CFG_REQUEST, false, false, "", "empty request" },
		{ "0100000000010000" "00080000", 0, CFG_REQUEST, true, true, "",
		  "both families asked for (strongSwan's vips = 0.0.0.0, ::)" },
		{ "0100000000010004" "00000000", 0, CFG_REQUEST, true, false, "",
		  "0.0.0.0: any address" },
		{ "0200000000010004" "0a800005" "00020004" "ffff8000", 0, CFG_REPLY, true, false,
		  "10.128.0.5/17", "address with netmask" },
		{ "0200000000010004" "0a800005", 0, CFG_REPLY, true, false, "10.128.0.5/32",
		  "address without netmask: a host" },
		{ "0200000000080011" "fd000128000000000000000000000007" "40", 0, CFG_REPLY, false, true,
		  "fd00:128::7/64", "IPv6 with its prefix length" },
		{ "0200000000010004" "0a800005" "00010004" "0a800006", 0, CFG_REPLY, true, false,
		  "10.128.0.5/32", "a second IPv4 address: the first counts" },
		{ "0200000080010004" "0a800005", 0, CFG_REPLY, true, false, "10.128.0.5/32",
		  "the reserved R bit is ignored" },
		{ "0200000000030004" "08080808" "00010004" "0a800005", 0, CFG_REPLY, true, false,
		  "10.128.0.5/32", "an attribute we do not use (DNS) is skipped" },
		{ "0200000000010003" "0a8000", -N_INVALID_SYNTAX, 0, false, false, "",
		  "IPv4 address of 3 bytes" },
		{ "0200000000080010" "fd000128000000000000000000000007", -N_INVALID_SYNTAX, 0, false,
		  false, "", "IPv6 address without its prefix length" },
		{ "0200000000080011" "fd000128000000000000000000000007" "81", -N_INVALID_SYNTAX, 0,
		  false, false, "", "IPv6 prefix length 129" },
		{ "0200000000010004" "0a800005" "00020004" "ff00ff00", -N_INVALID_SYNTAX, 0, false,
		  false, "", "a netmask that is not contiguous" },
		{ "0200000000010008" "0a800005", -N_INVALID_SYNTAX, 0, false, false, "",
		  "attribute longer than the payload" },
		{ "020000", -N_INVALID_SYNTAX, 0, false, false, "", "short header" },
		{ "02000000000100", -N_INVALID_SYNTAX, 0, false, false, "", "cut attribute header" },
	};
	uint8_t raw[128];
	char got[160], p[PREFIX_STRLEN];
	struct ike_cp cp, back;
	struct ike_pl pl;
	struct buf b;
	struct ike_wr w;
	size_t i;
	unsigned k;
	int len, rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = hex_decode(cases[i].hex, raw, sizeof(raw));
		CHECK(len > 0, "%s: test data", cases[i].what);
		pl = (struct ike_pl){ .type = PL_CP, .body = raw, .len = (size_t)len };
		rc = ike_cp_parse(&pl, &cp);
		CHECK(rc == cases[i].rc, "%s: rc %d", cases[i].what, rc);
		if (rc)
			continue;
		got[0] = '\0';
		for (k = 0; k < cp.n; k++)
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", k ? "," : "",
				 prefix_str(&cp.addr[k], p, sizeof(p)));
		CHECK(cp.type == cases[i].type && cp.want4 == cases[i].want4 &&
		      cp.want6 == cases[i].want6 && !strcmp(got, cases[i].addrs),
		      "%s: type %u want %d/%d addresses '%s'", cases[i].what, cp.type, cp.want4,
		      cp.want6, got);
	}

	/* What we write reads back the same (a reply, then a request). */
	memset(&cp, 0, sizeof(cp));
	cp.type = CFG_REPLY;
	CHECK(!ifaddr_parse("10.128.0.7/17", &cp.addr[0]) &&
	      !ifaddr_parse("fd00:128::7/64", &cp.addr[1]), "addresses");
	cp.n = 2;
	buf_init(&b);
	ikew_init(&w, &b);
	ikew_cp(&w, &cp);
	pl = (struct ike_pl){ .type = PL_CP, .body = b.data + 4, .len = b.len - 4 };
	CHECK(!ike_cp_parse(&pl, &back) && back.type == CFG_REPLY && back.n == 2 &&
	      addr_equal(&back.addr[0].addr, &cp.addr[0].addr) && back.addr[0].len == 17 &&
	      addr_equal(&back.addr[1].addr, &cp.addr[1].addr) && back.addr[1].len == 64,
	      "reply round trip");
	buf_free(&b);
	memset(&cp, 0, sizeof(cp));
	cp.type = CFG_REQUEST;
	cp.want4 = cp.want6 = true;
	buf_init(&b);
	ikew_init(&w, &b);
	ikew_cp(&w, &cp);
	pl = (struct ike_pl){ .type = PL_CP, .body = b.data + 4, .len = b.len - 4 };
	CHECK(b.len == 4 + 4 + 8 && !ike_cp_parse(&pl, &back) && back.type == CFG_REQUEST &&
	      back.want4 && back.want6 && back.n == 0, "request round trip (%zu bytes)", b.len);
	buf_free(&b);
}

/* remote-id patterns: '*' matches any run of characters, none too. */
static void id_patterns(void)
{
	static const struct {
		const char *pat, *id;
		bool match;
	} cases[] = {
		{ "*.branches.example", "b1.branches.example", true },
		{ "*.branches.example", "a.b.branches.example", true },
		{ "*.branches.example", ".branches.example", true },
		{ "*.branches.example", "branches.example", false },
		{ "*.branches.example", "b1.branches.example.evil", false },
		{ "*@branches.example.com", "r17@branches.example.com", true },
		{ "*@branches.example.com", "r17@branches-example.com", false },
		{ "branch*", "branch", true },
		{ "branch*", "branc", false },
		{ "*", "", true },
		{ "*", "anything", true },
		{ "a*b*c", "aXXbYYc", true },
		{ "a*b*c", "aXXbYY", false },
		{ "a*b*c", "abcbc", true },
		{ "**x", "yyx", true },
		{ "exact", "exact", true },
		{ "exact", "exacT", false },
		{ "exact", "exactly", false },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK(ike_glob_match((const uint8_t *)cases[i].pat, strlen(cases[i].pat),
				     (const uint8_t *)cases[i].id, strlen(cases[i].id)) ==
		      cases[i].match, "'%s' against '%s'", cases[i].pat, cases[i].id);
}

int main(void)
{
	identities();
	prf_plus_kats();
	ppk_mix_kats();
	dh_groups();
	codec();
	selection();
	vocabulary();
	conf_strings();
	encrypted_payload();
	config_payload();
	id_patterns();
	return test_done();
}
