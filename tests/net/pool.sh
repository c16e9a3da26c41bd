#!/bin/bash
# Inner addresses by IKEv2 configuration payload (RFC 7296 §3.15):
#  1. a vtid hub (pool =) and a vtid branch (address = auto): the branch's
#     interface gets 10.128.0.2/17 and fd00:128::2/64, the hub routes
#     both to its interface; ping both ways, IPv4 and IPv6; the branch
#     restarted gets the same addresses;
#     a /10 pool's address goes on the branch as a /32;
#  2. a strongSwan branch (vips = 0.0.0.0, ::) asks the same hub;
#  3. a vtid branch asks a strongSwan hub (pools).
# The parent only adds addresses the peer gave to an address = auto
# interface and routes only hosts in the pool (tests/unit for the rules).
. "$(dirname "$0")/lib.sh"
command -v /usr/lib/ipsec/charon >/dev/null || fail "strongswan-charon is not installed"
PSK=pool-secret-$$

ns_add h; ns_add b; link_ab h b		# h: 192.0.2.1, b: 192.0.2.2

cat > "$VT_TMP/h.conf" <<C
[tunnel hub0]
local = 192.0.2.1
remote = 192.0.2.2
psk = $PSK
address = 10.128.0.1/17, fd00:128::1/64
pool = 10.128.0.0/17, fd00:128::/64
encap = yes
start = no
C
cat > "$VT_TMP/b.conf" <<C
[tunnel br0]
local = 192.0.2.2
remote = 192.0.2.1
psk = $PSK
address = auto
encap = yes
C

# (the output is read whole first: with pipefail, grep -q leaving early
# could fail the pipeline with ip's SIGPIPE)
addr_on() { local o; o=$(in_ns "$1" ip -o addr show dev "$2"); grep -q " $3 " <<<"$o"; }
route_via() { local o; o=$(in_ns "$1" ip -o route get "$2"); grep -q "dev $3 " <<<"$o"; }
ping6_ok() { in_ns "$1" ping -6 -c 3 -i 0.2 -W 2 -q "$2" >/dev/null 2>&1; }

# ---- 1. vtid hub, vtid branch
start_vtid h "$VT_TMP/h.conf"
start_vtid b "$VT_TMP/b.conf"
wait_until 10 has_carrier b br0 || fail "vtid branch: no carrier"
wait_until 5 addr_on b br0 10.128.0.2/17 || fail "vtid branch: 10.128.0.2/17 not on br0: $(in_ns b ip -o addr show dev br0)"
addr_on b br0 fd00:128::2/64 || fail "vtid branch: fd00:128::2/64 not on br0: $(in_ns b ip -o addr show dev br0)"
route_via h 10.128.0.2 hub0 || fail "hub: no route to 10.128.0.2 via hub0: $(in_ns h ip route)"
route_via h fd00:128::2 hub0 || fail "hub: no route to fd00:128::2 via hub0"
[ "$(vtictl h -j show hub0 | jq -c '.[0].peer_addresses')" = '["10.128.0.2/32","fd00:128::2/128"]' ] ||
	fail "hub: show: $(vtictl h -j show hub0 | jq -c '.[0].peer_addresses')"
[ "$(vtictl b -j show br0 | jq -c '.[0].given_addresses')" = '["10.128.0.2/17","fd00:128::2/64"]' ] ||
	fail "branch: show: $(vtictl b -j show br0 | jq -c '.[0].given_addresses')"
ping_ok b 10.128.0.1 || fail "vtid branch -> hub 10.128.0.1"
ping_ok h 10.128.0.2 || fail "hub -> vtid branch 10.128.0.2"
ping6_ok b fd00:128::1 || fail "vtid branch -> hub fd00:128::1"
ping6_ok h fd00:128::2 || fail "hub -> vtid branch fd00:128::2"
pass "vtid hub gave the vtid branch 10.128.0.2/17 and fd00:128::2/64; ping both ways, IPv4 and IPv6"

stop_vtid b; forget_pid "$PID_b"
start_vtid b "$VT_TMP/b.conf"
wait_until 10 has_carrier b br0 || fail "vtid branch restarted: no carrier"
wait_until 5 addr_on b br0 10.128.0.2/17 || fail "vtid branch restarted: not the same address: $(in_ns b ip -o addr show dev br0)"
ping_ok b 10.128.0.1 || fail "vtid branch restarted -> hub"
ping_ok h 10.128.0.2 || fail "hub -> vtid branch restarted"
pass "the branch restarted got the same addresses"
stop_vtid b; forget_pid "$PID_b"

# ---- 1b. a pool wider than a branch puts on its interface (/10): the
# address goes on as a host address, and the branch reaches the hub by a
# route of its own
stop_vtid h; forget_pid "$PID_h"
sed -e 's|^address = .*|address = 10.64.0.1/32|' -e 's|^pool = .*|pool = 10.64.0.0/10|' \
	"$VT_TMP/h.conf" > "$VT_TMP/h10.conf"
