#!/bin/bash
# The raw-ESP send path over a packet socket (issue 15, doc/fastpath.md):
# with encap = no, vtid's network process sends ESP with sendmmsg on an
# AF_PACKET socket, building the IP header itself, to the next hop's link
# address read from the kernel's route and neighbour tables, and falls
# back to the raw IP socket where that path is unusable.  vtid to vtid,
# traffic checked both ways in every case:
#   a. IPv4 and IPv6 outer: the path is the packet socket on eth0, 4 MB
#      TCP copies each way arrive intact (SHA-256), and at least 90% of
#      the ESP left by the packet socket on both ends;
#   b. through a router (a - r - b): the frames go to the router's link
#      address, and the router forwards them;
#   c. [daemon] esp-path = socket: the raw socket only, nothing by the
#      packet socket;
#   d. the peer's link address changes under a running ping, and the
#      neighbour table is flushed: traffic comes back within 10 s;
#   e. the peer's address becomes unreachable in the route table: the raw
#      socket (with the reason shown), and the packet socket again once
#      the route is gone;
#   f. a peer on a local address (two vtids in one namespace): a local
#      route, so the raw socket;
#   g. a datagram larger than the route's MTU goes by the raw socket;
#   h. so does all ESP while a policy rule chooses by protocol.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rawlib.sh"

KA=$(key "$NK" fastpath-a); KB=$(key "$NK" fastpath-b)

# expect_packet NS TUN DEV: on the packet socket through DEV, in JSON
# and text.
expect_packet() {
	vtictl "$1" -j show "$2" | jq -e --arg d "$3" \
		'.[0].child | .path == "packet" and .path_dev == $d and (has("path_why") | not)' \
		>/dev/null || fail "$1/$2: wanted the packet socket on $3, saw $(path "$1" "$2")"
	vtictl "$1" show "$2" | grep -qx "  path    packet socket on $3" ||
		fail "$1/$2: wanted the packet socket on $3, saw $(path "$1" "$2")"
}

