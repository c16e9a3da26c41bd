/*
 * msg.c - IKEv2 message decoding and encoding (see msg.h).
 * RFC 7296 §3.1 header, §3.2 generic payload header, §3.3 SA, §3.4 KE,
 * §3.5 ID, §3.8 AUTH, §3.9 Nonce, §3.10 Notify, §3.11 Delete, §3.13 TS.
 */
#include "ike/msg.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/cursor.h"

#define SYNTAX (-N_INVALID_SYNTAX)

int ike_hdr_parse(const uint8_t *p, size_t len, struct ike_hdr *h)
{
	struct cursor c;
	uint8_t spi[16];

	cur_init(&c, p, len);
	if (!cur_get_bytes(&c, spi, 16) || !cur_get_u8(&c, &h->next) ||
	    !cur_get_u8(&c, &h->version) || !cur_get_u8(&c, &h->exchange) ||
	    !cur_get_u8(&c, &h->flags) || !cur_get_u32(&c, &h->msgid) ||
	    !cur_get_u32(&c, &h->length))
		return SYNTAX;
	h->spi_i = (uint64_t)be32_get(spi) << 32 | be32_get(spi + 4);
	h->spi_r = (uint64_t)be32_get(spi + 8) << 32 | be32_get(spi + 12);
	/* RFC 7296 §3.1: a higher major version gets INVALID_MAJOR_VERSION. */
	if (h->version >> 4 != 2)
		return -N_INVALID_MAJOR_VERSION;
	if (h->length != len || len < IKE_HDR_LEN)
		return SYNTAX;
	return 0;
}

static bool known_type(uint8_t t)
{
	return (t >= PL_SA && t <= PL_EAP) || t == PL_SKF;
}

/* Walk a payload chain; stops after an SK payload, which must be last. */
static int walk(struct ike_msg *m, uint8_t type, struct cursor *c, bool inner)
{
	while (type != PL_NONE) {
		const uint8_t *start = c->p;
		uint8_t next, flags;
		uint16_t plen;
		struct ike_pl *pl;

		if (!cur_get_u8(c, &next) || !cur_get_u8(c, &flags) || !cur_get_u16(c, &plen) ||
		    plen < 4 || !cur_skip(c, plen - 4u))
			return SYNTAX;
		if (!known_type(type)) {
			/* RFC 7296 §2.5: unknown and critical means reject. */
			if (flags & 0x80) {
				m->unsupported = type;
				return -N_UNSUPPORTED_CRITICAL_PAYLOAD;
			}
			type = next;
			continue;
		}
		if (m->npl == IKE_MAX_PAYLOADS)
			return SYNTAX;
		pl = &m->pl[m->npl++];
		pl->type = type;
		pl->critical = flags & 0x80;
		pl->start = start;
		pl->body = start + 4;
		pl->len = plen - 4u;
		/* RFC 7383 §2.5: an SKF payload is last, like SK. */
		if (type == PL_SK || type == PL_SKF) {
			if (inner || c->left != 0)
				return SYNTAX;	/* SK nested, or not last */
			if (type == PL_SK)
				m->sk = pl;
			else
				m->skf = pl;
			m->sk_first = next;
			return 0;
		}
		type = next;
	}
	return c->left == 0 ? 0 : SYNTAX;
}

int ike_msg_parse(const uint8_t *raw, size_t len, struct ike_msg *m)
{
	struct cursor c;
	int r;

	memset(m, 0, sizeof(*m));
	m->raw = raw;
	m->rawlen = len;
	r = ike_hdr_parse(raw, len, &m->h);
	if (r)
		return r;
	cur_init(&c, raw + IKE_HDR_LEN, len - IKE_HDR_LEN);
	return walk(m, m->h.next, &c, false);
}

int ike_chain_parse(struct ike_msg *m, uint8_t first, const uint8_t *p, size_t len)
{
	struct cursor c;

	cur_init(&c, p, len);
	return walk(m, first, &c, true);
}

