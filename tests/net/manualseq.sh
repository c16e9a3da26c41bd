#!/bin/bash
# Manual AEAD keys never repeat a nonce (SPEC "Staying up"): the outbound
# sequence number, the AES-GCM nonce's counter, continues above every
# number sent before under the same key: across kill -9 and restart, a
# reload that changes the tunnel in place or re-creates it.  A new key
# starts at 1.  A state-dir that cannot be written stops sending (counted)
# or, at start-up, stops vtid (exit 3).  What is on the wire is read back
# from a capture of the underlay; the receiver must accept it all.
. "$(dirname "$0")/lib.sh"
command -v tcpdump >/dev/null || fail "tcpdump is not installed (apt-get install tcpdump)"

ns_add a; ns_add b; link_ab a b
KAB=$(key 20 ab); KBA=$(key 20 ba); KAB2=$(key 20 ab2)

conf_a() {	# $1: key-out, then extra tunnel lines
	local ko="$1"; shift
	{ printf '[daemon]\nstate-dir = %s\n' "$VT_TMP/a.state"
	  manual_tunnel sti0 192.0.2.1 192.0.2.2 aes128gcm16 0x2001 0x1001 "$KBA" "$ko" \
		"10.9.0.1/30" "$@"; } > "$VT_TMP/a.conf"
	chmod 600 "$VT_TMP/a.conf"
}
conf_b() {	# $1: key-in
	{ printf '[daemon]\nstate-dir = %s\n' "$VT_TMP/b.state"
	  manual_tunnel sti0 192.0.2.2 192.0.2.1 aes128gcm16 0x1001 0x2001 "$1" "$KBA" \
		"10.9.0.2/30"; } > "$VT_TMP/b.conf"
	chmod 600 "$VT_TMP/b.conf"
}
conf_a "$KAB"; conf_b "$KAB"

# Every ESP packet a sends (SPI 0x1001), captured on b's side of the link.
CAP="$VT_TMP/esp.pcap"
# Only the first and last 4096 numbers of each 2^20 block (vtid reserves
# 2^20 at a time): the flood below would fill the disk otherwise.
bg_in_ns b tcpdump --immediate-mode -i eth0 -U -nn -s 64 -w "$CAP" \
	'ip proto 50 and (ip[24:4] & 0xfffff < 4096 or ip[24:4] & 0xfffff >= 0xff000)' \
	2>"$VT_TMP/tcpdump.err"
wait_until 10 test -s "$CAP" || fail "tcpdump did not start: $(cat "$VT_TMP/tcpdump.err")"
sleep 0.5

