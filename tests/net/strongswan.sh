#!/bin/bash
# Interop with strongSwan 5.9.8 (charon with kernel-libipsec, which does
# ESP in userspace and always in UDP): vtid as initiator and as responder,
# for each algorithm set of the issue; traffic both ways; DELETE from
# either side takes the carrier down; a DELETE from charon is followed by
# vtid re-initiating (start = yes).  Prints how long establishment took.
. "$(dirname "$0")/lib.sh"
command -v /usr/lib/ipsec/charon >/dev/null || fail "strongswan-charon is not installed"

SETS=(
	"aes128gcm16-prfsha256-x25519 aes128gcm16"
	"aes256-sha256-modp2048 aes256-sha256"
	"aes256gcm16-prfsha384-ecp384 aes256gcm16"
	"chacha20poly1305-prfsha256-x25519 chacha20poly1305"
)
PSK=an-interop-secret-$$

ns_add a; ns_add b; link_ab a b
in_ns b ip addr add 10.255.0.2/32 dev lo

swan_conf() {	# IKE ESP
	cat > "$VT_TMP/b.swanctl.conf" <<C
connections {
	vti {
		version = 2
		local_addrs = 192.0.2.2
		remote_addrs = 192.0.2.1
		proposals = $1
		encap = yes
		mobike = no
		local { auth = psk
			id = 192.0.2.2 }
		remote { auth = psk
			 id = 192.0.2.1 }
		children {
			vti {
				local_ts = 0.0.0.0/0
				remote_ts = 0.0.0.0/0
				esp_proposals = $2
			}
		}
	}
}
secrets {
	ike-vti {
		id-a = 192.0.2.1
		id-b = 192.0.2.2
		secret = "$PSK"
	}
}
C
}

vti_conf() {	# IKE ESP START
	cat > "$VT_TMP/a.conf" <<C
[tunnel sti0]
local = 192.0.2.1
remote = 192.0.2.2
address = 10.255.0.1/30
psk = $PSK
ike = $1
esp = $2
start = $3
C
}

# charon routes everything through ipsec0 from table 220 (it ignores
# install_routes = no); keep only the tunnel's inner host route.
swan_routes() {
	while in_ns b ip rule del pref 220 2>/dev/null; do :; done
	in_ns b ip route replace 10.255.0.1/32 dev ipsec0 src 10.255.0.2
}

charon_sas() { swanctl b --list-sas 2>/dev/null | grep -c "ESTABLISHED" || true; }
charon_child_up() { swanctl b --list-sas 2>/dev/null | grep -q "INSTALLED"; }
no_carrier() { ! has_carrier a sti0; }
ms() { date +%s%3N; }

traffic() {	# both directions
	ping_ok a 10.255.0.2 || fail "$1: ping vtid -> charon"
	ping_ok b 10.255.0.1 || fail "$1: ping charon -> vtid"
}
bulk() {	# TCP both ways: vtid's TSO segments and GRO against charon's ESP
	tcp_copy a b 10.255.0.2 4000000
	tcp_copy b a 10.255.0.1 4000000
}

swan_conf ${SETS[0]}
start_charon b
RESULTS=()
for set in "${SETS[@]}"; do
	read -r ike esp <<<"$set"
	swan_conf "$ike" "$esp"; swanctl_load b

	# vtid initiates.
	vti_conf "$ike" "$esp" yes
	t0=$(ms)
	start_vtid a "$VT_TMP/a.conf"
	wait_until 10 has_carrier a sti0 || fail "$ike: vtid as initiator: no carrier"
	t_init=$(( $(ms) - t0 ))
	swan_routes
	traffic "$ike/initiator"
	bulk
	swanctl b --list-sas | grep -q "$(echo "$esp" | tr a-z A-Z | sed 's/AES128GCM16/AES_GCM_16-128/; s/AES256GCM16/AES_GCM_16-256/; s/CHACHA20POLY1305/CHACHA20_POLY1305/; s/AES256-SHA256/AES_CBC-256\/HMAC_SHA2_256_128/')" ||
		fail "$ike: charon did not negotiate $esp"
	# DELETE from charon: carrier down, then vtid re-initiates.
	swanctl b --terminate --ike vti >/dev/null
	wait_until 5 no_carrier || fail "$ike: carrier stayed up after charon's DELETE"
	wait_until 10 has_carrier a sti0 || fail "$ike: vtid did not re-initiate after DELETE"
	swan_routes
	ping_ok a 10.255.0.2 || fail "$ike: no traffic after re-initiation"
	stop_vtid a
	forget_pid "$PID_a"
	wait_value 5 charon_sas = 0 || fail "$ike: charon kept the SA after vtid exited"
	pass "$ike / $esp: vtid initiator (${t_init} ms), traffic both ways (ping, 4 MB TCP each way intact), charon DELETE -> carrier down -> re-initiated, vtid exit -> DELETE"

	# charon initiates.
	vti_conf "$ike" "$esp" no
	start_vtid a "$VT_TMP/a.conf"
	t0=$(ms)
	swanctl b --initiate --child vti --timeout 10 >/dev/null || fail "$ike: charon could not initiate"
	wait_until 5 has_carrier a sti0 || fail "$ike: vtid as responder: no carrier"
	t_resp=$(( $(ms) - t0 ))
	swan_routes
	traffic "$ike/responder"
	vtictl a down sti0 >/dev/null
	no_carrier || fail "$ike: carrier up after vtictl down"
	wait_value 5 charon_sas = 0 || fail "$ike: charon kept the SA after vtictl down"
	stop_vtid a
	forget_pid "$PID_a"
	pass "$ike / $esp: vtid responder (${t_resp} ms), traffic both ways, vtictl down -> DELETE"
	RESULTS+=("| $ike | $esp | ok, ${t_init} ms | ok, ${t_resp} ms |")
