/*
 * offload.c - TSO/USO segmentation and receive coalescing (see offload.h).
 *
 * Segmentation follows what Linux does in tcp_gso_segment() and
 * __udp_gso_segment(): every segment gets the headers of the super-packet
 * with its own IPv4 ID (+1 per segment) and lengths, and TCP its own
 * sequence number; FIN and PSH stay on the last segment, CWR on the first.
 * Coalescing follows tcp_gro_receive(): only in-order ACK segments of one
 * flow with identical IP fields, ACK number, window and options are
 * merged, every segment but the last has the full MSS, and PSH ends a
 * packet.  UDP datagrams of one flow are merged as udp_gro_receive() does
 * for a socket: identical IP fields, every datagram but the last of the
 * first one's size, at most GSO_UDP_SEGS.
 */
#include "esp/offload.h"

#include <stdlib.h>
#include <string.h>

#include "lib/csum.h"
#include "lib/cursor.h"

#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_CWR 0x80
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define UDP_HLEN 8

int gso_csum_finish(uint8_t *pkt, size_t len, const struct gso_meta *m)
{
	size_t start = m->csum_start, at = start + m->csum_offset;

	if (!(m->flags & GSO_F_NEEDS_CSUM))
		return 0;
	if (at + 2 > len)
		return -1;
	/* The field already holds the pseudo-header sum; sum over it. */
	be16_put(pkt + at, csum_final(csum_partial(pkt + start, len - start, 0)));
	return 0;
}

/* Whether the transport header starts where m says, right after the IP
 * header: IPv4 (no room for anything else), or IPv6 with whatever
 * extension headers come before it. */
static bool l4_start_ok(const struct gso_meta *m, const uint8_t *pkt, size_t len, bool v6,
			uint8_t proto)
{
	if (v6)
		return len >= 40 && pkt[0] >> 4 == 6 && m->csum_start >= 40 &&
		       (m->csum_start > 40 || pkt[6] == proto);
	return pkt[0] >> 4 == 4 && pkt[9] == proto && m->csum_start >= 20 &&
	       m->csum_start == (size_t)(pkt[0] & 15) * 4;
}

int gso_iter_init(struct gso_iter *it, const struct gso_meta *m, const uint8_t *pkt, size_t len)
{
	uint8_t type = m->type & (uint8_t)~GSO_ECN;
	size_t thl;

	memset(it, 0, sizeof(*it));
	if (len < 20 || m->size == 0)
		return -1;
	if (type == GSO_UDP_L4) {
		/* Either IP version; the checksum is left to us. */
		it->udp = true;
		it->v6 = pkt[0] >> 4 == 6;
		if (!(m->flags & GSO_F_NEEDS_CSUM) || m->csum_offset != 6 ||
		    !l4_start_ok(m, pkt, len, it->v6, IPPROTO_UDP_))
			return -1;
	} else if (type == GSO_TCP4 || type == GSO_TCP6) {
		it->v6 = type == GSO_TCP6;
		if (!l4_start_ok(m, pkt, len, it->v6, IPPROTO_TCP_))
			return -1;
	} else {
		return -1;
	}
	it->l4 = m->csum_start;
	if (it->udp) {
		thl = UDP_HLEN;
	} else {
		if (it->l4 + 20 > len)
			return -1;
		thl = (size_t)(pkt[it->l4 + 12] >> 4) * 4;
		if (thl < 20)
			return -1;
	}
	if (it->l4 + thl > len)
		return -1;
	it->pkt = pkt;
	it->len = len;
	it->hdr = it->l4 + thl;
	it->off = it->hdr;
	it->mss = m->size;
	it->seq = be32_get(pkt + it->l4 + 4);
	it->id = it->v6 ? 0 : be16_get(pkt + 4);
	it->first = true;
	return 0;
}

size_t gso_iter_seg_max(const struct gso_iter *it)
{
	return it->hdr + it->mss < it->len ? it->hdr + it->mss : it->len;
}

