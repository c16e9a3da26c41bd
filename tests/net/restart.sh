#!/bin/bash
# vtictl restart (SPEC "Programs"; issue 13): a restart of the hub that
# keeps its interfaces.  A hub h with one [tunnel ta] to branch b1 and one
# [template br] admitting b2 and b3 (address = auto, pool).  After
# `vtictl restart` (exit status 4) and a new start (the test plays
# systemd): the same ifindex for all three, operator routes through ta and
# through an instance still there, the same instance names for the same
# peers, and traffic both ways again.  Then a plain stop/start for
# comparison (everything deleted, SPEC), a restart that drops [tunnel ta]
# from the configuration (its device is deleted), a crash of the network
# process (instances keep their devices too), and a SIGKILL of a vtid
# that adopted devices (they go with it: IFF_PERSIST was cleared).
. "$(dirname "$0")/lib.sh"
PSK=restart-secret-$$

hub_branches 3

hub_conf() {	# with_ta
	: > "$VT_TMP/h.conf"
	[ "$1" = yes ] && cat >> "$VT_TMP/h.conf" <<C
[tunnel ta]
local = 192.0.2.1
remote = 10.0.1.2
address = 10.200.0.1/30
psk = $PSK
dpd = 2
C
	cat >> "$VT_TMP/h.conf" <<C
[template br]
local = 192.0.2.1
remote = any
remote-id = *.branches.example
psk = $PSK
address = 10.128.0.1/32
pool = 10.128.0.0/24
dpd = 2
C
}
hub_conf yes
cat > "$VT_TMP/b1.conf" <<C
[tunnel hub]
local = 10.0.1.2
remote = 192.0.2.1
address = 10.200.0.2/30
psk = $PSK
dpd = 2
C
for i in 2 3; do
	cat > "$VT_TMP/b$i.conf" <<C
[tunnel hub]
local = 10.0.$i.2
remote = 192.0.2.1
local-id = b$i.branches.example
remote-id = 192.0.2.1
psk = $PSK
address = auto
dpd = 2
C
done

