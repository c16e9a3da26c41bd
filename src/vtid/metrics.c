/*
 * metrics.c - Prometheus text exposition of the daemon's state (see
 * metrics.h).  Each family is written whole (HELP, TYPE, then every
 * series) as the format asks; label values are escaped.
 */
#include "vtid/metrics.h"

#include <inttypes.h>
#include <stddef.h>

#include "esp/vif.h"
#include "ike/ike.h"
#include "platform/platform.h"

static void family(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Label values escape backslash, double quote and newline. */
static void label_value(struct buf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			buf_printf(b, "\\%c", *v);
		else if (*v == '\n')
			buf_printf(b, "\\n");
		else
			buf_add_u8(b, (uint8_t)*v);
	}
}

static void series(struct buf *b, const char *name, const char *tunnel, const char *lname,
		   const char *lvalue, uint64_t v)
{
	buf_printf(b, "%s", name);
	if (tunnel || lname) {
		buf_printf(b, "{");
		if (tunnel) {
			buf_printf(b, "tunnel=\"");
			label_value(b, tunnel);
			buf_printf(b, "\"%s", lname ? "," : "");
		}
		if (lname) {
			buf_printf(b, "%s=\"", lname);
			label_value(b, lvalue);
			buf_printf(b, "\"");
		}
		buf_printf(b, "}");
	}
	buf_printf(b, " %" PRIu64 "\n", v);
}

/* A per-tunnel counter: the field of vif_stats at offset off. */
static void per_tunnel(struct buf *b, const struct tunnel *list, const char *name,
		       const char *type, const char *help, size_t off)
{
	const struct tunnel *t;

	family(b, name, type, help);
	for (t = list; t; t = t->next)
		series(b, name, t->vif.name, NULL, NULL,
		       *(const uint64_t *)(const void *)((const char *)&t->vif.st + off));
}

static void tunnels(struct buf *b, const struct tunnel *list)
{
	static const struct {
		const char *reason;
		size_t off;
	} drops[] = {
		{ "auth", offsetof(struct vif_stats, rx_auth_fail) },
		{ "replay", offsetof(struct vif_stats, rx_replay) },
		{ "malformed", offsetof(struct vif_stats, rx_malformed) },
		{ "selector", offsetof(struct vif_stats, rx_selector) },
	};
	const struct tunnel *t;
	size_t i;

	family(b, "vti_tunnel_up", "gauge", "1 while the interface has carrier (a Child SA pair)");
	for (t = list; t; t = t->next)
		series(b, "vti_tunnel_up", t->vif.name, NULL, NULL, t->vif.carrier);
	family(b, "vti_tunnel_up_since_seconds", "gauge",
	       "seconds since carrier came on; 0 while down");
	for (t = list; t; t = t->next)
		series(b, "vti_tunnel_up_since_seconds", t->vif.name, NULL, NULL,
		       t->vif.carrier ? (now_ms() - t->up_since_ms) / 1000 : 0);
	per_tunnel(b, list, "vti_tunnel_tx_packets_total", "counter",
		   "inner packets sent into the tunnel", offsetof(struct vif_stats, tx_packets));
	per_tunnel(b, list, "vti_tunnel_tx_bytes_total", "counter",
		   "inner bytes sent into the tunnel", offsetof(struct vif_stats, tx_bytes));
	per_tunnel(b, list, "vti_tunnel_tx_dropped_total", "counter",
		   "inner packets not sent (no SA, outside the selectors, no buffer)",
		   offsetof(struct vif_stats, tx_dropped));
	per_tunnel(b, list, "vti_tunnel_tx_packet_socket_total", "counter",
		   "ESP packets that left by the packet socket, past the kernel's IP output "
		   "(esp-path)", offsetof(struct vif_stats, tx_packet_path));
	per_tunnel(b, list, "vti_tunnel_tx_xdp_total", "counter",
		   "ESP packets that left by AF_XDP, past the kernel's IP output and the qdisc "
		   "(esp-path = xdp)", offsetof(struct vif_stats, tx_xdp));
	per_tunnel(b, list, "vti_tunnel_rx_xdp_total", "counter",
		   "ESP packets that came by AF_XDP, taken off the interface by vtid's XDP "
		   "program (esp-path = xdp)", offsetof(struct vif_stats, rx_xdp));
	per_tunnel(b, list, "vti_tunnel_rx_packets_total", "counter",
		   "inner packets received from the tunnel", offsetof(struct vif_stats, rx_packets));
	per_tunnel(b, list, "vti_tunnel_rx_bytes_total", "counter",
		   "inner bytes received from the tunnel", offsetof(struct vif_stats, rx_bytes));
	family(b, "vti_tunnel_rx_dropped_total", "counter",
	       "ESP packets for the tunnel dropped, by reason");
	for (t = list; t; t = t->next) {
		uint64_t known = 0;

		for (i = 0; i < sizeof(drops) / sizeof(drops[0]); i++) {
			uint64_t v = *(const uint64_t *)(const void *)((const char *)&t->vif.st +
								       drops[i].off);

			known += v;
			series(b, "vti_tunnel_rx_dropped_total", t->vif.name, "reason",
			       drops[i].reason, v);
		}
		series(b, "vti_tunnel_rx_dropped_total", t->vif.name, "reason", "other",
		       t->vif.st.rx_dropped > known ? t->vif.st.rx_dropped - known : 0);
	}
	family(b, "vti_tunnel_rekeys_total", "counter", "SAs replaced by a rekey, by kind");
	for (t = list; t; t = t->next) {
		series(b, "vti_tunnel_rekeys_total", t->vif.name, "sa", "child", t->rekeys_child);
		series(b, "vti_tunnel_rekeys_total", t->vif.name, "sa", "ike", t->rekeys_ike);
	}
}