/* A UDP segment's length and checksum (RFC 768: a sum of 0 is sent as
 * all ones, which csum_final does). */
static void udp_finish(uint8_t *dst, size_t l4, size_t seg, bool v6)
{
	uint8_t *udp = dst + l4;

	be16_put(udp + 4, (uint16_t)(seg - l4));
	udp[6] = udp[7] = 0;
	be16_put(udp + 6, csum_final(csum_partial(udp, seg - l4,
				     csum_pseudo(dst, v6, IPPROTO_UDP_, (uint32_t)(seg - l4)))));
}

size_t gso_iter_next(struct gso_iter *it, uint8_t *dst)
{
	size_t n, seg;
	uint8_t *tcp = dst + it->l4;

	if (it->off >= it->len)
		return 0;
	n = it->len - it->off < it->mss ? it->len - it->off : it->mss;
	seg = it->hdr + n;
	memcpy(dst, it->pkt, it->hdr);
	memcpy(dst + it->hdr, it->pkt + it->off, n);
	if (it->v6) {
		be16_put(dst + 4, (uint16_t)(seg - 40));
	} else {
		be16_put(dst + 2, (uint16_t)seg);
		be16_put(dst + 4, it->id++);
		csum_ip4_header(dst);
	}
	if (it->udp) {
		it->off += n;
		udp_finish(dst, it->l4, seg, it->v6);
		return seg;
	}
	be32_put(tcp + 4, it->seq + (uint32_t)(it->off - it->hdr));
	if (!it->first)
		tcp[13] &= (uint8_t)~TCP_CWR;
	it->off += n;
	if (it->off < it->len)
		tcp[13] &= (uint8_t)~(TCP_FIN | TCP_PSH);
	tcp[16] = tcp[17] = 0;
	be16_put(tcp + 16, csum_final(csum_partial(tcp, seg - it->l4,
				       csum_pseudo(dst, it->v6, IPPROTO_TCP_,
						   (uint32_t)(seg - it->l4)))));
	it->first = false;
	return seg;
}

int gro_init(struct gro *g, gro_out_fn out, void *arg)
{
	unsigned i;

	memset(g, 0, sizeof(*g));
	g->out = out;
	g->arg = arg;
	for (i = 0; i < GRO_FLOWS; i++) {
		g->f[i].buf = malloc(GRO_MAX);
		if (!g->f[i].buf) {
			gro_free(g);
			return -1;
		}
	}
	return 0;
}

void gro_free(struct gro *g)
{
	unsigned i;

	for (i = 0; i < GRO_FLOWS; i++) {
		free(g->f[i].buf);
		g->f[i].buf = NULL;
	}
}

/* A TCP segment's or UDP datagram's layout; l4 says it is one (UDP only
 * when asked for), ok whether it may be coalesced at all. */
struct seg {
	size_t iphl, thl, payload;
	uint8_t tcp_flags;
	bool l4, udp, ok, v6;
};

static struct seg seg_parse(const uint8_t *p, size_t len, bool udp_ok)
{
	struct seg s = { 0 };
	uint8_t proto = 0;

