#!/bin/bash
# Tunnel MTU and MSS clamping over an underlay with a small MTU (1280):
# the derived interface MTU leaves room for the worst-case ESP overhead,
# and with a too-large configured MTU, MSS clamping still lets TCP
# through without fragments.  Both checked with an iperf3 transfer.
. "$(dirname "$0")/lib.sh"
command -v iperf3 >/dev/null || fail "iperf3 is not installed"

ns_add a; ns_add b; link_ab a b 1280
in_ns b iperf3 -s -D -I "$VT_TMP/iperf.pid" >/dev/null
sleep 0.3
VT_PIDS+=("$(cat "$VT_TMP/iperf.pid")")
K1=$(key 96 m1); K2=$(key 96 m2)

run() {	# EXTRA-LINES...
	manual_tunnel sti0 192.0.2.1 192.0.2.2 aes256-sha512 0x1001 0x2001 "$K2" "$K1" \
		10.9.0.1/30 encap=yes "$@" | sed 's/^encap=yes$/encap = yes/' > "$VT_TMP/a.conf"
	manual_tunnel sti0 192.0.2.2 192.0.2.1 aes256-sha512 0x2001 0x1001 "$K1" "$K2" \
		10.9.0.2/30 encap=yes "$@" | sed 's/^encap=yes$/encap = yes/' > "$VT_TMP/b.conf"
	start_vtid a "$VT_TMP/a.conf"; start_vtid b "$VT_TMP/b.conf"
	wait_until 5 has_carrier a sti0 || fail "no carrier"
}
mtu_of() { in_ns "$1" cat /sys/class/net/sti0/mtu; }
transfer() {	# iperf3 for 2 s; prints Mbit/s
	in_ns a timeout 20 iperf3 -c 10.9.0.2 -t 2 -J 2>/dev/null |
		jq '.end.sum_received.bits_per_second / 1e6 | floor'
}
drops() { in_ns "$1" nstat -az IpFragCreates 2>/dev/null | awk '/IpFragCreates/ { print $2 }'; }

# 1. Derived MTU: 1280 - 20 (IPv4) - 8 (UDP) - 8 (ESP) - 16 (IV) - 32 (ICV),
# less padding to 16-byte blocks and the 2-byte trailer = 1182.
run
[ "$(mtu_of a)" = 1182 ] || fail "derived MTU is $(mtu_of a), want 1182"
in_ns a ping -c 1 -M do -s $((1182 - 28)) -W 2 10.9.0.2 >/dev/null || fail "a full-size packet did not pass"
f0=$(drops a)
mbit=$(transfer)
[ -n "$mbit" ] && [ "$mbit" -gt 10 ] || fail "transfer over the derived MTU: ${mbit:-none} Mbit/s"
[ "$(drops a)" = "$f0" ] || fail "the transfer needed IP fragments"
stop_vtid a; stop_vtid b; VT_PIDS=("$(cat "$VT_TMP/iperf.pid")")
pass "derived MTU 1182 over a 1280 underlay: full-size ping passes, iperf3 $mbit Mbit/s, no fragments"

# 2. Configured too large (1400): TCP SYNs are clamped to fit 1182.
run "mtu = 1400"
[ "$(mtu_of a)" = 1400 ] || fail "configured MTU not applied"
in_ns b timeout 5 tcpdump -c 1 -nv -i sti0 'tcp[tcpflags] & tcp-syn != 0' > "$VT_TMP/syn.txt" 2>/dev/null &
DUMP=$!
sleep 0.5
f0=$(drops a)
mbit=$(transfer)
wait $DUMP || true
grep -q "mss 1142" "$VT_TMP/syn.txt" || fail "SYN not clamped to 1142: $(cat "$VT_TMP/syn.txt")"
[ -n "$mbit" ] && [ "$mbit" -gt 10 ] || fail "transfer with clamping: ${mbit:-none} Mbit/s"
[ "$(drops a)" = "$f0" ] || fail "the clamped transfer needed IP fragments"
pass "mtu = 1400 over a 1280 underlay: SYN MSS clamped to 1142, iperf3 $mbit Mbit/s, no fragments"
