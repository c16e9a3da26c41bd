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

stop_vtid gwA; stop_vtid gwB

step "Part 2: three sites, IKEv2 tunnels in a triangle, OSPF over them (BIRD 2)"
PSK=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
for n in 1 2 3; do
	ns_add s$n
	in_ns s$n sysctl -qw net.ipv4.ip_forward=1
	ip -n "${VT_ID}s$n" link add lan0 type veth peer name lan1
	in_ns s$n ip link set lan0 up; in_ns s$n ip link set lan1 up
	in_ns s$n ip addr add 10.$n.0.1/24 dev lan0
	: > "$VT_TMP/s$n.conf"
done
for pair in 12 13 23; do
	a=${pair:0:1}; b=${pair:1:1}
	ip link add "${VT_ID}u$pair" netns "${VT_ID}s$a" type veth peer name "${VT_ID}v$pair" netns "${VT_ID}s$b"
	in_ns s$a ip link set "${VT_ID}u$pair" name u$pair up
	in_ns s$b ip link set "${VT_ID}v$pair" name u$b$a up
	in_ns s$a ip addr add 172.16.$pair.1/30 dev u$pair
	in_ns s$b ip addr add 172.16.$pair.2/30 dev u$b$a
	printf '[tunnel t%s]\nlocal = 172.16.%s.1\nremote = 172.16.%s.2\naddress = 10.255.%s.1/30\npsk = %s\ndpd = 1\ndpd-timeout = 3\n' \
		"$a$b" "$pair" "$pair" "$pair" "$PSK" >> "$VT_TMP/s$a.conf"
	printf '[tunnel t%s]\nlocal = 172.16.%s.2\nremote = 172.16.%s.1\naddress = 10.255.%s.2/30\npsk = %s\ndpd = 1\ndpd-timeout = 3\nstart = no\n' \
		"$b$a" "$pair" "$pair" "$pair" "$PSK" >> "$VT_TMP/s$b.conf"
done
for n in 1 2 3; do
	start_vtid s$n "$VT_TMP/s$n.conf"
	cat > "$VT_TMP/bird$n.conf" <<B
router id 10.0.0.$n;
protocol device { scan time 1; }
protocol kernel { ipv4 { import none; export all; }; }
protocol ospf v2 {
	ipv4 { import all; export none; };
	area 0 {
		interface "lan0" { stub yes; };
		interface "t*" { type ptp; hello 1; dead count 3; };
	};
}
B
	bg_in_ns s$n bird -f -c "$VT_TMP/bird$n.conf" -s "$VT_TMP/bird$n.ctl" >/dev/null 2>&1
done
via() { in_ns s1 ip route get 10.2.0.1 2>/dev/null | grep -o 'dev [a-z0-9]*' | cut -d' ' -f2; }
direct() { [ "$(via)" = t12 ] && in_ns s1 ping -c 1 -W 1 -I 10.1.0.1 10.2.0.1 >/dev/null 2>&1; }
wait_until 40 direct || fail "OSPF did not converge"
show vtictl s1 show
show in_ns s1 birdc -s "$VT_TMP/bird1.ctl" show route
show in_ns s1 ip route show proto bird

step "Site 1 reaches site 2's LAN directly over t12"
show in_ns s1 ping -c 2 -i 0.2 -I 10.1.0.1 10.2.0.1
sleep 5	# let OSPF settle (an LSA may change only every 5 s)

step "Break t12 (vtictl down): carrier drops, OSPF reroutes via site 3"
in_ns s1 ping -i 0.1 -c 60 -I 10.1.0.1 10.2.0.1 > "$VT_TMP/failover.txt" 2>&1 &
PING=$!
sleep 1
show vtictl s1 down t12
sleep 2
show in_ns s1 ip route get 10.2.0.1
show vtictl s1 show
wait $PING || true
grep -E "packets transmitted" "$VT_TMP/failover.txt"
echo "(replies lost while OSPF reconverged: $(awk '/transmitted/ { print $1 - $4 }' "$VT_TMP/failover.txt") of 60 at 100 ms)"

step "Bring t12 back: the direct path returns"
show vtictl s1 up t12
wait_until 30 direct || fail "direct path did not return"
show in_ns s1 ip route get 10.2.0.1

step "Clean teardown"
for n in 1 2 3; do stop_vtid s$n; done
echo "demo finished: tunnels closed with DELETE, namespaces removed on exit"
