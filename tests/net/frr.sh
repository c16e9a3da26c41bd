#!/bin/bash
# Routing over tunnels with FRR 8.4 (zebra, ospfd, ospf6d, bgpd), the
# same checks as ospf.sh and bgp.sh make with BIRD 2:
#  - three sites, a full triangle of IKEv2 tunnels, OSPFv2 and OSPFv3 over
#    them; the r1-r2 tunnel is broken three ways (r2's daemon SIGKILLed,
#    vtictl down, the underlay dropped by nftables) and each time traffic
#    between the LANs moves through r3 and back when the tunnel returns;
#  - eBGP across a tunnel's inner addresses: a route learned, withdrawn
#    when the tunnel goes down, learned again when it returns.
# Prints the times it took.
#
# Every router's FRR lives in its own directory (config, pid files, vty
# sockets, zebra's API socket), so nothing reads or writes /etc/frr or
# /run/frr and no system service is involved.  The daemons run in the
# foreground as the frr user; cleanup kills them by PID.
. "$(dirname "$0")/lib.sh"
ms() { date +%s%3N; }

####### OSPFv2 + OSPFv3 over a triangle of tunnels ############################

triangle_up

# The configuration of examples/frr/*-ospf.conf, with this triangle's names.
ospf_conf() {	# N TUNNEL...
	local n="$1" t; shift
	printf 'frr defaults traditional\nhostname r%s\n!\n' "$n"
	printf 'interface lan0\n ip ospf area 0\n ip ospf passive\n ipv6 ospf6 area 0\n ipv6 ospf6 passive\n!\n'
	for t in "$@"; do
		cat <<F
interface $t
 ip ospf area 0
 ip ospf network point-to-point
 ip ospf hello-interval 1
 ip ospf dead-interval 3
 ipv6 ospf6 area 0
 ipv6 ospf6 network point-to-point
 ipv6 ospf6 hello-interval 1
 ipv6 ospf6 dead-interval 3
!
F
	done
	printf 'router ospf\n ospf router-id 10.0.0.%s\n!\nrouter ospf6\n ospf6 router-id 10.0.0.%s\n!\n' "$n" "$n"
}
ospf_conf 1 t12 t13 > "$VT_TMP/frr1.conf"
ospf_conf 2 t21 t23 > "$VT_TMP/frr2.conf"
ospf_conf 3 t31 t32 > "$VT_TMP/frr3.conf"
for n in 1 2 3; do start_frr r$n "$VT_TMP/frr$n.conf" ospfd ospf6d; done

no_carrier() { ! has_carrier r1 t12; }
via() { in_ns r1 ip route get 10.2.0.1 2>/dev/null | grep -o 'dev [a-z0-9]*' | cut -d' ' -f2; }
via6() { in_ns r1 ip -6 route get fd00:2::1 2>/dev/null | grep -o 'dev [a-z0-9]*' | cut -d' ' -f2; }
lan_ok() { in_ns r1 ping -c 1 -W 0.3 -I 10.1.0.1 10.2.0.1 >/dev/null 2>&1; }
lan6_ok() { in_ns r1 ping -c 1 -W 1 -I fd00:1::1 fd00:2::1 >/dev/null 2>&1; }
direct() { [ "$(via)" = t12 ] && lan_ok; }
detour() { [ "$(via)" = t13 ] && lan_ok; }
direct6() { [ "$(via6)" = t12 ] && lan6_ok; }
detour6() { [ "$(via6)" = t13 ] && lan6_ok; }
full() { [ "$(vty r1 "show ip ospf neighbor" | grep -c Full)" = 2 ] &&
	 [ "$(vty r1 "show ipv6 ospf6 neighbor" | grep -c Full)" = 2 ]; }

wait_until 60 direct || fail "OSPF did not converge on the direct path (route: $(via))"
wait_until 30 direct6 || fail "OSPFv3: no direct IPv6 route between the LANs (route: $(via6))"
wait_until 10 full || fail "r1 has not 2 full OSPFv2 and 2 full OSPFv3 neighbours"
in_ns r1 ip route show 10.2.0.0/24 | grep -q "proto ospf" || fail "the LAN route is not zebra's"
pass "triangle up: FRR OSPFv2 and OSPFv3 adjacencies over all tunnels, LANs routed directly"

# break KIND: break the r1-r2 tunnel; measure to traffic via r3; restore;
# measure to the direct path again.
break_and_heal() {
	local kind="$1" t0 t1 t2 t3 tc t6
	# A router originates its router-LSA at most every 5 s (MinLSInterval,
	# RFC 2328 B; FRR's "timers throttle lsa all" defaults to 5000 ms):
	# start from a settled network so that is not measured.
	sleep 5.5
	t0=$(ms)
	case "$kind" in
	kill)	kill -KILL "$PID_r2a"; wait "$PID_r2a" 2>/dev/null || true ;;
	down)	vtictl r1 down t12 >/dev/null ;;
	drop)	in_ns r1 nft -f - <<N
