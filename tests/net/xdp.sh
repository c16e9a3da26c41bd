#!/bin/bash
# Raw ESP by AF_XDP ([daemon] esp-path = xdp, src/platform/linux/xsk.c,
# xdprog.c, doc/fastpath.md): vtid's network process writes whole Ethernet
# frames into memory shared with the kernel, on a socket the parent made
# at start and bound to the interface when the first tunnel needed it;
# the parent attaches an XDP program there that hands the tunnels' ESP
# (by SPI and destination) to the same socket.  vtid to vtid, traffic
# checked both ways in every case:
#   a. IPv4 and IPv6 outer: the path is AF_XDP on eth0 at both ends, 4 MB
#      TCP copies each way arrive intact (SHA-256), and at least 90% of
#      the ESP left by AF_XDP, and at least 90% came in by it;
#   i. what is not the tunnels' still reaches the kernel: a raw ESP socket
#      beside vtid gets ESP of an unknown SPI, and an IPv4 fragment of
#      ours (reassembled), but none of the tunnel's ESP under pings;
#   b. the network process is killed: its successor takes the socket and
#      its memory over, and ESP leaves and arrives by AF_XDP again;
#   c. the interface is replaced (a new ifindex): the socket bound to the
#      old one is spent, another is bound to the new one;
#   f. the interface is replaced by one with the same ifindex, and then the
#      network process is killed: its successor finds the spent socket
#      still named for that ifindex, and goes on to the one that works;
#   g. a bridge as the underlay: AF_XDP on the bridge device;
#   h. the carrier goes (the far end of the veth is down) under pings:
#      the raw socket ("interface down"), and AF_XDP again once it is
#      back;
#   j. a reload to esp-path = socket stops the steering at once; one back
#      to xdp starts it again;
#   d. a vtid started without esp-path = xdp and reloaded with it stays on
#      the packet socket and says why (the sockets are made only at start);
#   e. a second vtid wanting AF_XDP on an interface whose queue is taken
#      is refused by the kernel: the packet socket, with the reason;
#   k. b's interface has two receive queues and a's ESP all arrives on
#      the second (XPS at a): b binds another socket to queue 1, and the
#      ESP comes in by AF_XDP there, IPv4 and IPv6 outer.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rawlib.sh"

KA=$(key "$NK" xdp-a); KB=$(key "$NK" xdp-b)

# on_xdp NS TUN DEV: AF_XDP through DEV, in JSON and in text.
on_xdp() {
	vtictl "$1" -j show "$2" | jq -e --arg d "$3" \
		'.[0].child | .path == "xdp" and .path_dev == $d and (has("path_why") | not)' \
		>/dev/null && vtictl "$1" show "$2" | grep -qx "  path    AF_XDP on $3"
}

# wait_xdp SECS NS TUN DEV DEST: ping DEST through the tunnel until it is
# on AF_XDP through DEV.
wait_xdp() { until_sent "$1" "$2" "$5" on_xdp "$2" "$3" "$4"; }

# text_says NS TUN FIELD LINE-RE: the text line LINE-RE ends in a count
# ("N by AF_XDP" or "N ESP by AF_XDP") between FIELD's JSON value read
# before and after it (the tunnel may carry a stray packet meanwhile: the
# kernel's own IPv6 traffic on the interface).
text_says() {
	local x0 x1 line n
	x0=$(counter "$1" "$2" "$3")
	line=$(vtictl "$1" show "$2" | grep "$4") || fail "$1/$2: no text line like '$4'"
	x1=$(counter "$1" "$2" "$3")
	n=$(echo "$line" | sed -E 's/.* ([0-9]+)( ESP)? by AF_XDP$/\1/')
	[ "$n" -ge "$x0" ] && [ "$n" -le "$x1" ] ||
		fail "$1/$2: the text line says $n by AF_XDP, JSON $3 $x0 before and $x1 after: $line"
}

