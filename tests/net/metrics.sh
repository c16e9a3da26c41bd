#!/bin/bash
# Among the tools operators run: `vtictl metrics` and GET /metrics are the
# Prometheus text format that promtool accepts, with the counters moving;
# `vtictl monitor` streams events as they happen, to several monitors at
# once, in order, while a monitor that never reads stalls nothing.
. "$(dirname "$0")/lib.sh"
HERE="$(dirname "$0")"
command -v promtool >/dev/null || fail "promtool is not installed: apt-get install prometheus (or run scripts/deps.sh)"
command -v curl >/dev/null || fail "curl is not installed (run scripts/deps.sh)"

ns_add a; ns_add b; link_ab a b
tun() {	# LOCAL REMOTE ADDR [lines...]
	printf '[tunnel t1]\nlocal = %s\nremote = %s\naddress = %s\npsk = metrics-secret\n' "$1" "$2" "$3"
	shift 3; local l; for l in "$@"; do echo "$l"; done
}
tun 192.0.2.1 192.0.2.2 10.1.0.1/30 > "$VT_TMP/a.conf"
{ printf '[daemon]\nmetrics-listen = 127.0.0.1:9107\n'
  tun 192.0.2.2 192.0.2.1 10.1.0.2/30 "start = no" "dpd = 1" "dpd-timeout = 3"; } > "$VT_TMP/b.conf"
start_vtid b "$VT_TMP/b.conf"
# Two monitors from the start, and one that connects and never reads.
bg_in_ns b "$VTICTL" -S "$VT_TMP/b.sock" monitor > "$VT_TMP/mon1" 2>&1
bg_in_ns b "$VTICTL" -S "$VT_TMP/b.sock" monitor > "$VT_TMP/mon2" 2>&1
bg_in_ns b /usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
s.connect(sys.argv[1]); s.send(b"text monitor\n"); time.sleep(60)' "$VT_TMP/b.sock"
SLOW=${VT_PIDS[-1]}
sleep 0.3
start_vtid a "$VT_TMP/a.conf"
wait_until 10 has_carrier b t1 || fail "t1: no carrier"
ping_ok a 10.1.0.2 || fail "t1: no traffic"
wait_until 10 vtictl a rekey t1 || fail "child rekey refused"
wait_until 10 grep -q '"sa":"child"' "$VT_TMP/mon1" || fail "no child rekey event"
wait_until 10 vtictl a rekey t1 ike || fail "IKE rekey refused"
wait_until 10 grep -q '"sa":"ike"' "$VT_TMP/mon1" || fail "no IKE rekey event"
vtictl a down t1 >/dev/null
wait_until 10 grep -q '"event":"down"' "$VT_TMP/mon1" || fail "no down event"
vtictl a up t1 >/dev/null
wait_until 10 has_carrier b t1 || fail "t1 did not come back"
ping_ok a 10.1.0.2 || fail "t1: no traffic after up"
kill -KILL "$PID_a"
wait_until 15 grep -q '"event":"dead"' "$VT_TMP/mon1" || fail "no dead event after a was killed"
sleep 0.3

# ---- events: in order, the same for both monitors ----
events() { jq -r '[.event, .sa // "", .reason // ""] | join(" ")' "$1" | tr '\n' '|'; }
want="up  |rekey child |rekey ike |down  deleted by the peer|up  |dead  peer dead|down  peer dead|"
got1=$(events "$VT_TMP/mon1"); got2=$(events "$VT_TMP/mon2")
[ "$got1" = "$want" ] || fail "monitor 1 saw: $got1; want: $want"
[ "$got2" = "$want" ] || fail "monitor 2 saw: $got2"
jq -e 'select(.tunnel != "t1" or (.time | test("^[0-9-]+T[0-9:.]+Z$") | not))' "$VT_TMP/mon1" >/dev/null &&
	fail "an event without tunnel t1 or a time: $(cat "$VT_TMP/mon1")"
kill -0 "$SLOW" || fail "the monitor that never reads was hung up on early"
pass "monitor: two monitors saw the same 7 events in order ($(echo "$got1" | tr -s ' ' | tr '|' ',')); one that never reads stalled nothing"

# ---- metrics ----
vtictl b metrics > "$VT_TMP/metrics.txt"
promtool check metrics < "$VT_TMP/metrics.txt" || fail "promtool refused vtictl metrics"
in_ns b curl -sf http://127.0.0.1:9107/metrics > "$VT_TMP/http.txt" || fail "GET /metrics failed"
promtool check metrics < "$VT_TMP/http.txt" || fail "promtool refused GET /metrics"
code=$(in_ns b curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9107/)
[ "$code" = 404 ] || fail "GET / answered $code, not 404"
code=$(in_ns b curl -s -o /dev/null -w '%{http_code}' -X POST http://127.0.0.1:9107/metrics)
[ "$code" = 405 ] || fail "POST /metrics answered $code, not 405"
val() { awk -v k="$1" '$1 == k { print $2 }' "$VT_TMP/http.txt"; }
[ "$(val 'vti_tunnel_rekeys_total{tunnel="t1",sa="child"}')" -ge 1 ] || fail "child rekeys not counted"
[ "$(val 'vti_tunnel_rekeys_total{tunnel="t1",sa="ike"}')" -ge 1 ] || fail "IKE rekeys not counted"
[ "$(val 'vti_tunnel_rx_packets_total{tunnel="t1"}')" -ge 6 ] || fail "rx packets not counted"
for m in vti_tunnel_up vti_tunnel_tx_bytes_total vti_tunnel_rx_dropped_total vti_ike_sas \
	vti_tunnel_tx_packet_socket_total \
	vti_ike_half_open vti_ike_messages_dropped_total; do
	grep -q "^# TYPE $m " "$VT_TMP/http.txt" || fail "no $m"
done
pass "metrics: promtool accepts vtictl metrics and GET /metrics ($(grep -c '^vti_' "$VT_TMP/http.txt") series); / is 404, POST is 405; rekeys and packets counted"
echo "metrics: all passed"
