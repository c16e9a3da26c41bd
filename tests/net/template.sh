#!/bin/bash
# [template]: one section at the hub for many branches (SPEC "Templates").
# A hub (namespace h, IKE at 192.0.2.1) and branches b1..b4, each on its
# own link.  Branches b1, b2 (vtid, address = auto) and b4 (strongSwan,
# vips) authenticate as *.branches.example and each gets an interface of
# its own at the hub (br0, br1, ...), an address from the pool routed to
# it, and traffic both ways; b3, whose identity the template does not
# admit, gets nothing.  A branch that leaves takes its interface with it;
# back, it gets the same interface name and address.  An unchanged
# reload keeps the instances up.
. "$(dirname "$0")/lib.sh"
command -v /usr/lib/ipsec/charon >/dev/null || fail "strongswan-charon is not installed"
PSK=template-secret-$$

hub_branches 4

cat > "$VT_TMP/h.conf" <<C
[template br]
local = 192.0.2.1
remote = any
remote-id = *.branches.example
psk = $PSK
address = 10.128.0.1/32, fd00:128::1/128
pool = 10.128.0.0/24, fd00:128::/64
encap = yes
C
branch_conf() {	# N ID
	cat > "$VT_TMP/b$1.conf" <<C
[tunnel hub]
local = 10.0.$1.2
remote = 192.0.2.1
local-id = $2
remote-id = 192.0.2.1
psk = $PSK
address = auto
encap = yes
C
}
has_link() { in_ns "$1" ip link show "$2" >/dev/null 2>&1; }
no_link() { ! has_link "$@"; }
addr_on() { local o; o=$(in_ns "$1" ip -o addr show dev "$2"); grep -q " $3 " <<<"$o"; }
instance() {	# peer id -> "name template addresses"
	vtictl h -j show | jq -r --arg id "$1" \
		'.[] | select(.peer_id == $id) | "\(.name) \(.template) \(.peer_addresses | join(","))"'
}

start_vtid h "$VT_TMP/h.conf"
branch_conf 1 b1.branches.example; start_vtid b1 "$VT_TMP/b1.conf"
branch_conf 2 b2.branches.example; start_vtid b2 "$VT_TMP/b2.conf"
wait_until 10 has_carrier b1 hub || fail "b1: no carrier"
wait_until 10 has_carrier b2 hub || fail "b2: no carrier"
wait_until 5 has_carrier h br0 || fail "hub: br0 has no carrier"
wait_until 5 has_carrier h br1 || fail "hub: br1 has no carrier"
i1=$(instance b1.branches.example); i2=$(instance b2.branches.example)
case "$i1 / $i2" in
"br0 br 10.128.0.2/32,fd00:128::2/128 / br1 br 10.128.0.3/32,fd00:128::3/128" | \
"br1 br 10.128.0.3/32,fd00:128::3/128 / br0 br 10.128.0.2/32,fd00:128::2/128") ;;
*) fail "hub's instances: b1 '$i1', b2 '$i2'" ;;
esac
n1=${i1%% *}; a1=$(cut -d' ' -f3 <<<"$i1" | cut -d/ -f1)
n2=${i2%% *}; a2=$(cut -d' ' -f3 <<<"$i2" | cut -d/ -f1)
for i in 1 2; do
	eval "a=\$a$i"
	wait_until 5 addr_on "b$i" hub "$a/24" || fail "b$i: $a/24 not on its interface"
	ping_ok "b$i" 10.128.0.1 || fail "b$i -> hub 10.128.0.1"
	ping_ok h "$a" || fail "hub -> b$i $a"
	in_ns "b$i" ping -6 -c 3 -i 0.2 -W 2 -q fd00:128::1 >/dev/null 2>&1 || fail "b$i -> hub fd00:128::1"
done
pass "two vtid branches: $n1 ($a1) and $n2 ($a2) at the hub, ping both ways, IPv4 and IPv6"

