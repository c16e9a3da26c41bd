/*
 * test_crypto_kat.c - every primitive ESP uses, against published vectors:
 * AES-GCM (NIST CAVP, SP 800-38D), ChaCha20-Poly1305 (RFC 8439 §2.8.2 and
 * Appendix A.5), AES-CBC (NIST CAVP AESAVS MMT), HMAC-SHA-256/384/512
 * (RFC 4231), and the RFC 4868 truncations built on them.
 */
#include "crypto/cipher.h"
#include "test.h"

#include "../kat/vectors.h"

#define BIG 1024

struct chacha_kat {
	const char *src, *key, *nonce, *aad, *pt, *ct, *tag;
};

static const struct chacha_kat chacha_kats[] = {
	{ "RFC 8439 section 2.8.2",
	  "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
	  "070000004041424344454647", "50515253c0c1c2c3c4c5c6c7",
	  /* "Ladies and Gentlemen of the class of '99: If I could offer you
	   *  only one tip for the future, sunscreen would be it." */
	  "4c616469657320616e642047656e746c656d656e206f662074686520636c6173"
	  "73206f66202739393a204966204920636f756c64206f6666657220796f75206f"
	  "6e6c79206f6e652074697020666f7220746865206675747572652c2073756e73"
	  "637265656e20776f756c642062652069742e",
	  "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
	  "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
	  "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
	  "3ff4def08e4b7a9de576d26586cec64b6116",
	  "1ae10b594f09e26a7e902ecbd0600691" },
	{ "RFC 8439 Appendix A.5",
	  "1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0",
	  "000000000102030405060708", "f33388860000000000004e91",
	  "496e7465726e65742d4472616674732061726520647261667420646f63756d65"
	  "6e74732076616c696420666f722061206d6178696d756d206f6620736978206d"
	  "6f6e74687320616e64206d617920626520757064617465642c207265706c6163"
	  "65642c206f72206f62736f6c65746564206279206f7468657220646f63756d65"
	  "6e747320617420616e792074696d652e20497420697320696e617070726f7072"
	  "6961746520746f2075736520496e7465726e65742d4472616674732061732072"
	  "65666572656e6365206d6174657269616c206f7220746f206369746520746865"
	  "6d206f74686572207468616e206173202fe2809c776f726b20696e2070726f67"
	  "726573732e2fe2809d",
	  "64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb2"
	  "4c6cfc18755d43eea09ee94e382d26b0bdb7b73c321b0100d4f03b7f355894cf"
	  "332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c855"
	  "9797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4"
	  "b9166c767b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523e"
	  "af4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a"
	  "0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a10"
	  "49e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29"
	  "a6ad5cb4022b02709b",
	  "eead9d67890cbb22392336fea1851f38" },
};

/* Seal must give ct||tag; open must give pt back and refuse a flipped tag. */
static void aead_case(const char *src, enum aead_alg alg, const char *k, const char *n,
		      const char *a, const char *p, const char *c, const char *t)
{
	unsigned char key[32], nonce[12], aad[64], pt[BIG], ct[BIG], tag[16], buf[BIG], out[16];
	size_t kl = unhex(k, key, sizeof(key)), al = unhex(a, aad, sizeof(aad));
	size_t pl = unhex(p, pt, sizeof(pt));
	struct aead *enc, *dec;

	unhex(n, nonce, sizeof(nonce));
	CHECK(unhex(c, ct, sizeof(ct)) == pl, "%s: vector lengths", src);
	unhex(t, tag, sizeof(tag));
	enc = aead_new(alg, key, kl, true);
	dec = aead_new(alg, key, kl, false);
	CHECK(enc && dec, "%s: context", src);
	if (!enc || !dec)
		goto out;
	/* A message under another nonce first: the vector is each context's
	 * second, so nothing of one message may reach the next. */
	nonce[0] ^= 0xff;
	memset(buf, 0xa5, 100);
	CHECK(aead_seal(enc, nonce, aad, al, NULL, 0, buf, 100, out) == 0 &&
	      aead_open(dec, nonce, aad, al, NULL, 0, buf, 100, out) == 0, "%s: first message", src);
	nonce[0] ^= 0xff;
	memcpy(buf, pt, pl);
	/* The AAD is given in two parts to exercise the split. */
	CHECK(aead_seal(enc, nonce, aad, al / 2, aad + al / 2, al - al / 2, buf, pl, out) == 0,
	      "%s: seal", src);
	CHECK(memcmp(buf, ct, pl) == 0, "%s: ciphertext", src);
	CHECK(memcmp(out, tag, 16) == 0, "%s: tag", src);
	CHECK(aead_open(dec, nonce, aad, al, NULL, 0, buf, pl, tag) == 0, "%s: open", src);
	CHECK(memcmp(buf, pt, pl) == 0, "%s: plaintext", src);
	memcpy(buf, ct, pl);
	tag[15] ^= 1;
	CHECK(aead_open(dec, nonce, aad, al, NULL, 0, buf, pl, tag) == -EBADMSG,
	      "%s: flipped tag refused", src);
	/* The context is reusable after a failure. */
	tag[15] ^= 1;
	memcpy(buf, ct, pl);
	CHECK(aead_open(dec, nonce, aad, al, NULL, 0, buf, pl, tag) == 0, "%s: reuse", src);
out:
	aead_free(enc);
	aead_free(dec);
}

