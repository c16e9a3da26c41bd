/*
 * show.c - rendering of tunnel state for the control socket (see show.h).
 */
#include "vtid/show.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "esp/datapath.h"
#include "esp/sa.h"
#include "ike/ike.h"
#include "lib/json.h"
#include "lib/log.h"
#include "platform/platform.h"
#include "vtid/template.h"

static const char *encap_name(const struct sa *sa)
{
	return sa->encap == ENCAP_UDP ? "udp" : "none";
}

static void suite_of(const struct sa *sa, char *out, size_t n)
{
	esp_suite_name(&sa->suite, out, n);
}

static void json_counters(struct json *j, const struct vif_stats *s)
{
	json_obj_open(j, "counters");
	json_u64(j, "tx_packets", s->tx_packets);
	json_u64(j, "tx_bytes", s->tx_bytes);
	json_u64(j, "tx_dropped", s->tx_dropped);
	json_u64(j, "rx_packets", s->rx_packets);
	json_u64(j, "rx_bytes", s->rx_bytes);
	json_u64(j, "rx_auth_fail", s->rx_auth_fail);
	json_u64(j, "rx_replay", s->rx_replay);
	json_u64(j, "rx_malformed", s->rx_malformed);
	json_u64(j, "rx_selector", s->rx_selector);
	json_u64(j, "rx_dropped", s->rx_dropped);
	json_u64(j, "tx_tso", s->tx_tso);
	json_u64(j, "rx_gro", s->rx_gro);
	json_u64(j, "tx_packet_path", s->tx_packet_path);
	json_u64(j, "tx_xdp", s->tx_xdp);
	json_u64(j, "rx_xdp", s->rx_xdp);
	json_obj_close(j);
}

/* Which way the tunnel's ESP leaves (datapath.h dp_vif_path). */
static enum dp_path path_of(const struct tunnel *t, const char **why)
{
	*why = "no datapath";
	return t->vif.dp ? dp_vif_path(t->vif.dp, &t->vif, why) : DP_PATH_SOCKET;
}

static void json_path(struct json *j, const struct tunnel *t)
{
	const char *why;

	switch (path_of(t, &why)) {
	case DP_PATH_UDP:
		json_str(j, "path", "udp");
		break;
	case DP_PATH_XDP:
		json_str(j, "path", "xdp");
		json_str(j, "path_dev", t->vif.path.dev);
		break;
	case DP_PATH_PACKET:
		json_str(j, "path", "packet");
		json_str(j, "path_dev", t->vif.path.dev);
		if (why)
			json_str(j, "path_why", why);
		break;
	case DP_PATH_SOCKET:
		json_str(j, "path", "socket");
		json_str(j, "path_why", why);
		break;
	}
}

/* What the TUN device and vtid exchange whole (platform.h TUN_OFFLOAD_*). */
static const char *offload_str(uint8_t o)
{
	return (o & TUN_OFFLOAD_USO) ? "tcp+udp" : (o & TUN_OFFLOAD_TSO) ? "tcp" : "none";
}

static void text_path(struct buf *b, const struct tunnel *t)
{
	const char *why;

	switch (path_of(t, &why)) {
	case DP_PATH_UDP:
		buf_printf(b, "  path    UDP socket\n");
		break;
	case DP_PATH_XDP:
		buf_printf(b, "  path    AF_XDP on %s\n", t->vif.path.dev);
		break;
	case DP_PATH_PACKET:
		buf_printf(b, "  path    packet socket on %s%s%s%s\n", t->vif.path.dev,
			   why ? " (not AF_XDP: " : "", why ? why : "", why ? ")" : "");
		break;
	case DP_PATH_SOCKET:
		buf_printf(b, "  path    raw socket (%s)\n", why);
		break;
	}
}

/* The inbound half of the pair whose outbound half carries traffic.  After
 * a rekey the interface also holds the replaced inbound SA for a while
 * (draining), and it may come first in in[]: shown, it sent a peer that
 * reads the SPI here to an SA about to go (rx_unknown_spi, seen with
 * libreswan's keys in the interop matrix). */
static const struct sa *current_in(const struct tunnel *t)
{
	const struct sa *best = NULL;
	unsigned i;

	if (t->vif.out && t->vif.out->pair)
		return t->vif.out->pair;
	for (i = 0; i < VIF_MAX_IN; i++)
		if (t->vif.in[i] && (!best || t->vif.in[i]->installed_ms > best->installed_ms))
			best = t->vif.in[i];
	return best;
}

/* §3.15 addresses: what the pool gave the peer (routed here), or what
 * the peer gave us (address = auto). */
