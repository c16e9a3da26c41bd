#!/bin/bash
# Sends the kernel refuses are counted and logged, not invisible: a peer
# behind a router that answers with ICMP host unreachable (IP_RECVERR:
# the answer comes through the socket's error queue), a peer whose route
# is "prohibit" (the send itself fails), and datagrams the IKE socket
# dropped while vtid was not reading (SO_RXQ_OVFL).
. "$(dirname "$0")/lib.sh"

ns_add a; ns_add r; link_ab a r
in_ns r sysctl -qw net.ipv4.ip_forward=1
# r has no way on to 198.51.100.9 and says so (ICMP type 3 code 1).
ip -n "${VT_ID}r" route add unreachable 198.51.100.9/32
ip -n "${VT_ID}a" route add 198.51.100.0/24 via 192.0.2.2
# a itself may not send to 203.0.113.7 at all.
ip -n "${VT_ID}a" route add prohibit 203.0.113.7/32

cat > "$VT_TMP/a.conf" <<CONF
[tunnel far]
local = 192.0.2.1
remote = 198.51.100.9
address = 10.9.0.1/30
psk = senderr-secret

[tunnel banned]
local = 192.0.2.1
remote = 203.0.113.7
address = 10.9.0.5/30
psk = senderr-secret
CONF
start_vtid a "$VT_TMP/a.conf"

metric() { vtictl a metrics | awk -v k="$1" '$1 == k { print $2 }'; }
unreach='vti_send_errors_total{reason="unreachable"}'
# IKE_SA_INIT goes out at 0, 1, 3 s: ICMP answers the ones to far, the
# kernel refuses every one to banned.
wait_value 15 "metric '$unreach'" -ge 4 ||
	fail "unreachable sends not counted: $(vtictl a metrics | grep send_errors)"
wait_until 10 grep -q 'IKE datagram to 198.51.100.9 refused (ICMP): No route to host' "$VT_TMP/a.log" ||
	fail "no log line for the ICMP unreachable from 198.51.100.9"
grep -q 'IKE datagram to 203.0.113.7 refused: Permission denied' "$VT_TMP/a.log" ||
	fail "no log line for the prohibited 203.0.113.7"
stats=$(vtictl a -j stats)
[ "$(jq -r '.send_errors.unreachable' <<<"$stats")" -ge 4 ] ||
	fail "vtictl stats does not count them: $stats"
vtictl a stats | grep -q '^send refused .*unreachable' || fail "vtictl stats (text): no send refused line"
pass "refused sends: $(metric "$unreach") counted as unreachable (ICMP from r for 198.51.100.9, prohibit for 203.0.113.7), logged with the peer's address, in vtictl stats"

# ---- the IKE socket overflows while the network process is stopped ----
net=$(vtid_net a)
[ -n "$net" ] || fail "no network process"
[ "$(metric vti_socket_rx_dropped_total)" = 0 ] || fail "drops before the flood"
kill -STOP "$net"
in_ns r python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
sent = 0
for i in range(150000):
    try:
        s.sendto(b"\0" * 200, ("192.0.2.1", 500))
        sent += 1
    except BlockingIOError:
        pass
' || { kill -CONT "$net"; fail "flood failed"; }
kill -CONT "$net"
# The count rides on datagrams queued after the drops (SO_RXQ_OVFL): once
# vtid has read the backlog, a few more bring it.
rx() { vtictl a -j stats | jq -r .ike_rx; }
last=-1
until [ "$(rx)" = "$last" ]; do last=$(rx); sleep 0.5; done
in_ns r python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(20):
    s.sendto(b"\0" * 200, ("192.0.2.1", 500))
'
wait_value 20 "metric vti_socket_rx_dropped_total" -gt 0 ||
	fail "socket drops not counted: $(vtictl a metrics | grep rx_dropped_total | grep -v tunnel)"
[ "$(vtictl a -j stats | jq -r .socket_rx_dropped)" -gt 0 ] || fail "vtictl stats: no socket_rx_dropped"
pass "socket drops: $(metric vti_socket_rx_dropped_total) datagrams dropped at the IKE socket counted (SO_RXQ_OVFL)"
echo "senderr: all passed"