# mostly_xdp NS TUN: some ESP left by AF_XDP, at least 90% of all, and the
# text tx line says the same number.  Prints "xdp/all".
mostly_xdp() {
	local x t
	x=$(counter "$1" "$2" tx_xdp); t=$(counter "$1" "$2" tx_packets)
	[ "$x" -gt 0 ] && [ $((x * 10)) -ge $((t * 9)) ] ||
		fail "$1/$2: $x of $t ESP packets by AF_XDP (wanted > 0 and >= 90%); $(path "$1" "$2")"
	text_says "$1" "$2" tx_xdp "^  tx      .*, [0-9]* by packet socket, [0-9]* by AF_XDP$"
	echo "$x/$t"
}

# mostly_rx_xdp NS TUN: at least 90% of the ESP received came by AF_XDP
# (a tunnel's first packets come by the raw socket: they name its SPI to
# the XDP program), and the text rx line says the same number.
mostly_rx_xdp() {
	local x t
	x=$(counter "$1" "$2" rx_xdp); t=$(counter "$1" "$2" rx_packets)
	[ "$x" -gt 0 ] && [ $((x * 10)) -ge $((t * 9)) ] ||
		fail "$1/$2: $x of $t ESP packets received by AF_XDP (wanted > 0 and >= 90%)"
	text_says "$1" "$2" rx_xdp "^  rx      .*), [0-9]* ESP by AF_XDP$"
	echo "$x/$t"
}

# pings_by_xdp CASE: three pings each way between a and b through t4;
# at least 4 of the 6 ESP packets a sends must leave by AF_XDP (one
# burst a second may go through the kernel while it re-checks the
# neighbour).  Prints how many did.
pings_by_xdp() {
	local x0 x1
	x0=$(counter a t4 tx_xdp)
	ping_ok a 10.4.0.2 || fail "$1 no ping a->b"
	ping_ok b 10.4.0.1 || fail "$1 no ping b->a"
	x1=$(counter a t4 tx_xdp)
	[ "$x1" -ge $((x0 + 4)) ] ||
		fail "$1 a/t4: of the 6 ESP packets of the pings, fewer than 4 left by AF_XDP ($x0 -> $x1)"
	echo $((x1 - x0))
}

# kill_net CASE [NS]: SIGKILL NS's (a's) network process and wait for the
# parent to start another, and for it to answer.
kill_net() {
	local old ns="${2:-a}" parent
	parent=$(eval echo "\$PID_$ns")
	old=$(vtid_net "$ns")
	[ -n "$old" ] || fail "$1 no network process in $ns"
	kill -KILL "$old"
	wait_until 10 sh -c "for p in \$(ps -o pid= --ppid $parent); do [ \"\$(cat /proc/\$p/comm)\" = 'vtid: net' ] && [ \$p != $old ] && exit 0; done; exit 1" ||
		fail "$1 no new network process in $ns 10 s after the old one was killed"
	wait_until 10 vtictl "$ns" show t4 || fail "$1 $ns's control socket does not answer after the restart"
}

ns_add a; ns_add b; link_ab a b
dual_conf a "esp-path = xdp" > "$VT_TMP/a.conf"
dual_conf b "esp-path = xdp" > "$VT_TMP/b.conf"
dual_conf a > "$VT_TMP/a0.conf"	# case d: started without AF_XDP
start_vtid a "$VT_TMP/a.conf"
start_vtid b "$VT_TMP/b.conf"

# a.
for t in t4 t6; do
	if [ $t = t4 ]; then ia=10.4.0.1 ib=10.4.0.2; else ia=fd00:6::1 ib=fd00:6::2; fi
	ping_ok a $ib || fail "a. $t: no ping a->b through the tunnel"
	ping_ok b $ia || fail "a. $t: no ping b->a through the tunnel"
	wait_xdp 10 a $t eth0 $ib || fail "a. a/$t: not on AF_XDP after 10 s: $(path a $t)"
	wait_xdp 10 b $t eth0 $ia || fail "a. b/$t: not on AF_XDP after 10 s: $(path b $t)"
	copies a b $ib $ia
	sa=$(mostly_xdp a $t); sb=$(mostly_xdp b $t)
	ra=$(mostly_rx_xdp a $t); rb=$(mostly_rx_xdp b $t)
	pass "a. $t (IPv${t#t} outer): AF_XDP on eth0 both ends; 4 MB each way intact; sent by AF_XDP a $sa, b $sb; received by it a $ra, b $rb"
