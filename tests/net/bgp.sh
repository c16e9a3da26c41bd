#!/bin/bash
# eBGP over a tunnel: BIRD 2 peers across the inner addresses of an IKEv2
# tunnel, a route learned over it lands in the kernel pointing into the
# tunnel, and is withdrawn when the tunnel goes down and learned again
# when it returns.
. "$(dirname "$0")/lib.sh"
command -v bird >/dev/null || fail "bird2 is not installed"

pair_up

bird_conf() {	# ID MY-AS PEER PEER-AS STATIC
	cat <<B
router id $1;
protocol device { scan time 1; }
protocol kernel { ipv4 { import none; export filter { if proto = "up" then accept; reject; }; }; }
protocol static lanroutes { ipv4; route $5 blackhole; }
protocol bgp up {
	local as $2;
	neighbor $3 as $4;
	hold time 3;
	keepalive time 1;
	connect retry time 1;
	error wait time 1, 5;
	check link yes;
	ipv4 { import all; export where proto = "lanroutes"; };
}
B
}
bird_conf 10.0.0.1 65001 10.255.0.2 65002 10.100.0.0/24 > "$VT_TMP/birda.conf"
bird_conf 10.0.0.2 65002 10.255.0.1 65001 10.200.0.0/24 > "$VT_TMP/birdb.conf"
for n in a b; do
	bg_in_ns $n bird -f -c "$VT_TMP/bird$n.conf" -s "$VT_TMP/bird$n.ctl" >"$VT_TMP/bird$n.log" 2>&1
done
learned() { in_ns b ip route show 10.100.0.0/24 | grep -q "dev sti0"; }
withdrawn() { ! in_ns b ip route show 10.100.0.0/24 | grep -q .; }
wait_until 20 learned || fail "b did not learn 10.100.0.0/24 over the tunnel"
in_ns a ip route show 10.200.0.0/24 | grep -q "dev sti0" || fail "a did not learn 10.200.0.0/24"
pass "eBGP over the tunnel: both sides learned the other's prefix, next hop in the tunnel"
vtictl a down sti0 >/dev/null
wait_until 10 withdrawn || fail "route not withdrawn after the tunnel went down"
pass "tunnel down: the BGP route was withdrawn"
vtictl a up sti0 >/dev/null
wait_until 30 learned || fail "route not learned again"
pass "tunnel back: learned again"
