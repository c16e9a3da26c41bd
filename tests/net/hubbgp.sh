#!/bin/bash
# Routing at a template hub: BIRD at the hub runs dynamic BGP (a neighbor
# range over the template's pool) and learns each branch's LAN over that
# branch's own interface; when the branch goes, its interface goes and the
# route with it; back, it is learned again.  The branches (vtid, address
# = auto) learn the hub's LAN over their tunnel.
. "$(dirname "$0")/lib.sh"
command -v bird >/dev/null || fail "bird2 is not installed"
PSK=hub-bgp-secret-$$

hub_branches 2
cat > "$VT_TMP/h.conf" <<C
[template br]
local = 192.0.2.1
remote = any
remote-id = *.branches.example
psk = $PSK
address = 10.128.0.1/32
pool = 10.128.0.0/24
C
for i in 1 2; do
	cat > "$VT_TMP/b$i.conf" <<C
[tunnel hub]
local = 10.0.$i.2
remote = 192.0.2.1
local-id = b$i.branches.example
psk = $PSK
address = auto
C
done

# The hub: one BGP protocol for the whole pool; BIRD spawns a session
# for each branch that connects.  The branches' next hops are resolved
# through the host routes vtid puts on their interfaces (learn).
cat > "$VT_TMP/birdh.conf" <<B
router id 10.128.0.1;
protocol device { scan time 1; }
protocol direct { ipv4; interface "br*"; }
protocol kernel { learn; ipv4 { import all; export filter { if proto ~ "br*" then accept; reject; }; }; }
protocol static lan { ipv4; route 10.100.0.0/24 blackhole; }
protocol bgp br {
	local 10.128.0.1 as 65000;
	neighbor range 10.128.0.0/24 external;
	dynamic name "br";
	multihop 2;
	hold time 3;
	keepalive time 1;
	ipv4 { import all; export where proto = "lan"; };
}
B
bird_branch() {	# N
	cat > "$VT_TMP/birdb$1.conf" <<B
router id 10.0.$1.2;
protocol device { scan time 1; }
protocol direct { ipv4; interface "hub"; }
protocol kernel { ipv4 { import none; export filter { if proto = "hub" then accept; reject; }; }; }
protocol static lan { ipv4; route 10.20$1.0.0/24 blackhole; }
protocol bgp hub {
	local as 6510$1;
	neighbor 10.128.0.1 as 65000;
	multihop 2;
	hold time 3;
	keepalive time 1;
	connect retry time 1;
	error wait time 1, 5;
	ipv4 { import all; export where proto = "lan"; };
}
B
}
start_vtid h "$VT_TMP/h.conf"
bg_in_ns h bird -f -c "$VT_TMP/birdh.conf" -s "$VT_TMP/birdh.ctl" >"$VT_TMP/birdh.log" 2>&1
for i in 1 2; do
	start_vtid "b$i" "$VT_TMP/b$i.conf"
	bird_branch "$i"
	bg_in_ns "b$i" bird -f -c "$VT_TMP/birdb$i.conf" -s "$VT_TMP/birdb$i.ctl" >"$VT_TMP/birdb$i.log" 2>&1
done
dev_of() {	# NS PREFIX: the interface the kernel routes it to
	local o; o=$(in_ns "$1" ip -o route show "$2"); sed -n 's/.* dev \([^ ]*\).*/\1/p' <<<"$o"
}
inst_of() { vtictl h -j show | jq -r --arg id "$1" '.[] | select(.peer_id == $id) | .name'; }
hub_learned() { [ -n "$(dev_of h "10.20$1.0.0/24")" ] && [ "$(dev_of h "10.20$1.0.0/24")" = "$(inst_of "b$1.branches.example")" ]; }
for i in 1 2; do
	wait_until 30 hub_learned "$i" || fail "hub did not learn 10.20$i.0.0/24 over b$i's interface: $(in_ns h ip route; in_ns h birdc -s "$VT_TMP/birdh.ctl" show protocols 2>&1)"
	wait_value 10 "dev_of b$i 10.100.0.0/24" = hub || fail "b$i did not learn the hub's 10.100.0.0/24"
done
pass "hub learned 10.201.0.0/24 via $(dev_of h 10.201.0.0/24) and 10.202.0.0/24 via $(dev_of h 10.202.0.0/24); branches learned the hub's LAN"

n1=$(inst_of b1.branches.example)
stop_vtid b1; forget_pid "$PID_b1"
gone() { [ -z "$(dev_of h 10.201.0.0/24)" ]; }
wait_until 10 gone || fail "hub still routes 10.201.0.0/24 after b1 left"
hub_learned 2 || fail "b2's route went too"
pass "b1 left: $n1 removed, its route withdrawn; b2's stays"
start_vtid b1 "$VT_TMP/b1.conf"
wait_until 30 hub_learned 1 || fail "hub did not learn 10.201.0.0/24 again"
pass "b1 back: 10.201.0.0/24 learned again via $(dev_of h 10.201.0.0/24)"