table inet vtdrop {
	chain out {
		type filter hook output priority 0;
		oifname "u12" drop
	}
	chain in {
		type filter hook input priority 0;
		iifname "u12" drop
	}
}
N
		;;
	esac
	wait_until 20 no_carrier || fail "$kind: carrier stayed up"
	tc=$(ms)
	wait_until 20 detour || fail "$kind: no reroute via r3 (route $(via))"
	t1=$(ms)
	wait_until 20 detour6 || fail "$kind: IPv6 did not reroute (route $(via6))"
	t6=$(ms)
	case "$kind" in
	kill)	start_vtid_as r2a r2 "$VT_TMP/r2a.conf" ;;
	down)	vtictl r1 up t12 >/dev/null ;;
	drop)	in_ns r1 nft delete table inet vtdrop ;;
	esac
	t2=$(ms)
	wait_until 60 direct || fail "$kind: the direct path did not come back (route $(via))"
	t3=$(ms)
	wait_until 30 direct6 || fail "$kind: the direct IPv6 path did not come back (route $(via6))"
	RES+=("| $kind | $((tc - t0)) ms | $((t1 - t0)) ms | $((t6 - t0)) ms | $((t3 - t2)) ms |")
	pass "$kind: carrier down after $((tc - t0)) ms, IPv4 via r3 after $((t1 - t0)) ms, IPv6 after $((t6 - t0)) ms; direct again $((t3 - t2)) ms after repair"
}
RES=()
break_and_heal kill
break_and_heal down
break_and_heal drop

####### eBGP over one tunnel ##################################################

pair_up

# The configuration of examples/frr/*-bgp.conf: each side announces its
# LAN (a veth pair here) to the other.
bgp_conf() {	# ID MY-AS PEER PEER-AS LAN
	cat <<F
frr defaults traditional
!
router bgp $2
 bgp router-id $1
 no bgp ebgp-requires-policy
 neighbor $3 remote-as $4
 neighbor $3 timers 1 3
 neighbor $3 timers connect 1
 address-family ipv4 unicast
  network $5
 exit-address-family
!
F
}
for n in a b; do
	in_ns $n ip link add lan0 type veth peer name lan1
	in_ns $n ip link set lan0 up; in_ns $n ip link set lan1 up
done
in_ns a ip addr add 10.100.0.1/24 dev lan0
in_ns b ip addr add 10.200.0.1/24 dev lan0
bgp_conf 10.0.0.1 65001 10.255.0.2 65002 10.100.0.0/24 > "$VT_TMP/frra.conf"
bgp_conf 10.0.0.2 65002 10.255.0.1 65001 10.200.0.0/24 > "$VT_TMP/frrb.conf"
start_frr a "$VT_TMP/frra.conf" bgpd
start_frr b "$VT_TMP/frrb.conf" bgpd
learned() { in_ns b ip route show 10.100.0.0/24 | grep -q "dev sti0 proto bgp"; }
withdrawn() { ! in_ns b ip route show 10.100.0.0/24 | grep -q .; }
t0=$(ms)
wait_until 30 learned || fail "b did not learn 10.100.0.0/24 over the tunnel"
t_learn=$(( $(ms) - t0 ))
wait_until 5 eval 'in_ns a ip route show 10.200.0.0/24 | grep -q "dev sti0 proto bgp"' ||
	fail "a did not learn 10.200.0.0/24"
in_ns b ping -c 3 -i 0.2 -W 2 -q -I 10.200.0.1 10.100.0.1 >/dev/null || fail "bgp: no traffic between the LANs"
pass "eBGP over the tunnel (FRR bgpd): both sides learned the other's LAN, next hop in the tunnel, LANs reach each other (${t_learn} ms after start)"
t0=$(ms)
vtictl a down sti0 >/dev/null
wait_until 15 withdrawn || fail "route not withdrawn after the tunnel went down"
t_wd=$(( $(ms) - t0 ))
pass "tunnel down: the BGP route was withdrawn after ${t_wd} ms"
t0=$(ms)
vtictl a up sti0 >/dev/null
wait_until 40 learned || fail "route not learned again"
t_again=$(( $(ms) - t0 ))
pass "tunnel back: learned again after ${t_again} ms"

echo
echo "| break (dpd 1 s, dpd-timeout 3 s, OSPF hello 1 s, dead 3 s) | break -> carrier down | -> IPv4 via r3 | -> IPv6 via r3 | repair -> direct path |"
echo "|---|---|---|---|---|"
printf '%s\n' "${RES[@]}"
echo "eBGP (keepalive 1 s, hold 3 s): learned ${t_learn} ms after bgpd started; withdrawn ${t_wd} ms after vtictl down; learned again ${t_again} ms after vtictl up"