done
# Rekeys from both ends, Child and IKE SA, under a continuous ping: not
# one reply may be lost.
for set in "${SETS[0]}" "${SETS[1]}" "aes128gcm16-prfsha256-x25519 aes128gcm16-x25519"; do
	read -r ike esp <<<"$set"
	swan_conf "$ike" "$esp"; swanctl_load b
	vti_conf "$ike" "$esp" yes
	start_vtid a "$VT_TMP/a.conf"
	wait_until 10 has_carrier a sti0 || fail "rekey: no carrier"
	swan_routes
	ping_ok a 10.255.0.2 || fail "rekey: no traffic"
	spi0=$(vtictl a -j show sti0 | jq -r '.[0].child.spi_in')
	in_ns a ping -i 0.01 -c 500 -q 10.255.0.2 > "$VT_TMP/ping.out" 2>&1 &
	PING=$!
	sleep 0.5
	vtictl a rekey sti0 >/dev/null; sleep 0.6
	swanctl b --rekey --child vti >/dev/null; sleep 0.6
	vtictl a rekey sti0 ike >/dev/null; sleep 0.6
	swanctl b --rekey --ike vti >/dev/null; sleep 0.6
	vtictl a rekey sti0 >/dev/null; sleep 0.6
	swan_routes
	wait $PING || true
	grep -q " 0% packet loss" "$VT_TMP/ping.out" ||
		fail "rekey ($ike): replies lost: $(tail -2 "$VT_TMP/ping.out")"
	[ "$(vtictl a -j show sti0 | jq -r '.[0].child.spi_in')" != "$spi0" ] || fail "rekey: SPI unchanged"
	[ "$(charon_sas)" = 1 ] || fail "rekey: charon has $(charon_sas) IKE SAs"
	n=$(grep -c "re-keyed" "$VT_TMP/a.log")
	case "$esp" in *x25519*)
		grep -q "with PFS" "$VT_TMP/a.log" || fail "$esp: charon's rekey did not use PFS" ;;
	esac
	stop_vtid a
	forget_pid "$PID_a"
	: > "$VT_TMP/a.log"
	pass "$ike / $esp: 5 rekeys (Child and IKE, from vtid and from charon) under 500 pings at 10 ms: 0 lost ($n re-keyed events)"
done

# charon killed (no DELETE) and restarted: vtid's liveness check declares
# it dead, the carrier drops, and re-initiation brings the tunnel back.
read -r ike esp <<<"${SETS[0]}"
swan_conf "$ike" "$esp"; swanctl_load b
vti_conf "$ike" "$esp" yes
printf 'dpd = 1\ndpd-timeout = 3\n' >> "$VT_TMP/a.conf"
start_vtid a "$VT_TMP/a.conf"
wait_until 10 has_carrier a sti0 || fail "restart: no carrier"
t0=$(ms)
kill -KILL "$CHARON_b"; wait "$CHARON_b" 2>/dev/null || true
wait_until 10 no_carrier || fail "restart: carrier stayed up with charon dead"
t_dead=$(( $(ms) - t0 ))
start_charon b
t1=$(ms)
wait_until 40 has_carrier a sti0 || fail "restart: tunnel did not recover"
swan_routes
ping_ok a 10.255.0.2 || fail "restart: no traffic after recovery"
t_back=$(( $(ms) - t1 ))
pass "charon SIGKILLed: dead after ${t_dead} ms (dpd 1, timeout 3); restarted: tunnel back in ${t_back} ms"
stop_vtid a
forget_pid "$PID_a"