static unsigned cp_addrs(const struct tunnel *t, const struct prefix **a, const char **what)
{
	unsigned n = tunnel_peer_addrs(t, a);

	*what = "peer_addresses";
	if (t->conf->address_auto) {
		*a = t->given;
		n = t->n_given;
		*what = "given_addresses";
	}
	return n;
}

static void json_cp_addrs(struct json *j, const struct tunnel *t)
{
	const struct prefix *a;
	const char *what;
	char p[PREFIX_STRLEN];
	unsigned i, n = cp_addrs(t, &a, &what);

	if (!t->conf->address_auto && !t->conf->n_pool)
		return;
	json_arr_open(j, what);
	for (i = 0; i < n; i++)
		json_str(j, NULL, prefix_str(&a[i], p, sizeof(p)));
	json_arr_close(j);
}

static void json_tunnel(struct json *j, const struct tunnel *t)
{
	const struct sa *in = current_in(t), *out = t->vif.out;
	char a[ADDR_STRLEN], name[64], spi[16];

	json_obj_open(j, NULL);
	json_str(j, "name", t->vif.name);
	json_str(j, "state", tunnel_state_name(t->state));
	json_str(j, "mode", t->conf->mode == MODE_MANUAL ? "manual" : "ike");
	json_str(j, "local", addr_str(&t->conf->local, a, sizeof(a)));
	json_str(j, "remote", addr_str(&t->conf->remote, a, sizeof(a)));
	if (tmpl_of(t)) {
		char id[IKE_ID_MAX + 1];

		json_str(j, "template", tmpl_of(t));
		tmpl_peer_id(t, id, sizeof(id));
		json_str(j, "peer_id", id);
	}
	json_bool(j, "carrier", t->vif.carrier);
	json_u64(j, "mtu", t->mtu);
	json_u64(j, "mss_clamp_mtu", t->vif.mss_mtu);
	json_str(j, "offload", offload_str(t->vif.offload));
	json_u64(j, "uptime", t->state == TS_UP ? (now_ms() - t->up_since_ms) / 1000 : 0);
	ike_show_json(t->conn, j);
	json_cp_addrs(j, t);
	if (in && out) {
		json_obj_open(j, "child");
		snprintf(spi, sizeof(spi), "0x%08x", in->spi);
		json_str(j, "spi_in", spi);
		snprintf(spi, sizeof(spi), "0x%08x", out->spi);
		json_str(j, "spi_out", spi);
		suite_of(out, name, sizeof(name));
		json_str(j, "proposal", name);
		json_str(j, "encap", encap_name(out));
		json_path(j, t);
		json_bool(j, "esn", out->suite.esn);
		json_u64(j, "replay_window", in->replay.window);
		json_u64(j, "seq_out", out->seq);
		json_obj_close(j);
	} else {
		json_null(j, "child");
	}
	json_counters(j, &t->vif.st);
	json_obj_close(j);
}