static void cbc_case(const struct cbc_kat *v)
{
	unsigned char key[32], iv[16], pt[BIG], ct[BIG], buf[BIG];
	size_t kl = unhex(v->key, key, sizeof(key)), pl = unhex(v->pt, pt, sizeof(pt));
	struct cbc *enc = cbc_new(key, kl, true), *dec = cbc_new(key, kl, false);

	unhex(v->iv, iv, sizeof(iv));
	unhex(v->ct, ct, sizeof(ct));
	/* A message under another IV first (see aead_case). */
	iv[0] ^= 0xff;
	memset(buf, 0xa5, 64);
	CHECK(enc && dec && cbc_crypt(enc, iv, buf, 64) == 0 && cbc_crypt(dec, iv, buf, 64) == 0,
	      "%s: first message", v->src);
	iv[0] ^= 0xff;
	memcpy(buf, pt, pl);
	CHECK(enc && cbc_crypt(enc, iv, buf, pl) == 0 && memcmp(buf, ct, pl) == 0,
	      "%s: encrypt", v->src);
	CHECK(dec && cbc_crypt(dec, iv, buf, pl) == 0 && memcmp(buf, pt, pl) == 0,
	      "%s: decrypt", v->src);
	CHECK(enc && cbc_crypt(enc, iv, buf, 15) == -EINVAL, "%s: partial block refused", v->src);
	cbc_free(enc);
	cbc_free(dec);
}

static void hmac_case(const struct hmac_kat *v)
{
	unsigned char key[256], msg[256], md[64], out[64];
	size_t kl = unhex(v->key, key, sizeof(key)), ml = unhex(v->msg, msg, sizeof(msg));
	size_t dl = unhex(v->md, md, sizeof(md));
	enum hash_alg h = v->hash == 256 ? HASH_SHA256 : v->hash == 384 ? HASH_SHA384 : HASH_SHA512;
	struct hmac *m = hmac_new(h, key, kl);
	int round;

	CHECK(m && hmac_size(m) == dl, "%s: size", v->src);
	/* Twice: the second run checks that re-initialisation keeps the key. */
	for (round = 0; m && round < 2; round++) {
		CHECK(hmac_start(m) == 0 && hmac_update(m, msg, ml / 3) == 0 &&
		      hmac_update(m, msg + ml / 3, ml - ml / 3) == 0 && hmac_finish(m, out) == 0,
		      "%s: compute", v->src);
		CHECK(memcmp(out, md, dl) == 0, "%s: digest (round %d)", v->src, round);
		/* RFC 4868 §2.3: ESP uses the first half. */
		CHECK(ct_equal(out, md, dl / 2), "%s: truncated ICV", v->src);
	}
	hmac_free(m);
}

int main(void)
{
	size_t i;

	for (i = 0; i < sizeof(gcm_kats) / sizeof(gcm_kats[0]); i++)
		aead_case(gcm_kats[i].src, AEAD_AES_GCM, gcm_kats[i].key, gcm_kats[i].iv,
			  gcm_kats[i].aad, gcm_kats[i].pt, gcm_kats[i].ct, gcm_kats[i].tag);
	for (i = 0; i < sizeof(chacha_kats) / sizeof(chacha_kats[0]); i++)
		aead_case(chacha_kats[i].src, AEAD_CHACHA20_POLY1305, chacha_kats[i].key,
			  chacha_kats[i].nonce, chacha_kats[i].aad, chacha_kats[i].pt,
			  chacha_kats[i].ct, chacha_kats[i].tag);
	for (i = 0; i < sizeof(cbc_kats) / sizeof(cbc_kats[0]); i++)
		cbc_case(&cbc_kats[i]);
	for (i = 0; i < sizeof(hmac_kats) / sizeof(hmac_kats[0]); i++)
		hmac_case(&hmac_kats[i]);
	CHECK(aead_new(AEAD_AES_GCM, (const uint8_t *)"short", 5, true) == NULL, "bad key length");
	CHECK(ct_equal("abc", "abc", 3) && !ct_equal("abc", "abd", 3), "ct_equal");
	return test_done();
}
