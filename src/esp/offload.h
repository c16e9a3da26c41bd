/*
 * offload.h - segmentation and coalescing, so that the kernel and vti
 * exchange 64 KB TCP and UDP super-packets instead of one system call per
 * MTU.
 *
 * Outbound the TUN device hands over TSO and USO packets (gso_meta says how
 * to cut them, as Linux's virtio_net_hdr does); gso_iter cuts them into
 * segments exactly as a NIC would, each with its own IP and TCP or UDP
 * header and a full checksum, ready for ESP.  Inbound, decrypted segments
 * of one TCP flow, or same-sized datagrams of one UDP flow, are glued back
 * into one packet (gro) that is written to TUN with metadata telling the
 * kernel how it was built, as Linux's own GRO does.
 */
#ifndef VTI_OFFLOAD_H
#define VTI_OFFLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What travels with a super-packet (the fields of struct virtio_net_hdr). */
struct gso_meta {
	uint8_t flags;
	uint8_t type;
	uint16_t hdr_len;	/* IP + TCP or UDP header bytes */
	uint16_t size;		/* payload bytes per segment (the MSS) */
	uint16_t csum_start;	/* where the checksummed part begins */
	uint16_t csum_offset;	/* where, from csum_start, the sum goes */
};

#define GSO_F_NEEDS_CSUM 1	/* checksum field holds the pseudo-header sum */
#define GSO_NONE 0
#define GSO_TCP4 1
#define GSO_TCP6 4
#define GSO_UDP_L4 5		/* USO, IPv4 or IPv6 (Linux 6.2) */
#define GSO_ECN 0x80		/* the sender set CWR: keep it on the first */
/* Most datagrams in one USO packet: Linux refuses more than its
 * UDP_MAX_SEGMENTS, 64 in older kernels and 128 in newer ones. */
#define GSO_UDP_SEGS 64

/* Finish a checksum the kernel left partial (GSO_F_NEEDS_CSUM): 0, or -1
 * when the offsets do not fit the packet. */
int gso_csum_finish(uint8_t *pkt, size_t len, const struct gso_meta *m);

struct gso_iter {
	const uint8_t *pkt;
	size_t len, hdr, off;	/* off: payload not yet cut */
	size_t l4;		/* TCP or UDP header offset */
	uint16_t mss, id;
	uint32_t seq;
	bool v6, udp, first;
};

/* Start cutting a TSO or USO packet: 0, or -1 if m does not describe pkt. */
int gso_iter_init(struct gso_iter *it, const struct gso_meta *m, const uint8_t *pkt, size_t len);
/* The largest segment gso_iter_next can write. */
size_t gso_iter_seg_max(const struct gso_iter *it);
/* Write the next segment to dst (room: gso_iter_seg_max); its length, or
 * 0 when the packet is used up. */
size_t gso_iter_next(struct gso_iter *it, uint8_t *dst);

/*
 * Receive coalescing.  gro_add() takes one inner packet for an interface
 * (owner); TCP segments that continue a pending flow are appended, and,
 * when udp is true (the interface takes USO packets), so are UDP
 * datagrams of the flow's size; other packets go straight to out() after
 * anything pending for their flow.  gro_flush() hands over every pending
 * packet; call it when a burst ends.
 */
#define GRO_FLOWS 8
#define GRO_MAX 65535

typedef void (*gro_out_fn)(void *arg, void *owner, const struct gso_meta *m,
			   uint8_t *pkt, size_t len, unsigned segs, size_t seg_bytes);

struct gro_flow {
	void *owner;		/* NULL: slot free */
	uint8_t *buf;		/* GRO_MAX bytes */
	size_t len, iphl, thl, bytes;
	uint16_t mss;		/* payload of the first segment */
	uint32_t next_seq;
	unsigned segs;
	bool v6, udp;
};

struct gro {
	struct gro_flow f[GRO_FLOWS];
	unsigned victim;	/* next slot to evict when all are busy */
	gro_out_fn out;
	void *arg;
};

int gro_init(struct gro *g, gro_out_fn out, void *arg);
void gro_free(struct gro *g);
void gro_add(struct gro *g, void *owner, uint8_t *pkt, size_t len, bool udp);
void gro_flush(struct gro *g);

#endif
