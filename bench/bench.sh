#!/bin/bash
# bench.sh - one run, one table: iperf3 TCP throughput (1 and 4 streams)
# and ping latency between two namespaces over
#   plain veth | vti (manual keys, aes128gcm16, raw ESP) | wireguard-go
# with every figure also given as a ratio to plain veth measured in the
# same run.  Only ratios mean anything: everything shares the same cores.
# Usage: sudo bench/bench.sh [SECONDS per iperf3 run, default 5]
set -euo pipefail
cd "$(dirname "$0")/.."
T="${1:-5}"
scripts/deps.sh
scripts/build.sh build
export VTID="$PWD/build/vtid" VTICTL="$PWD/build/vtictl"
. tests/net/lib.sh

iperf() {	# iperf DEST STREAMS -> Mbit/s received
	in_ns a iperf3 -c "$1" -t "$T" -P "$2" -J 2>/dev/null |
		jq '.end.sum_received.bits_per_second / 1e6 | floor'
}
latency() {	# latency DEST -> average RTT in microseconds
	in_ns a ping -c 200 -i 0.005 -q "$1" | awk -F/ '/^rtt/ { printf "%d", $5 * 1000 }'
}
measure() {	# measure NAME DEST
	in_ns a ping -c 3 -i 0.2 -q "$2" >/dev/null || fail "$1: no connectivity to $2"
	R1["$1"]=$(iperf "$2" 1)
	R4["$1"]=$(iperf "$2" 4)
	LAT["$1"]=$(latency "$2")
	echo "measured $1: ${R1[$1]} / ${R4[$1]} Mbit/s, ${LAT[$1]} us" >&2
}
declare -A R1 R4 LAT
ORDER=("plain veth" "vti aes128gcm16" "wireguard-go")

ns_add a; ns_add b; link_ab a b
in_ns b iperf3 -s -D -I "$VT_TMP/iperf.pid" >/dev/null
sleep 0.3
VT_PIDS+=("$(cat "$VT_TMP/iperf.pid")")

measure "plain veth" 192.0.2.2

KA=$(key 20 bench-a); KB=$(key 20 bench-b)
manual_tunnel sti0 192.0.2.1 192.0.2.2 aes128gcm16 0x1001 0x2001 "$KB" "$KA" \
	10.255.0.1/30 "mtu = 1420" > "$VT_TMP/a.conf"
manual_tunnel sti0 192.0.2.2 192.0.2.1 aes128gcm16 0x2001 0x1001 "$KA" "$KB" \
	10.255.0.2/30 "mtu = 1420" > "$VT_TMP/b.conf"
start_vtid a "$VT_TMP/a.conf" -q
start_vtid b "$VT_TMP/b.conf" -q
measure "vti aes128gcm16" 10.255.0.2

# wireguard-go: foreground (-f) inside each namespace; names unique to this
# run keep their UAPI sockets in /var/run/wireguard apart from any other.
WA="wga$$"; WB="wgb$$"
trap 'rm -f /var/run/wireguard/$WA.sock /var/run/wireguard/$WB.sock; vt_cleanup' EXIT
bg_in_ns a wireguard-go -f "$WA" >"$VT_TMP/wga.log" 2>&1
bg_in_ns b wireguard-go -f "$WB" >"$VT_TMP/wgb.log" 2>&1
for _ in $(seq 50); do
	[ -S "/var/run/wireguard/$WA.sock" ] && [ -S "/var/run/wireguard/$WB.sock" ] && break
	sleep 0.1
done
(umask 077; wg genkey > "$VT_TMP/wga.key"; wg genkey > "$VT_TMP/wgb.key")
pa=$(wg pubkey < "$VT_TMP/wga.key"); pb=$(wg pubkey < "$VT_TMP/wgb.key")
in_ns a wg set "$WA" private-key "$VT_TMP/wga.key" listen-port 51820 \
	peer "$pb" endpoint 192.0.2.2:51820 allowed-ips 10.254.0.2/32
in_ns b wg set "$WB" private-key "$VT_TMP/wgb.key" listen-port 51820 \
	peer "$pa" endpoint 192.0.2.1:51820 allowed-ips 10.254.0.1/32
in_ns a ip addr add 10.254.0.1/30 dev "$WA"; in_ns a ip link set "$WA" mtu 1420 up
in_ns b ip addr add 10.254.0.2/30 dev "$WB"; in_ns b ip link set "$WB" mtu 1420 up
measure "wireguard-go" 10.254.0.2

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }'; }
base="plain veth"
echo
echo "iperf3 TCP, ${T}s per run; ping: 200 x 5 ms, average RTT; $(nproc) cores, $(uname -r)"
printf '| %-16s | %12s | %7s | %12s | %7s | %9s | %7s |\n' \
	"path" "1 stream" "x veth" "4 streams" "x veth" "ping RTT" "x veth"
printf '|%s|%s|%s|%s|%s|%s|%s|\n' ------------------ -------------- --------- \
	-------------- --------- ----------- ---------
for n in "${ORDER[@]}"; do
	printf '| %-16s | %7s Mb/s | %7s | %7s Mb/s | %7s | %6s us | %7s |\n' "$n" \
		"${R1[$n]}" "$(ratio "${R1[$n]}" "${R1[$base]}")" \
		"${R4[$n]}" "$(ratio "${R4[$n]}" "${R4[$base]}")" \
		"${LAT[$n]}" "$(ratio "${LAT[$n]}" "${LAT[$base]}")"
done
v="vti aes128gcm16"; w="wireguard-go"
echo
echo "vti / wireguard-go: 1 stream $(ratio "${R1[$v]}" "${R1[$w]}"), 4 streams $(ratio "${R4[$v]}" "${R4[$w]}")"
