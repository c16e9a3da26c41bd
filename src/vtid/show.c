/*
 * show.c - rendering of tunnel state for the control socket (see show.h).
 */
#include "vtid/show.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "esp/sa.h"
#include "ike/ike.h"
#include "lib/json.h"
#include "lib/log.h"

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
	json_obj_close(j);
}

static const struct sa *first_in(const struct vif *v)
{
	unsigned i;

	for (i = 0; i < VIF_MAX_IN; i++)
		if (v->in[i])
			return v->in[i];
	return NULL;
}

static void json_tunnel(struct json *j, struct ike_ctx *ike, const struct tunnel *t)
{
	const struct sa *in = first_in(&t->vif), *out = t->vif.out;
	char a[ADDR_STRLEN], name[64], spi[16];

	json_obj_open(j, NULL);
	json_str(j, "name", t->conf.name);
	json_str(j, "state", tunnel_state_name(t->state));
	json_str(j, "mode", t->conf.mode == MODE_MANUAL ? "manual" : "ike");
	json_str(j, "local", addr_str(&t->conf.local, a, sizeof(a)));
	json_str(j, "remote", addr_str(&t->conf.remote, a, sizeof(a)));
	json_bool(j, "carrier", t->vif.carrier);
	json_u64(j, "mtu", t->mtu);
	json_u64(j, "mss_clamp_mtu", t->vif.mss_mtu);
	json_u64(j, "uptime", t->state == TS_UP ? (now_ms() - t->up_since_ms) / 1000 : 0);
	ike_show_json(ike, t, j);
	if (in && out) {
		json_obj_open(j, "child");
		snprintf(spi, sizeof(spi), "0x%08x", in->spi);
		json_str(j, "spi_in", spi);
		snprintf(spi, sizeof(spi), "0x%08x", out->spi);
		json_str(j, "spi_out", spi);
		suite_of(out, name, sizeof(name));
		json_str(j, "proposal", name);
		json_str(j, "encap", encap_name(out));
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

static void text_tunnel(struct buf *b, struct ike_ctx *ike, const struct tunnel *t)
{
	const struct sa *in = first_in(&t->vif), *out = t->vif.out;
	const struct vif_stats *s = &t->vif.st;
	char l[ADDR_STRLEN], r[ADDR_STRLEN], name[64];
	uint64_t up = t->state == TS_UP ? (now_ms() - t->up_since_ms) / 1000 : 0;

	buf_printf(b, "%s: %s, carrier %s, %s %s -> %s", t->conf.name,
		   tunnel_state_name(t->state), t->vif.carrier ? "on" : "off",
		   t->conf.mode == MODE_MANUAL ? "manual" : "ike",
		   addr_str(&t->conf.local, l, sizeof(l)), addr_str(&t->conf.remote, r, sizeof(r)));
	if (t->state == TS_UP)
		buf_printf(b, ", up %" PRIu64 "h%02" PRIu64 "m%02" PRIu64 "s", up / 3600,
			   up / 60 % 60, up % 60);
	buf_printf(b, "\n");
	ike_show_text(ike, t, b);
	if (in && out) {
		suite_of(out, name, sizeof(name));
		buf_printf(b, "  child   %s%s, in 0x%08x, out 0x%08x, seq %" PRIu64
			   ", replay window %u\n", name,
			   out->encap == ENCAP_UDP ? " in UDP" : "", in->spi, out->spi, out->seq,
			   in->replay.window);
	} else {
		buf_printf(b, "  child   none\n");
	}
	buf_printf(b, "  tx      %" PRIu64 " packets, %" PRIu64 " bytes, %" PRIu64 " dropped\n",
		   s->tx_packets, s->tx_bytes, s->tx_dropped);
	buf_printf(b, "  rx      %" PRIu64 " packets, %" PRIu64 " bytes, %" PRIu64
		   " dropped (auth %" PRIu64 ", replay %" PRIu64 ", malformed %" PRIu64
		   ", selector %" PRIu64 ")\n",
		   s->rx_packets, s->rx_bytes, s->rx_dropped, s->rx_auth_fail, s->rx_replay,
		   s->rx_malformed, s->rx_selector);
}

void show_tunnels(struct buf *out, struct ike_ctx *ike, const struct tunnel *list,
		  const char *only, bool json)
{
	const struct tunnel *t;
	struct json j;

	json_init(&j, out);
	if (json)
		json_arr_open(&j, NULL);
	for (t = list; t; t = t->next) {
		if (only && strcmp(only, t->conf.name) != 0)
			continue;
		if (json)
			json_tunnel(&j, ike, t);
		else
			text_tunnel(out, ike, t);
	}
	if (json) {
		json_arr_close(&j);
		buf_printf(out, "\n");
	}
}

void show_stats(struct buf *out, const struct dp_stats *st, bool json)
{
	struct json j;

	if (!json) {
		buf_printf(out, "rx unknown SPI   %" PRIu64 "\nrx short/bad     %" PRIu64
			   "\nrx keep-alives   %" PRIu64 "\nrx IKE on NAT-T  %" PRIu64
			   "\ntx errors        %" PRIu64 "\n", st->rx_unknown_spi, st->rx_short,
			   st->rx_keepalive, st->rx_ike, st->tx_errors);
		return;
	}
	json_init(&j, out);
	json_obj_open(&j, NULL);
	json_u64(&j, "rx_unknown_spi", st->rx_unknown_spi);
	json_u64(&j, "rx_short", st->rx_short);
	json_u64(&j, "rx_keepalive", st->rx_keepalive);
	json_u64(&j, "rx_ike", st->rx_ike);
	json_u64(&j, "tx_errors", st->tx_errors);
	json_obj_close(&j);
	buf_printf(out, "\n");
}
