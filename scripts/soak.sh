#!/bin/bash
# soak.sh [SECONDS] [RATE]: two vtids in namespaces, an IKEv2 tunnel re-keyed
# every 10 s (Child and IKE SA in turn, from both ends) for SECONDS
# (default 600) under iperf3 UDP load at RATE (default 200M).  Prints
# datagrams lost (0 expected), and each network
# process's RSS and open descriptors at the start and the end (flat
# expected).  Not part of CI: it takes ten minutes.  Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
T="${1:-600}"; RATE="${2:-200M}"
scripts/deps.sh
scripts/build.sh build
export VTID="$PWD/build/vtid" VTICTL="$PWD/build/vtictl"
. tests/net/lib.sh

ns_add a; ns_add b; link_ab a b
for side in a b; do
	if [ $side = a ]; then l=192.0.2.1; r=192.0.2.2; ip=10.9.0.1/30; s=yes; else l=192.0.2.2; r=192.0.2.1; ip=10.9.0.2/30; s=no; fi
	printf '[tunnel soak]\nlocal = %s\nremote = %s\naddress = %s\npsk = soak-%s\nstart = %s\n' \
		$l $r $ip $$ $s > "$VT_TMP/$side.conf"
done
start_vtid b "$VT_TMP/b.conf"; start_vtid a "$VT_TMP/a.conf"
wait_until 10 has_carrier a soak || fail "no carrier"
probe() {	# NS: "RSS kB, fds"
	local p; p=$(vtid_net "$1")
	echo "$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$p/status") kB RSS, $(ls "/proc/$p/fd" | wc -l) fds"
}
start_a=$(probe a); start_b=$(probe b)
bg_in_ns b iperf3 -s >/dev/null 2>&1
sleep 0.5
# -w: iperf3's own receive socket must not be where datagrams are lost.
in_ns a iperf3 -c 10.9.0.2 -u -b "$RATE" -l 1200 -w 8M -t "$T" -J > "$VT_TMP/udp.json" &
UDP=$!
n=0
end=$((SECONDS + T))
while [ "$SECONDS" -lt $((end - 5)) ]; do
	sleep 10
	case $((n % 4)) in
	0) vtictl a rekey soak >/dev/null || true ;;
	1) vtictl b rekey soak >/dev/null || true ;;
	2) vtictl a rekey soak ike >/dev/null || true ;;
	3) vtictl b rekey soak ike >/dev/null || true ;;
	esac
	n=$((n + 1))
done
wait $UDP || true
sent=$(jq '.end.sum.packets' "$VT_TMP/udp.json")
lost=$(jq '.end.sum.lost_packets' "$VT_TMP/udp.json")
rekeys=$(grep -c "re-keyed\|rekeyed\|rekey" "$VT_TMP/a.log" || true)
echo
echo "soak: $T s, $n rekeys requested (Child and IKE, both ends), $rekeys rekey log lines on a"
echo "UDP at $RATE: $sent datagrams, $lost lost"
echo "where: a's TUN queue dropped $(in_ns a cat /sys/class/net/soak/statistics/tx_dropped)" \
	"before vtid read them; vtid a tx_dropped $(vtictl a -j show soak | jq .[0].counters.tx_dropped)," \
	"vtid b rx_dropped $(vtictl b -j show soak | jq .[0].counters.rx_dropped)," \
	"UDP receive errors in b (iperf3's socket) $(in_ns b awk '/^Udp: [0-9]/ { print $4 }' /proc/net/snmp)"
echo "a's network process: start $start_a; end $(probe a)"
echo "b's network process: start $start_b; end $(probe b)"