static void daemon_wide(struct buf *b, struct ike_ctx *ike, const struct dp_stats *dp)
{
	const struct ike_stats *is = ike_get_stats(ike);
	enum sock_err_kind k;

	family(b, "vti_ike_sas", "gauge", "IKE SAs held, in any state");
	series(b, "vti_ike_sas", NULL, NULL, NULL, ike_sa_count(ike));
	family(b, "vti_ike_half_open", "gauge", "responder IKE SAs waiting for IKE_AUTH");
	series(b, "vti_ike_half_open", NULL, NULL, NULL, ike_half_open(ike));
	family(b, "vti_ike_messages_received_total", "counter", "datagrams on the IKE ports");
	series(b, "vti_ike_messages_received_total", NULL, NULL, NULL, is->rx);
	family(b, "vti_ike_messages_dropped_total", "counter", "IKE messages dropped, by reason");
	series(b, "vti_ike_messages_dropped_total", NULL, "reason", "malformed", is->rx_malformed);
	series(b, "vti_ike_messages_dropped_total", NULL, "reason", "unknown_sa", is->rx_unknown_sa);
	series(b, "vti_ike_messages_dropped_total", NULL, "reason", "unexpected", is->rx_unexpected);
	series(b, "vti_ike_messages_dropped_total", NULL, "reason", "half_open_limit",
	       is->half_open_refused);
	/* RFC 7383 fragments: dropped ones, by why */
	series(b, "vti_ike_messages_dropped_total", NULL, "reason", "fragment_invalid",
	       is->frag_invalid);
	series(b, "vti_ike_messages_dropped_total", NULL, "reason", "fragment_duplicate",
	       is->frag_duplicate);
	series(b, "vti_ike_messages_dropped_total", NULL, "reason", "fragment_limit",
	       is->frag_limit);
	series(b, "vti_ike_messages_dropped_total", NULL, "reason", "fragment_expired",
	       is->frag_expired);
	family(b, "vti_ike_fragmented_sent_total", "counter",
	       "IKE messages sent as RFC 7383 fragments");
	series(b, "vti_ike_fragmented_sent_total", NULL, NULL, NULL, is->frag_tx);
	family(b, "vti_ike_reassembled_total", "counter",
	       "IKE messages reassembled from RFC 7383 fragments");
	series(b, "vti_ike_reassembled_total", NULL, NULL, NULL, is->frag_reassembled);
	family(b, "vti_ike_cookies_sent_total", "counter", "RFC 7296 2.6 cookie demands");
	series(b, "vti_ike_cookies_sent_total", NULL, NULL, NULL, is->cookies_sent);
	family(b, "vti_ike_peer_moved_total", "counter",
	       "peers followed to a new NAT mapping (RFC 7296 2.23)");
	series(b, "vti_ike_peer_moved_total", NULL, NULL, NULL, is->peer_moved);
	family(b, "vti_esp_dropped_total", "counter",
	       "datagrams on the ESP paths that match no tunnel, by reason");
	series(b, "vti_esp_dropped_total", NULL, "reason", "unknown_spi", dp->rx_unknown_spi);
	series(b, "vti_esp_dropped_total", NULL, "reason", "short", dp->rx_short);
	family(b, "vti_send_errors_total", "counter",
	       "datagrams the kernel refused (at send, or by ICMP afterwards), by reason");
	for (k = 0; k < SOCK_ERR_KINDS; k++)
		series(b, "vti_send_errors_total", NULL, "reason", sock_err_name(k),
		       is->tx_refused[k] + dp->tx_refused[k]);
	family(b, "vti_socket_rx_dropped_total", "counter",
	       "datagrams the IKE and ESP sockets dropped before vtid read them (AF_XDP's "
	       "full rings included)");
	series(b, "vti_socket_rx_dropped_total", NULL, NULL, NULL,
	       is->rx_sock_dropped + dp->rx_sock_dropped);
	family(b, "vti_crypto_thread_packets_total", "counter",
	       "ESP packets sealed or opened by crypto threads other than the event loop "
	       "([daemon] crypto-threads)");
	series(b, "vti_crypto_thread_packets_total", NULL, "op", "seal", dp->thread_sealed);
	series(b, "vti_crypto_thread_packets_total", NULL, "op", "open", dp->thread_opened);
}

void metrics_render(struct buf *out, struct ike_ctx *ike, const struct dp_stats *dp,
		    const struct tunnel *list)
{
	tunnels(out, list);
	daemon_wide(out, ike, dp);
}
