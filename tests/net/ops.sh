#!/bin/bash
# Operating a tunnel: carrier before keys, vtictl up/down, wrong keys,
# reload (unchanged tunnels keep passing traffic), exit statuses, clean
# shutdown.
. "$(dirname "$0")/lib.sh"

ns_add a; ns_add b; link_ab a b
K1=$(key 20 k1); K2=$(key 20 k2); BAD=$(key 20 wrong)

conf_a() {	# $1: start for sti0, $2: extra tunnel text
	{
		manual_tunnel sti0 192.0.2.1 192.0.2.2 aes128gcm16 0x1001 0x2001 "$K2" "$K1" \
			"10.9.0.1/30" "start = $1"
		manual_tunnel bad0 192.0.2.1 192.0.2.2 aes128gcm16 0x1002 0x2002 "$BAD" "$K1" \
			"10.9.1.1/30"
		printf '%s\n' "${2:-}"
	} > "$VT_TMP/a.conf"
}
conf_a no
{
	manual_tunnel sti0 192.0.2.2 192.0.2.1 aes128gcm16 0x2001 0x1001 "$K1" "$K2" "10.9.0.2/30"
	manual_tunnel bad0 192.0.2.2 192.0.2.1 aes128gcm16 0x2002 0x1002 "$K1" "$K2" "10.9.1.2/30"
} > "$VT_TMP/b.conf"

# --check and configuration errors
chmod 600 "$VT_TMP/a.conf"
"$VTID" --check -c "$VT_TMP/a.conf" | grep -q "OK, 2 tunnels" || fail "--check on a good file"
printf '[tunnel x]\nlocal = 192.0.2.1\nbogus = 1\n' > "$VT_TMP/bad.conf"
set +e
out=$("$VTID" --check -c "$VT_TMP/bad.conf" 2>&1); rc=$?
set -e
[ $rc = 1 ] && grep -q "bad.conf:3: unknown key 'bogus'" <<<"$out" || fail "--check: rc $rc: $out"
set +e
out=$(in_ns a "$VTID" -c "$VT_TMP/bad.conf" -S "$VT_TMP/x.sock" 2>&1); rc=$?
set -e
[ $rc = 1 ] && grep -q "bad.conf:3:" <<<"$out" || fail "vtid on a bad file: rc $rc: $out"
set +e; "$VTID" --nonsense >/dev/null 2>&1; rc=$?; set -e
[ $rc = 2 ] || fail "bad usage must exit 2, got $rc"
pass "config errors: FILE:LINE and exit 1, usage exit 2"

# vtictl without a daemon
set +e; out=$("$VTICTL" -S "$VT_TMP/none.sock" show 2>&1); rc=$?; set -e
[ $rc = 5 ] && grep -q "not running" <<<"$out" || fail "no daemon: rc $rc: $out"

start_vtid a "$VT_TMP/a.conf"
start_vtid b "$VT_TMP/b.conf"

# start = no: interface there, no SA, no carrier.
in_ns a ip link show sti0 >/dev/null || fail "sti0 missing"
has_carrier a sti0 && fail "carrier on before any SA"
[ "$(vtictl a -j show sti0 | jq -r '.[0].state')" = down ] || fail "state not down"
[ "$(vtictl a -j show sti0 | jq -r '.[0].child')" = null ] || fail "child not null"
pass "start = no: no carrier, state down, child null"

vtictl a up sti0 >/dev/null
wait_until 2 has_carrier a sti0 || fail "no carrier after up"
ping_ok a 10.9.0.2 || fail "ping after up"
pass "vtictl up: carrier on, traffic flows"

vtictl a down sti0 >/dev/null
has_carrier a sti0 && fail "carrier still on after down"
ping_ok a 10.9.0.2 && fail "ping passed with the tunnel down"
vtictl a up sti0 >/dev/null
wait_until 2 has_carrier a sti0 || fail "no carrier after second up"
# The parked SA resumes its sequence numbers, so b's replay window accepts it.
ping_ok a 10.9.0.2 || fail "ping after down/up"
[ "$(counter b sti0 rx_replay)" = 0 ] || fail "down/up caused replay drops on b"
pass "vtictl down/up: carrier follows, sequence numbers continue"

