#!/bin/bash
# IKEv2 between two vtids: outer IPv4 and IPv6, forced UDP encapsulation,
# INVALID_KE_PAYLOAD retry, wrong PSK, proposal mismatch, several tunnels
# between one address pair told apart by identity, both ends initiating
# at once, a peer killed and restarted (INITIAL_CONTACT), and an initiator
# behind a NAT (nftables masquerade in a middle namespace).
. "$(dirname "$0")/lib.sh"

ike_tunnel() {	# NAME LOCAL REMOTE ADDR [extra lines]
	printf '[tunnel %s]\nlocal = %s\nremote = %s\naddress = %s\n' "$1" "$2" "$3" "$4"
	shift 4
	local l
	for l in "$@"; do echo "$l"; done
}
no_carrier() { ! has_carrier "$1" "$2"; }
restart_pair() {	# stop both daemons (if running)
	local ns pid
	for ns in a b; do
		pid=$(eval echo "\${PID_$ns:-}")
		[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && stop_vtid "$ns"
		eval "PID_$ns="
	done
	VT_PIDS=()
}

ns_add a; ns_add b; link_ab a b

# 1. Outer IPv4 and IPv6; forced encapsulation; an INVALID_KE_PAYLOAD retry
# (a offers x25519 first, b accepts only ecp256).
for outer in 4 6; do
	if [ $outer = 4 ]; then la=192.0.2.1; lb=192.0.2.2; else la=2001:db8::1; lb=2001:db8::2; fi
	ike_tunnel sti0 $la $lb "10.255.0.1/30, fd00:255::1/64" "psk = outer-$outer-secret" \
		"ike = aes128gcm16-prfsha256-x25519-ecp256" "encap = yes" > "$VT_TMP/a.conf"
	ike_tunnel sti0 $lb $la "10.255.0.2/30, fd00:255::2/64" "psk = outer-$outer-secret" \
		"ike = aes256gcm16-prfsha384-ecp256" "start = no" > "$VT_TMP/b.conf"
	sed -i 's/^ike = aes128gcm16-prfsha256-x25519-ecp256$/ike = aes128gcm16-prfsha256-x25519-ecp256, aes256gcm16-prfsha384-x25519-ecp256/' "$VT_TMP/a.conf"
	start_vtid b "$VT_TMP/b.conf"; start_vtid a "$VT_TMP/a.conf"
	wait_until 10 has_carrier a sti0 || fail "IPv$outer: no carrier"
	wait_until 5 has_carrier b sti0 || fail "IPv$outer: no carrier on the responder"
	ping_ok a 10.255.0.2 && ping_ok b fd00:255::1 || fail "IPv$outer: no traffic"
	grep -q "responder prefers key exchange group 19" "$VT_TMP/a.log" ||
		fail "IPv$outer: no INVALID_KE_PAYLOAD retry"
	vtictl a -j show sti0 | jq -e '.[0].child.encap == "udp" and
		(.[0].ike.proposal | test("aes256gcm16-prfsha384-ecp256"))' >/dev/null ||
		fail "IPv$outer: wrong proposal or encapsulation: $(vtictl a show)"
	restart_pair
	pass "outer IPv$outer: established after INVALID_KE_PAYLOAD retry, ESP in UDP (encap = yes)"
done

# Cookies (RFC 7296 §2.6): b demands one from every initiator.
ike_tunnel sti0 192.0.2.1 192.0.2.2 10.255.0.1/30 "psk = cookie-secret" > "$VT_TMP/a.conf"
{ printf '[daemon]\ncookie-threshold = 0\n'
  ike_tunnel sti0 192.0.2.2 192.0.2.1 10.255.0.2/30 "psk = cookie-secret" "start = no"; } > "$VT_TMP/b.conf"
start_vtid b "$VT_TMP/b.conf"; start_vtid a "$VT_TMP/a.conf"
wait_until 10 has_carrier a sti0 || fail "cookie: no carrier"
grep -q "responder asked for a cookie" "$VT_TMP/a.log" || fail "cookie: none demanded"
ping_ok a 10.255.0.2 || fail "cookie: no traffic"
restart_pair
pass "cookie demanded (cookie-threshold = 0), echoed, tunnel established"

# 2. Wrong PSK and proposal mismatch: no SA, and the reason in the logs.
ike_tunnel sti0 192.0.2.1 192.0.2.2 10.255.0.1/30 "psk = the-right-secret" > "$VT_TMP/a.conf"
ike_tunnel sti0 192.0.2.2 192.0.2.1 10.255.0.2/30 "psk = the-wrong-secret" "start = no" > "$VT_TMP/b.conf"
start_vtid b "$VT_TMP/b.conf"; start_vtid a "$VT_TMP/a.conf"
wait_until 5 grep -q "AUTHENTICATION_FAILED" "$VT_TMP/a.log" || fail "wrong psk: no AUTHENTICATION_FAILED"
has_carrier a sti0 && fail "wrong psk: carrier up"
[ "$(vtictl b -j show sti0 | jq -r '.[0].child')" = null ] || fail "wrong psk: child on b"
restart_pair
pass "wrong PSK: AUTHENTICATION_FAILED, no SA on either side"

ike_tunnel sti0 192.0.2.1 192.0.2.2 10.255.0.1/30 "psk = the-same-secret" \
	"ike = chacha20poly1305-prfsha256-x25519" > "$VT_TMP/a.conf"
ike_tunnel sti0 192.0.2.2 192.0.2.1 10.255.0.2/30 "psk = the-same-secret" \
	"ike = aes256-sha384-modp3072" "start = no" > "$VT_TMP/b.conf"
start_vtid b "$VT_TMP/b.conf"; start_vtid a "$VT_TMP/a.conf"
wait_until 5 grep -q "NO_PROPOSAL_CHOSEN" "$VT_TMP/a.log" || fail "mismatch: not reported on a"
grep -q "peer offered chacha20poly1305-prfsha256-x25519; we accept aes256-sha384-modp3072" \
	"$VT_TMP/b.log" || fail "mismatch: b's log does not show both proposals"
restart_pair
pass "proposal mismatch: NO_PROPOSAL_CHOSEN, both sides' proposals logged"

# 3. Three tunnels between the same two addresses, told apart by identity.
: > "$VT_TMP/a.conf"; : > "$VT_TMP/b.conf"
for i in 0 1 2; do
	ike_tunnel t$i 192.0.2.1 192.0.2.2 10.3.$i.1/30 "psk = secret-number-$i" \
		"local-id = site-a-$i@example.net" "remote-id = hub-$i.example.net" >> "$VT_TMP/a.conf"
	ike_tunnel t$i 192.0.2.2 192.0.2.1 10.3.$i.2/30 "psk = secret-number-$i" \
		"local-id = @hub-$i.example.net" "remote-id = site-a-$i@example.net" "start = no" \
		>> "$VT_TMP/b.conf"
done
start_vtid b "$VT_TMP/b.conf"; start_vtid a "$VT_TMP/a.conf"
for i in 0 1 2; do
	wait_until 10 has_carrier b t$i || fail "tunnel t$i did not come up on b"
	ping_ok a 10.3.$i.2 || fail "tunnel t$i: no traffic"
done
restart_pair
pass "three tunnels over one address pair, selected by RFC822/FQDN identities and PSK"

# 4. Both ends initiate: one IKE SA survives, traffic flows.
ike_tunnel sti0 192.0.2.1 192.0.2.2 10.255.0.1/30 "psk = both-start-secret" > "$VT_TMP/a.conf"
ike_tunnel sti0 192.0.2.2 192.0.2.1 10.255.0.2/30 "psk = both-start-secret" > "$VT_TMP/b.conf"
start_vtid a "$VT_TMP/a.conf"; start_vtid b "$VT_TMP/b.conf"
wait_until 10 has_carrier a sti0 && wait_until 10 has_carrier b sti0 || fail "collision: no carrier"
sleep 2
ping_ok a 10.255.0.2 || fail "collision: no traffic"
sa=$(vtictl a -j show sti0 | jq -r '.[0].ike.spi_i + .[0].ike.spi_r')
[ "$sa" = "$(vtictl b -j show sti0 | jq -r '.[0].ike.spi_i + .[0].ike.spi_r')" ] ||
	fail "collision: the two ends kept different IKE SAs"
pass "simultaneous initiation: both ends keep the same IKE SA"

# 5. The initiator is killed and restarted: INITIAL_CONTACT clears b's stale SA.
kill -KILL "$PID_a"; wait "$PID_a" 2>/dev/null || true
VT_PIDS=("$PID_b"); ip -n "${VT_ID}a" link del sti0 2>/dev/null || true
t0=$(date +%s%3N)
start_vtid a "$VT_TMP/a.conf"
wait_until 10 has_carrier a sti0 || fail "restart: no carrier"
ping_ok a 10.255.0.2 || fail "restart: no traffic"
t1=$(date +%s%3N)
grep -q "peer sent INITIAL_CONTACT" "$VT_TMP/b.log" || fail "restart: stale SA not cleared on b"
[ "$(vtictl b -j show | jq '[.[0].ike] | length')" = 1 ] || fail "restart: b has extra IKE SAs"
restart_pair
pass "peer SIGKILLed and restarted: INITIAL_CONTACT cleared the stale SA; traffic after $((t1 - t0)) ms"

# 6. Rekeys under a continuous ping, from either end, of the Child and of
# the IKE SA, and simultaneous Child rekeys from both ends (§2.8.1).
ike_tunnel sti0 192.0.2.1 192.0.2.2 10.255.0.1/30 "psk = rekey-secret" > "$VT_TMP/a.conf"
ike_tunnel sti0 192.0.2.2 192.0.2.1 10.255.0.2/30 "psk = rekey-secret" "start = no" > "$VT_TMP/b.conf"
start_vtid b "$VT_TMP/b.conf"; start_vtid a "$VT_TMP/a.conf"
wait_until 10 has_carrier a sti0 || fail "rekey: no carrier"
in_ns a ping -i 0.01 -c 600 -q 10.255.0.2 > "$VT_TMP/ping.out" 2>&1 &
PING=$!
sleep 0.5
for step in "a" "b" "a ike" "b ike" "both" "both" "both"; do
	read -r who what <<<"$step"
	if [ "$who" = both ]; then
		vtictl a rekey sti0 >/dev/null & R=$!
		vtictl b rekey sti0 >/dev/null || true
		wait $R || true
	else
		vtictl $who rekey sti0 $what >/dev/null
	fi
	sleep 0.6
done
wait $PING || true
grep -q " 0% packet loss" "$VT_TMP/ping.out" || fail "rekey: lost replies: $(tail -2 "$VT_TMP/ping.out")"
[ "$(vtictl a -j show sti0 | jq -r '.[0].ike.spi_i + .[0].ike.spi_r')" = \
  "$(vtictl b -j show sti0 | jq -r '.[0].ike.spi_i + .[0].ike.spi_r')" ] || fail "rekey: IKE SAs differ"
[ "$(vtictl a -j show sti0 | jq -r '.[0].child.spi_out')" = \
  "$(vtictl b -j show sti0 | jq -r '.[0].child.spi_in')" ] || fail "rekey: Child SAs differ"
ncol=$(cat "$VT_TMP/a.log" "$VT_TMP/b.log" | grep -c "simultaneous rekey" || true)
restart_pair
pass "7 rekeys (Child and IKE from both ends, 3 at once from both) under 600 pings: 0 lost; $ncol collisions resolved"

# 7. Liveness: b dies without a word (SIGKILL); a notices within
# dpd-timeout, takes the carrier down, and re-initiates until b is back.
ike_tunnel sti0 192.0.2.1 192.0.2.2 10.255.0.1/30 "psk = liveness-secret" "dpd = 1" \
	"dpd-timeout = 3" > "$VT_TMP/a.conf"
ike_tunnel sti0 192.0.2.2 192.0.2.1 10.255.0.2/30 "psk = liveness-secret" "start = no" \
	"dpd = 1" "dpd-timeout = 3" > "$VT_TMP/b.conf"
start_vtid b "$VT_TMP/b.conf"; start_vtid a "$VT_TMP/a.conf"
wait_until 10 has_carrier a sti0 || fail "dpd: no carrier"
t0=$(date +%s%3N)
kill -KILL "$PID_b"; wait "$PID_b" 2>/dev/null || true
wait_until 10 no_carrier a sti0 || fail "dpd: carrier stayed up with the peer dead"
t1=$(date +%s%3N)
grep -q "peer dead" "$VT_TMP/a.log" || fail "dpd: no 'peer dead' in the log"
start_vtid b "$VT_TMP/b.conf"
t2=$(date +%s%3N)
wait_until 40 has_carrier a sti0 || fail "dpd: no recovery after the peer came back"
ping_ok a 10.255.0.2 || fail "dpd: no traffic after recovery"
t3=$(date +%s%3N)
restart_pair
pass "dpd = 1, dpd-timeout = 3: peer death noticed after $((t1 - t0)) ms; recovered $((t3 - t2)) ms after the peer restarted"

# 8. The initiator behind a NAT: a - n (masquerade) - b.
ip netns del "${VT_ID}a"; ip netns del "${VT_ID}b"
ns_add a; ns_add n; ns_add b
ip link add "${VT_ID}1" netns "${VT_ID}a" type veth peer name "${VT_ID}2" netns "${VT_ID}n"
ip link add "${VT_ID}3" netns "${VT_ID}n" type veth peer name "${VT_ID}4" netns "${VT_ID}b"
in_ns a ip link set "${VT_ID}1" name eth0 up; in_ns a ip addr add 198.51.100.2/24 dev eth0
in_ns a ip route add default via 198.51.100.1
in_ns n ip link set "${VT_ID}2" name in0 up; in_ns n ip addr add 198.51.100.1/24 dev in0
in_ns n ip link set "${VT_ID}3" name out0 up; in_ns n ip addr add 192.0.2.1/24 dev out0
in_ns n sysctl -qw net.ipv4.ip_forward=1
in_ns b ip link set "${VT_ID}4" name eth0 up; in_ns b ip addr add 192.0.2.2/24 dev eth0
in_ns n nft -f - <<N
table ip nat {
	chain post {
		type nat hook postrouting priority srcnat;
		oifname "out0" masquerade
	}
}
N
ike_tunnel sti0 198.51.100.2 192.0.2.2 10.255.0.1/30 "psk = behind-a-nat-secret" "dpd = 1" \
	> "$VT_TMP/a.conf"
ike_tunnel sti0 192.0.2.2 any 10.255.0.2/30 "psk = behind-a-nat-secret" "start = no" \
	"remote-id = 198.51.100.2" > "$VT_TMP/b.conf"
start_vtid b "$VT_TMP/b.conf"; start_vtid a "$VT_TMP/a.conf"
wait_until 10 has_carrier a sti0 || fail "NAT: no carrier"
ping_ok a 10.255.0.2 && ping_ok b 10.255.0.1 || fail "NAT: no traffic"
vtictl b -j show sti0 | jq -e '.[0].ike.nat_detected and .[0].child.encap == "udp"' >/dev/null ||
	fail "NAT: not detected or ESP not in UDP: $(vtictl b show)"
pass "initiator behind NAT: detected, IKE on 4500, ESP in UDP, traffic both ways"

# The NAT forgets the mapping and picks another port: b must follow a's
# new address (RFC 7296 §2.23) once an authenticated message arrives
# from it (a's liveness checks, dpd = 1), and traffic both ways resumes.
in_ns n nft flush chain ip nat post
in_ns n nft add rule ip nat post oifname "out0" meta l4proto udp masquerade to :40000-40099
in_ns n nft add rule ip nat post oifname "out0" masquerade
in_ns n conntrack -D -p udp >/dev/null 2>&1 || true
in_ns a ping -c 1 -W 1 10.255.0.2 >/dev/null 2>&1 || true
wait_until 10 ping_ok b 10.255.0.1 || fail "NAT rebinding: b did not follow a's new port"
grep -q "4000[0-9]\|400[1-9][0-9]" <(in_ns n conntrack -L -p udp 2>/dev/null) ||
	fail "NAT rebinding: the mapping did not change"
restart_pair
pass "NAT mapping changed (new port): b followed it, traffic both ways"
assert_no_secret outer-4-secret outer-6-secret cookie-secret the-right-secret the-wrong-secret \
	secret-number-0 rekey-secret liveness-secret behind-a-nat-secret
pass "no PSK appears in any log"
echo "ike: all passed"
