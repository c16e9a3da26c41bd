/*
 * tcpmss.c - TCP MSS clamping (see tcpmss.h).
 */
#include "esp/tcpmss.h"

#include "lib/csum.h"
#include "lib/cursor.h"

#define TCP_SYN 0x02
#define OPT_END 0
#define OPT_NOP 1
#define OPT_MSS 2

int tcp_mss_clamp(uint8_t *pkt, size_t len, unsigned mtu)
{
	size_t ip_len, tcp_len, off;
	unsigned hdrs;
	uint8_t *tcp;
	uint16_t mss, want;

	if (len < 20)
		return 0;
	if (pkt[0] >> 4 == 4) {
		ip_len = (size_t)(pkt[0] & 15) * 4;
		/* TCP, first fragment only. */
		if (ip_len < 20 || pkt[9] != 6 || (be16_get(pkt + 6) & 0x1fff))
			return 0;
		hdrs = 40;
	} else if (pkt[0] >> 4 == 6) {
		ip_len = 40;
		if (len < 40 || pkt[6] != 6)
			return 0;
		hdrs = 60;
	} else {
		return 0;
	}
	if (mtu <= hdrs || len < ip_len + 20)
		return 0;
	tcp = pkt + ip_len;
	tcp_len = (size_t)(tcp[12] >> 4) * 4;
	if (!(tcp[13] & TCP_SYN) || tcp_len < 20 || ip_len + tcp_len > len)
		return 0;
	want = (uint16_t)(mtu - hdrs);
	for (off = 20; off < tcp_len;) {
		uint8_t kind = tcp[off];

		if (kind == OPT_END)
			break;
		if (kind == OPT_NOP) {
			off++;
			continue;
		}
		if (off + 1 >= tcp_len || tcp[off + 1] < 2 || off + tcp[off + 1] > tcp_len)
			return 0;	/* malformed options: leave the packet alone */
		if (kind == OPT_MSS && tcp[off + 1] == 4) {
			mss = be16_get(tcp + off + 2);
			if (mss <= want)
				return 0;
			be16_put(tcp + off + 2, want);
			be16_put(tcp + 16, csum_replace(be16_get(tcp + 16), mss, want));
			return 1;
		}
		off += tcp[off + 1];
	}
	return 0;
}