const struct ike_pl *ike_find(const struct ike_msg *m, uint8_t type, unsigned nth)
{
	unsigned i;

	for (i = 0; i < m->npl; i++)
		if (m->pl[i].type == type && nth-- == 0)
			return &m->pl[i];
	return NULL;
}

static int transform_parse(struct cursor *c, struct ike_prop *pr, bool *last)
{
	uint8_t more, res, type, res2;
	uint16_t tlen, id, attr, val;
	struct cursor t;
	struct ike_alg a;

	if (!cur_get_u8(c, &more) || !cur_get_u8(c, &res) || !cur_get_u16(c, &tlen) ||
	    tlen < 8 || !cur_sub(c, tlen - 4u, &t) || !cur_get_u8(&t, &type) ||
	    !cur_get_u8(&t, &res2) || !cur_get_u16(&t, &id))
		return SYNTAX;
	if (more != 0 && more != 3)
		return SYNTAX;
	*last = more == 0;
	a.id = id;
	a.keylen = 0;
	while (t.left) {
		/* Attributes: TV (AF bit set, 2-byte value) or TLV. */
		if (!cur_get_u16(&t, &attr) || !cur_get_u16(&t, &val))
			return SYNTAX;
		if (!(attr & 0x8000)) {
			if (!cur_skip(&t, val))
				return SYNTAX;
			a.id = 0xffff;	/* an attribute we do not know: unusable */
			continue;
		}
		if ((attr & 0x7fff) == ATTR_KEY_LENGTH)
			a.keylen = val;
		else
			a.id = 0xffff;
	}
	if (type >= 1 && type <= 5 && pr->n[type] < PROP_MAX_TRANSFORMS)
		pr->t[type][pr->n[type]++] = a;
	return 0;
}

int ike_sa_parse(const struct ike_pl *pl, struct ike_prop *props, unsigned max, unsigned *n)
{
	struct cursor c, p;
	uint8_t more, res, ntrans, i;
	uint16_t plen;
	bool last;

	*n = 0;
	cur_init(&c, pl->body, pl->len);
	do {
		struct ike_prop pr;

		memset(&pr, 0, sizeof(pr));
		if (!cur_get_u8(&c, &more) || !cur_get_u8(&c, &res) || !cur_get_u16(&c, &plen) ||
		    plen < 8 || !cur_sub(&c, plen - 4u, &p) || !cur_get_u8(&p, &pr.num) ||
		    !cur_get_u8(&p, &pr.proto) || !cur_get_u8(&p, &pr.spi_size) ||
		    !cur_get_u8(&p, &ntrans) || pr.spi_size > 8 ||
		    !cur_get_bytes(&p, pr.spi, pr.spi_size))
			return SYNTAX;
		if (more != 0 && more != 2)
			return SYNTAX;
		last = true;
		for (i = 0; i < ntrans; i++)
			if (transform_parse(&p, &pr, &last))
				return SYNTAX;
		/* The transform count and the "last" flags must agree. */
		if (!cur_done(&p) || (ntrans && !last))
			return SYNTAX;
		if (*n < max)
			props[(*n)++] = pr;
	} while (more == 2);
	return cur_done(&c) ? 0 : SYNTAX;
}

int ike_ke_parse(const struct ike_pl *pl, uint16_t *group, const uint8_t **data, size_t *len)
{
	struct cursor c;
	uint16_t res;

	cur_init(&c, pl->body, pl->len);
	if (!cur_get_u16(&c, group) || !cur_get_u16(&c, &res) || c.left == 0)
		return SYNTAX;
	*data = c.p;
	*len = c.left;
	return 0;
}

int ike_notify_parse(const struct ike_pl *pl, struct ike_notify *n)
{
	struct cursor c;

	cur_init(&c, pl->body, pl->len);
	if (!cur_get_u8(&c, &n->proto) || !cur_get_u8(&c, &n->spi_size) ||
	    !cur_get_u16(&c, &n->type) || !(n->spi = cur_take(&c, n->spi_size)))
		return SYNTAX;
	n->data = c.p;
	n->len = c.left;
	return 0;
}