# Wrong keys (a decrypts bad0 with a key b does not use): replies never
# arrive and a counts authentication failures.
ping_ok a 10.9.1.2 && fail "ping passed over a tunnel with wrong keys"
n=$(counter a bad0 rx_auth_fail)
[ "$n" -ge 3 ] || fail "wrong keys: rx_auth_fail is $n"
[ "$(counter a bad0 rx_packets)" = 0 ] || fail "wrong keys delivered packets"
pass "wrong keys: no traffic, $n authentication failures counted"

# vtictl errors
set +e; out=$(vtictl a show nosuch 2>&1); rc=$?; set -e
[ $rc = 3 ] && grep -q "no tunnel named 'nosuch'" <<<"$out" || fail "no such tunnel: rc $rc"
set +e; vtictl a up >/dev/null 2>&1; rc=$?; set -e
[ $rc = 2 ] || fail "missing argument: rc $rc"
set +e; out=$(in_ns a setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$VTICTL" -S "$VT_TMP/a.sock" show 2>&1); rc=$?; set -e
[ $rc = 4 ] || fail "unprivileged user: rc $rc: $out"
[ "$(stat -c %a "$VT_TMP/a.sock")" = 600 ] || fail "control socket mode"
pass "vtictl: no tunnel exit 3, usage exit 2, permission denied exit 4"

# Reload: an unchanged tunnel keeps passing traffic without loss while
# another is removed and a third added; a broken file changes nothing.
in_ns a ping -i 0.02 -c 150 -q 10.9.0.2 > "$VT_TMP/ping.out" 2>&1 &
PING=$!
sleep 0.5
conf_a no "$(manual_tunnel new0 192.0.2.1 192.0.2.2 chacha20poly1305 0x1003 0x2003 \
	"$(key 36 n1)" "$(key 36 n2)" 10.9.2.1/30)"
sed -i '/^\[tunnel bad0\]/,/^address/d' "$VT_TMP/a.conf"
vtictl a reload >/dev/null
sleep 0.3
# Change new0's keys and SPIs: re-keyed in place, its interface stays.
ifx=$(in_ns a cat /sys/class/net/new0/ifindex)
sed -i 's/^spi-in = 0x1003$/spi-in = 0x1004/' "$VT_TMP/a.conf"
vtictl a reload >/dev/null
[ "$(in_ns a cat /sys/class/net/new0/ifindex)" = "$ifx" ] || fail "changed tunnel lost its interface"
[ "$(vtictl a -j show new0 | jq -r '.[0].child.spi_in')" = 0x00001004 ] || fail "change not applied"
sleep 0.3
echo "[tunnel" >> "$VT_TMP/a.conf"
kill -HUP "$(eval echo \$PID_a)"
sleep 0.3
wait $PING || true
grep -q " 0% packet loss" "$VT_TMP/ping.out" || fail "reload lost packets: $(cat "$VT_TMP/ping.out")"
in_ns a ip link show bad0 >/dev/null 2>&1 && fail "removed tunnel bad0 still there"
in_ns a ip link show new0 >/dev/null || fail "added tunnel new0 missing"
grep -q "reload of .* failed; keeping the running configuration" "$VT_TMP/a.log" ||
	fail "broken reload not reported"
grep -q "a.conf:[0-9]*: section header" "$VT_TMP/a.log" || fail "broken reload: no FILE:LINE"
in_ns a ip link show new0 >/dev/null || fail "broken reload changed the running tunnels"
pass "reload: 150 pings, 0 lost; bad0 removed, new0 added then changed in place; broken file rejected with FILE:LINE"

vtictl a show sti0 > "$VT_TMP/show.log"; vtictl a -j show > "$VT_TMP/showj.log"
assert_no_secret "$K1" "$K2" "$BAD"
pass "no key in logs or vtictl show"
stop_vtid a
in_ns a ip link show sti0 >/dev/null 2>&1 && fail "interface left after SIGTERM"
[ -e "$VT_TMP/a.sock" ] && fail "control socket left after SIGTERM"
pass "SIGTERM: exit 0, interfaces and socket removed"