done
grep -q "AF_XDP socket 0 bound to eth0" "$VT_TMP/a.log" ||
	fail "a. a's log does not say which socket was bound: $(grep -i xdp "$VT_TMP/a.log" | tail -n 3)"
in_ns b ip link show eth0 | grep -q "prog/xdp" || fail "a. no XDP program on b's eth0"
# bpf_fds PID: its BPF objects (maps, programs, links), one a line.
bpf_fds() { for f in /proc/"$1"/fd/*; do readlink "$f"; done 2>/dev/null | grep 'bpf' || true; }
[ -z "$(bpf_fds "$(vtid_net b)")" ] ||
	fail "a. b's network process holds BPF objects: $(bpf_fds "$(vtid_net b)" | tr '\n' ' ')"
for p in $(ps -o pid= --ppid "$PID_b"); do
	[ -z "$(bpf_fds "$p")" ] || fail "a. b's child $p ($(cat /proc/"$p"/comm)) holds BPF objects"
done
[ "$(bpf_fds "$PID_b" | grep -c bpf_link)" = 1 ] ||
	fail "a. b's parent does not hold the XDP program's link: $(bpf_fds "$PID_b" | tr '\n' ' ')"
# The parent keeps CAP_BPF (bit 39) for the maps, beside CAP_NET_ADMIN
# (12), CAP_KILL (5), CAP_SETUID (7), CAP_SETGID (6): nothing else.
cap=$(awk '/^CapEff/ {print $2}' /proc/"$PID_b"/status)
[ $((16#$cap)) = $(((1 << 39) | (1 << 12) | (1 << 5) | (1 << 7) | (1 << 6))) ] ||
	fail "a. b's parent has capabilities $cap, not CAP_BPF, CAP_NET_ADMIN, CAP_KILL, CAP_SETUID and CAP_SETGID"

# i. A raw ESP socket in b, beside vtid, lists what the kernel gives it
# (SPI, length): ESP of SPI 0xdead0001 from a (nobody's), a 3000-byte ESP
# packet of t4's SPI from a, fragmented on the way (fragments are the
# kernel's to reassemble), and pings through t4, whose ESP vtid takes by
# AF_XDP.  (What the program passes, such as ESP that comes before b has
# steered its SPI, reaches the raw sockets; so the listener may see as
# many of t4's packets as b's raw socket delivered, and no more.)
cat > "$VT_TMP/espcount.py" <<'PY'
import os, socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 50)
s.settimeout(0.2)
open(sys.argv[1] + '.ready', 'w').close()
end = time.time() + 60
while not os.path.exists(sys.argv[1] + '.stop') and time.time() < end:
    try:
        p = s.recv(65535)
    except socket.timeout:
        continue
    ihl = (p[0] & 15) * 4
    print('%08x %d' % (struct.unpack('!I', p[ihl:ihl + 4])[0], len(p) - ihl))
sys.stdout.flush()
PY
cat > "$VT_TMP/espsend.py" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 50)
s.setsockopt(socket.IPPROTO_IP, 10, 0)    # IP_MTU_DISCOVER: IP_PMTUDISC_DONT
spi, n, size = int(sys.argv[2], 16), int(sys.argv[3]), int(sys.argv[4])
for i in range(n):
    s.sendto(struct.pack('!II', spi, 1000 + i) + bytes(size - 8), (sys.argv[1], 0))
PY
rx0=$(counter b t4 rx_xdp); rp0=$(counter b t4 rx_packets)
in_ns b python3 "$VT_TMP/espcount.py" "$VT_TMP/espcount" > "$VT_TMP/espcount.out" &
cpid=$!
wait_until 10 test -e "$VT_TMP/espcount.ready" || fail "i. the raw ESP listener in b did not start"
in_ns a python3 "$VT_TMP/espsend.py" 192.0.2.2 dead0001 5 100
in_ns a python3 "$VT_TMP/espsend.py" 192.0.2.2 00004201 1 3000
in_ns a ping -c 10 -i 0.1 -q 10.4.0.2 >/dev/null || fail "i. no pings a->b through t4"
sleep 0.3	# what is on the way still arrives
touch "$VT_TMP/espcount.stop"
wait "$cpid" || fail "i. the raw ESP listener in b failed"
rx1=$(counter b t4 rx_xdp); rp1=$(counter b t4 rx_packets)
out=$(tr '\n' ' ' < "$VT_TMP/espcount.out")
[ "$(grep -cx "dead0001 100" "$VT_TMP/espcount.out")" = 5 ] ||
	fail "i. the kernel's raw socket did not get the 5 ESP packets of an unknown SPI: $out"
[ "$(grep -cx "00004201 3000" "$VT_TMP/espcount.out")" = 1 ] ||
	fail "i. the kernel did not reassemble the fragmented ESP packet of t4's SPI for its raw socket: $out"
[ "$(grep -cv -e "^dead0001 100$" -e "^00004201 " "$VT_TMP/espcount.out")" = 0 ] ||
	fail "i. the kernel's raw socket got other ESP: $out"
kernel=$(($(grep -c "^00004201 " "$VT_TMP/espcount.out") - 1))
[ $((rx1 - rx0)) -ge 1 ] && [ "$kernel" -le $((rp1 - rp0 - (rx1 - rx0))) ] ||
	fail "i. b/t4: of $((rp1 - rp0)) ESP packets, $((rx1 - rx0)) by AF_XDP, yet the kernel's raw socket got $kernel: $out"
pass "i. unknown SPI (5) and a fragment of ours (reassembled) reach the kernel; of the pings' $((rp1 - rp0)) ESP packets, $((rx1 - rx0)) came by AF_XDP, and the kernel had only the $kernel that did not"

# b. A new network process finds the socket bound and its rings as the
# dead one left them.
kill_net b.
wait_xdp 10 a t4 eth0 10.4.0.2 || fail "b. a/t4: not on AF_XDP after the restart: $(path a t4)"
copies a b 10.4.0.2 10.4.0.1
s=$(mostly_xdp a t4); r=$(mostly_rx_xdp a t4)
pass "b. network process killed: its successor sends and receives by AF_XDP again (socket and rings taken over); 4 MB each way intact; sent by AF_XDP $s, received $r"

# c. A new eth0 in a (and b): the socket bound to the old one is spent.
# (Until vtid looks the path up again, show may still name the old eth0:
# the log and the counter say when the new one serves.)
in_ns a ip link del eth0
link_ab a b
until_sent 15 a 10.4.0.2 grep -q "AF_XDP socket 1 bound to eth0" "$VT_TMP/a.log" ||
	fail "c. a did not bind another socket to the new eth0: $(grep -i xdp "$VT_TMP/a.log" | tail -n 3)"
wait_xdp 10 a t4 eth0 10.4.0.2 || fail "c. a/t4: not on AF_XDP on the new eth0: $(path a t4)"
n=$(pings_by_xdp c.)
pass "c. eth0 replaced: socket 1 bound to the new one, pings both ways, $n ESP packets by AF_XDP"

# f. eth0 again, with the same ifindex: socket 1 is spent (its frames
# stay in its ring for ever), socket 2 takes over; then a new network
# process, told by the parent that both 1 and 2 serve that ifindex, must
# give up on 1 and use 2.
idx=$(in_ns a cat /sys/class/net/eth0/ifindex)
in_ns a ip link del eth0
veth a eth0 b eth0 index "$idx"
in_ns a ip addr add 192.0.2.1/24 dev eth0; in_ns b ip addr add 192.0.2.2/24 dev eth0
in_ns a ip addr add 2001:db8::1/64 dev eth0 nodad; in_ns b ip addr add 2001:db8::2/64 dev eth0 nodad
[ "$(in_ns a cat /sys/class/net/eth0/ifindex)" = "$idx" ] || fail "f. the new eth0 did not get ifindex $idx"
until_sent 15 a 10.4.0.2 grep -q "AF_XDP socket 2 bound to eth0" "$VT_TMP/a.log" ||
	fail "f. a did not bind socket 2 to the new eth0 of the same ifindex: $(grep -i xdp "$VT_TMP/a.log" | tail -n 3)"
kill_net f.
wait_xdp 10 a t4 eth0 10.4.0.2 || fail "f. a/t4: not on AF_XDP after the restart: $(path a t4)"
n=$(pings_by_xdp f.)
pass "f. eth0 re-created with ifindex $idx, network process killed: AF_XDP again ($n ESP packets), past the spent socket"

# g. A bridge as the underlay (its port the veth to gb), as on a host
# whose uplink is bridged for VMs; two more vtids.  (This kernel has no
# VLAN or bond devices to try.)
ns_add ga; ns_add gb
veth ga port0 gb eth0
in_ns ga ip link add br0 type bridge
in_ns ga ip link set port0 master br0
in_ns ga ip link set br0 up
in_ns ga ip addr add 198.51.100.1/24 dev br0
in_ns gb ip addr add 198.51.100.2/24 dev eth0
{ printf '[daemon]\nesp-path = xdp\n'
  conf t7 198.51.100.1 198.51.100.2 0x7102 0x7201 "$KB" "$KA" 10.7.0.1/30 fd00:7::1/64; } > "$VT_TMP/ga.conf"
{ printf '[daemon]\nesp-path = xdp\n'
  conf t7 198.51.100.2 198.51.100.1 0x7201 0x7102 "$KA" "$KB" 10.7.0.2/30 fd00:7::2/64; } > "$VT_TMP/gb.conf"
start_vtid ga "$VT_TMP/ga.conf"
start_vtid gb "$VT_TMP/gb.conf"
ping_ok ga 10.7.0.2 || fail "g. no ping ga->gb over the bridge"
wait_xdp 10 ga t7 br0 10.7.0.2 || fail "g. ga/t7: not on AF_XDP on br0: $(path ga t7)"
wait_xdp 10 gb t7 eth0 10.7.0.1 || fail "g. gb/t7: not on AF_XDP on eth0: $(path gb t7)"
copies ga gb 10.7.0.2 10.7.0.1
sa=$(mostly_xdp ga t7); sb=$(mostly_xdp gb t7)
stop_vtid ga; stop_vtid gb
pass "g. a bridge as the underlay: AF_XDP on br0 (and eth0 at the other end); 4 MB each way intact; by AF_XDP $sa and $sb"

# h. No carrier on a's eth0 (b's end down): within a lookup or two the
# raw socket, said to be for that; carrier back: AF_XDP again, and what
# the ring held meanwhile has not stopped anything.
in_ns b ip link set eth0 down
until_sent 5 a 10.4.0.2 path_is a t4 socket ||
	fail "h. a/t4: not on the raw socket 5 s after the carrier went: $(path a t4)"
why=$(vtictl a -j show t4 | jq -r '.[0].child.path_why')
[ "$why" = "interface down" ] || fail "h. a/t4: on the raw socket for '$why', not 'interface down'"
in_ns b ip link set eth0 up
in_ns b ip addr replace 192.0.2.2/24 dev eth0
wait_xdp 10 a t4 eth0 10.4.0.2 || fail "h. a/t4: not back on AF_XDP 10 s after the carrier came back: $(path a t4)"
n=$(pings_by_xdp h.)
pass "h. carrier lost: raw socket ($why); carrier back: AF_XDP again, pings both ways, $n ESP packets by AF_XDP"

# away_and_back CASE: b reloaded to esp-path = socket: its ESP comes
# through the stack again at once (the parent empties the program's
# socket slots and detaches it); reloaded back to xdp: the program is
# attached again, and b's ESP leaves and arrives by AF_XDP once b sends
# (it asks again then).  Prints how many came by AF_XDP.
grew() { [ "$(counter "$1" "$2" "$3")" -gt "$4" ]; }
away_and_back() {
	local x0 x1
	cp "$VT_TMP/b.conf" "$VT_TMP/b.xdp.conf"
	dual_conf b "esp-path = socket" > "$VT_TMP/b.conf"
	vtictl b reload >/dev/null || fail "$1 reload of b to esp-path = socket refused"
	vtictl b reload >/dev/null || fail "$1 second reload of b with esp-path = socket refused"
	x0=$(counter b t4 rx_xdp)
	ping_ok a 10.4.0.2 || fail "$1 no ping a->b with esp-path = socket"
	x1=$(counter b t4 rx_xdp)
	[ "$x1" = "$x0" ] ||
		fail "$1 b/t4: $((x1 - x0)) ESP packets by AF_XDP after a reload to esp-path = socket"
	! in_ns b ip link show eth0 | grep -q "prog/xdp" ||
		fail "$1 the XDP program is still on b's eth0 after a reload to esp-path = socket"
	cp "$VT_TMP/b.xdp.conf" "$VT_TMP/b.conf"
	vtictl b reload >/dev/null || fail "$1 reload of b back to esp-path = xdp refused"
	# (show names AF_XDP as of the last burst: the counter says it sends.)
	until_sent 10 b 10.4.0.1 grew b t4 tx_xdp "$(counter b t4 tx_xdp)" ||
		fail "$1 b/t4: no ESP sent by AF_XDP after the reload back: $(path b t4)"
	# (Pinged until some came by AF_XDP: the first may still be on the way.)
	until_sent 10 a 10.4.0.2 grew b t4 rx_xdp "$x1" ||
		fail "$1 b/t4: no ESP by AF_XDP in 10 s of pings after the reload back: $(vtictl b show t4 | grep '^  rx')"
	in_ns b ip link show eth0 | grep -q "prog/xdp" ||
		fail "$1 no XDP program on b's eth0 after the reload back"
	echo $(($(counter b t4 rx_xdp) - x1))
}

# j.  Twice: the second time, the network process told the parent to
# stop before, and must again.
n=$(away_and_back j.)
m=$(away_and_back "j. (again)")
pass "j. reload to esp-path = socket (twice): program detached, no ESP by AF_XDP under pings; back to xdp: attached, $n by it; the same again: $m"

# d. Started without AF_XDP, reloaded with it.
stop_vtid a
start_vtid a "$VT_TMP/a0.conf"
# (As in k., the first pings after a start may be lost: once, under
# ASan with another test beside it, all three of the first round were.)
wait_until 10 ping_ok a 10.4.0.2 || fail "d. no ping a->b in 10 s"
cp "$VT_TMP/a.conf" "$VT_TMP/a0.conf"
vtictl a reload >/dev/null || fail "d. reload refused"
ping_ok a 10.4.0.2 || fail "d. no ping a->b after the reload"
why=$(vtictl a -j show t4 | jq -r '.[0].child | select(.path == "packet") | .path_why // empty')
[ "$why" = "no AF_XDP socket: they are made at start only (see the log)" ] ||
	fail "d. a/t4: wanted the packet socket, saying why not AF_XDP: $(path a t4)"
[ "$(counter a t4 tx_xdp)" = 0 ] || fail "d. a/t4: ESP by AF_XDP without sockets"
pass "d. esp-path = xdp by reload: packet socket ($why)"

# e. A second vtid in b on the same eth0 (its own ports): queue 0 is
# b's, so the kernel refuses the newcomer's socket.
stop_vtid a
start_vtid a "$VT_TMP/a.conf"
{ printf '[daemon]\nesp-path = xdp\nport = 1500\nnatt-port = 5500\n'
  conf t9 192.0.2.2 192.0.2.1 0x9201 0x9102 "$KA" "$KB" 10.9.0.2/30 fd00:9::2/64
} > "$VT_TMP/c.conf"
{ conf t9 192.0.2.1 192.0.2.2 0x9102 0x9201 "$KB" "$KA" 10.9.0.1/30 fd00:9::1/64
} >> "$VT_TMP/a.conf"
vtictl a reload >/dev/null || fail "e. reload of a refused"
ping_ok b 10.4.0.1 || fail "e. no ping b->a before the second vtid"
on_xdp b t4 eth0 || fail "e. b/t4 not on AF_XDP: $(path b t4)"
start_vtid_as c b "$VT_TMP/c.conf"
ping_ok a 10.9.0.2 || fail "e. no ping a->c"
vtictl_c() { in_ns b "$VTICTL" -S "$VT_TMP/c.sock" "$@"; }
why=$(vtictl_c -j show t9 | jq -r '.[0].child | select(.path == "packet") | .path_why // empty')
[ "$why" = "another AF_XDP user holds the interface's queue 0" ] ||
	fail "e. c/t9: wanted the packet socket, refused AF_XDP: $(vtictl_c show t9 | grep '^  path'); $(grep -i xdp "$VT_TMP/c.log" | tail -n 2)"
ping_ok b 10.4.0.1 || fail "e. no ping b->a with the second vtid"
on_xdp b t4 eth0 || fail "e. b/t4 left AF_XDP: $(path b t4)"
pass "e. a second vtid on the same interface: packet socket ($why); the first keeps AF_XDP"
stop_vtid c
stop_vtid a
stop_vtid b

# k. A new veth with two queues each way.  a sends by its packet socket
# (AF_XDP would send from queue 0), and XPS puts whatever a sends on its
# second transmit queue, which a veth delivers to the peer's second
# receive queue: the device's hash putting a peer's ESP on another queue
# than 0, as a NIC's RSS does.
two_queues() {
	local cpus
	in_ns a ip link del eth0
	link_ab a b 1500 2
	cpus=$(printf '%x' $(((1 << $(nproc --all)) - 1)))
	in_ns a sh -c "echo 0 > /sys/class/net/eth0/queues/tx-0/xps_cpus &&
		echo $cpus > /sys/class/net/eth0/queues/tx-1/xps_cpus" ||
		fail "k. cannot steer a's transmit queues (XPS: every CPU, mask $cpus, to queue 1)"
}
two_queues
dual_conf a "esp-path = auto" > "$VT_TMP/a.conf"
dual_conf b "esp-path = xdp" > "$VT_TMP/b.conf"
: > "$VT_TMP/b.log"
start_vtid b "$VT_TMP/b.conf"
start_vtid a "$VT_TMP/a.conf"
# xdp_q N: what the XDP program saw on b's receive queue N (veth's count).
xdp_q() { in_ns b ethtool -S eth0 | awk -v k="rx_queue_$1_xdp_packets:" '$1 == k { print $2 }'; }
for t in t4 t6; do
	if [ $t = t4 ]; then ia=10.4.0.1 ib=10.4.0.2; else ia=fd00:6::1 ib=fd00:6::2; fi
	# (Up to 10 s for the first: once, in one run of many, a's first
	# three pings here went unanswered; not seen again in 12 tries.)
	wait_until 10 ping_ok a $ib || fail "k. $t: no ping a->b through the tunnel in 10 s"
	ping_ok b $ia || fail "k. $t: no ping b->a through the tunnel"
	wait_xdp 10 b $t eth0 $ia || fail "k. b/$t: not on AF_XDP after 10 s: $(path b $t)"
	q0=$(xdp_q 0); q1=$(xdp_q 1)
	copies a b $ib $ia
	q0=$(($(xdp_q 0) - q0)); q1=$(($(xdp_q 1) - q1))
	[ "$q1" -gt 1000 ] && [ "$q0" -le $((q1 / 100)) ] ||
		fail "k. $t: a's ESP did not arrive on b's queue 1 (queue 0: $q0 packets, queue 1: $q1): XPS not applied"
	r=$(mostly_rx_xdp b $t)
	pass "k. $t: a's ESP all on b's receive queue 1 ($q1 packets, $q0 on queue 0); 4 MB each way intact; received by AF_XDP $r"
done
grep -q "AF_XDP socket 1 bound to eth0 queue 1 to receive raw ESP" "$VT_TMP/b.log" ||
	fail "k. b's log does not say a socket was bound to queue 1: $(grep -i xdp "$VT_TMP/b.log" | tail -n 3)"
# Its successor takes both sockets over: queue 1's too, which never sends.
kill_net k. b
wait_xdp 10 b t4 eth0 10.4.0.1 || fail "k. b/t4: not on AF_XDP after the restart: $(path b t4)"
x0=$(counter b t4 rx_xdp); p0=$(counter b t4 rx_packets)
copies a b 10.4.0.2 10.4.0.1
x=$(($(counter b t4 rx_xdp) - x0)); p=$(($(counter b t4 rx_packets) - p0))
[ $((x * 10)) -ge $((p * 9)) ] || fail "k. b/t4 after the restart: $x of $p ESP packets by AF_XDP"
pass "k. b's network process killed: its successor receives queue 1's ESP by AF_XDP again; 4 MB each way intact; received by AF_XDP $x/$p"
# A reload to esp-path = socket and back: queue 1's socket stops and
# starts again with queue 0's.
n=$(away_and_back k.)
pass "k. reload to esp-path = socket and back: queue 1's socket stopped, then received again ($n ESP)"
# Again right after a restart, before b sent anything: its new network
# process has not asked for the program yet, and the reload still
# detaches it.
kill_net k. b
n=$(away_and_back k.)
pass "k. the same right after a restart, before b sent: detached, then $n ESP by AF_XDP again"
# With xdp-sockets = 2, b keeps its second socket free for another
# interface: queue 1's ESP takes the raw socket, and the log says so.
# (A new veth: the kernel frees a closed socket's queue a little later.)
stop_vtid a
stop_vtid b
two_queues
printf '[daemon]\nesp-path = xdp\nxdp-sockets = 2\n' > "$VT_TMP/b.conf"
dual_conf b >> "$VT_TMP/b.conf"
: > "$VT_TMP/b.log"
start_vtid b "$VT_TMP/b.conf"
start_vtid a "$VT_TMP/a.conf"
ping_ok b 10.4.0.1 || fail "k. no ping b->a with xdp-sockets = 2"
wait_xdp 10 b t4 eth0 10.4.0.1 || fail "k. b/t4: not sending by AF_XDP with xdp-sockets = 2: $(path b t4)"
in_ns b ip link show eth0 | grep -q "prog/xdp" || fail "k. no XDP program on b's eth0 with xdp-sockets = 2"
x0=$(counter b t4 rx_xdp); p0=$(counter b t4 rx_packets); q0=$(xdp_q 1)
in_ns a ping -c 20 -i 0.05 -q 10.4.0.2 >/dev/null || fail "k. no pings a->b with xdp-sockets = 2"
x=$(($(counter b t4 rx_xdp) - x0)); p=$(($(counter b t4 rx_packets) - p0)); q1=$(($(xdp_q 1) - q0))
[ "$x" = 0 ] && [ "$p" -ge 20 ] && [ "$q1" -ge 20 ] ||
	fail "k. b/t4 with xdp-sockets = 2: $x of $p ESP packets by AF_XDP, $q1 seen by the program on queue 1 (wanted 0 of at least 20, and at least 20)"
grep -q "eth0 has 2 receive queues, AF_XDP sockets on the first 1: " "$VT_TMP/b.log" ||
	fail "k. b's log does not say queue 1 got no socket: $(cat "$VT_TMP/b.log")"
pass "k. xdp-sockets = 2: one kept free, queue 1's $p ESP packets by the raw socket, and the log says so"
stop_vtid a
stop_vtid b
