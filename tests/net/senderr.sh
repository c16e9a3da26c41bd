#!/bin/bash
# Sends the kernel refuses are counted and logged, not invisible: a peer
# with no route (the send fails: unreachable), a peer whose route is
# "prohibit" (the send fails: permission denied), and datagrams the IKE
# socket dropped while vtid was not reading (SO_RXQ_OVFL).  What ICMP says
# about a datagram that left is not counted and fails nothing: a router
# answering host unreachable for a third peer (anyone on the path can
# forge that; RFC 7296 §2.4), so no IP_RECVERR on the shared sockets.
. "$(dirname "$0")/lib.sh"

ns_add a; ns_add r; link_ab a r
in_ns r sysctl -qw net.ipv4.ip_forward=1
# r has no way on to 198.51.100.9 and says so (ICMP type 3 code 1).
ip -n "${VT_ID}r" route add unreachable 198.51.100.9/32
ip -n "${VT_ID}a" route add 198.51.100.0/24 via 192.0.2.2
# a itself has no way to 198.51.100.77, and may not send to 203.0.113.7.
ip -n "${VT_ID}a" route add unreachable 198.51.100.77/32
ip -n "${VT_ID}a" route add prohibit 203.0.113.7/32

cat > "$VT_TMP/a.conf" <<CONF
[tunnel far]
local = 192.0.2.1
remote = 198.51.100.9
address = 10.9.0.1/30
psk = senderr-secret

[tunnel gone]
local = 192.0.2.1
remote = 198.51.100.77
address = 10.9.0.9/30
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
# IKE_SA_INIT goes out at 0, 1, 3 s: the kernel refuses every one to gone
# and to banned; those to far leave, and r answers each with ICMP.
wait_value 15 "metric '$unreach'" -ge 6 ||
	fail "unreachable sends not counted: $(vtictl a metrics | grep send_errors)"
grep -q 'IKE datagram to 198.51.100.77 refused: No route to host' "$VT_TMP/a.log" ||
	fail "no log line for 198.51.100.77, which has no route"
grep -q 'IKE datagram to 203.0.113.7 refused: Permission denied' "$VT_TMP/a.log" ||
	fail "no log line for the prohibited 203.0.113.7"
stats=$(vtictl a -j stats)
[ "$(jq -r '.send_errors.unreachable' <<<"$stats")" -ge 6 ] ||
	fail "vtictl stats does not count them: $stats"
vtictl a stats | grep -q '^send refused .*unreachable' || fail "vtictl stats (text): no send refused line"
# r's ICMP answers for far: neither counted nor logged, and far's
# retransmissions still leave (an ICMP error pending on the socket would
# fail them: IP_RECVERR).
icmp_out() {	# ICMP destination unreachable messages r has sent
	in_ns r awk '/^Icmp:/ { if (!c) { for (i = 1; i <= NF; i++) if ($i == "OutDestUnreachs") c = i }
			       else print $c }' /proc/net/snmp
}
i0=$(icmp_out)
sleep 5	# far's retransmission at about 7 s
icmps=$(( $(icmp_out) - i0 ))
[ "$icmps" -ge 1 ] || fail "r sent no ICMP unreachable for far's retransmissions"
! grep -q '198.51.100.9 refused' "$VT_TMP/a.log" || fail "an ICMP answer was counted as a refused send"
pass "refused sends: $(metric "$unreach") counted as unreachable (no route for 198.51.100.77, prohibit for 203.0.113.7), logged with the peer's address, in vtictl stats; $icmps ICMP unreachable from r for far's retransmissions neither counted nor in the way"

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