# A branch with two uplinks (two local addresses) to one hub, one tunnel
# each, one identity: INITIAL_CONTACT speaks for the pair of identities
# (RFC 7296 §2.4), and charon (unique = no, its default) deletes every
# IKE SA of the pair when it gets one, silently (no DELETE: the other
# tunnel would black-hole until its liveness check noticed, then come
# back and delete this one, for ever).  Only the first tunnel may send it.
in_ns a ip addr add 192.0.2.3/24 dev eth0
in_ns b ip addr add 10.255.1.2/32 dev lo
cat > "$VT_TMP/b.swanctl.conf" <<C
connections {
C
for u in 1 2; do
	[ $u = 1 ] && from=192.0.2.1 || from=192.0.2.3
	cat >> "$VT_TMP/b.swanctl.conf" <<C
	uplink$u {
		version = 2
		local_addrs = 192.0.2.2
		remote_addrs = $from
		proposals = ${SETS[0]%% *}
		encap = yes
		mobike = no
		local { auth = psk
			id = 192.0.2.2 }
		remote { auth = psk
			 id = branch.example }
		children {
			uplink$u {
				local_ts = 10.255.$((u - 1)).2/32
				remote_ts = 10.255.$((u - 1)).1/32
				esp_proposals = ${SETS[0]##* }
			}
		}
	}
C
done
cat >> "$VT_TMP/b.swanctl.conf" <<C
}
secrets {
	ike-branch {
		id-a = branch.example
		id-b = 192.0.2.2
		secret = "$PSK"
	}
}
C
stop_charon b
: > "$VT_TMP/charon-b/charon.log"
start_charon b
for u in 0 1; do
	[ $u = 0 ] && from=192.0.2.1 || from=192.0.2.3
	cat <<C
[tunnel sti$u]
local = $from
remote = 192.0.2.2
local-id = branch.example
address = 10.255.$u.1/30
psk = $PSK
ike = ${SETS[0]%% *}
esp = ${SETS[0]##* }
C
done > "$VT_TMP/a.conf"
uplinks_up() { has_carrier a sti0 && has_carrier a sti1; }
uplink_routes() {
	while in_ns b ip rule del pref 220 2>/dev/null; do :; done
	in_ns b ip route replace 10.255.0.1/32 dev ipsec0 src 10.255.0.2
	in_ns b ip route replace 10.255.1.1/32 dev ipsec0 src 10.255.1.2
}
uplink_traffic() {	# WHAT: both tunnels, both ways
	ping_ok a 10.255.0.2 || fail "$1: ping vtid -> charon over uplink 1"
	ping_ok a 10.255.1.2 || fail "$1: ping vtid -> charon over uplink 2"
	ping_ok b 10.255.0.1 || fail "$1: ping charon -> vtid over uplink 1"
	ping_ok b 10.255.1.1 || fail "$1: ping charon -> vtid over uplink 2"
}
established() { grep -c "IKE SA established" "$VT_TMP/a.log" || true; }
: > "$VT_TMP/a.log"
start_vtid a "$VT_TMP/a.conf"
wait_until 10 uplinks_up || fail "two uplinks: not both up"
uplink_routes
sleep 3		# a deleted IKE SA would have been noticed and re-made by now
uplink_routes
uplink_traffic "two uplinks"
[ "$(charon_sas)" = 2 ] || fail "two uplinks: charon holds $(charon_sas) IKE SAs, not 2"
[ "$(established)" = 2 ] || fail "two uplinks: $(established) IKE SAs made for 2 tunnels (one deleted the other)"
! grep -q "received INITIAL_CONTACT" "$VT_TMP/charon-b/charon.log" ||
	fail "two uplinks: charon deleted an IKE SA for INITIAL_CONTACT"
# The second uplink goes down and comes back beside the first.
vtictl a down sti1 >/dev/null
wait_value 5 charon_sas = 1 || fail "two uplinks: charon kept uplink 2 after vtictl down"
vtictl a up sti1 >/dev/null
wait_until 10 uplinks_up || fail "two uplinks: uplink 2 did not come back"
sleep 2
uplink_routes
uplink_traffic "uplink 2 back"
[ "$(charon_sas)" = 2 ] && [ "$(established)" = 3 ] ||
	fail "two uplinks: after uplink 2's return charon holds $(charon_sas) IKE SAs, vtid made $(established) (want 2 and 3)"
! grep -q "received INITIAL_CONTACT" "$VT_TMP/charon-b/charon.log" ||
	fail "two uplinks: uplink 2's return deleted uplink 1 (INITIAL_CONTACT)"
waited=$(grep -c "waits for another tunnel" "$VT_TMP/a.log" || true)
pass "two uplinks, one identity: both tunnels up for 5 s with traffic both ways on each, uplink 2 down and back without touching uplink 1; charon deleted nothing for INITIAL_CONTACT ($waited IKE_AUTH waited for the other's answer)"
stop_vtid a
stop_charon b
echo
echo "| IKE proposal | ESP proposal | vtid initiator (to carrier) | vtid responder (to carrier) |"
echo "|---|---|---|---|"
printf '%s\n' "${RESULTS[@]}"
echo "charon killed: declared dead in ${t_dead} ms; after its restart the tunnel was back in ${t_back} ms"
