#!/bin/bash
# One datagram must not take anything down (SPEC "Staying up").  The
# 32-byte message that once killed vtid (stub.py: an SK payload with no
# body, every exchange type, flag and message ID) is sent with the live
# IKE SPIs of a running vtid in each state it can be held in here:
#   init-sent    b initiates t3 to a port where nobody listens;
#   auth-sent    b initiates t2 in UDP, and a drops port 4500, so b waits
#                for IKE_AUTH's answer while a holds a half-open SA;
#   half-open    that SA at a (a responder after IKE_SA_INIT);
#   established  t1, carrying pings all along;
#   cookie mode  a demands cookies of everyone (cookie-threshold = 0).
# Nothing may change: every process stays, t1 loses no ping and keeps its
# SPIs, t2 and t3 stay "connecting", and the stubs are counted.
# Then a control client that trickles its request a byte at a time: the
# daemon goes on forwarding and answering others, and hangs up on it.
# (Rekeys and DELETE in flight are held and hammered in memory, by
# test_exchange's t_hostile_states and the stateful fuzzer.)
. "$(dirname "$0")/lib.sh"
HERE="$(dirname "$0")"
command -v nft >/dev/null || fail "nft is not installed (run scripts/deps.sh)"

ns_add a; ns_add b; link_ab a b
IKE="ike = aes128gcm16-prfsha256-x25519"
cat > "$VT_TMP/a.conf" <<C
[daemon]
cookie-threshold = 0
[tunnel t1]
local = 192.0.2.1
remote = 192.0.2.2
address = 10.1.0.1/30
psk = stub-secret-one
$IKE
start = no
[tunnel t2]
local = 192.0.2.1
remote = 192.0.2.2
address = 10.2.0.1/30
psk = stub-secret-two
local-id = @a2
remote-id = @b2
$IKE
start = no
C
cat > "$VT_TMP/b.conf" <<C
[tunnel t1]
local = 192.0.2.2
remote = 192.0.2.1
address = 10.1.0.2/30
psk = stub-secret-one
$IKE
[tunnel t3]
local = 192.0.2.2
remote = 192.0.2.1
remote-port = 1600
address = 10.3.0.2/30
psk = stub-secret-three
$IKE
C
in_ns a nft -f - <<'N'
table inet vtstub {
	chain in { type filter hook input priority 0; udp dport 4500 drop; }
}
N
start_vtid a "$VT_TMP/a.conf"; start_vtid b "$VT_TMP/b.conf"
wait_until 10 has_carrier b t1 || fail "t1: no carrier"
ping_ok b 10.1.0.1 || fail "t1: no traffic"
# t2 from b in UDP: a answers IKE_SA_INIT on 500, then never sees 4500.
cat >> "$VT_TMP/b.conf" <<C
[tunnel t2]
local = 192.0.2.2
remote = 192.0.2.1
address = 10.2.0.2/30
psk = stub-secret-two
local-id = @b2
remote-id = @a2
encap = yes
$IKE
C
vtictl b reload >/dev/null
ike() { vtictl b -j show "$1" | jq -r ".[0].ike.$2 // empty"; }
state_is() { [ "$(ike "$1" state)" = "$2" ]; }
wait_until 10 state_is t2 auth-sent || fail "t2 is not waiting for IKE_AUTH ($(ike t2 state))"
wait_until 10 state_is t3 init-sent || fail "t3 is not waiting for IKE_SA_INIT ($(ike t3 state))"

t1_spis=$(vtictl b -j show t1 | jq -c '[.[0].ike.spi_i, .[0].ike.spi_r, .[0].child.spi_in]')
t2_spi=$(ike t2 spi_i); t3_spi=$(ike t3 spi_i)
in_ns b ping -i 0.02 -c 300 -q 10.1.0.1 > "$VT_TMP/ping.out" 2>&1 &
PING=$!
before=$(( $(vtictl a -j stats | jq .ike_rx) + $(vtictl b -j stats | jq .ike_rx) ))
sent=0 dropped=0
for t in t1 t2 t3; do
	i=$(ike "$t" spi_i); r=$(ike "$t" spi_r)
	# At b (the initiator of all three) and at a (t1's and t2's responder).
	n=$(in_ns a /usr/bin/python3 "$HERE/stub.py" 192.0.2.2 "$i" "$r"); sent=$((sent + n))
	n=$(in_ns b /usr/bin/python3 "$HERE/stub.py" 192.0.2.1 "$i" "$r"); sent=$((sent + n))
	dropped=$((dropped + n / 2))	# a's firewall takes those for 4500

done
wait $PING || true
sleep 0.5
after=$(( $(vtictl a -j stats | jq .ike_rx) + $(vtictl b -j stats | jq .ike_rx) ))
for ns in a b; do
	kill -0 "$(eval echo "\$PID_$ns")" || fail "vtid in $ns is gone"
	[ "$(vtid_children "$ns" | wc -w)" = 2 ] || fail "vtid in $ns lost a process"
done
grep -q " 0% packet loss" "$VT_TMP/ping.out" || fail "t1 lost pings: $(tail -2 "$VT_TMP/ping.out")"
[ "$(vtictl b -j show t1 | jq -c '[.[0].ike.spi_i, .[0].ike.spi_r, .[0].child.spi_in]')" = "$t1_spis" ] ||
	fail "t1's SAs changed"
[ "$(ike t2 state)" = auth-sent ] || fail "t2 left auth-sent: $(ike t2 state)"
[ "$(ike t3 state)" = init-sent ] || fail "t3 left init-sent: $(ike t3 state)"
[ "$(ike t2 spi_i)" = "$t2_spi" ] && [ "$(ike t3 spi_i)" = "$t3_spi" ] ||
	fail "t2 or t3 started over: an unprotected stub ended a negotiation"
[ "$((after - before))" -ge "$((sent - dropped))" ] ||
	fail "$((sent - dropped)) stubs arrived, $((after - before)) counted"
unexpected=$(( $(vtictl a -j stats | jq ".ike_unexpected // 0") + $(vtictl b -j stats | jq ".ike_unexpected // 0") ))
pass "$sent stubs at init-sent, auth-sent, half-open, established and cookie mode: all counted ($unexpected unexpected), every process up, t1 300 pings 0 lost and its SAs unchanged, t2/t3 still negotiating"

# ---- a slow control client ----
in_ns b ping -i 0.02 -c 300 -q 10.1.0.1 > "$VT_TMP/ping.out" 2>&1 &
PING=$!
in_ns b /usr/bin/python3 "$HERE/trickle.py" "$VT_TMP/b.sock" 8 > "$VT_TMP/trickle.out" &
TRICKLE=$!
sleep 0.5
t0=$(date +%s%3N)
in_ns b timeout 3 "$VTICTL" -S "$VT_TMP/b.sock" show >/dev/null || fail "vtictl show stalled behind a slow client"
t_show=$(( $(date +%s%3N) - t0 ))
wait $PING || true
wait $TRICKLE
grep -q " 0% packet loss" "$VT_TMP/ping.out" || fail "a slow control client stalled forwarding: $(tail -2 "$VT_TMP/ping.out")"
[ "$(cat "$VT_TMP/trickle.out")" = closed ] || fail "the slow client was never hung up on"
pass "a control client trickling a byte every 1.5 s: show answered in $t_show ms beside it, 300 pings 0 lost, the client closed at its deadline"
echo "stayup: all passed"