start_vtid h "$VT_TMP/h10.conf"
start_vtid b "$VT_TMP/b.conf"
wait_until 10 has_carrier b br0 || fail "/10 pool: no carrier"
wait_until 5 addr_on b br0 10.64.0.2/32 || fail "/10 pool: 10.64.0.2/32 not on br0: $(in_ns b ip -o addr show dev br0)"
in_ns b ip route add 10.64.0.1/32 dev br0
ping_ok b 10.64.0.1 || fail "/10 pool: branch -> hub"
ping_ok h 10.64.0.2 || fail "/10 pool: hub -> branch"
pass "a /10 pool's address goes on the branch as 10.64.0.2/32; ping both ways"
stop_vtid b; forget_pid "$PID_b"
stop_vtid h; forget_pid "$PID_h"
start_vtid h "$VT_TMP/h.conf"

# ---- 2. strongSwan branch (vips) and the vtid hub
cat > "$VT_TMP/b.swanctl.conf" <<C
connections {
	br {
		version = 2
		local_addrs = 192.0.2.2
		remote_addrs = 192.0.2.1
		vips = 0.0.0.0, ::
		encap = yes
		mobike = no
		local { auth = psk
			id = 192.0.2.2 }
		remote { auth = psk
			 id = 192.0.2.1 }
		children {
			br {
				local_ts = dynamic
				remote_ts = 10.128.0.1/32, fd00:128::1/128
				esp_proposals = aes128gcm16
			}
		}
	}
}
secrets {
	ike-br {
		id-a = 192.0.2.1
		id-b = 192.0.2.2
		secret = "$PSK"
	}
}
C
start_charon b
swanctl b --initiate --child br --timeout 10 >"$VT_TMP/initiate.out" 2>&1 ||
	{ cat "$VT_TMP/initiate.out"; fail "strongSwan branch: initiate failed"; }
wait_until 10 has_carrier h hub0 || fail "hub: no carrier with the strongSwan branch"
grep -q "installing new virtual IP 10.128.0.2" "$VT_TMP/charon-b/charon.log" ||
	fail "strongSwan branch was not given 10.128.0.2: $(grep -i 'virtual IP' "$VT_TMP/charon-b/charon.log")"
grep -q "installing new virtual IP fd00:128::2" "$VT_TMP/charon-b/charon.log" ||
	fail "strongSwan branch was not given fd00:128::2: $(grep -i 'virtual IP' "$VT_TMP/charon-b/charon.log")"
ping_ok h 10.128.0.2 || fail "hub -> strongSwan branch 10.128.0.2"
in_ns b ping -c 3 -i 0.2 -W 2 -q -I 10.128.0.2 10.128.0.1 >/dev/null 2>&1 ||
	fail "strongSwan branch 10.128.0.2 -> hub 10.128.0.1"
ping6_ok h fd00:128::2 || fail "hub -> strongSwan branch fd00:128::2"
pass "strongSwan branch (vips) given 10.128.0.2 and fd00:128::2 by the vtid hub; ping both ways"
stop_charon b
stop_vtid h; forget_pid "$PID_h"

# ---- 3. vtid branch and a strongSwan hub (pools)
in_ns h ip addr add 10.129.1.1/32 dev lo
cat > "$VT_TMP/h.swanctl.conf" <<C
connections {
	hub {
		version = 2
		local_addrs = 192.0.2.1
		remote_addrs = 192.0.2.2
		pools = p4, p6
		encap = yes
		mobike = no
		local { auth = psk
			id = 192.0.2.1 }
		remote { auth = psk
			 id = 192.0.2.2 }
		children {
			hub {
				local_ts = 10.129.1.1/32
				remote_ts = dynamic
				esp_proposals = aes128gcm16
			}
		}
	}
}
pools {
	p4 { addrs = 10.129.0.0/28 }
	p6 { addrs = fd00:129::/124 }
}
secrets {
	ike-hub {
		id-a = 192.0.2.1
		id-b = 192.0.2.2
		secret = "$PSK"
	}
}
C
start_charon h
start_vtid b "$VT_TMP/b.conf"
wait_until 10 has_carrier b br0 || fail "vtid branch with the strongSwan hub: no carrier"
given=$(vtictl b -j show br0 | jq -r '.[0].given_addresses[0]')
case "$given" in 10.129.0.*) ;; *) fail "vtid branch: strongSwan hub gave '$given'";; esac
wait_until 5 addr_on b br0 "$given" || fail "vtid branch: $given not on br0: $(in_ns b ip -o addr show dev br0)"
# Route-based: the operator (or BGP) routes the hub's network to the tunnel.
in_ns b ip route add 10.129.1.1/32 dev br0
ping_ok b 10.129.1.1 || fail "vtid branch ${given%/*} -> strongSwan hub 10.129.1.1"
ping_ok h "${given%/*}" || fail "strongSwan hub -> vtid branch ${given%/*}"
pass "vtid branch given $given by the strongSwan hub (pools); ping both ways"
