#!/bin/bash
# bench.sh - one run, one table.  Between two namespaces over a veth, for
#   plain veth | vti (manual keys) aes128gcm16 and chacha20poly1305, each in
#   raw ESP and ESP-in-UDP (raw ESP leaves by vtid's packet socket; the
#   "raw socket" row forces the raw IP socket, [daemon] esp-path = socket,
#   and the "raw xdp" row sends by AF_XDP, esp-path = xdp; "UDP no USO"
#   turns the veths' UDP segmentation offload off; "2 thr" rows seal on two
#   threads, [daemon] crypto-threads = 2) |
#   strongSwan kernel-libipsec aes128gcm16 |
#   wireguard-go | OpenVPN 2.6 (static key, AES-256-CBC)
# it measures iperf3 TCP (1 and 4 streams), UDP 64-byte packet rate, ping
# RTT, and the CPU seconds the tunnel daemons (both ends) spend per GB moved
# by the 1-stream TCP run; every figure is also given relative to plain veth
# and to vti aes128gcm16 in UDP (the encapsulation strongSwan's userspace
# ESP, WireGuard and OpenVPN use too).  Only ratios mean anything: all
# share the cores.
# Usage: sudo bench/bench.sh [SECONDS per iperf3 run, default 5]
set -euo pipefail
cd "$(dirname "$0")/.."
T="${1:-5}"
scripts/deps.sh
command -v openvpn >/dev/null ||
	{ apt-get update -qq && apt-get install -y -qq --no-install-recommends openvpn >/dev/null; }
scripts/build.sh build
export VTID="$PWD/build/vtid" VTICTL="$PWD/build/vtictl"
. tests/net/lib.sh

declare -A TCP1 TCP4 PPS RTT CPU
ORDER=()
DAEMONS=()

