#!/bin/bash
# The vti demo: two sites, each a gateway with a LAN behind it, joined by
# a route-based IPsec tunnel (manual keys, AES-128-GCM).  The LANs reach
# each other over IPv4 and IPv6 through the tunnel interfaces, and
# everything is torn down at the end.  Runs as root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh build
export VTID="$PWD/build/vtid" VTICTL="$PWD/build/vtictl"
. tests/net/lib.sh

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

step "Four namespaces: hostA - gwA ==(internet)== gwB - hostB"
ns_add gwA; ns_add gwB; ns_add hostA; ns_add hostB
link_ab gwA gwB					# the "internet": 192.0.2.1 <-> 192.0.2.2
lan() {	# lan GW HOST V4NET V6NET
	ip link add "${VT_ID}l" netns "$VT_ID$1" type veth peer name "${VT_ID}h" netns "$VT_ID$2"
	in_ns "$1" ip link set "${VT_ID}l" name lan0 up
	in_ns "$2" ip link set "${VT_ID}h" name eth0 up
	in_ns "$1" ip addr add "$3.1/24" dev lan0
	in_ns "$2" ip addr add "$3.10/24" dev eth0
	in_ns "$1" ip addr add "$4::1/64" dev lan0 nodad
	in_ns "$2" ip addr add "$4::10/64" dev eth0 nodad
	in_ns "$2" ip route add default via "$3.1"
	in_ns "$2" ip -6 route add default via "$4::1"
	in_ns "$1" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
}
lan gwA hostA 10.1.0 fd00:a
lan gwB hostB 10.2.0 fd00:b

step "Fresh random keys, one per direction (AES-128-GCM: 16-byte key + 4-byte salt)"
KAB=0x$(od -An -tx1 -N20 /dev/urandom | tr -d ' \n')
KBA=0x$(od -An -tx1 -N20 /dev/urandom | tr -d ' \n')
manual_tunnel sti0 192.0.2.1 192.0.2.2 aes128gcm16 0x1001 0x2001 "$KBA" "$KAB" \
	"10.255.0.1/30, fd00:255::1/64" > "$VT_TMP/gwA.conf"
manual_tunnel sti0 192.0.2.2 192.0.2.1 aes128gcm16 0x2001 0x1001 "$KAB" "$KBA" \
	"10.255.0.2/30, fd00:255::2/64" > "$VT_TMP/gwB.conf"
sed 's/\(key-[a-z]* = 0x\).*/\1.../' "$VT_TMP/gwA.conf"

step "vtid on both gateways; each tunnel is an interface"
start_vtid gwA "$VT_TMP/gwA.conf"
start_vtid gwB "$VT_TMP/gwB.conf"
show in_ns gwA ip -br addr show sti0

step "Route each LAN into the tunnel (route-based VPN: no policies)"
show in_ns gwA ip route add 10.2.0.0/24 dev sti0
show in_ns gwA ip -6 route add fd00:b::/64 dev sti0
in_ns gwB ip route add 10.1.0.0/24 dev sti0
in_ns gwB ip -6 route add fd00:a::/64 dev sti0

step "hostA -> hostB and back, IPv4 and IPv6, through ESP"
show in_ns hostA ping -c 3 -i 0.2 10.2.0.10
show in_ns hostB ping -c 3 -i 0.2 fd00:a::10

step "On the wire between the gateways there is only ESP"
in_ns gwB timeout 3 tcpdump -c 2 -ni eth0 esp 2>/dev/null &
DUMP=$!
sleep 0.5; in_ns hostA ping -c 1 -q 10.2.0.10 >/dev/null; wait $DUMP || true

step "vtictl show on gwA"
show vtictl gwA show

step "vtictl down: carrier goes away, and so does the traffic"
show vtictl gwA down sti0
show in_ns gwA ip -br link show sti0
in_ns hostA ping -c 1 -W 1 -q 10.2.0.10 >/dev/null 2>&1 && fail "traffic passed a downed tunnel"
echo "ping: no reply, as expected"
show vtictl gwA up sti0
show in_ns hostA ping -c 1 -q 10.2.0.10

step "Clean teardown"
stop_vtid gwA; stop_vtid gwB
echo "demo finished: both tunnels torn down, namespaces removed on exit"