# seqs: a's sequence numbers on the wire so far, in order, in decimal.
seqs() {
	local h
	tcpdump -nn -r "$CAP" 'src host 192.0.2.1 and ip proto 50' 2>/dev/null |
		sed -n 's/.*ESP(spi=0x00001001,seq=0x\([0-9a-f]*\)).*/\1/p' |
		while read -r h; do echo $((16#$h)); done
}
more_seqs() { [ "$(seqs | wc -l)" -gt "$SEEN" ]; }
# mark: before an event, let the capture catch up; what follows belongs to
# the next phase.  MAX: the highest number sent under the current key
# (its packets are those after KEYSTART).
SEEN=0 KEYSTART=0 MAX=0 RX=0
mark() {
	local all n
	# Settled: nothing new for half a second (a flood's tail drains).
	n=$(seqs | wc -l)
	while sleep 0.5 && [ "$(seqs | wc -l)" != "$n" ]; do n=$(seqs | wc -l); done
	all=$(seqs)
	SEEN=$(grep -c . <<<"$all" || true)
	MAX=$(tail -n +$((KEYSTART + 1)) <<<"$all" | sort -n | tail -1)
	MAX=${MAX:-0}
}
# phase NAME: the numbers a sent since the last mark (NEW, FIRST, LOW,
# LAST); some must have been sent.
phase() {
	local all
	wait_until 5 more_seqs || fail "$1: nothing on the wire"
	sleep 0.5
	all=$(seqs)
	NEW=$(tail -n +$((SEEN + 1)) <<<"$all")
	FIRST=$(head -1 <<<"$NEW"); LAST=$(sort -n <<<"$NEW" | tail -1)
	LOW=$(sort -n <<<"$NEW" | sed -n 1p)
	echo "   $1: $(wc -l <<<"$NEW") packets captured, sequence numbers $LOW..$LAST"
}
# accepted NAME PINGED: b took what a sent since the last call (its
# rx_packets grew) and the pings came back (PINGED is ping_ok's status).
accepted() {
	local rx0="$RX"
	RX=$(counter b sti0 rx_packets)
	[ "$RX" -gt "$rx0" ] || fail "$1: b accepted nothing (rx_packets $RX)"
	[ "$2" = 0 ] || fail "$1: pings were not answered"
}
# above NAME PINGED: every number of the phase is above all sent before
# under the key, and b accepted them.
above() {
	[ "$LOW" -gt "$MAX" ] || fail "$1: sequence number $LOW sent again under the same key" \
		"(numbers up to $MAX were sent before)"
	accepted "$1" "$2"
	pass "$1: continues at $LOW, above every earlier number (<= $MAX); b accepts it"
}

start_vtid a "$VT_TMP/a.conf"; start_vtid b "$VT_TMP/b.conf"
wait_until 5 has_carrier a sti0 || fail "no carrier"
ping_ok a 10.9.0.2 || fail "ping before the restart"
phase "first run"
[ "$FIRST" = 1 ] || fail "a new key starts at 1, not $FIRST"
accepted "first run" 0
pass "first run: a new key starts at 1"

# kill -9 the sender: no goodbye, nothing flushed; its children die with it.
mark
PIDS=$(vtid_children a)
kill -KILL "$PID_a"; wait "$PID_a" 2>/dev/null || true
for p in $PIDS; do wait_until 5 sh -c "! kill -0 $p 2>/dev/null" || fail "child $p lives on"; done
wait_until 5 sh -c "! ip netns exec ${VT_ID}a ip link show sti0 >/dev/null 2>&1" ||
	fail "sti0 outlived vtid"
rm -f "$VT_TMP/a.sock"
start_vtid a "$VT_TMP/a.conf"
wait_until 5 has_carrier a sti0 || fail "no carrier after the restart"
pinged=0; ping_ok a 10.9.0.2 || pinged=$?
phase "after kill -9"
above "kill -9 and restart" $pinged

# A reload that changes the tunnel in place (new SAs, same interface).
mark
conf_a "$KAB" "replay-window = 2048"
vtictl a reload >/dev/null
wait_until 5 has_carrier a sti0 || fail "no carrier after reload"
pinged=0; ping_ok a 10.9.0.2 || pinged=$?
phase "reload in place"
above "reload that re-keys in place" $pinged

# A reload that re-creates the tunnel (its MTU changes the interface).
mark
conf_a "$KAB" "replay-window = 2048" "mtu = 1300"
vtictl a reload >/dev/null
wait_until 5 sh -c "ip netns exec ${VT_ID}a ip link show sti0 | grep -q 'mtu 1300'" ||
	fail "sti0 was not re-created with mtu 1300"
wait_until 5 has_carrier a sti0 || fail "no carrier after re-creation"
pinged=0; ping_ok a 10.9.0.2 || pinged=$?
phase "re-created"
above "reload that re-creates the tunnel" $pinged

# A new key is a new nonce space: it starts at 1 (both sides re-keyed).
mark
KEYSTART=$SEEN
conf_a "$KAB2" "replay-window = 2048" "mtu = 1300"; conf_b "$KAB2"
vtictl a reload >/dev/null; vtictl b reload >/dev/null
ping_ok a 10.9.0.2 || fail "ping after the key changed"
phase "new key"
[ "$FIRST" = 1 ] || fail "a changed key-out starts at 1, not $FIRST"
accepted "new key" 0
pass "changed key-out: starts again at 1"

# state-dir no longer writable while an SA runs: half way through its
# block (2^20) it cannot reserve the next, so at the end of the block it
# stops, counting drops; writable again, it goes on above.  The parent
# holds no CAP_DAC_OVERRIDE, so mode 0500 is read-only to it.
chmod 0500 "$VT_TMP/a.state"
seq_out() { vtictl a -j show sti0 | jq -r '.[0].child.seq_out'; }
mark
drop0=$(counter a sti0 tx_dropped)
t0=$SECONDS
FLOOD_PY='
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
end = time.monotonic() + 120
while time.monotonic() < end:
    for _ in range(10000):
        try:
            s.sendto(b"x", ("10.9.0.2", 9))
        except OSError:
            pass
'
bg_in_ns a python3 -c "$FLOOD_PY"
FLOOD=$!
at_end() { [ "$(seq_out)" = 1048576 ]; }
dropping() { [ "$(counter a sti0 tx_dropped)" -gt $((drop0 + 1000)) ]; }
wait_until 120 at_end || fail "the SA did not reach the end of its block " \
	"(seq_out $(seq_out))"
wait_until 10 dropping ||
	fail "no counted drops at the end of the block"
sleep 1
kill "$FLOOD"; wait "$FLOOD" 2>/dev/null || true
[ "$(seq_out)" = 1048576 ] || fail "the SA went past its reserved block: seq_out $(seq_out)"
grep -q "cannot reserve more sequence numbers" "$VT_TMP/a.log" || fail "no reason in the log"
phase "flood with state-dir read-only"
accepted "flood" 0
[ "$LAST" -le 1048576 ] || fail "sent $LAST, beyond the reserved 1048576"
drops=$(( $(counter a sti0 tx_dropped) - drop0 ))
pass "read-only state-dir: stopped at 1048576 after $((SECONDS - t0)) s, $drops drops counted"
mark
chmod 0700 "$VT_TMP/a.state"
pinged=0; wait_until 10 ping_ok a 10.9.0.2 || pinged=$?
phase "state-dir writable again"
above "state-dir writable again" $pinged

# Writable, under the same flood: the next block is on disk before this
# one ends (asked for half way, answered without stalling the sender),
# so crossing 2^21 costs not one packet.
drop0=$(counter a sti0 tx_dropped)
t0=$SECONDS
bg_in_ns a python3 -c "$FLOOD_PY"
FLOOD=$!
past_block() { [ "$(seq_out)" -gt 2098152 ]; }
wait_until 120 past_block || fail "the SA did not cross 2^21 (seq_out $(seq_out))"
kill "$FLOOD"; wait "$FLOOD" 2>/dev/null || true
[ "$(counter a sti0 tx_dropped)" = "$drop0" ] ||
	fail "$(( $(counter a sti0 tx_dropped) - drop0 )) packets dropped for want of reserved numbers"
pass "a block boundary under flood: crossed 2^21 in $((SECONDS - t0)) s, no packet dropped"

# A reload re-keys while state-dir is read-only: the new SAs cannot get
# numbers, so they stay down and nothing is sent.
mark
chmod 0500 "$VT_TMP/a.state"
conf_a "$KAB2" "replay-window = 4096" "mtu = 1300"
vtictl a reload >/dev/null
sent0=$(seqs | wc -l)
in_ns a ping -c 3 -i 0.2 -W 1 -q 10.9.0.2 >/dev/null 2>&1 && fail "ping passed without reserved numbers"
sleep 0.5
[ "$(seqs | wc -l)" = "$sent0" ] || fail "ESP was sent without reserved sequence numbers"
grep -q "cannot reserve outbound sequence numbers in state-dir" "$VT_TMP/a.log" ||
	fail "no reason in the log"
[ "$(vtictl a -j show sti0 | jq -r '.[0].child')" = null ] || fail "SAs installed anyway"
pass "read-only state-dir at reload: SAs stay down, nothing sent"

# ...and at start-up vtid refuses to run: exit 3 with the reason.
stop_vtid a
rm -f "$VT_TMP/a.sock"
set +e
out=$(in_ns a timeout 20 "$VTID" -c "$VT_TMP/a.conf" -S "$VT_TMP/a.sock" 2>&1); rc=$?
set -e
[ "$rc" = 3 ] || fail "read-only state-dir at start: exit $rc, want 3: $out"
grep -q "state-dir" <<<"$out" || fail "exit 3 without naming state-dir: $out"
pass "read-only state-dir at start-up: exit 3"
chmod 0700 "$VT_TMP/a.state"

# The end of the 32-bit space: a key whose mark (as an operator would
# find it in state-dir) is 5 short of 2^32 sends those 5, then stops,
# never wrapping to 0; restarted, vtid refuses the key (exit 3).
command -v openssl >/dev/null || fail "openssl is not installed (apt-get install openssl)"
KX=$(key 20 nearly-used)
fp=$(printf 'vti manual SA sequence high-water mark' |
	openssl dgst -sha256 -mac HMAC -macopt "hexkey:${KX#0x}" | awk '{ print $NF }')
printf 'fingerprint %s\nnext 4294967291\n' "$fp" > "$VT_TMP/a.state/${fp:0:32}.hwm"
conf_a "$KX"; conf_b "$KX"
vtictl b reload >/dev/null
mark
KEYSTART=$SEEN
start_vtid a "$VT_TMP/a.conf"
wait_until 5 has_carrier a sti0 || fail "no carrier with the nearly used key"
in_ns a ping -c 8 -i 0.2 -W 1 -q 10.9.0.2 >/dev/null 2>&1 || true
phase "the last numbers"
[ "$FIRST" = 4294967291 ] || fail "the key's mark was not honoured: first number $FIRST"
[ "$LAST" = 4294967295 ] && [ "$(wc -l <<<"$NEW")" = 5 ] ||
	fail "want exactly 4294967291..4294967295 on the wire, got $(tr '\n' ' ' <<<"$NEW")"
grep -q "has used every sequence number" "$VT_TMP/a.log" || fail "exhaustion not logged"
accepted "the last numbers" 0
stop_vtid a
rm -f "$VT_TMP/a.sock"
set +e
out=$(in_ns a timeout 20 "$VTID" -c "$VT_TMP/a.conf" -S "$VT_TMP/a.sock" 2>&1); rc=$?
set -e
[ "$rc" = 3 ] && grep -q "change key-out" <<<"$out" ||
	fail "a used-up key at start: exit $rc, want 3 and 'change key-out': $out"
pass "the end of the 32-bit space: 4294967291..4294967295 sent, then nothing (no wrap); restart refused (exit 3)"