static void duration(char *out, size_t n, long s)
{
	if (s < 0)
		snprintf(out, n, "-");
	else if (s < 3600)
		snprintf(out, n, "%ldm%02lds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(out, n, "%ldh%02ldm", s / 3600, s / 60 % 60);
	else
		snprintf(out, n, "%ldd%02ldh", s / 86400, s / 3600 % 24);
}

static void human(char *out, size_t n, uint64_t v)
{
	static const char units[] = " KMGTP";
	double d = (double)v;
	int u = 0;

	while (d >= 1000 && u < 5) {
		d /= 1000;
		u++;
	}
	if (u)
		snprintf(out, n, "%.1f%c", d, units[u]);
	else
		snprintf(out, n, "%" PRIu64, v);
}

static long uptime_s(const struct tunnel *t)
{
	return t->state == TS_UP ? (long)((now_ms() - t->up_since_ms) / 1000) : -1;
}

/* One line per tunnel: what an operator scans first. */
static void table_header(struct buf *b)
{
	buf_printf(b, "%-15s %-10s %-22s %-8s %-18s %7s %7s %7s %7s %6s %7s\n", "TUNNEL", "STATE",
		   "PEER", "UPTIME", "ESP", "TX-PKT", "TX-B", "RX-PKT", "RX-B", "DROPS", "REKEY");
}

static void table_row(struct buf *b, const struct tunnel *t)
{
	const struct vif_stats *s = &t->vif.st;
	char peer[ADDR_STRLEN], up[24], esp[64] = "-", tp[16], tb[16], rp[16], rb[16], rk[24];
	long ike_s, child_s;

	addr_str(&t->conf->remote, peer, sizeof(peer));
	duration(up, sizeof(up), uptime_s(t));
	if (t->vif.out)
		suite_of(t->vif.out, esp, sizeof(esp));
	human(tp, sizeof(tp), s->tx_packets);
	human(tb, sizeof(tb), s->tx_bytes);
	human(rp, sizeof(rp), s->rx_packets);
	human(rb, sizeof(rb), s->rx_bytes);
	ike_rekey_eta(t->conn, &ike_s, &child_s);
	duration(rk, sizeof(rk), child_s);
	buf_printf(b, "%-15s %-10s %-22s %-8s %-18s %7s %7s %7s %7s %6" PRIu64 " %7s\n",
		   t->vif.name, t->vif.carrier ? tunnel_state_name(t->state) : t->state == TS_UP ?
		   "up,nocarr" : tunnel_state_name(t->state), peer, up, esp, tp, tb, rp, rb,
		   s->rx_dropped + s->tx_dropped, rk);
}

static void text_cp_addrs(struct buf *b, const struct tunnel *t)
{
	const struct prefix *a;
	const char *what;
	char p[PREFIX_STRLEN];
	unsigned i, n = cp_addrs(t, &a, &what);

	if (!t->conf->address_auto && !t->conf->n_pool)
		return;
	buf_printf(b, "  %s", t->conf->address_auto ? "address given by the peer:" :
		   "peer's address from the pool:");
	for (i = 0; i < n; i++)
		buf_printf(b, " %s", prefix_str(&a[i], p, sizeof(p)));
	buf_printf(b, "%s\n", n ? "" : " none");
}

/* Everything about one tunnel. */
static void text_detail(struct buf *b, const struct tunnel *t)
{
	const struct sa *in = current_in(t), *out = t->vif.out;
	const struct vif_stats *s = &t->vif.st;
	char l[ADDR_STRLEN], r[ADDR_STRLEN], name[64], up[24], rk1[24], rk2[24];
	long ike_s, child_s;

	duration(up, sizeof(up), uptime_s(t));
	buf_printf(b, "%s: %s, carrier %s, %s %s -> %s, up %s, mtu %u%s\n", t->vif.name,
		   tunnel_state_name(t->state), t->vif.carrier ? "on" : "off",
		   t->conf->mode == MODE_MANUAL ? "manual" : "ike",
		   addr_str(&t->conf->local, l, sizeof(l)), addr_str(&t->conf->remote, r, sizeof(r)),
		   up, t->mtu, t->vif.mss_mtu ? ", MSS clamped" : "");
	if (tmpl_of(t)) {
		char id[IKE_ID_MAX + 1];

		tmpl_peer_id(t, id, sizeof(id));
		buf_printf(b, "  template %s, peer %s\n", tmpl_of(t), id);
	}
	ike_show_text(t->conn, b);
	text_cp_addrs(b, t);
	if (in && out) {
		suite_of(out, name, sizeof(name));
		buf_printf(b, "  child   %s%s, in 0x%08x, out 0x%08x, seq %" PRIu64
			   ", replay window %u\n", name,
			   out->encap == ENCAP_UDP ? " in UDP" : "", in->spi, out->spi, out->seq,
			   in->replay.window);
		text_path(b, t);
	} else {
		buf_printf(b, "  child   none\n");
	}
	ike_rekey_eta(t->conn, &ike_s, &child_s);
	if (ike_s >= 0 || child_s >= 0) {
		duration(rk1, sizeof(rk1), ike_s);
		duration(rk2, sizeof(rk2), child_s);
		buf_printf(b, "  rekey   IKE SA in %s, Child SA in %s\n", rk1, rk2);
	}
	buf_printf(b, "  tx      %" PRIu64 " packets, %" PRIu64 " bytes, %" PRIu64 " dropped, %"
		   PRIu64 " by packet socket, %" PRIu64 " by AF_XDP\n", s->tx_packets, s->tx_bytes,
		   s->tx_dropped, s->tx_packet_path, s->tx_xdp);
	buf_printf(b, "  rx      %" PRIu64 " packets, %" PRIu64 " bytes, %" PRIu64
		   " dropped (auth %" PRIu64 ", replay %" PRIu64 ", malformed %" PRIu64
		   ", selector %" PRIu64 "), %" PRIu64 " ESP by AF_XDP\n",
		   s->rx_packets, s->rx_bytes, s->rx_dropped, s->rx_auth_fail, s->rx_replay,
		   s->rx_malformed, s->rx_selector, s->rx_xdp);
	buf_printf(b, "  offload %s: %" PRIu64 " super-packets cut, %" PRIu64
		   " packets coalesced on receive\n", offload_str(t->vif.offload), s->tx_tso,
		   s->rx_gro);
}

void show_tunnels(struct buf *out, const struct tunnel *list,
		  const char *only, bool json)
{
	const struct tunnel *t;
	struct json j;

	json_init(&j, out);
	if (json)
		json_arr_open(&j, NULL);
	else if (!only)
		table_header(out);
	for (t = list; t; t = t->next) {
		if (only && strcmp(only, t->vif.name) != 0)
			continue;
		if (json)
			json_tunnel(&j, t);
		else if (only)
			text_detail(out, t);
		else
			table_row(out, t);
	}
	if (json) {
		json_arr_close(&j);
		buf_printf(out, "\n");
	}
}

void show_stats(struct buf *out, const struct dp_stats *st, struct ike_ctx *ike, bool json)
{
	const struct ike_stats *is = ike_get_stats(ike);
	enum sock_err_kind k;
	struct json j;

	if (!json) {
		buf_printf(out, "rx unknown SPI   %" PRIu64 "\nrx short/bad     %" PRIu64
			   "\nrx keep-alives   %" PRIu64 "\nrx IKE on NAT-T  %" PRIu64
			   "\ntx errors        %" PRIu64 "\n", st->rx_unknown_spi, st->rx_short,
			   st->rx_keepalive, st->rx_ike, st->tx_errors);
		buf_printf(out, "IKE rx           %" PRIu64 "\nIKE malformed    %" PRIu64
			   "\nIKE unknown SA   %" PRIu64 "\nIKE unexpected   %" PRIu64
			   "\nIKE cookies sent %" PRIu64 "\nIKE half-open    %u\nIKE over limit   %"
			   PRIu64 "\n", is->rx, is->rx_malformed, is->rx_unknown_sa, is->rx_unexpected,
			   is->cookies_sent, ike_half_open(ike), is->half_open_refused);
		buf_printf(out, "IKE fragmented   %" PRIu64 " sent, %" PRIu64 " fragments in, %"
			   PRIu64 " reassembled\nIKE frag dropped %" PRIu64 " invalid, %" PRIu64
			   " duplicate, %" PRIu64 " over limit, %" PRIu64 " expired\n", is->frag_tx,
			   is->frag_rx, is->frag_reassembled, is->frag_invalid, is->frag_duplicate,
			   is->frag_limit, is->frag_expired);
		buf_printf(out, "send refused     ");
		for (k = 0; k < SOCK_ERR_KINDS; k++)
			buf_printf(out, "%s%" PRIu64 " %s", k ? ", " : "",
				   is->tx_refused[k] + st->tx_refused[k], sock_err_name(k));
		buf_printf(out, "\nsocket rx drops  %" PRIu64 "\n",
			   is->rx_sock_dropped + st->rx_sock_dropped);
		buf_printf(out, "crypto threads   %" PRIu64 "; the others sealed %" PRIu64
			   ", opened %" PRIu64 " ESP packets\n", st->threads, st->thread_sealed,
			   st->thread_opened);
		return;
	}
	json_init(&j, out);
	json_obj_open(&j, NULL);
	json_u64(&j, "rx_unknown_spi", st->rx_unknown_spi);
	json_u64(&j, "rx_short", st->rx_short);
	json_u64(&j, "rx_keepalive", st->rx_keepalive);
	json_u64(&j, "rx_ike", st->rx_ike);
	json_u64(&j, "tx_errors", st->tx_errors);
	json_obj_open(&j, "send_errors");
	for (k = 0; k < SOCK_ERR_KINDS; k++)
		json_u64(&j, sock_err_name(k), is->tx_refused[k] + st->tx_refused[k]);
	json_obj_close(&j);
	json_u64(&j, "socket_rx_dropped", is->rx_sock_dropped + st->rx_sock_dropped);
	json_u64(&j, "crypto_threads", st->threads);
	json_u64(&j, "thread_sealed", st->thread_sealed);
	json_u64(&j, "thread_opened", st->thread_opened);
	json_u64(&j, "ike_rx", is->rx);
	json_u64(&j, "ike_malformed", is->rx_malformed);
	json_u64(&j, "ike_unknown_sa", is->rx_unknown_sa);
	json_u64(&j, "ike_unexpected", is->rx_unexpected);
	json_u64(&j, "ike_cookies_sent", is->cookies_sent);
	json_u64(&j, "ike_peer_moved", is->peer_moved);
	json_u64(&j, "ike_half_open", ike_half_open(ike));
	json_u64(&j, "ike_half_open_refused", is->half_open_refused);
	json_u64(&j, "ike_frag_tx", is->frag_tx);
	json_u64(&j, "ike_frag_rx", is->frag_rx);
	json_u64(&j, "ike_frag_reassembled", is->frag_reassembled);
	json_u64(&j, "ike_frag_invalid", is->frag_invalid);
	json_u64(&j, "ike_frag_duplicate", is->frag_duplicate);
	json_u64(&j, "ike_frag_limit", is->frag_limit);
	json_u64(&j, "ike_frag_expired", is->frag_expired);
	json_obj_close(&j);
	buf_printf(out, "\n");
}