cpu_ticks() {	# utime+stime of the daemons and their children (vtid's network
		# and auth processes do the work), in clock ticks
	local t=0 p
	for p in "${DAEMONS[@]}" $(for p in "${DAEMONS[@]}"; do ps -o pid= --ppid "$p"; done); do
		[ -r "/proc/$p/stat" ] || continue
		# utime, stime: fields 14, 15, counted after "(comm)", which
		# may hold spaces ("vtid: net").
		t=$((t + $(sed 's/.*) //' "/proc/$p/stat" | awk '{ print $12 + $13 }')))
	done
	echo "$t"
}
measure() {	# NAME DEST
	local name="$1" dst="$2" c0 c1 json bytes
	in_ns a ping -c 3 -i 0.2 -q "$dst" >/dev/null || fail "$name: no connectivity to $dst"
	c0=$(cpu_ticks)
	json=$(in_ns a iperf3 -c "$dst" -t "$T" -J 2>/dev/null)
	c1=$(cpu_ticks)
	TCP1[$name]=$(jq '.end.sum_received.bits_per_second / 1e6 | floor' <<<"$json")
	bytes=$(jq '.end.sum_received.bytes' <<<"$json")
	if [ ${#DAEMONS[@]} -gt 0 ]; then
		CPU[$name]=$(awk -v t=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v b="$bytes" \
			'BEGIN { printf "%.2f", (t / hz) / (b / 1e9) }')
	else
		CPU[$name]="-"
	fi
	TCP4[$name]=$(in_ns a iperf3 -c "$dst" -t "$T" -P 4 -J 2>/dev/null |
		jq '.end.sum_received.bits_per_second / 1e6 | floor')
	PPS[$name]=$(in_ns a iperf3 -c "$dst" -u -l 64 -b 0 -t "$T" -J 2>/dev/null |
		jq '(.end.sum.packets - .end.sum.lost_packets) / .end.sum.seconds / 1000 | floor')
	RTT[$name]=$(in_ns a ping -c 200 -i 0.005 -q "$dst" | awk -F/ '/^rtt/ { printf "%d", $5 * 1000 }')
	ORDER+=("$name")
	echo "measured $name: ${TCP1[$name]} / ${TCP4[$name]} Mbit/s, ${PPS[$name]} kpps, ${RTT[$name]} us, ${CPU[$name]} CPU s/GB" >&2
}
stop_all() {	# end the daemons of the last path (by PID)
	local p
	for p in "${DAEMONS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${DAEMONS[@]}"; do
		for _ in $(seq 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || true
	done
	DAEMONS=()
}

ns_add a; ns_add b; link_ab a b
bg_in_ns b iperf3 -s >/dev/null 2>&1
sleep 0.3
measure "plain veth" 192.0.2.2

vti() {	# NAME ESP ENCAP INNER-NET [DAEMON-LINES]
	local n ka kb
	n=$(keymat_len "$2"); ka=$(key "$n" "bench-a$2"); kb=$(key "$n" "bench-b$2")
	{ [ -z "${5:-}" ] || printf '[daemon]\n%s\n' "$5"
	  manual_tunnel "vb$4" 192.0.2.1 192.0.2.2 "$2" 0x1001 0x2001 "$kb" "$ka" \
		"10.$4.0.1/30" "mtu = 1420" "encap = $3"; } > "$VT_TMP/a.conf"
	{ [ -z "${5:-}" ] || printf '[daemon]\n%s\n' "$5"
	  manual_tunnel "vb$4" 192.0.2.2 192.0.2.1 "$2" 0x2001 0x1001 "$ka" "$kb" \
		"10.$4.0.2/30" "mtu = 1420" "encap = $3"; } > "$VT_TMP/b.conf"
	start_vtid_as "va$4" a "$VT_TMP/a.conf" -q
	start_vtid_as "vb$4" b "$VT_TMP/b.conf" -q
	DAEMONS=("$(eval echo "\$PID_va$4")" "$(eval echo "\$PID_vb$4")")
	measure "$1" "10.$4.0.2"
	stop_all
}
vti "vti gcm UDP" aes128gcm16 yes 101
vti "vti gcm raw packet" aes128gcm16 no 102
vti "vti gcm raw socket" aes128gcm16 no 105 "esp-path = socket"
vti "vti gcm raw xdp" aes128gcm16 no 106 "esp-path = xdp"
vti "vti gcm UDP 2 thr" aes128gcm16 yes 108 "crypto-threads = 2"
vti "vti gcm xdp 2 thr" aes128gcm16 no 109 "$(printf 'esp-path = xdp\ncrypto-threads = 2')"
# The veth passes a UDP GSO super-packet to the peer whole: no NIC does.
# Without the veth's UDP segmentation offload, the kernel cuts it into
# datagrams before the veth, as for a NIC without USO; the receiver gets
# them one by one, as raw ESP always is.
uso() { in_ns a ethtool -K eth0 tx-udp-segmentation "$1"; in_ns b ethtool -K eth0 tx-udp-segmentation "$1"; }
USO_WAS=$(in_ns a ethtool -k eth0 | awk '$1 == "tx-udp-segmentation:" { print $2 }')
uso off
vti "vti gcm UDP no USO" aes128gcm16 yes 107
uso "$USO_WAS"	# as the other rows found it
vti "vti chacha UDP" chacha20poly1305 yes 103
vti "vti chacha raw" chacha20poly1305 no 104

# strongSwan with userspace ESP (kernel-libipsec, always in UDP).
PSK=bench-$$
for side in a b; do
	if [ $side = a ]; then l=192.0.2.1; r=192.0.2.2; else l=192.0.2.2; r=192.0.2.1; fi
	cat > "$VT_TMP/$side.swanctl.conf" <<C
connections { b { version = 2
	local_addrs = $l
	remote_addrs = $r
	proposals = aes128gcm16-prfsha256-x25519
	encap = yes
	mobike = no
	local { auth = psk
		id = $l }
	remote { auth = psk
		 id = $r }
	children { b { local_ts = 0.0.0.0/0
		       remote_ts = 0.0.0.0/0
		       esp_proposals = aes128gcm16 } } } }
secrets { ike-b { id-a = 192.0.2.1
	id-b = 192.0.2.2
	secret = "$PSK" } }
C
	start_charon $side
done
in_ns a ip addr add 10.252.0.1/32 dev lo; in_ns b ip addr add 10.252.0.2/32 dev lo
swanctl a --initiate --child b --timeout 10 >/dev/null || fail "strongSwan did not connect"
for side in a b; do
	while in_ns $side ip rule del pref 220 2>/dev/null; do :; done
done
in_ns a ip route add 10.252.0.2/32 dev ipsec0 src 10.252.0.1
in_ns b ip route add 10.252.0.1/32 dev ipsec0 src 10.252.0.2
DAEMONS=("$CHARON_a" "$CHARON_b")
measure "strongSwan gcm" 10.252.0.2
stop_charon a; stop_charon b; DAEMONS=()

# wireguard-go: names unique to this run keep the UAPI sockets apart.
WA="wga$$"; WB="wgb$$"
trap 'rm -f /var/run/wireguard/$WA.sock /var/run/wireguard/$WB.sock; vt_cleanup' EXIT
bg_in_ns a wireguard-go -f "$WA" >"$VT_TMP/wga.log" 2>&1
DAEMONS=("$!")
bg_in_ns b wireguard-go -f "$WB" >"$VT_TMP/wgb.log" 2>&1
DAEMONS+=("$!")
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
stop_all

# OpenVPN 2.6 in static-key mode (no TLS; CBC + HMAC) over UDP.
(umask 077; openvpn --genkey secret "$VT_TMP/ovpn.key" 2>/dev/null)
for side in a b; do
	if [ $side = a ]; then l=10.253.0.1; r=10.253.0.2; peer=192.0.2.2; else l=10.253.0.2; r=10.253.0.1; peer=192.0.2.1; fi
	bg_in_ns $side openvpn --dev ovpn$side --dev-type tun --proto udp --remote $peer \
		--ifconfig $l $r --secret "$VT_TMP/ovpn.key" --cipher AES-256-CBC --auth SHA256 \
		--tun-mtu 1420 --verb 0 \
		>"$VT_TMP/ovpn$side.log" 2>&1
	DAEMONS+=("$!")
done
wait_until 20 in_ns a ping -c 1 -W 1 10.253.0.2 || fail "OpenVPN did not connect: $(cat "$VT_TMP/ovpna.log")"
measure "OpenVPN cbc" 10.253.0.2
stop_all

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a != "-") printf "%.2f", a / b; else print "-" }'; }
B="plain veth"; V="vti gcm UDP"
echo
echo "iperf3 ${T} s per run; UDP: 64-byte datagrams, unlimited rate; ping: 200 x 5 ms;"
echo "CPU: seconds of both tunnel daemons per GB of the 1-stream TCP run; $(nproc) cores, $(uname -r)"
echo
printf '| %-18s | %9s | %6s | %6s | %9s | %6s | %6s | %7s | %6s | %7s | %6s | %6s |\n' "path" "TCP 1" "/veth" "/vti" \
	"TCP 4" "/veth" "/vti" "UDP kpps" "/vti" "RTT us" "/veth" "CPU s/GB"
printf '|%s|\n' "--------------------|-----------|--------|--------|-----------|--------|--------|---------|--------|---------|--------|----------"
for n in "${ORDER[@]}"; do
	printf '| %-18s | %9s | %6s | %6s | %9s | %6s | %6s | %7s | %6s | %7s | %6s | %8s |\n' "$n" \
		"${TCP1[$n]}" "$(ratio "${TCP1[$n]}" "${TCP1[$B]}")" "$(ratio "${TCP1[$n]}" "${TCP1[$V]}")" \
		"${TCP4[$n]}" "$(ratio "${TCP4[$n]}" "${TCP4[$B]}")" "$(ratio "${TCP4[$n]}" "${TCP4[$V]}")" \
		"${PPS[$n]}" "$(ratio "${PPS[$n]}" "${PPS[$V]}")" \
		"${RTT[$n]}" "$(ratio "${RTT[$n]}" "${RTT[$B]}")" "${CPU[$n]}"
done
echo "(TCP in Mbit/s)"
best=""; for n in "strongSwan gcm" "wireguard-go" "OpenVPN cbc"; do
	[ -z "$best" ] || [ "${TCP1[$n]}" -gt "${TCP1[$best]}" ] && best="$n"
done
echo
echo "TCP 1 stream: $V / $best (best other userspace VPN) = $(ratio "${TCP1[$V]}" "${TCP1[$best]}");" \
	"vti gcm raw packet / $best = $(ratio "${TCP1[vti gcm raw packet]}" "${TCP1[$best]}");" \
	"vti gcm raw xdp / $best = $(ratio "${TCP1[vti gcm raw xdp]}" "${TCP1[$best]}");" \
	"$V / plain veth = $(ratio "${TCP1[$V]}" "${TCP1[$B]}")"
# The raw-ESP send paths (issue 15) against ESP-in-UDP and against the
# raw IP socket they replace, every figure of the table (RTT and CPU:
# lower is better).
for pair in "raw packet|$V" "raw packet|vti gcm raw socket" "raw xdp|$V" \
	"raw xdp|vti gcm raw packet" "raw xdp|vti gcm UDP no USO" \
	"UDP 2 thr|$V" "xdp 2 thr|vti gcm raw xdp"; do
	R="vti gcm ${pair%%|*}" o="${pair#*|}"
	echo "$R / $o: TCP 1 $(ratio "${TCP1[$R]}" "${TCP1[$o]}")," \
		"TCP 4 $(ratio "${TCP4[$R]}" "${TCP4[$o]}")," \
		"UDP kpps $(ratio "${PPS[$R]}" "${PPS[$o]}")," \
		"RTT $(ratio "${RTT[$R]}" "${RTT[$o]}")," \
		"CPU s/GB $(ratio "${CPU[$R]}" "${CPU[$o]}")"
done