	if (len >= 20 && p[0] >> 4 == 4) {
		s.iphl = (size_t)(p[0] & 15) * 4;
		proto = p[9];
		/* No options, no fragment, lengths as received, and a header
		 * checksum the kernel would take: the glued packet gets a new
		 * one. */
		s.ok = s.iphl == 20 && (be16_get(p + 6) & 0x3fff) == 0 && be16_get(p + 2) == len &&
		       csum_ip4_header_ok(p);
	} else if (len >= 40 && p[0] >> 4 == 6) {
		s.iphl = 40;
		s.v6 = true;
		proto = p[6];	/* no extension headers */
		s.ok = (size_t)be16_get(p + 4) + 40 == len;
	}
	s.udp = proto == IPPROTO_UDP_ && udp_ok;
	if ((proto != IPPROTO_TCP_ && !s.udp) || s.iphl < 20 ||
	    len < s.iphl + (s.udp ? UDP_HLEN : 20))
		return (struct seg){ 0 };
	s.l4 = true;
	if (s.udp) {
		s.thl = UDP_HLEN;
		s.payload = len - s.iphl - UDP_HLEN;
		/* Its own length, and a checksum: an IPv4 datagram sent
		 * without one (0) passes alone, as it came. */
		s.ok = s.ok && be16_get(p + s.iphl + 4) == len - s.iphl &&
		       be16_get(p + s.iphl + 6) != 0 && s.payload > 0;
	} else {
		s.thl = (size_t)(p[s.iphl + 12] >> 4) * 4;
		if (s.thl < 20 || s.iphl + s.thl > len) {
			s.ok = false;
			return s;
		}
		s.payload = len - s.iphl - s.thl;
		s.tcp_flags = p[s.iphl + 13];
		/* ACK, maybe PSH, nothing else; and data to merge. */
		s.ok = s.ok && (s.tcp_flags & (uint8_t)~TCP_PSH) == TCP_ACK && s.payload > 0;
	}
	/* The glued packet goes to the kernel with a checksum to fill in
	 * (NEEDS_CSUM), so whatever was wrong in a segment would be made
	 * right: verify each one first.  A bad one passes alone, as it came,
	 * for the kernel to count and drop. */
	s.ok = s.ok && csum_fold(csum_partial(p + s.iphl, len - s.iphl,
					      csum_pseudo(p, s.v6, proto,
							  (uint32_t)(len - s.iphl)))) == 0xffff;
	return s;
}

/* Same owner, protocol, addresses and ports. */
static bool same_flow(const struct gro_flow *f, void *owner, const uint8_t *p, const struct seg *s)
{
	const uint8_t *q = f->buf;

	if (f->owner != owner || f->v6 != s->v6 || f->udp != s->udp)
		return false;
	if (s->v6 ? memcmp(p + 8, q + 8, 32) : memcmp(p + 12, q + 12, 8))
		return false;
	return memcmp(p + s->iphl, q + f->iphl, 4) == 0;
}

/* The IP header fields the kernel copies to every segment it cuts are the
 * same; an IPv4 ID may differ only as a cut would make it (+1 a segment)
 * unless DF says it means nothing. */
static bool same_ip(const struct gro_flow *f, const uint8_t *p)
{
	const uint8_t *q = f->buf;

	if (f->v6)
		return memcmp(p, q, 4) == 0 && p[7] == q[7];
	return p[1] == q[1] && p[8] == q[8] && be16_get(p + 6) == be16_get(q + 6) &&
	       ((be16_get(p + 6) & 0x4000) || be16_get(p + 4) == (uint16_t)(be16_get(q + 4) + f->segs));
}

static bool can_append(const struct gro_flow *f, const uint8_t *p, const struct seg *s)
{
	const uint8_t *q = f->buf, *t = p + s->iphl, *u = q + f->iphl;

	/* (A flow whose last segment was short is flushed at once.) */
	if (s->iphl != f->iphl || s->thl != f->thl || s->payload > f->mss ||
	    f->len + s->payload > GRO_MAX || !same_ip(f, p))
		return false;
	if (s->udp)
		return f->segs < GSO_UDP_SEGS;
	if (be32_get(t + 4) != f->next_seq)
		return false;
	/* ACK number, data offset, window, then the options. */
	return memcmp(t + 8, u + 8, 5) == 0 && memcmp(t + 14, u + 14, 2) == 0 &&
	       memcmp(t + 20, u + 20, s->thl - 20) == 0;
}

/* Tell the kernel how the glued packet was built, as a NIC's GRO would:
 * the lengths, and the checksum field holding the pseudo-header sum. */
