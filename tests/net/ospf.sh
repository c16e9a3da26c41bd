#!/bin/bash
# Routing over tunnels: three sites, a full triangle of IKEv2 tunnels,
# BIRD 2 running OSPFv2 and OSPFv3 over them.  The r1-r2 tunnel is broken
# three ways -- r2's daemon killed (liveness), vtictl down (DELETE), the
# underlay dropped by nftables (liveness) -- and each time the carrier
# drops, OSPF reroutes r1 <-> r2 through r3, traffic resumes, and when the
# tunnel returns so does the direct path.  Prints the times it took.
#
# r2 runs two vtids (ports 500 and 1500) so that killing the one serving
# the r1-r2 tunnel leaves its tunnel to r3 standing.
. "$(dirname "$0")/lib.sh"
command -v bird >/dev/null || fail "bird2 is not installed"

triangle_up

for n in 1 2 3; do
	cat > "$VT_TMP/bird$n.conf" <<B
router id 10.0.0.$n;
log "$VT_TMP/bird$n.log" all;
protocol device { scan time 1; }
protocol kernel k4 { ipv4 { import none; export all; }; }
protocol kernel k6 { ipv6 { import none; export all; }; }
protocol ospf v2 o4 {
	ipv4 { import all; export none; };
	area 0 {
		interface "lan0" { stub yes; };
		interface "t*" { type ptp; hello 1; dead count 3; check link yes; };
	};
}
protocol ospf v3 o6 {
	ipv6 { import all; export none; };
	area 0 {
		interface "lan0" { stub yes; };
		interface "t*" { type ptp; hello 1; dead count 3; check link yes; };
	};
}
B
	bg_in_ns r$n bird -f -c "$VT_TMP/bird$n.conf" -s "$VT_TMP/bird$n.ctl" -P "$VT_TMP/bird$n.pid" \
		>"$VT_TMP/bird$n.out" 2>&1
done

no_carrier() { ! has_carrier r1 t12; }
via() { in_ns r1 ip route get 10.2.0.1 2>/dev/null | grep -o 'dev [a-z0-9]*' | cut -d' ' -f2; }
via6() { in_ns r1 ip -6 route get fd00:2::1 2>/dev/null | grep -o 'dev [a-z0-9]*' | cut -d' ' -f2; }
lan_ok() { in_ns r1 ping -c 1 -W 0.3 -I 10.1.0.1 10.2.0.1 >/dev/null 2>&1; }
lan6_ok() { in_ns r1 ping -c 1 -W 1 -I fd00:1::1 fd00:2::1 >/dev/null 2>&1; }
direct() { [ "$(via)" = t12 ] && lan_ok; }
detour() { [ "$(via)" = t13 ] && lan_ok; }
ms() { date +%s%3N; }

wait_until 40 direct || fail "OSPF did not converge on the direct path (route: $(via))"
wait_until 20 lan6_ok || fail "OSPFv3: no IPv6 route between the LANs"
[ "$(via6)" = t12 ] || fail "OSPFv3 route via $(via6)"
in_ns r1 birdc -s "$VT_TMP/bird1.ctl" show ospf neighbors o4 | grep -c Full | grep -q 2 ||
	fail "r1 has not 2 full OSPF neighbours"
pass "triangle up: OSPFv2 and OSPFv3 adjacencies over all tunnels, LANs routed directly"

# break KIND: break the r1-r2 tunnel; measure to traffic via r3; restore;
# measure to the direct path again.
break_and_heal() {
	local kind="$1" t0 t1 t2 t3 tc
	# OSPF originates a router-LSA at most every 5 s (MinLSInterval,
	# RFC 2328 B): start from a settled network so that is not measured.
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
	# OSPFv3 is its own protocol instance with its own SPF run: it may
	# reroute IPv6 a moment after OSPFv2 rerouted IPv4.
	wait_until 10 lan6_ok || fail "$kind: IPv6 did not reroute within 10 s of IPv4 (route $(via6))"
	case "$kind" in
	kill)	start_vtid_as r2a r2 "$VT_TMP/r2a.conf" ;;
	down)	vtictl r1 up t12 >/dev/null ;;
	drop)	in_ns r1 nft delete table inet vtdrop ;;
	esac
	t2=$(ms)
	wait_until 60 direct || fail "$kind: the direct path did not come back (route $(via))"
	t3=$(ms)
	RES+=("| $kind | $((tc - t0)) ms | $((t1 - t0)) ms | $((t3 - t2)) ms |")
	pass "$kind: carrier down after $((tc - t0)) ms, traffic via r3 after $((t1 - t0)) ms; direct again $((t3 - t2)) ms after repair"
}
RES=()
break_and_heal kill
break_and_heal down
break_and_heal drop
echo
echo "| break (dpd 1 s, dpd-timeout 3 s, OSPF hello 1 s) | break -> carrier down | break -> traffic via r3 | repair -> direct path |"
echo "|---|---|---|---|"
printf '%s\n' "${RES[@]}"
