/*
 * vif.c - tunnel interface state: carrier and traffic selectors
 * (RFC 4301 §4.4.1: a VTI is an SPD entry bound to an interface; its
 * selectors default to everything).
 */
#include "esp/vif.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/cursor.h"
#include "platform/platform.h"

int vif_set_ts(struct vif *v, const struct prefix *local, unsigned nl,
	       const struct prefix *remote, unsigned nr)
{
	struct prefix *b;

	nl = nl < VIF_MAX_TS ? nl : VIF_MAX_TS;
	nr = nr < VIF_MAX_TS ? nr : VIF_MAX_TS;
	vif_free_ts(v);
	b = malloc((nl + nr ? nl + nr : 1) * sizeof(*b));
	if (!b)
		return -ENOMEM;
	memcpy(b, local, nl * sizeof(*b));
	memcpy(b + nl, remote, nr * sizeof(*b));
	v->local_ts = b;
	v->remote_ts = b + nl;
	v->n_local_ts = nl;
	v->n_remote_ts = nr;
	return 0;
}

void vif_free_ts(struct vif *v)
{
	free(v->local_ts);
	v->local_ts = v->remote_ts = NULL;
	v->n_local_ts = v->n_remote_ts = 0;
}

unsigned vif_in_count(const struct vif *v)
{
	unsigned i, n = 0;

	for (i = 0; i < VIF_MAX_IN; i++)
		n += v->in[i] != NULL;
	return n;
}

void vif_carrier_sync(struct vif *v)
{
	bool want = v->out != NULL && vif_in_count(v) > 0;

	if (want == v->carrier)
		return;
	v->carrier = want;
	if (v->tun_fd >= 0 && tun_set_carrier(v->tun_fd, want) < 0)
		log_warn(v->name, "cannot set carrier %s", want ? "on" : "off");
	log_info(v->name, "carrier %s", want ? "up" : "down");
}

static bool ts_any(const struct prefix *ts, unsigned n, int family, const uint8_t *a)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (prefix_match(&ts[i], family, a))
			return true;
	return false;
}

bool vif_ts_allows(const struct vif *v, const uint8_t *pkt, size_t len, bool inbound)
{
	const uint8_t *src, *dst;
	int family;

	if (len < 20)
		return false;
	if (pkt[0] >> 4 == 4) {
		if ((pkt[0] & 15) < 5 || be16_get(pkt + 2) > len || be16_get(pkt + 2) < 20)
			return false;
		family = AF_INET;
		src = pkt + 12;
		dst = pkt + 16;
	} else if (pkt[0] >> 4 == 6) {
		if (len < 40 || (size_t)be16_get(pkt + 4) + 40 > len)
			return false;
		family = AF_INET6;
		src = pkt + 8;
		dst = pkt + 24;
	} else {
		return false;
	}
	if (inbound)
		return ts_any(v->remote_ts, v->n_remote_ts, family, src) &&
		       ts_any(v->local_ts, v->n_local_ts, family, dst);
	return ts_any(v->local_ts, v->n_local_ts, family, src) &&
	       ts_any(v->remote_ts, v->n_remote_ts, family, dst);
}