int ike_find_notify(const struct ike_msg *m, uint16_t type, struct ike_notify *out)
{
	unsigned i;

	for (i = 0; i < m->npl; i++) {
		if (m->pl[i].type != PL_NOTIFY || ike_notify_parse(&m->pl[i], out))
			continue;
		if (out->type == type)
			return 0;
	}
	return -ENOENT;
}

int ike_id_parse(const struct ike_pl *pl, struct ike_id *id)
{
	struct cursor c;

	cur_init(&c, pl->body, pl->len);
	if (!cur_get_u8(&c, &id->type) || !cur_skip(&c, 3) || c.left == 0)
		return SYNTAX;
	id->data = c.p;
	id->len = c.left;
	id->body = pl->body;
	id->bodylen = pl->len;
	return 0;
}

int ike_auth_parse(const struct ike_pl *pl, uint8_t *method, const uint8_t **data, size_t *len)
{
	struct cursor c;

	cur_init(&c, pl->body, pl->len);
	if (!cur_get_u8(&c, method) || !cur_skip(&c, 3) || c.left == 0)
		return SYNTAX;
	*data = c.p;
	*len = c.left;
	return 0;
}

/* An IPv4 netmask as a prefix length; -1 if its ones are not contiguous. */
static int mask_len(const uint8_t *m)
{
	uint32_t v = (uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 | (uint32_t)m[2] << 8 | m[3];
	int n = 0;

	while (n < 32 && (v & (0x80000000u >> n)))
		n++;
	return n < 32 && (v << n) ? -1 : n;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

/* One address attribute's value: empty (asked for) or the address. */
static int cp_addr(struct ike_cp *cp, int family, const uint8_t *v, size_t len)
{
	size_t alen = addr_len(family);
	struct prefix *a;
	unsigned i;

	if (family == AF_INET)
		cp->want4 = true;
	else
		cp->want6 = true;
	if (len == 0)
		return 0;
	if (len != alen + (family == AF_INET6) || (family == AF_INET6 && v[16] > 128))
		return SYNTAX;
	for (i = 0; i < cp->n; i++)
		if (cp->addr[i].addr.family == family)
			return 0;	/* only the first of a family counts */
	if (all_zero(v, alen))
		return 0;	/* "any address", in a request */
	a = &cp->addr[cp->n++];
	memset(a, 0, sizeof(*a));
	a->addr.family = family;
	memcpy(a->addr.a, v, alen);
	a->len = family == AF_INET6 ? v[16] : 32;
	return 0;
}

int ike_cp_parse(const struct ike_pl *pl, struct ike_cp *cp)
{
	struct cursor c;
	uint16_t type, len;
	const uint8_t *v;
	int mask = -1, r;
	unsigned i;

	memset(cp, 0, sizeof(*cp));
	cur_init(&c, pl->body, pl->len);
	if (!cur_get_u8(&c, &cp->type) || !cur_skip(&c, 3))
		return SYNTAX;
	while (c.left) {
		if (!cur_get_u16(&c, &type) || !cur_get_u16(&c, &len) || !(v = cur_take(&c, len)))
			return SYNTAX;
		type &= 0x7fff;		/* the R bit is reserved */
		r = 0;
		if (type == CFG_INTERNAL_IP4_ADDRESS)
			r = cp_addr(cp, AF_INET, v, len);
		else if (type == CFG_INTERNAL_IP6_ADDRESS)
			r = cp_addr(cp, AF_INET6, v, len);
		else if (type == CFG_INTERNAL_IP4_NETMASK && len == 4 && mask < 0)
			r = (mask = mask_len(v)) < 0 ? SYNTAX : 0;
		else if (type == CFG_INTERNAL_IP4_NETMASK && len != 0 && len != 4)
			r = SYNTAX;
		if (r)
			return r;
	}
	/* §3.15.1: the netmask goes with the IPv4 address. */
	for (i = 0; i < cp->n && mask > 0; i++)
		if (cp->addr[i].addr.family == AF_INET)
			cp->addr[i].len = (uint8_t)mask;
	return 0;
}

/* RFC 7296 §3.6: encoding, then the certificate. */
int ike_cert_parse(const struct ike_pl *pl, uint8_t *enc, const uint8_t **data, size_t *len)
{
	struct cursor c;

	cur_init(&c, pl->body, pl->len);
	if (!cur_get_u8(&c, enc) || c.left == 0)
		return SYNTAX;
	*data = c.p;
	*len = c.left;
	return 0;
}

/* RFC 7296 §3.7: encoding, then for X.509 SHA-1 hashes of the CAs' keys. */
int ike_certreq_parse(const struct ike_pl *pl, uint8_t *enc, unsigned *n_cas)
{
	struct cursor c;

	cur_init(&c, pl->body, pl->len);
	if (!cur_get_u8(&c, enc))
		return SYNTAX;
	if (*enc == CERT_X509_SIG && c.left % 20)
		return SYNTAX;
	*n_cas = (unsigned)(c.left / 20);
	return 0;
}

/* RFC 7427 §4: a list of 2-octet hash algorithm identifiers, as a mask
 * of those below 32 (the others we do not know). */
int ike_sig_hashes_parse(const struct ike_notify *n, unsigned *mask)
{
	struct cursor c;
	uint16_t h;

	*mask = 0;
	if (n->len % 2)
		return SYNTAX;
	cur_init(&c, n->data, n->len);
	while (cur_get_u16(&c, &h))
		if (h < 32)
			*mask |= 1u << h;
	return 0;
}

int ike_ts_parse(const struct ike_pl *pl, struct ike_ts *ts, unsigned max, unsigned *n)
{
	struct cursor c, t;
	uint8_t count, i;
	uint16_t len;
	size_t alen;

	*n = 0;
	cur_init(&c, pl->body, pl->len);
	if (!cur_get_u8(&c, &count) || !cur_skip(&c, 3) || count == 0)
		return SYNTAX;
	for (i = 0; i < count; i++) {
		struct ike_ts x;

		memset(&x, 0, sizeof(x));
		if (!cur_get_u8(&c, &x.type) || !cur_get_u8(&c, &x.proto) ||
		    !cur_get_u16(&c, &len) || len < 8 || !cur_sub(&c, len - 4u, &t) ||
		    !cur_get_u16(&t, &x.sport) || !cur_get_u16(&t, &x.eport))
			return SYNTAX;
		alen = x.type == TS_IPV4_ADDR_RANGE ? 4 : x.type == TS_IPV6_ADDR_RANGE ? 16 : 0;
		if (!alen)
			continue;	/* RFC 7296 §3.13.1: other types may be ignored */
		if (!cur_get_bytes(&t, x.start, alen) || !cur_get_bytes(&t, x.end, alen) ||
		    !cur_done(&t))
			return SYNTAX;
		if (*n < max)
			ts[(*n)++] = x;
	}
	return cur_done(&c) ? 0 : SYNTAX;
}

int ike_delete_parse(const struct ike_pl *pl, uint8_t *proto, uint8_t *spi_size,
		     const uint8_t **spis, unsigned *count)
{
	struct cursor c;
	uint16_t n;

	cur_init(&c, pl->body, pl->len);
	if (!cur_get_u8(&c, proto) || !cur_get_u8(&c, spi_size) || !cur_get_u16(&c, &n))
		return SYNTAX;
	if ((size_t)n * *spi_size != c.left)
		return SYNTAX;
	*spis = c.p;
	*count = n;
	return 0;
}

/* ---- writing ---- */

void ikew_init(struct ike_wr *w, struct buf *b)
{
	w->b = b;
	w->next_off = SIZE_MAX;
	w->first = PL_NONE;
	w->cur = 0;
}

void ikew_header(struct ike_wr *w, struct buf *b, const struct ike_hdr *h)
{
	uint8_t hdr[IKE_HDR_LEN];

	be32_put(hdr, (uint32_t)(h->spi_i >> 32));
	be32_put(hdr + 4, (uint32_t)h->spi_i);
	be32_put(hdr + 8, (uint32_t)(h->spi_r >> 32));
	be32_put(hdr + 12, (uint32_t)h->spi_r);
	hdr[16] = PL_NONE;
	hdr[17] = IKE_VERSION;
	hdr[18] = h->exchange;
	hdr[19] = h->flags;
	be32_put(hdr + 20, h->msgid);
	be32_put(hdr + 24, 0);
	ikew_init(w, b);
	buf_add(b, hdr, sizeof(hdr));
	w->next_off = 16;
}

void ikew_begin(struct ike_wr *w, uint8_t type)
{
	if (w->next_off == SIZE_MAX)
		w->first = type;
	else if (!w->b->bad && w->next_off < w->b->len)
		w->b->data[w->next_off] = type;
	w->cur = w->b->len;
	w->next_off = w->b->len;
	buf_add_u8(w->b, PL_NONE);
	buf_add_u8(w->b, 0);
	buf_add_u16(w->b, 0);
}

void ikew_end(struct ike_wr *w)
{
	buf_patch_u16(w->b, w->cur + 2, (uint16_t)(w->b->len - w->cur));
}

void ikew_finish(struct ike_wr *w)
{
	if (!w->b->bad && w->b->len >= IKE_HDR_LEN)
		be32_put(w->b->data + 24, (uint32_t)w->b->len);
}

static void transform(struct buf *b, bool last, uint8_t type, const struct ike_alg *a)
{
	buf_add_u8(b, last ? 0 : 3);
	buf_add_u8(b, 0);
	buf_add_u16(b, a->keylen ? 12 : 8);
	buf_add_u8(b, type);
	buf_add_u8(b, 0);
	buf_add_u16(b, a->id);
	if (a->keylen) {
		buf_add_u16(b, 0x8000 | ATTR_KEY_LENGTH);
		buf_add_u16(b, a->keylen);
	}
}

void ikew_sa(struct ike_wr *w, const struct ike_prop *props, unsigned n)
{
	unsigned i, type, k, total, done;

	ikew_begin(w, PL_SA);
	for (i = 0; i < n; i++) {
		const struct ike_prop *p = &props[i];
		size_t start = w->b->len;

		total = 0;
		for (type = 1; type <= 5; type++)
			total += p->n[type];
		buf_add_u8(w->b, i + 1 == n ? 0 : 2);
		buf_add_u8(w->b, 0);
		buf_add_u16(w->b, 0);
		/* RFC 7296 §3.3.1: proposals are numbered from 1 in a request;
		 * an accepted one keeps the number the initiator gave it. */
		buf_add_u8(w->b, p->num ? p->num : (uint8_t)(i + 1));
		buf_add_u8(w->b, p->proto);
		buf_add_u8(w->b, p->spi_size);
		buf_add_u8(w->b, (uint8_t)total);
		buf_add(w->b, p->spi, p->spi_size);
		done = 0;
		for (type = 1; type <= 5; type++)
			for (k = 0; k < p->n[type]; k++)
				transform(w->b, ++done == total, (uint8_t)type, &p->t[type][k]);
		buf_patch_u16(w->b, start + 2, (uint16_t)(w->b->len - start));
	}
	ikew_end(w);
}

void ikew_ke(struct ike_wr *w, uint16_t group, const uint8_t *data, size_t len)
{
	ikew_begin(w, PL_KE);
	buf_add_u16(w->b, group);
	buf_add_u16(w->b, 0);
	buf_add(w->b, data, len);
	ikew_end(w);
}

void ikew_bytes(struct ike_wr *w, uint8_t type, const uint8_t *data, size_t len)
{
	ikew_begin(w, type);
	buf_add(w->b, data, len);
	ikew_end(w);
}

void ikew_notify(struct ike_wr *w, uint8_t proto, uint16_t type, const uint8_t *spi,
		 size_t spi_len, const uint8_t *data, size_t len)
{
	ikew_begin(w, PL_NOTIFY);
	buf_add_u8(w->b, proto);
	buf_add_u8(w->b, (uint8_t)spi_len);
	buf_add_u16(w->b, type);
	buf_add(w->b, spi, spi_len);
	buf_add(w->b, data, len);
	ikew_end(w);
}

void ikew_id(struct ike_wr *w, uint8_t type, uint8_t id_type, const uint8_t *data, size_t len)
{
	ikew_begin(w, type);
	buf_add_u8(w->b, id_type);
	buf_add(w->b, "\0\0\0", 3);
	buf_add(w->b, data, len);
	ikew_end(w);
}

void ikew_auth(struct ike_wr *w, uint8_t method, const uint8_t *data, size_t len)
{
	ikew_begin(w, PL_AUTH);
	buf_add_u8(w->b, method);
	buf_add(w->b, "\0\0\0", 3);
	buf_add(w->b, data, len);
	ikew_end(w);
}

void ikew_cert(struct ike_wr *w, uint8_t type, uint8_t enc, const uint8_t *data, size_t len)
{
	ikew_begin(w, type);
	buf_add_u8(w->b, enc);
	buf_add(w->b, data, len);
	ikew_end(w);
}

void ikew_ts(struct ike_wr *w, uint8_t type, const struct ike_ts *ts, unsigned n)
{
	unsigned i;
	size_t alen;

	ikew_begin(w, type);
	buf_add_u8(w->b, (uint8_t)n);
	buf_add(w->b, "\0\0\0", 3);
	for (i = 0; i < n; i++) {
		alen = ts[i].type == TS_IPV4_ADDR_RANGE ? 4 : 16;
		buf_add_u8(w->b, ts[i].type);
		buf_add_u8(w->b, ts[i].proto);
		buf_add_u16(w->b, (uint16_t)(8 + 2 * alen));
		buf_add_u16(w->b, ts[i].sport);
		buf_add_u16(w->b, ts[i].eport);
		buf_add(w->b, ts[i].start, alen);
		buf_add(w->b, ts[i].end, alen);
	}
	ikew_end(w);
}

static void cp_attr(struct ike_wr *w, uint16_t type, const uint8_t *v, size_t len)
{
	buf_add_u16(w->b, type);
	buf_add_u16(w->b, (uint16_t)len);
	buf_add(w->b, v, len);
}

void ikew_cp(struct ike_wr *w, const struct ike_cp *cp)
{
	uint8_t v[17];
	unsigned i;

	ikew_begin(w, PL_CP);
	buf_add_u8(w->b, cp->type);
	buf_add(w->b, "\0\0\0", 3);
	if (cp->type == CFG_REQUEST) {
		if (cp->want4)
			cp_attr(w, CFG_INTERNAL_IP4_ADDRESS, v, 0);
		if (cp->want6)
			cp_attr(w, CFG_INTERNAL_IP6_ADDRESS, v, 0);
	}
	for (i = 0; i < cp->n; i++) {
		const struct prefix *a = &cp->addr[i];
		uint32_t m = a->len ? 0xffffffffu << (32 - (a->len > 32 ? 32 : a->len)) : 0;

		if (a->addr.family == AF_INET) {
			cp_attr(w, CFG_INTERNAL_IP4_ADDRESS, a->addr.a, 4);
			v[0] = (uint8_t)(m >> 24);
			v[1] = (uint8_t)(m >> 16);
			v[2] = (uint8_t)(m >> 8);
			v[3] = (uint8_t)m;
			cp_attr(w, CFG_INTERNAL_IP4_NETMASK, v, 4);
		} else {
			memcpy(v, a->addr.a, 16);
			v[16] = a->len;
			cp_attr(w, CFG_INTERNAL_IP6_ADDRESS, v, 17);
		}
	}
	ikew_end(w);
}

void ikew_delete(struct ike_wr *w, uint8_t proto, const uint8_t *spis, uint8_t spi_size,
		 unsigned count)
{
	ikew_begin(w, PL_DELETE);
	buf_add_u8(w->b, proto);
	buf_add_u8(w->b, spi_size);
	buf_add_u16(w->b, (uint16_t)count);
	buf_add(w->b, spis, (size_t)spi_size * count);
	ikew_end(w);
}
