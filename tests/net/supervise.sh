#!/bin/bash
# Supervision (SPEC "Staying up"): two vtids with an IKE tunnel (PSK) and a
# ping every 10 ms across it, over a static route into the tunnel.  The
# network process of a is killed by SIGKILL, then by SIGSEGV, then a's auth
# process is killed; after each the parent still runs, sti0 has the same
# ifindex, addresses and route, the ping comes back (the time from the
# kill to the first reply after it is printed, in ms), and vtictl answers.
# Then b's network process is crashed 6 times within 60 s: b's parent gives
# up with status 3 and a clear message, and its interface is gone; the
# same for b's auth process, after b has started again.
. "$(dirname "$0")/lib.sh"
MEMSCAN="$(dirname "$0")/memscan.py"

ns_add a; ns_add b; link_ab a b
PSK="supervise-psk-$$-$RANDOM$RANDOM"
printf '[tunnel sti0]\nlocal = 192.0.2.1\nremote = 192.0.2.2\naddress = 10.255.0.1/30, fd00:255::1/64\npsk = %s\n' \
	"$PSK" > "$VT_TMP/a.conf"
printf '[tunnel sti0]\nlocal = 192.0.2.2\nremote = 192.0.2.1\naddress = 10.255.0.2/30, fd00:255::2/64\npsk = %s\n' \
	"$PSK" > "$VT_TMP/b.conf"
# And manual keys beside it: a new network process must go on above every
# sequence number sent (the mark in state-dir), or b drops it all as replays.
KAB=$(key 20 sup-ab); KBA=$(key 20 sup-ba)
manual_tunnel man0 192.0.2.1 192.0.2.2 aes128gcm16 0x2001 0x1001 "$KBA" "$KAB" 10.9.0.1/30 >> "$VT_TMP/a.conf"
manual_tunnel man0 192.0.2.2 192.0.2.1 aes128gcm16 0x1001 0x2001 "$KAB" "$KBA" 10.9.0.2/30 >> "$VT_TMP/b.conf"
start_vtid b "$VT_TMP/b.conf"; start_vtid a "$VT_TMP/a.conf"
wait_until 10 has_carrier a sti0 && wait_until 10 has_carrier b sti0 || fail "no carrier"
# A network behind b, reached from a by a static route into the tunnel.
in_ns b ip addr add 10.99.0.1/32 dev lo
in_ns a ip route add 10.99.0.0/24 dev sti0
ping_ok a 10.99.0.1 || fail "no traffic over the route into sti0"
ping_ok a 10.9.0.2 || fail "no traffic over the manual tunnel"

state() {	# what must survive a crash: ifindex, addresses, the route
	in_ns a cat /sys/class/net/sti0/ifindex
	in_ns a ip -o addr show dev sti0 | awk '{ print $3, $4 }' | grep -v '^inet6 fe80' | sort
	in_ns a ip route show 10.99.0.0/24 dev sti0 | sed 's/ linkdown//'
}
BEFORE=$(state)
echo "sti0 on a: $(echo "$BEFORE" | tr '\n' ';')"

# Timestamped replies (-D), losses reported as they happen (-O), a line
# at a time.
bg_in_ns a stdbuf -oL ping -D -O -i 0.01 10.99.0.1 > "$VT_TMP/ping.log" 2>&1
PING=${VT_PIDS[-1]}
sleep 1

