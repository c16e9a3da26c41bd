/*
 * datapath.h - moves packets between TUN interfaces and the ESP sockets.
 * It never negotiates: it only reads the SA table (sadb.h) that the
 * control plane fills, and hands IKE packets that arrive on the shared
 * NAT-T port to the control plane through a callback.
 */
#ifndef VTI_DATAPATH_H
#define VTI_DATAPATH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "esp/sadb.h"
#include "esp/vif.h"
#include "lib/ev.h"

/* Daemon-wide counters: drops that belong to no tunnel. */
struct dp_stats {
	uint64_t rx_unknown_spi;	/* no SA with that SPI */
	uint64_t rx_short;		/* too short to carry an SPI, bad outer header */
	uint64_t rx_keepalive;		/* RFC 3948 §2.3 NAT keep-alives */
	uint64_t rx_ike;		/* non-ESP marker: IKE on the NAT-T port */
	uint64_t tx_errors;		/* the kernel refused a send */
	/* Datagrams the kernel refused, by enum sock_err_kind (platform.h):
	 * ESP and what else leaves the NAT-T port, at send or by ICMP. */
	uint64_t tx_refused[4];
	uint64_t rx_sock_dropped;	/* dropped at the ESP sockets (SO_RXQ_OVFL) */
	/* [daemon] crypto-threads running (the loop counted), and the ESP
	 * packets the others sealed and opened. */
	uint64_t threads, thread_sealed, thread_opened;
};

typedef void (*dp_ike_cb)(void *arg, const uint8_t *msg, size_t len,
			  const struct sockaddr_storage *from);

struct datapath;

struct datapath *dp_new(struct ev *ev);
void dp_free(struct datapath *dp);
/* Open the UDP (natt_port) and raw ESP sockets for IPv4 and IPv6. */
int dp_open_sockets(struct datapath *dp, uint16_t natt_port, char *err, size_t errlen);
void dp_set_ike_handler(struct datapath *dp, dp_ike_cb cb, void *arg);
/* [daemon] crypto-threads: n threads in all (the loop's own counted) seal
 * and open bursts of ESP (lib/workers.h); 1 keeps it all on the loop.
 * Once, in the process that runs the datapath: 0 or -errno (-EBUSY for a
 * different count later). */
int dp_set_crypto_threads(struct datapath *dp, unsigned n);
/* Raw ESP by the packet socket where the path allows ([daemon] esp-path
 * auto), or always by the raw socket (esp-path socket). */
void dp_set_packet_path(struct datapath *dp, bool on);
/*
 * Raw ESP by AF_XDP ([daemon] esp-path = xdp): dp_open_xdp makes the
 * sockets while privileged (at start: later is too late); dp_set_xdp turns
 * the path on where they exist.  bind binds socket i to a queue of an
 * interface (as xsk_bind; the network process asks the parent, which
 * answers a queue-0 bind to receive with the interface's receive-queue
 * count: ps_xsk_bind); NULL binds here.
 */
typedef int (*dp_xsk_bind_fn)(unsigned i, unsigned first, int ifindex, unsigned queue, bool rx);
/* The XDP program receives an SA's raw ESP (arriving at dst) from now on,
 * or, on false, no longer (the parent sets the program's map). */
typedef void (*dp_xdp_steer_fn)(uint32_t spi, const struct addr *dst, bool on);
int dp_open_xdp(unsigned n);
void dp_set_xdp(struct datapath *dp, bool on, dp_xsk_bind_fn bind, dp_xdp_steer_fn steer);
/* Now and then (the daemon's tick): send what a device that was behind
 * left in AF_XDP's rings. */
void dp_tick(struct datapath *dp);
/* Which way v's ESP leaves; why (a phrase) it is not the better one asked
 * for: for the raw socket, why not the packet socket; for the packet
 * socket with esp-path = xdp, why not AF_XDP. */
enum dp_path { DP_PATH_UDP, DP_PATH_XDP, DP_PATH_PACKET, DP_PATH_SOCKET };
enum dp_path dp_vif_path(const struct datapath *dp, const struct vif *v, const char **why);
struct sadb *dp_sadb(struct datapath *dp);
const struct dp_stats *dp_stats(const struct datapath *dp);
uint16_t dp_natt_port(const struct datapath *dp);

/* Send a datagram from the NAT-T port as it is (keep-alives). */
int dp_send_udp(struct datapath *dp, const struct addr *src,
		const struct sockaddr_storage *dst, const uint8_t *p, size_t len);
/* Send an IKE message on the NAT-T port behind the non-ESP marker. */
int dp_send_nonesp(struct datapath *dp, const struct addr *src,
		   const struct sockaddr_storage *dst, const uint8_t *msg, size_t len);

int dp_add_vif(struct datapath *dp, struct vif *v) __attribute__((warn_unused_result));
/* Stop reading the interface and free its SAs. */
void dp_del_vif(struct datapath *dp, struct vif *v);

/*
 * One inbound ESP packet (SPI first), as it arrives from either socket.
 * Exposed so that tests and fuzzers drive the real receive path.  Every
 * dp_input_* call looks the packet up and checks what it can before the
 * ICV; the rest (ICV, replay window, delivery) waits for dp_rx_flush, so
 * that a burst is opened together: the packet's memory must stay as it
 * is until then, and nothing may remove an SA in between.
 */
void dp_input_esp(struct datapath *dp, uint8_t *pkt, size_t len);
/* A frame from an AF_XDP socket: Ethernet, IPv4 or IPv6, ESP. */
void dp_input_frame(struct datapath *dp, uint8_t *f, size_t len);
/* A datagram from the NAT-T port: keep-alive, IKE or ESP (RFC 3948). */
void dp_input_udp(struct datapath *dp, uint8_t *p, size_t len,
		  const struct sockaddr_storage *from);
/* A packet from the raw IPv4 ESP socket, IPv4 header first. */
void dp_input_ip4(struct datapath *dp, uint8_t *p, size_t len);
/* Read and send a burst from v's TUN descriptor, as when it is readable
 * (the daemon's event loop does this; tests and fuzzers call it). */
void dp_output_tun(struct vif *v);
/* A receive burst begins: the time its authentic packets are stamped
 * with (sa->rx_ms).  Before the dp_input_* calls of the burst. */
void dp_rx_start(struct datapath *dp);
/* Finish what the dp_input_* calls queued and hand over what they left
 * coalescing: after a burst. */
void dp_rx_flush(struct datapath *dp);

#endif