# expect_socket NS TUN [WHY]: on the raw socket, for WHY if given (any
# non-empty reason otherwise), in JSON and text.
expect_socket() {
	local why
	why=$(vtictl "$1" -j show "$2" | jq -r '.[0].child |
		select(.path == "socket" and (has("path_dev") | not)) | .path_why // empty')
	[ -n "$why" ] || fail "$1/$2: wanted the raw socket with a reason, saw $(path "$1" "$2")"
	[ -z "${3:-}" ] || [ "$why" = "$3" ] ||
		fail "$1/$2: wanted the raw socket for '$3', saw $(path "$1" "$2")"
	vtictl "$1" show "$2" | grep -qxF "  path    raw socket ($why)" ||
		fail "$1/$2: JSON says raw socket ($why), text does not: $(path "$1" "$2")"
}

# share NS TUN: "tx_packet_path/tx_packets".
share() {
	vtictl "$1" -j show "$2" | jq -r '.[0].counters | "\(.tx_packet_path)/\(.tx_packets)"'
}

# mostly_packet NS TUN: some ESP left by the packet socket, and at least
# 90% of all; the text tx line says the same number.
mostly_packet() {
	local s p t
	s=$(share "$1" "$2"); p=${s%/*}; t=${s#*/}
	[ "$p" -gt 0 ] && [ $((p * 10)) -ge $((t * 9)) ] ||
		fail "$1/$2: $p of $t ESP packets by the packet socket (wanted > 0 and >= 90%); $(path "$1" "$2")"
	vtictl "$1" show "$2" | grep -q "^  tx      .*, [0-9]* by packet socket, [0-9]* by AF_XDP$" ||
		fail "$1/$2: the text tx line does not count the packet socket: $(vtictl "$1" show "$2" | grep '^  tx')"
	echo "$p/$t"
}

# tx_path NS TUN: tx_packet_path alone.
tx_path() { counter "$1" "$2" tx_packet_path; }

# pinging NS DEST: a background ping every 0.1 s with timestamps (-D)
# and a line for every unanswered one (-O), into $VT_TMP/ping-NS.out.
PING_PIDS=()
pinging() {
	bg_in_ns "$1" ping -D -O -i 0.1 -W 1 "$2" > "$VT_TMP/ping-$1.out" 2>&1
	PING_PIDS+=("$!")
}
stop_pinging() {
	local p
	for p in "${PING_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
		forget_pid "$p"
	done
	PING_PIDS=()
}
# answered_since T NS: NS's ping gets answers again after T (epoch s):
# its last five lines after T are replies.  (The first reply after T may
# answer a request sent before it, with an outage still to come.)
answered_since() {
	awk -v t="$1" -F'[][]' '$2 + 0 > t && /bytes from/ { run++ }
		$2 + 0 > t && /no answer yet/ { run = 0 } END { exit !(run >= 5) }' "$VT_TMP/ping-$2.out"
}
# recovery T NS: seconds from T to the first reply of the run of replies
# that ends the output.
recovery() {
	awk -v t="$1" -F'[][]' '$2 + 0 > t && /bytes from/ { if (!first) first = $2 }
		$2 + 0 > t && /no answer yet/ { first = 0 }
		END { printf "%.1f", first ? first - t : -1 }' "$VT_TMP/ping-$2.out"
}
# unanswered T NS: how many echo requests of NS's ping after T (epoch s)
# had no answer before the next went.
unanswered() {
	awk -v t="$1" -F'[][]' '/no answer yet/ && $2 + 0 > t { n++ } END { print n + 0 }' "$VT_TMP/ping-$2.out"
}

stop_all() {
	local k
	for k in "$@"; do stop_vtid "$k"; forget_pid "$(eval echo "\$PID_$k")"; done
}

########################################################################
# a, d, e: a and b on one link, a tunnel with IPv4 outer (t4) and one with
# IPv6 outer (t6) between the same two vtids.
ns_add a; ns_add b; link_ab a b
dual_conf a > "$VT_TMP/a.conf"
dual_conf b > "$VT_TMP/b.conf"
start_vtid a "$VT_TMP/a.conf"
start_vtid b "$VT_TMP/b.conf"

# a. The first packets may go by the raw socket while the neighbour is
# being resolved; then the packet socket, on both ends, both families.
for t in t4 t6; do
	if [ $t = t4 ]; then ia=10.4.0.1 ib=10.4.0.2; else ia=fd00:6::1 ib=fd00:6::2; fi
	ping_ok a $ib || fail "$t: no ping a->b through the tunnel"
	ping_ok b $ia || fail "$t: no ping b->a through the tunnel"
	wait_path 10 a $t packet $ib || fail "a/$t: not on the packet socket after 10 s: $(path a $t)"
	wait_path 10 b $t packet $ia || fail "b/$t: not on the packet socket after 10 s: $(path b $t)"
	expect_packet a $t eth0; expect_packet b $t eth0
	copies a b $ib $ia
	sa=$(mostly_packet a $t); sb=$(mostly_packet b $t)
	pass "a. $t (IPv${t#t} outer): packet socket on eth0 both ends; 4 MB each way intact; by packet socket a $sa, b $sb"
done

# e. An unreachable route to the peer in a: no usable path, so the raw
# socket (which the kernel refuses too: nothing gets through), and not one
# packet by the packet socket.  Once the route goes, the packet socket
# comes back within a few seconds.
in_ns a ip route add unreachable 192.0.2.2/32
wait_path 5 a t4 socket 10.4.0.2 || fail "e. a/t4: still not on the raw socket 5 s after an unreachable route: $(path a t4)"
expect_socket a t4
before=$(tx_path a t4)
in_ns a ping -c 10 -i 0.1 -W 0.5 -q 10.4.0.2 >/dev/null 2>&1 || true
after=$(tx_path a t4)
[ "$after" = "$before" ] ||
	fail "e. a/t4: $((after - before)) packets left by the packet socket with an unreachable route to the peer"
why=$(vtictl a -j show t4 | jq -r '.[0].child.path_why')
in_ns a ip route del unreachable 192.0.2.2/32
start=$SECONDS
wait_path 5 a t4 packet 10.4.0.2 || fail "e. a/t4: not back on the packet socket 5 s after the unreachable route went: $(path a t4)"
ping_ok a 10.4.0.2 || fail "e. t4: no ping a->b after the unreachable route went"
ping_ok b 10.4.0.1 || fail "e. t4: no ping b->a after the unreachable route went"
pass "e. unreachable route to the peer: raw socket ($why), nothing by the packet socket; route gone: packet socket again after $((SECONDS - start)) s, pings both ways"

# g. A route MTU below the datagram: that datagram goes to the kernel (the
# raw socket), never by the packet socket; smaller ones still do.
in_ns a ip route add 192.0.2.2/32 dev eth0 mtu lock 1200
sleep 1.1	# the path is looked up again at most once a second
ping_ok a 10.4.0.2 || fail "g. t4: no small ping a->b under a 1200-byte route MTU"
wait_path 5 a t4 packet 10.4.0.2 || fail "g. a/t4: not on the packet socket under a 1200-byte route MTU: $(path a t4)"
p0=$(tx_path a t4)
h0=$(vtictl a -j show t4 | jq '.[0].counters | .tx_packets + .tx_dropped')
# 1300 bytes of ICMP data: a 1328-byte inner packet, over 1370 with ESP.
big=answered; in_ns a ping -c 1 -W 1 -M do -s 1300 -q 10.4.0.2 >/dev/null 2>&1 || big="not answered"
p1=$(tx_path a t4)
h1=$(vtictl a -j show t4 | jq '.[0].counters | .tx_packets + .tx_dropped')
[ "$h1" -gt "$h0" ] || fail "g. a/t4: the 1328-byte ping never reached vtid (tx packets + dropped $h0 -> $h1)"
[ "$p1" = "$p0" ] || fail "g. a/t4: a datagram over the route MTU (1200) left by the packet socket ($p0 -> $p1)"
ping_ok a 10.4.0.2 || fail "g. t4: no small ping a->b after the big one"
[ "$(tx_path a t4)" -gt "$p1" ] || fail "g. a/t4: small pings after the big one not by the packet socket ($p1 -> $(tx_path a t4))"
in_ns a ip route del 192.0.2.2/32 dev eth0
pass "g. route MTU 1200: the 1328-byte ping went to the kernel ($big), not by the packet socket; small pings by the packet socket"

# h. A policy rule that chooses by protocol: a route lookup cannot say
# it is for ESP, so the kernel (the raw socket) serves while it exists.
in_ns a ip rule add pref 100 ipproto esp lookup main
wait_path 5 a t4 socket 10.4.0.2 || fail "h. a/t4: not on the raw socket under an ipproto rule: $(path a t4)"
expect_socket a t4
why=$(vtictl a -j show t4 | jq -r '.[0].child.path_why')
p0=$(tx_path a t4)
ping_ok a 10.4.0.2 || fail "h. t4: no ping a->b under an ipproto rule"
ping_ok b 10.4.0.1 || fail "h. t4: no ping b->a under an ipproto rule"
[ "$(tx_path a t4)" = "$p0" ] || fail "h. a/t4: $(( $(tx_path a t4) - p0 )) packets by the packet socket under an ipproto rule"
in_ns a ip rule del pref 100
wait_path 5 a t4 packet 10.4.0.2 || fail "h. a/t4: not back on the packet socket after the rule went: $(path a t4)"
pass "h. an ipproto esp rule: raw socket ($why), pings both ways, nothing by the packet socket; rule gone: packet socket again"

# d. The peer's link address changes while a and b ping each other
# through the tunnel: the replies must come back within 10 s, both ways.
# b does not announce its new address (no arp_notify, ndisc_notify), and
# a's entry for b may still be REACHABLE with the old one, so a's replies
# to b are lost until b's own traffic (its neighbour entries went with
# the change: raw socket, then the kernel's ARP or neighbour
# solicitation from the new address) teaches a the new address.  With a
# ping one way only (a->b), the kernel's own path (the raw socket) came
# back in 2.0-8.7 s here, when b happened to send something (IPv6
# housekeeping on its tunnels), and could wait out a's REACHABLE entry
# (up to 45 s) when it did not.
for t in t4 t6; do
	if [ $t = t4 ]; then ia=10.4.0.1 ib=10.4.0.2; else ia=fd00:6::1 ib=fd00:6::2; fi
	pinging a $ib; pinging b $ia
	wait_until 5 answered_since 0 a && wait_until 5 answered_since 0 b ||
		fail "d. $t: the pings through the tunnel get no answer before the change"
	t0=$(date +%s.%N)
	in_ns b ip link set dev eth0 address "02:00:00:00:0b:$([ $t = t4 ] && echo 01 || echo 02)"
	for ns in a b; do
		wait_until 10 answered_since "$t0" $ns ||
			fail "d. $t: $ns's ping got no answer through the tunnel within 10 s of b's link address change: $(tail -n 3 "$VT_TMP/ping-$ns.out" | tr '\n' ';') a's neighbours: $(in_ns a ip neigh show dev eth0 | tr '\n' ';') $(path a $t)"
	done
	took="a->b $(recovery "$t0" a) s, b->a $(recovery "$t0" b) s ($(unanswered "$t0" a) and $(unanswered "$t0" b) unanswered)"
	stop_pinging
	wait_path 5 a $t packet $ib || fail "d. a/$t: not back on the packet socket after the change: $(path a $t)"
	wait_path 5 b $t packet $ia || fail "d. b/$t: not back on the packet socket after the change: $(path b $t)"
	before=$(tx_path a $t)
	ping_ok a $ib || fail "d. $t: no ping a->b after the change"
	ping_ok b $ia || fail "d. $t: no ping b->a after the change"
	[ "$(tx_path a $t)" -gt "$before" ] || fail "d. a/$t: the pings after the change did not use the packet socket"
	pass "d. $t: b's link address changed under pings both ways: answered again after $took, packet socket again"
done

# d. a's neighbour table flushed under pings both ways: traffic goes on.
pinging a 10.4.0.2; pinging b 10.4.0.1
wait_until 5 answered_since 0 a && wait_until 5 answered_since 0 b ||
	fail "d. flush: no answers before the flush"
t0=$(date +%s.%N)
in_ns a ip neigh flush dev eth0
for ns in a b; do
	wait_until 10 answered_since "$t0" $ns ||
		fail "d. flush: $ns's ping got no answer through the tunnel within 10 s of flushing a's neighbours: $(tail -n 3 "$VT_TMP/ping-$ns.out" | tr '\n' ';') $(path a t4)"
done
took="a->b $(recovery "$t0" a) s, b->a $(recovery "$t0" b) s"
stop_pinging
wait_path 5 a t4 packet 10.4.0.2 || fail "d. flush: a/t4 not back on the packet socket: $(path a t4)"
pass "d. a's neighbours flushed under pings both ways: answered after $took ($(unanswered "$t0" a) a->b and $(unanswered "$t0" b) b->a unanswered after it), packet socket again"

# Nothing went astray in all of that.
for ns in a b; do
	vtictl $ns -j show | jq -e 'all(.[]; .counters.rx_auth_fail == 0 and .counters.rx_malformed == 0)' \
		>/dev/null || fail "$ns: authentication failures or malformed ESP: $(vtictl $ns show)"
done
stop_all a b

########################################################################
# c. [daemon] esp-path = socket: the raw socket, said to be configured,
# never the packet socket.
# (start_vtid gave a.conf and b.conf a [daemon] section with state-dir.)
for ns in a b; do
	sed '0,/^\[daemon\]$/s//[daemon]\nesp-path = socket/' "$VT_TMP/$ns.conf" > "$VT_TMP/${ns}c.conf"
	grep -qx 'esp-path = socket' "$VT_TMP/${ns}c.conf" || fail "c. no [daemon] section in $VT_TMP/$ns.conf"
done
start_vtid_as a a "$VT_TMP/ac.conf"
start_vtid_as b b "$VT_TMP/bc.conf"
for t in t4 t6; do
	if [ $t = t4 ]; then ia=10.4.0.1 ib=10.4.0.2; else ia=fd00:6::1 ib=fd00:6::2; fi
	ping_ok a $ib || fail "c. $t: no ping a->b"
	ping_ok b $ia || fail "c. $t: no ping b->a"
	copies a b $ib $ia
	for ns in a b; do
		expect_socket $ns $t configured
		[ "$(tx_path $ns $t)" = 0 ] || fail "c. $ns/$t: $(share $ns $t) ESP packets by the packet socket with esp-path = socket"
		[ "$(counter $ns $t tx_packets)" -gt 2000 ] || fail "c. $ns/$t: only $(share $ns $t) ESP packets sent after the copies"
	done
	pass "c. $t: esp-path = socket: raw socket (configured) both ends, 4 MB each way intact, 0/$(counter a $t tx_packets) and 0/$(counter b $t tx_packets) by the packet socket"
done
stop_all a b

########################################################################
# b. Through a router: ra (10.0.1.1) - rr (10.0.1.254 | 10.0.2.254) - rb
# (10.0.2.2).  The next hop of a's ESP is the router: the frames must
# carry its link address, or the router would not forward them.
ns_add ra; ns_add rr; ns_add rb
veth ra eth0 rr eth0
veth rb eth0 rr eth1
in_ns ra ip addr add 10.0.1.1/24 dev eth0
in_ns rr ip addr add 10.0.1.254/24 dev eth0
in_ns rr ip addr add 10.0.2.254/24 dev eth1
in_ns rb ip addr add 10.0.2.2/24 dev eth0
in_ns rr sysctl -qw net.ipv4.ip_forward=1
in_ns ra ip route add 10.0.2.0/24 via 10.0.1.254
in_ns rb ip route add 10.0.1.0/24 via 10.0.2.254
conf rt 10.0.1.1 10.0.2.2 0x7102 0x7201 "$KB" "$KA" 10.7.0.1/30 fd00:7::1/64 > "$VT_TMP/ra.conf"
conf rt 10.0.2.2 10.0.1.1 0x7201 0x7102 "$KA" "$KB" 10.7.0.2/30 fd00:7::2/64 > "$VT_TMP/rb.conf"
start_vtid ra "$VT_TMP/ra.conf"
start_vtid rb "$VT_TMP/rb.conf"
ping_ok ra 10.7.0.2 || fail "b. no ping ra->rb through the tunnel"
ping_ok rb 10.7.0.1 || fail "b. no ping rb->ra through the tunnel"
wait_path 10 ra rt packet 10.7.0.2 || fail "b. ra/rt: not on the packet socket: $(path ra rt)"
wait_path 10 rb rt packet 10.7.0.1 || fail "b. rb/rt: not on the packet socket: $(path rb rt)"
expect_packet ra rt eth0; expect_packet rb rt eth0
fwd() { in_ns rr awk '/^Ip:/ && !h { h = 1; next } /^Ip:/ { print $7 }' /proc/net/snmp; }
f0=$(fwd); p0=$(( $(tx_path ra rt) + $(tx_path rb rt) ))
copies ra rb 10.7.0.2 10.7.0.1
f1=$(fwd); p1=$(( $(tx_path ra rt) + $(tx_path rb rt) ))
sa=$(mostly_packet ra rt); sb=$(mostly_packet rb rt)
# Every ESP packet either end sent by the packet socket crossed the router.
[ $((f1 - f0)) -ge $((p1 - p0)) ] ||
	fail "b. the router forwarded $((f1 - f0)) datagrams, the ends sent $((p1 - p0)) by the packet socket"
in_ns ra ip neigh show 10.0.2.2 | grep -q . &&
	fail "b. ra has a neighbour entry for the off-link peer: $(in_ns ra ip neigh show)"
in_ns ra ip neigh show 10.0.1.254 | grep -q lladdr ||
	fail "b. ra has no neighbour entry for its router: $(in_ns ra ip neigh show)"
pass "b. through a router: packet socket on eth0 both ends, 4 MB each way intact; by packet socket ra $sa, rb $sb; the router forwarded $((f1 - f0)) datagrams (the ends sent $((p1 - p0)) by the packet socket)"
stop_all ra rb

########################################################################
# f. Two vtids in one namespace, each tunnel's peer a local address of
# that namespace: the route to it is local, so the raw socket; the ESP
# crosses the loopback.  Neither tunnel's inner address is reachable
# through it (both are local), so a route into each tunnel carries the
# test traffic, and the far end's receive counters show it arrived.
ns_add l
in_ns l ip addr add 192.0.2.1/32 dev lo
in_ns l ip addr add 192.0.2.11/32 dev lo
{ conf tl 192.0.2.1 192.0.2.11 0x8102 0x8201 "$KB" "$KA" 10.8.0.1/30 fd00:8::1/64; } > "$VT_TMP/la.conf"
{ printf '[daemon]\nport = 1500\nnatt-port = 14500\n'
  conf tr 192.0.2.11 192.0.2.1 0x8201 0x8102 "$KA" "$KB" 10.8.0.2/30 fd00:8::2/64; } > "$VT_TMP/lb.conf"
start_vtid_as la l "$VT_TMP/la.conf"
start_vtid_as lb l "$VT_TMP/lb.conf"
wait_until 5 has_carrier l tl || fail "f. tl has no carrier"
wait_until 5 has_carrier l tr || fail "f. tr has no carrier"
in_ns l ip route add 10.98.0.0/24 dev tl
in_ns l ip route add 10.99.0.0/24 dev tr
vtictl_l() { local k="$1"; shift; in_ns l "$VTICTL" -S "$VT_TMP/$k.sock" "$@"; }
rx() { vtictl_l "$1" -j show "$2" | jq -r '.[0].counters.rx_packets'; }
for dir in "la tl 10.98.0.5 lb tr" "lb tr 10.99.0.5 la tl"; do
	read -r k t dst pk pt <<<"$dir"
	r0=$(rx "$pk" "$pt")
	in_ns l ping -c 5 -i 0.1 -W 0.2 -q "$dst" >/dev/null 2>&1 || true
	r1=$(rx "$pk" "$pt")
	[ $((r1 - r0)) -ge 5 ] || fail "f. $t -> $pt: $((r1 - r0)) of 5 packets arrived"
	j=$(vtictl_l "$k" -j show "$t")
	jq -e '.[0].child.path == "socket" and (.[0].child.path_why | length > 0) and
		.[0].counters.tx_packet_path == 0' <<<"$j" >/dev/null ||
		fail "f. $k/$t: wanted the raw socket and nothing by the packet socket, saw $(jq -c '.[0] | {child, tx_packet_path: .counters.tx_packet_path}' <<<"$j")"
	vtictl_l "$k" show "$t" | grep -q '^  path    raw socket (.*)$' ||
		fail "f. $k/$t: text path line: $(vtictl_l "$k" show "$t" | grep '^  path' || echo none)"
	pass "f. peer on a local address, $t -> $pt: raw socket ($(jq -r '.[0].child.path_why' <<<"$j")), $((r1 - r0)) packets arrived, 0 by the packet socket"
done
stop_all la lb
echo "fastpath: all passed"