# back_ms T0: "MS LOST": MS from T0 (epoch seconds) to the first reply to
# an echo request sent after T0 (its send time is the reply's time less
# the round trip), and LOST the echo requests that went unanswered in
# between; nothing if there is no such reply yet.  With a request every
# 10 ms, an outage shorter than that shows as up to 10 ms and 0 lost.
back_ms() {
	awk -v t0="$1" '
		/bytes from/ {
			ts = substr($1, 2, length($1) - 2) + 0
			match($0, /icmp_seq=[0-9]+/); seq = substr($0, RSTART + 9, RLENGTH - 9) + 0
			match($0, /time=[0-9.]+/); rtt = substr($0, RSTART + 5, RLENGTH - 5) / 1000
			if (have && ts > t0 && seq > last + 1)
				lost += seq - last - 1
			if (ts - rtt > t0) {
				printf "%d %d\n", (ts - t0) * 1000, lost; exit
			}
			last = seq; have = 1
		}' "$VT_TMP/ping.log"
}
wait_back() {	# T0 WHAT: traffic must come back within 20 s
	local r=""
	for _ in $(seq 200); do
		r=$(back_ms "$1")
		[ -n "$r" ] && break
		sleep 0.1
	done
	[ -n "$r" ] || fail "$2: no reply within 20 s"
	echo "$r"
}
net_replaced() { local n; n=$(vtid_net "$1"); [ -n "$n" ] && [ "$n" != "$2" ]; }
alive() { kill -0 "$PID_a" 2>/dev/null || fail "$1: the parent is gone"; }
check_kept() {	# WHAT
	local now
	alive "$1"
	now=$(state)
	[ "$now" = "$BEFORE" ] || fail "$1: sti0 changed: before [$BEFORE] after [$now]"
	vtictl a -j show sti0 | jq -e '.[0].state == "up"' >/dev/null ||
		fail "$1: vtictl show: $(vtictl a show 2>&1)"
	[ "$(vtid_children a | wc -w)" = 2 ] || fail "$1: children: $(vtid_children a)"
}
field() { awk -v k="$2:" '$1 == k { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status"; }
# sandboxed PID: a child the parent started anew is as confined as the
# first: vtid's user, no capabilities at all, no_new_privs, seccomp, and
# none of the parent's files.
sandboxed() {
	local c="$1" uid cap files
	uid=$(id -u vtid)
	[ "$(field "$c" Uid)" = "$uid $uid $uid $uid" ] || fail "$c: uid $(field "$c" Uid)"
	for cap in CapInh CapPrm CapEff CapBnd CapAmb; do
		[ "$(field "$c" $cap)" = 0000000000000000 ] || fail "$c: $cap $(field "$c" $cap)"
	done
	[ "$(field "$c" NoNewPrivs)" = 1 ] && [ "$(field "$c" Seccomp)" = 2 ] ||
		fail "$c: no_new_privs $(field "$c" NoNewPrivs), seccomp $(field "$c" Seccomp)"
	files=$(ls -l "/proc/$c/fd" | awk '/ -> \// { print $NF }' | grep -v -e "^$VT_TMP/a.log$" -e "^/dev/net/tun$" -e "^/dev/null$" || true)
	[ -z "$files" ] || fail "$c: holds files: $files"
}
auth_of() { local p; for p in $(vtid_children "$1"); do [ "$(cat "/proc/$p/comm")" = "vtid: auth" ] && echo "$p"; done; return 0; }

# 1-2. The network process, by SIGKILL and by SIGSEGV.
FIG=""
for sig in KILL SEGV; do
	old=$(vtid_net a)
	[ -n "$old" ] || fail "no network process"
	# The kernel counts carrier losses; link messages may skip a short one.
	downs=$(in_ns a cat /sys/class/net/sti0/carrier_down_count)
	t0=$(date +%s.%N)
	kill -$sig "$old"
	wait_until 5 net_replaced a "$old" || fail "SIG$sig: network process not replaced"
	r=$(wait_back "$t0" "SIG$sig"); ms=${r% *}; lost=${r#* }
	wait_until 5 has_carrier a sti0 || fail "SIG$sig: no carrier"
	check_kept "SIG$sig"
	ping_ok a 10.9.0.2 || fail "SIG$sig: the manual tunnel carries nothing after the restart"
	new=$(vtid_net a)
	[ -n "$new" ] && [ "$new" != "$old" ] || fail "SIG$sig: network process not replaced ($old -> $new)"
	sandboxed "$new"
	[ "$(in_ns a cat /sys/class/net/sti0/carrier_down_count)" -gt "$downs" ] ||
		fail "SIG$sig: the carrier never went down"
	# (Under AddressSanitizer with abort_on_error a SEGV ends as SIGABRT.)
	grep -q "network process was killed by signal\|network process exited with status" "$VT_TMP/a.log" ||
		fail "SIG$sig: restart not logged"
	pass "network process SIG$sig: parent kept sti0 (same ifindex, addresses, route; carrier down, then up), new process $new, manual man0 passes again, first reply to a request sent after the kill: $ms ms ($lost requests lost)"
	FIG="${FIG}net SIG$sig: ${ms} ms, $lost lost; "
done
grep -q "peer sent INITIAL_CONTACT" "$VT_TMP/b.log" || fail "b never saw INITIAL_CONTACT"
n=$(python3 "$MEMSCAN" "$(vtid_net a)" "$PSK")
[ "$n" = 0 ] || fail "the PSK is in the restarted network process's memory ($n times)"
pass "b dropped the stale SAs on INITIAL_CONTACT; no PSK in the restarted network process"

# 3. The auth process: a new one, and a new channel to it in net.  Traffic
# goes on; a fresh IKE_AUTH (down, up) proves that signing works again.
old=$(auth_of a); net=$(vtid_net a)
t0=$(date +%s.%N)
kill -KILL "$old"
wait_until 5 grep -q "connected to the restarted auth process" "$VT_TMP/a.log" ||
	fail "auth: net did not get a new channel"
r=$(wait_back "$t0" "auth"); ms=${r% *}; lost=${r#* }
new=$(auth_of a)
[ -n "$new" ] && [ "$new" != "$old" ] && [ "$(vtid_net a)" = "$net" ] ||
	fail "auth: not replaced alone (auth $old -> $new, net $net -> $(vtid_net a))"
sandboxed "$new"
vtictl a down sti0 >/dev/null
wait_until 5 eval '! has_carrier a sti0' || fail "auth: down left the carrier up"
t1=$(date +%s.%N)
vtictl a up sti0 >/dev/null
wait_until 10 has_carrier a sti0 || fail "auth: no new IKE SA after the restart"
r=$(wait_back "$t1" "auth re-negotiation"); ms2=${r% *}; lost2=${r#* }
check_kept "auth"
pass "auth process SIGKILL: replaced, network process kept (first reply after $ms ms, $lost lost); a new IKE_AUTH through it (down, up): traffic after $ms2 ms"
FIG="${FIG}auth SIGKILL: ${ms} ms, $lost lost (down+up through the new auth: ${ms2} ms); "

# 4. Six crashes of b's network process within 60 s: b gives up, exit 3.
t0=$SECONDS
for i in 1 2 3 4 5 6; do
	old=$(vtid_net b)
	[ -n "$old" ] || fail "crash $i: b has no network process"
	kill -KILL "$old"
	[ $i = 6 ] && break
	wait_until 5 net_replaced b "$old" || fail "crash $i: not restarted"
	sleep 0.3
done
rc=0; wait "$PID_b" || rc=$?
[ "$rc" = 3 ] || fail "after 6 crashes b exited with status $rc, want 3"
grep -q "network process crashed 6 times in 60 s; giving up" "$VT_TMP/b.log" || fail "no give-up message"
{ in_ns b ip link show sti0 || in_ns b ip link show man0; } >/dev/null 2>&1 && fail "an interface of b outlived vtid"
pass "6 crashes in $((SECONDS - t0)) s: '$(grep -o "network process crashed.*" "$VT_TMP/b.log")', exit 3, sti0 gone"

# 5. The same for the auth process: b again, its auth process killed 6
# times; the network process says DELETE and vtid exits 3.
start_vtid b "$VT_TMP/b.conf"
wait_until 10 has_carrier b sti0 || fail "b restarted: no carrier"
for i in 1 2 3 4 5 6; do
	old=$(auth_of b)
	[ -n "$old" ] || fail "auth crash $i: b has no auth process"
	kill -KILL "$old"
	[ $i = 6 ] && break
	wait_until 5 eval '[ -n "$(auth_of b)" ] && [ "$(auth_of b)" != '"$old"' ]' ||
		fail "auth crash $i: not restarted"
done
rc=0; wait "$PID_b" || rc=$?
[ "$rc" = 3 ] || fail "after 6 auth crashes b exited with status $rc, want 3"
grep -q "auth process crashed 6 times in 60 s; giving up" "$VT_TMP/b.log" || fail "no give-up message for auth"
{ in_ns b ip link show sti0 || in_ns b ip link show man0; } >/dev/null 2>&1 && fail "an interface of b outlived vtid"
pass "6 auth crashes: '$(grep -o "auth process crashed.*" "$VT_TMP/b.log")', exit 3, sti0 gone"

# a's parent is unharmed, and a clean stop still exits 0.
alive "final"
kill "$PING" 2>/dev/null || true
stop_vtid a
in_ns a ip link show sti0 >/dev/null 2>&1 && fail "a's sti0 outlived a clean stop"
pass "clean stop after restarts: exit 0, interface removed"
echo "figures: ${FIG}"
echo "supervise: all passed"
