#!/bin/bash
# Under systemd (Type=notify, contrib/vtid.service).  systemd is not PID 1
# here, so its side is played by a notification socket (notify.py) and
# the unit is checked offline: READY=1 arrives when every interface
# exists; RELOADING=1 then READY=1 around a reload; WATCHDOG=1 comes while
# the network process is alive and stops while it is stopped (SIGSTOP);
# STOPPING=1 at SIGTERM.  `systemd-analyze verify` accepts the unit and
# `systemd-analyze security --offline` rates its sandbox.
. "$(dirname "$0")/lib.sh"
HERE="$(dirname "$0")"
command -v systemd-analyze >/dev/null || fail "systemd-analyze is not installed: apt-get install systemd"

ns_add a; ns_add b; link_ab a b
for t in 1 2; do
	printf '[tunnel t%s]\nlocal = 192.0.2.1\nremote = 192.0.2.2\naddress = 10.%s.0.1/30\npsk = notify-%s\nstart = no\n' \
		"$t" "$t" "$t"
done > "$VT_TMP/a.conf"
bg_in_ns a /usr/bin/python3 "$HERE/notify.py" "$VT_TMP/notify" "$VT_TMP/notify.log" "${VT_ID}a" t1 t2
wait_until 5 test -S "$VT_TMP/notify" || fail "the notification socket did not appear"
NOTIFY_SOCKET="$VT_TMP/notify" WATCHDOG_USEC=2000000 start_vtid a "$VT_TMP/a.conf"
seen() { grep -q "$1" "$VT_TMP/notify.log"; }
wait_until 10 seen 'READY=1' || fail "no READY=1"
grep -m1 'READY=1' "$VT_TMP/notify.log" | grep -q 'ifaces=all' ||
	fail "READY=1 came before every interface existed: $(grep -m1 READY "$VT_TMP/notify.log")"
count() { grep -c "$1" "$VT_TMP/notify.log" || true; }
sleep 3
w=$(count 'WATCHDOG=1')
[ "$w" -ge 2 ] || fail "$w watchdog pings in 3 s (WATCHDOG_USEC 2 s: one a second wanted)"

# A stopped network process: no pings while it is stopped.
NET=$(vtid_net a)
kill -STOP "$NET"
sleep 0.3; before=$(count 'WATCHDOG=1'); sleep 2.5; after=$(count 'WATCHDOG=1')
kill -CONT "$NET"
[ "$after" = "$before" ] || fail "watchdog pinged while the network process was stopped ($before -> $after)"
wait_value 5 "count WATCHDOG=1" -gt "$after" || fail "watchdog did not resume"

kill -HUP "$PID_a"
wait_until 5 seen 'RELOADING=1' || fail "no RELOADING=1 on SIGHUP"
r=$(grep -n 'RELOADING=1' "$VT_TMP/notify.log" | head -1 | cut -d: -f1)
# notify.py writes READY=1 only after it has looked for the interfaces.
ready_after() { tail -n +"$r" "$VT_TMP/notify.log" | grep -q 'READY=1'; }
wait_until 5 ready_after || fail "no READY=1 after the reload"
vtictl a reload >/dev/null
wait_value 5 "count RELOADING=1" -ge 2 || fail "no RELOADING=1 for vtictl reload"
stop_vtid a
seen 'STOPPING=1' || fail "no STOPPING=1 at SIGTERM"
pass "notify: READY=1 with every interface there, WATCHDOG=1 every ~1 s ($w in 3 s) and none while the network process was stopped, RELOADING=1/READY=1 for SIGHUP and vtictl reload, STOPPING=1"

# ---- the unit, offline ----
unit="$VT_TMP/unit"; mkdir -p "$unit/man/man8" "$unit/man/man5"
cp "$HERE/../../doc/vtid.8" "$HERE/../../doc/vtictl.8" "$unit/man/man8/"
cp "$HERE/../../doc/vtid.conf.5" "$unit/man/man5/"
sed "s#/usr/sbin/vtid#$VTID#g" "$HERE/../../contrib/vtid.service" > "$unit/vtid.service"
MANPATH="$unit/man" systemd-analyze verify "$unit/vtid.service" > "$unit/verify.out" 2>&1 ||
	fail "systemd-analyze verify: $(cat "$unit/verify.out")"
[ ! -s "$unit/verify.out" ] || fail "systemd-analyze verify complained: $(cat "$unit/verify.out")"
systemd-analyze security --offline=true "$unit/vtid.service" > "$unit/security.out" 2>&1 ||
	fail "systemd-analyze security: $(tail -3 "$unit/security.out")"
level=$(sed -n 's/.*Overall exposure level for vtid.service: \([0-9.]*\).*/\1/p' "$unit/security.out")
[ -n "$level" ] && awk -v l="$level" 'BEGIN { exit !(l <= 5.0) }' ||
	fail "the unit's exposure level is $level (want 5.0 or less)"
pass "unit: systemd-analyze verify clean, security exposure $level"
echo "systemd: all passed"