static void glued_meta(struct gro_flow *f, struct gso_meta *m)
{
	uint8_t *p = f->buf, *l4 = p + f->iphl;
	uint32_t l4len = (uint32_t)(f->len - f->iphl);

	if (f->v6) {
		be16_put(p + 4, (uint16_t)(f->len - 40));
	} else {
		be16_put(p + 2, (uint16_t)f->len);
		csum_ip4_header(p);
	}
	m->flags = GSO_F_NEEDS_CSUM;
	m->hdr_len = (uint16_t)(f->iphl + f->thl);
	m->size = f->mss;
	m->csum_start = (uint16_t)f->iphl;
	if (f->udp) {
		be16_put(l4 + 4, (uint16_t)l4len);
		be16_put(l4 + 6, csum_fold(csum_pseudo(p, f->v6, IPPROTO_UDP_, l4len)));
		m->type = GSO_UDP_L4;
		m->csum_offset = 6;
	} else {
		be16_put(l4 + 16, csum_fold(csum_pseudo(p, f->v6, IPPROTO_TCP_, l4len)));
		m->type = f->v6 ? GSO_TCP6 : GSO_TCP4;
		m->csum_offset = 16;
	}
}

static void flow_flush(struct gro *g, struct gro_flow *f)
{
	struct gso_meta m = { 0 };

	if (!f->owner)
		return;
	if (f->segs > 1)
		glued_meta(f, &m);
	g->out(g->arg, f->owner, &m, f->buf, f->len, f->segs, f->bytes);
	f->owner = NULL;
}

static void flow_start(struct gro_flow *f, void *owner, const uint8_t *p, size_t len,
		       const struct seg *s)
{
	memcpy(f->buf, p, len);
	f->owner = owner;
	f->len = f->bytes = len;
	f->iphl = s->iphl;
	f->thl = s->thl;
	f->mss = (uint16_t)s->payload;
	f->next_seq = s->udp ? 0 : be32_get(p + s->iphl + 4) + (uint32_t)s->payload;
	f->segs = 1;
	f->v6 = s->v6;
	f->udp = s->udp;
}

void gro_add(struct gro *g, void *owner, uint8_t *pkt, size_t len, bool udp)
{
	struct seg s = seg_parse(pkt, len, udp);
	struct gro_flow *f = NULL;
	static const struct gso_meta none;
	bool psh = s.tcp_flags & TCP_PSH;
	unsigned i;

	for (i = 0; s.l4 && i < GRO_FLOWS && !f; i++)
		if (g->f[i].owner && same_flow(&g->f[i], owner, pkt, &s))
			f = &g->f[i];
	if (f && s.ok && can_append(f, pkt, &s)) {
		memcpy(f->buf + f->len, pkt + s.iphl + s.thl, s.payload);
		f->len += s.payload;
		f->bytes += len;
		f->next_seq += (uint32_t)s.payload;
		f->segs++;
		if (!s.udp)
			f->buf[f->iphl + 13] |= s.tcp_flags & TCP_PSH;
		/* PSH, or a short datagram: nothing may follow. */
		if (psh || s.payload < f->mss)
			flow_flush(g, f);
		return;
	}
	if (f)
		flow_flush(g, f);	/* keep the flow in order */
	if (!s.ok || psh || len > GRO_MAX) {
		g->out(g->arg, owner, &none, pkt, len, 1, len);
		return;
	}
	for (i = 0; i < GRO_FLOWS && !f; i++)
		if (!g->f[i].owner)
			f = &g->f[i];
	if (!f) {
		f = &g->f[g->victim];
		g->victim = (g->victim + 1) % GRO_FLOWS;
		flow_flush(g, f);
	}
	flow_start(f, owner, pkt, len, &s);
}

void gro_flush(struct gro *g)
{
	unsigned i;

	for (i = 0; i < GRO_FLOWS; i++)
		flow_flush(g, &g->f[i]);
}
