/*
 * ppk.c - post-quantum preshared keys in IKE_AUTH (RFC 8784 §3, §5.1):
 * the PPK_IDENTITY notify, and SK_d, SK_pi and SK_pr mixed with the PPK
 * (the mixing itself happens where the PPK is held, ike_conn_ops.ppk_mix)
 * or put back to what they were without it.
 */
#include "ike/ikesa.h"

#include <errno.h>
#include <string.h>

#include "crypto/cipher.h"

/* RFC 8784 §5.1: PPK_ID types; vti sends and accepts the fixed one. */
#define PPK_ID_FIXED 2

int ike_ppk_apply(struct ike_sa *sa, const struct ike_conn *c)
{
	struct ike_keys *k = &sa->keys;
	uint8_t sk[3][PRF_MAX];
	int r;

	if (!c->pol->ppk_id_len || !c->ops->ppk_mix)
		return -ENOKEY;
	memcpy(sk[0], k->sk_d, PRF_MAX);
	memcpy(sk[1], k->sk_pi, PRF_MAX);
	memcpy(sk[2], k->sk_pr, PRF_MAX);
	/* §3: SK_d' = prf+(PPK, SK_d), likewise SK_pi' and SK_pr', each as
	 * long as the prf's output, like the key it replaces (§2.14). */
	r = c->ops->ppk_mix(c->arg, c->pol, k->prf, k->prf_len, sk);
	if (!r) {
		memcpy(k->no_ppk[0], k->sk_d, PRF_MAX);
		memcpy(k->no_ppk[1], k->sk_pi, PRF_MAX);
		memcpy(k->no_ppk[2], k->sk_pr, PRF_MAX);
		memcpy(k->sk_d, sk[0], PRF_MAX);
		memcpy(k->sk_pi, sk[1], PRF_MAX);
		memcpy(k->sk_pr, sk[2], PRF_MAX);
	}
	wipe(sk, sizeof(sk));
	return r;
}

void ike_ppk_revert(struct ike_sa *sa)
{
	struct ike_keys *k = &sa->keys;

	memcpy(k->sk_d, k->no_ppk[0], PRF_MAX);
	memcpy(k->sk_pi, k->no_ppk[1], PRF_MAX);
	memcpy(k->sk_pr, k->no_ppk[2], PRF_MAX);
	ike_ppk_forget(sa);
}

void ike_ppk_forget(struct ike_sa *sa)
{
	wipe(sa->keys.no_ppk, sizeof(sa->keys.no_ppk));
}

void ike_ppk_identity(struct ike_wr *w, const struct ike_policy *pol)
{
	uint8_t data[1 + IKE_PPK_ID_MAX];

	data[0] = PPK_ID_FIXED;
	memcpy(data + 1, pol->ppk_id, pol->ppk_id_len);
	ikew_notify(w, 0, N_PPK_IDENTITY, NULL, 0, data, 1 + pol->ppk_id_len);
}

bool ike_ppk_id_match(const struct ike_policy *pol, const struct ike_notify *n)
{
	/* §5.1: a type octet, then the PPK_ID; an empty one names nothing. */
	return pol->ppk_id_len && n->len == 1 + pol->ppk_id_len && n->data[0] == PPK_ID_FIXED &&
	       !memcmp(n->data + 1, pol->ppk_id, pol->ppk_id_len);
}