ifindex() { in_ns h ip -o link show dev "$1" 2>/dev/null | cut -d: -f1; }
has_link() { in_ns h ip link show "$1" >/dev/null 2>&1; }
no_link() { ! has_link "$1"; }
instance() {	# peer id -> "name address"
	vtictl h -j show 2>/dev/null | jq -r --arg id "$1" \
		'.[] | select(.peer_id == $id) | "\(.name) \(.peer_addresses[0] // "")"'
}
# Every tunnel up at both ends, and ping through each both ways.
all_back() {
	local i n a
	has_carrier h ta || return 1
	for i in 1 2 3; do has_carrier "b$i" hub || return 1; done
	for i in 2 3; do
		read -r n a <<<"$(instance "b$i.branches.example")"
		[ -n "$n" ] && [ -n "$a" ] && has_carrier h "$n" || return 1
	done
	return 0
}
pings() {
	local i n a
	ping_ok h 10.200.0.2 || fail "hub -> b1 through ta"
	ping_ok b1 10.200.0.1 || fail "b1 -> hub through ta"
	for i in 2 3; do
		read -r n a <<<"$(instance "b$i.branches.example")"
		a=${a%/*}
		ping_ok h "$a" || fail "hub -> b$i ($a) through $n"
		ping_ok "b$i" 10.128.0.1 || fail "b$i -> hub through $n"
	done
}
# Seconds (3 decimals) from $1 (date +%s.%N) until all_back.
until_back() {
	wait_until 60 all_back || fail "not all back within 60 s: $(vtictl h show 2>&1 | head -20)"
	awk -v t="$1" -v n="$(date +%s.%N)" 'BEGIN { printf "%.3f", n - t }'
}
# stop_for_restart: vtictl restart, and the exit status 4.
stop_for_restart() {
	local rc=0
	vtictl h restart >/dev/null || fail "vtictl restart failed"
	wait "$PID_h" || rc=$?
	forget_pid "$PID_h"
	[ "$rc" = 4 ] || fail "vtid stopped for a restart exited with $rc, not 4"
}

start_vtid h "$VT_TMP/h.conf"
for i in 1 2 3; do start_vtid "b$i" "$VT_TMP/b$i.conf"; done
wait_until 20 all_back || fail "tunnels did not come up: $(vtictl h show)"
pings
read -r n2 _ <<<"$(instance b2.branches.example)"
read -r n3 _ <<<"$(instance b3.branches.example)"
for n in ta "$n2" "$n3"; do eval "ix_$n=$(ifindex "$n")"; done
in_ns h ip route add 10.201.0.0/24 dev ta
in_ns h ip route add 10.202.0.0/24 dev "$n2"
pass "up: ta (ifindex $ix_ta), $n2 for b2 (ifindex $(eval echo "\$ix_$n2")), $n3 for b3 (ifindex $(eval echo "\$ix_$n3")); operator routes added"

# 1. vtictl restart, start again: everything kept.
t0=$(date +%s.%N)
stop_for_restart
for n in ta "$n2" "$n3"; do
	has_link "$n" || fail "$n deleted by vtictl restart"
	in_ns h ip -d link show "$n" | grep -q "persist on" || fail "$n not persistent while vtid is stopped"
done
[ -s "$VT_TMP/h.state/interfaces" ] || fail "no list of kept interfaces"
[ "$(stat -c %a "$VT_TMP/h.state/interfaces")" = 600 ] || fail "interfaces file not mode 0600"
start_vtid h "$VT_TMP/h.conf"
keep_s=$(until_back "$t0")
[ -e "$VT_TMP/h.state/interfaces" ] && fail "the list of kept interfaces was not removed after reading"
for n in ta "$n2" "$n3"; do
	now=$(ifindex "$n"); was=$(eval echo "\$ix_$n")
	[ "$now" = "$was" ] || fail "$n: ifindex $was before the restart, $now after"
	in_ns h ip -d link show "$n" | grep -q "persist on" && fail "$n still persistent after adoption"
done
[ "$(instance b2.branches.example | cut -d' ' -f1)" = "$n2" ] || fail "b2 got another instance"
[ "$(instance b3.branches.example | cut -d' ' -f1)" = "$n3" ] || fail "b3 got another instance"
in_ns h ip route show 10.201.0.0/24 | grep -q "dev ta" || fail "operator route via ta lost"
in_ns h ip route show 10.202.0.0/24 | grep -q "dev $n2" || fail "operator route via $n2 lost"
pings
pass "vtictl restart: back in $keep_s s; ta, $n2, $n3 kept their ifindex ($ix_ta, $(eval echo "\$ix_$n2"), $(eval echo "\$ix_$n3")) and the operator routes; same instance per peer; ping both ways"

# 1b. A crash of the network process: the parent knows each instance's
# peer now, so instances keep their interface as [tunnel]s always did.
net=$(vtid_net h)
[ -n "$net" ] || fail "no network process"
t0=$(date +%s.%N)
kill -SEGV "$net"
# The old carriers are taken down before the new process is forked.
new_net() { local p; p=$(vtid_net h); [ -n "$p" ] && [ "$p" != "$net" ]; }
wait_until 10 new_net || fail "no new network process after the crash"
crash_s=$(until_back "$t0")
for n in ta "$n2" "$n3"; do
	now=$(ifindex "$n"); was=$(eval echo "\$ix_$n")
	[ "$now" = "$was" ] || fail "$n: ifindex $was before the crash, $now after"
done
[ "$(instance b2.branches.example | cut -d' ' -f1)" = "$n2" ] || fail "b2 got another instance after the crash"
pings
pass "network process crash: back in $crash_s s, instances kept their interfaces"

# 2. Plain stop and start (SPEC: SIGTERM removes the interfaces).
t0=$(date +%s.%N)
stop_vtid h; forget_pid "$PID_h"
for n in ta "$n2" "$n3"; do no_link "$n" || fail "$n left behind by SIGTERM"; done
start_vtid h "$VT_TMP/h.conf"
plain_s=$(until_back "$t0")
in_ns h ip route show 10.201.0.0/24 | grep -q . && fail "route via ta survived a plain stop?"
pass "plain stop/start: back in $plain_s s; ta now ifindex $(ifindex ta) (was $ix_ta), operator routes gone"
echo "restart timing: vtictl restart $keep_s s, plain stop/start $plain_s s"
read -r n2 _ <<<"$(instance b2.branches.example)"
read -r n3 _ <<<"$(instance b3.branches.example)"
in_ns h ip route add 10.202.0.0/24 dev "$n2"
ix2=$(ifindex "$n2"); ix3=$(ifindex "$n3")

# 3. A restart whose new configuration drops [tunnel ta]: its device goes.
# The branch whose instance is br0 is frozen meanwhile, so the other comes
# back first: it must get its own instance again, not the first free number.
if [ "$n2" = br0 ]; then first=3 late=2; else first=2 late=3; fi
late_pids="$(eval echo "\$PID_b$late") $(vtid_children "b$late" | tr '\n' ' ')"
kill -STOP $late_pids
stop_for_restart
has_link ta || fail "ta not kept"
hub_conf no
start_vtid h "$VT_TMP/h.conf"
wait_until 5 no_link ta || fail "ta, no longer configured, was not deleted"
eval "nf=\$n$first ixf=\$ix$first"
wait_until 30 has_carrier h "$nf" || fail "b$first: $nf not back ($(vtictl h show | head -5))"
[ "$(instance "b$first.branches.example" | cut -d' ' -f1)" = "$nf" ] || fail "b$first came back first and got another instance than $nf"
[ "$(ifindex "$nf")" = "$ixf" ] || fail "$nf changed its ifindex"
kill -CONT $late_pids
wait_until 30 has_carrier h br0 || fail "b$late: br0 not back"
[ "$(instance "b$late.branches.example" | cut -d' ' -f1)" = br0 ] || fail "b$late got another instance than br0"
[ "$(ifindex "$n2")" = "$ix2" ] || fail "$n2 changed its ifindex"
in_ns h ip route show 10.202.0.0/24 | grep -q "dev $n2" || fail "operator route via $n2 lost"
pass "a restart without [tunnel ta] deletes ta; b$first back first got $nf again, b$late br0; ifindex kept"

# 4. SIGKILL of a vtid that adopted devices: they go with it.
kill -KILL "$PID_h"; wait "$PID_h" 2>/dev/null || true; forget_pid "$PID_h"
for n in "$n2" "$n3"; do wait_until 10 no_link "$n" || fail "$n left behind by SIGKILL of an adopting vtid"; done
pass "SIGKILL after adoption leaves no interface behind"