branch_conf 3 b3.elsewhere.example; start_vtid b3 "$VT_TMP/b3.conf"
wait_until 10 grep -q "AUTHENTICATION_FAILED" "$VT_TMP/b3.log" || fail "b3 (not admitted) was not refused"
[ "$(vtictl h -j show | jq length)" = 2 ] || fail "hub made an instance for b3: $(vtictl h show)"
pass "an identity the template does not admit is refused, no interface"
stop_vtid b3; forget_pid "$PID_b3"

# strongSwan branch
cat > "$VT_TMP/b4.swanctl.conf" <<C
connections {
	hub {
		version = 2
		local_addrs = 10.0.4.2
		remote_addrs = 192.0.2.1
		vips = 0.0.0.0, ::
		encap = yes
		mobike = no
		local { auth = psk
			id = b4.branches.example }
		remote { auth = psk
			 id = 192.0.2.1 }
		children {
			hub {
				local_ts = dynamic
				remote_ts = 10.128.0.1/32, fd00:128::1/128
				esp_proposals = aes128gcm16
			}
		}
	}
}
secrets {
	ike-hub {
		id-a = b4.branches.example
		id-b = 192.0.2.1
		secret = "$PSK"
	}
}
C
start_charon b4
swanctl b4 --initiate --child hub --timeout 10 >"$VT_TMP/initiate.out" 2>&1 ||
	{ cat "$VT_TMP/initiate.out"; fail "strongSwan branch: initiate failed"; }
i4=$(instance b4.branches.example)
[ "$i4" = "br2 br 10.128.0.4/32,fd00:128::4/128" ] || fail "hub's instance for strongSwan: '$i4'"
wait_until 5 has_carrier h br2 || fail "hub: br2 has no carrier"
ping_ok h 10.128.0.4 || fail "hub -> strongSwan branch 10.128.0.4"
in_ns b4 ping -c 3 -i 0.2 -W 2 -q -I 10.128.0.4 10.128.0.1 >/dev/null 2>&1 ||
	fail "strongSwan branch -> hub"
pass "strongSwan branch (vips): br2 with 10.128.0.4, ping both ways"

# An unchanged reload keeps every instance: the same interfaces (ifindex)
# and the same IKE SAs.
keep() { vtictl h -j show | jq -r '.[] | "\(.name) \(.ike.spi_i)"' | sort; in_ns h ip -o link show | grep -oE "^[0-9]+: br[0-9]+" | sort; }
before=$(keep)
vtictl h reload >/dev/null || fail "reload"
sleep 0.5
[ "$(keep)" = "$before" ] || fail "reload changed the instances: before $before, after $(keep)"
for n in br0 br1 br2; do has_carrier h "$n" || fail "reload took $n down"; done
ping_ok b1 10.128.0.1 || fail "after reload: b1 -> hub"
pass "an unchanged reload kept br0, br1, br2 up"

# A branch that leaves takes its interface; back, the same name and address.
stop_vtid b1; forget_pid "$PID_b1"
wait_until 5 no_link h "$n1" || fail "hub: $n1 still there after b1 left"
grep -q "\"event\":\"removed\".*\"tunnel\":\"$n1\"\|\"tunnel\":\"$n1\".*\"event\":\"removed\"" "$VT_TMP/h.log" ||
	grep -q "$n1: info: last SA gone" "$VT_TMP/h.log" || fail "hub did not log $n1's removal"
start_vtid b1 "$VT_TMP/b1.conf"
wait_until 10 has_carrier b1 hub || fail "b1 back: no carrier"
[ "$(instance b1.branches.example)" = "$i1" ] || fail "b1 back: '$(instance b1.branches.example)', was '$i1'"
ping_ok b1 10.128.0.1 || fail "b1 back -> hub"
ping_ok h "$a1" || fail "hub -> b1 back"
pass "b1 left ($n1 removed) and came back as $n1 with $a1"
swanctl b4 --terminate --ike hub >/dev/null 2>&1
wait_until 5 no_link h br2 || fail "hub: br2 still there after strongSwan left"
pass "strongSwan branch left: br2 removed"
