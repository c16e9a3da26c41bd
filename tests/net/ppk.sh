#!/bin/bash
# RFC 8784 post-quantum preshared keys with real daemons: vtid <-> vtid,
# then vtid <-> strongSwan 5.9.8 (charon: ppk_id, ppk_required and a ppk
# secret) in both roles.  A PPK both sides hold is used (vtictl -j show:
# "ppk": true; vtid logs "PPK used"; charon logs it too) and traffic
# passes both ways; ppk-required = no on both sides with one side lacking
# the PPK comes up without it; required on one side and absent on the
# other, or different PPK values under one PPK_ID, are refused.
. "$(dirname "$0")/lib.sh"

ns_add a; ns_add b; link_ab a b
PSK="ppk-test-psk-$$"
PPK1=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
PPK2=$(od -An -tx1 -N40 /dev/urandom | tr -d ' \n')
REFUSE_S=4	# a refused pairing must stay down this long

no_carrier() { ! has_carrier a sti0; }
ms() { date +%s%3N; }
ppk_of() { vtictl "$1" -j show sti0 | jq -r '.[0].ike.ppk'; }
# rekeyed WHAT FIELD CMD...: CMD re-keys what vtid a shows as FIELD
# (ike.spi_i or child.spi_in): it must change.  A peer may refuse a
# rekey that crosses another (TEMPORARY_FAILURE) and retry it up to 15 s
# later (charon's RETRY_INTERVAL), hence the long wait.
rekeyed() {
	local what="$1" field="$2" before; shift 2
	before=$(vtictl a -j show sti0 | jq -r ".[0].$field")
	"$@" >/dev/null || fail "$what: $* failed"
	wait_value 20 "vtictl a -j show sti0 | jq -r '.[0].$field'" != "$before" ||
		fail "$what: $* did not re-key ($field still $before)"
}

# vti_conf SIDE START EXTRA: the tunnel of SIDE (a: 192.0.2.1) plus EXTRA lines.
vti_conf() {
	local side="$1" start="$2" extra="$3" l r ip
	if [ "$side" = a ]; then l=192.0.2.1; r=192.0.2.2; ip=10.255.0.1/30; else l=192.0.2.2; r=192.0.2.1; ip=10.255.0.2/30; fi
	printf '[tunnel sti0]\nlocal = %s\nremote = %s\naddress = %s\npsk = %s\nstart = %s\n%b' \
		$l $r $ip "$PSK" "$start" "$extra" > "$VT_TMP/$side.conf"
}
ppk_lines() {	# ID VALUE REQUIRED
	printf 'ppk-id = %s\\nppk = 0x%s\\nppk-required = %s\\n' "$1" "$2" "$3"
}

# vv WHAT A_EXTRA B_EXTRA WANT: vtid a initiates to vtid b; WANT is ppk
# (up, PPK used), noppk (up without it) or refused.
vv() {
	local what="$1" want="$4"
	vti_conf a yes "$2"; vti_conf b no "$3"
	: > "$VT_TMP/a.log"; : > "$VT_TMP/b.log"
	start_vtid b "$VT_TMP/b.conf"
	local t0; t0=$(ms)
	start_vtid a "$VT_TMP/a.conf"
	if [ "$want" = refused ]; then
		! wait_until $REFUSE_S has_carrier a sti0 || fail "vtid-vtid $what: came up"
		has_carrier b sti0 && fail "vtid-vtid $what: b has carrier"
		grep -qE "AUTHENTICATION_FAILED|PPK" "$VT_TMP/a.log" "$VT_TMP/b.log" ||
			fail "vtid-vtid $what: no log line says why"
		pass "vtid-vtid $what: refused ($(grep -hoE "peer refused IKE_AUTH: [A-Z_]+|responder does not use a PPK[^;]*" "$VT_TMP/a.log" | head -1))"
	else
		wait_until 10 has_carrier a sti0 || fail "vtid-vtid $what: no carrier"
		local t=$(( $(ms) - t0 ))
		wait_until 5 has_carrier b sti0 || fail "vtid-vtid $what: b: no carrier"
		ping_ok a 10.255.0.2 || fail "vtid-vtid $what: ping a -> b"
		ping_ok b 10.255.0.1 || fail "vtid-vtid $what: ping b -> a"
		local pa pb; pa=$(ppk_of a); pb=$(ppk_of b)
		if [ "$want" = ppk ]; then
			[ "$pa" = true ] && [ "$pb" = true ] || fail "vtid-vtid $what: ppk $pa/$pb, want true"
			grep -q "PPK used" "$VT_TMP/a.log" && grep -q "PPK used" "$VT_TMP/b.log" ||
				fail "vtid-vtid $what: no \"PPK used\" log line"
			# The Child SA made from SK_d' by a rekey works too (§3).
			rekeyed "vtid-vtid $what" ike.spi_i vtictl a rekey sti0 ike
			rekeyed "vtid-vtid $what" child.spi_in vtictl b rekey sti0
			ping_ok a 10.255.0.2 && [ "$(ppk_of a)" = true ] || fail "vtid-vtid $what: after rekeys"
			pass "vtid-vtid $what: up with the PPK in $t ms (\"ppk\": true both sides, \"PPK used\" logged), ping both ways, IKE and Child rekeys keep it"
		else
			[ "$pa" = false ] && [ "$pb" = false ] || fail "vtid-vtid $what: ppk $pa/$pb, want false"
			pass "vtid-vtid $what: up without the PPK in $t ms, ping both ways"
		fi
	fi
	stop_vtid a; forget_pid "$PID_a"; stop_vtid b; forget_pid "$PID_b"
}

vv "both hold it, optional" "$(ppk_lines site-ppk "$PPK1" no)" "$(ppk_lines site-ppk "$PPK1" no)" ppk
vv "both hold it, required" "$(ppk_lines site-ppk "$PPK1" yes)" "$(ppk_lines site-ppk "$PPK1" yes)" ppk
vv "a optional, b has none" "$(ppk_lines site-ppk "$PPK1" no)" "" noppk
vv "a has none, b optional" "" "$(ppk_lines site-ppk "$PPK1" no)" noppk
vv "optional, PPK_IDs differ (NO_PPK_AUTH)" "$(ppk_lines site-ppk "$PPK1" no)" "$(ppk_lines other-ppk "$PPK1" no)" noppk
vv "a required, b has none" "$(ppk_lines site-ppk "$PPK1" yes)" "" refused
vv "a has none, b required" "" "$(ppk_lines site-ppk "$PPK1" yes)" refused
vv "optional, values differ" "$(ppk_lines site-ppk "$PPK1" no)" "$(ppk_lines site-ppk "$PPK2" no)" refused
vv "required, PPK_IDs differ" "$(ppk_lines site-ppk "$PPK1" yes)" "$(ppk_lines other-ppk "$PPK1" no)" refused

# A [template] hub holds the PPK (required) for all its branches: the
# instance it makes for a branch finds it under the template's name.
vti_conf a yes "local-id = a.branches.example\n$(ppk_lines site-ppk "$PPK1" yes)"
cat > "$VT_TMP/b.conf" <<C
[template br]
local = 192.0.2.2
remote = any
remote-id = *.branches.example
psk = $PSK
address = 10.255.0.2/30
$(printf '%b' "$(ppk_lines site-ppk "$PPK1" yes)")
C
: > "$VT_TMP/a.log"; : > "$VT_TMP/b.log"
start_vtid b "$VT_TMP/b.conf"; start_vtid a "$VT_TMP/a.conf"
wait_until 10 has_carrier a sti0 || fail "template: no carrier"
ping_ok a 10.255.0.2 || fail "template: no traffic"
[ "$(ppk_of a)" = true ] || fail "template: branch ppk $(ppk_of a)"
inst=$(vtictl b -j show | jq -r '.[] | select(.ike.ppk == true) | .name')
[ -n "$inst" ] || fail "template: no instance with the PPK at the hub: $(vtictl b show)"
pass "template hub with ppk-required = yes: branch up with the PPK (hub instance $inst, \"ppk\": true), ping"
stop_vtid a; forget_pid "$PID_a"; stop_vtid b; forget_pid "$PID_b"

# ---- strongSwan ----
command -v /usr/lib/ipsec/charon >/dev/null || fail "strongswan-charon is not installed"
in_ns b ip addr add 10.255.0.2/32 dev lo

# swan_conf PPK_ID VALUE REQUIRED: charon's side; an empty PPK_ID: no PPK.
swan_conf() {
	local ppk="" secret=""
	if [ -n "$1" ]; then
		ppk="ppk_id = $1
		ppk_required = $3"
		secret="ppk-vti {
		id = $1
		secret = 0x$2
	}"
	fi
	cat > "$VT_TMP/b.swanctl.conf" <<C
connections {
	vti {
		version = 2
		local_addrs = 192.0.2.2
		remote_addrs = 192.0.2.1
		proposals = aes128gcm16-prfsha256-x25519
		encap = yes
		mobike = no
		$ppk
		local { auth = psk
			id = 192.0.2.2 }
		remote { auth = psk
			 id = 192.0.2.1 }
		children {
			vti {
				local_ts = 0.0.0.0/0
				remote_ts = 0.0.0.0/0
				esp_proposals = aes128gcm16
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
	$secret
}
C
}
swan_routes() {
	while in_ns b ip rule del pref 220 2>/dev/null; do :; done
	in_ns b ip route replace 10.255.0.1/32 dev ipsec0 src 10.255.0.2
}
charon_sas() { swanctl b --list-sas 2>/dev/null | grep -c "ESTABLISHED" || true; }
CLOG="$VT_TMP/charon-b/charon.log"

# vs ROLE WHAT VTI_EXTRA SWAN_ID SWAN_VALUE SWAN_REQUIRED WANT: ROLE
# initiator: vtid initiates; responder: charon does.
vs() {
	local role="$1" what="$2" want="$7" start=yes
	[ "$role" = responder ] && start=no
	swan_conf "$4" "$5" "$6"; swanctl_load b
	vti_conf a $start "$3"
	: > "$VT_TMP/a.log"; : > "$CLOG"
	local t0; t0=$(ms)
	start_vtid a "$VT_TMP/a.conf"
	if [ "$role" = responder ]; then
		swanctl b --initiate --child vti --timeout 8 >/dev/null 2>&1 &
		local ini=$!
	fi
	if [ "$want" = refused ]; then
		! wait_until $REFUSE_S has_carrier a sti0 || fail "charon $role $what: came up"
		pass "charon, vtid $role, $what: refused (vtid: $(grep -hoE "peer refused IKE_AUTH: [A-Z_]+|responder does not use a PPK[^;]*|IKE_AUTH from peer failed[^(]*|PPK not used[^\"]*" "$VT_TMP/a.log" | head -1); charon: $(grep -hoE "PPK required[^\"]*|received AUTHENTICATION_FAILED[^\"]*|tried [0-9]+ shared key[^\"]*|no PPK[^\"]*" "$CLOG" | head -1))"
	else
		wait_until 10 has_carrier a sti0 || fail "charon $role $what: no carrier"
		local t=$(( $(ms) - t0 ))
		swan_routes
		ping_ok a 10.255.0.2 || fail "charon $role $what: ping vtid -> charon"
		ping_ok b 10.255.0.1 || fail "charon $role $what: ping charon -> vtid"
		local p; p=$(ppk_of a)
		if [ "$want" = ppk ]; then
			[ "$p" = true ] || fail "charon $role $what: ppk $p, want true"
			grep -q "PPK used" "$VT_TMP/a.log" || fail "charon $role $what: vtid did not log \"PPK used\""
			# charon confirms the PPK with N(PPK_ID) in its IKE_AUTH
			# response, or acts on vtid's (§3).
			grep -q "IKE_AUTH response 1 \[.*N(PPK_ID)" "$CLOG" ||
				fail "charon $role $what: no N(PPK_ID) in the IKE_AUTH response in charon's log"
			# Rekeys from both ends derive from SK_d' on both sides (§3).
			rekeyed "charon $role $what" ike.spi_i vtictl a rekey sti0 ike
			rekeyed "charon $role $what" child.spi_in swanctl b --rekey --child vti
			rekeyed "charon $role $what" ike.spi_i swanctl b --rekey --ike vti
			rekeyed "charon $role $what" child.spi_in vtictl a rekey sti0
			swan_routes
			ping_ok a 10.255.0.2 && ping_ok b 10.255.0.1 ||
				fail "charon $role $what: no traffic after IKE and Child rekeys"
			[ "$(ppk_of a)" = true ] || fail "charon $role $what: rekeyed IKE SA lost the PPK mark"
			pass "charon, vtid $role, $what: up with the PPK in $t ms (vtid \"ppk\": true; charon: $(grep -ho "[a-z]* IKE_AUTH response 1 \[.*N(PPK_ID).*\]" "$CLOG" | head -1)), ping both ways, also after IKE and Child rekeys from both ends"
		else
			[ "$p" = false ] || fail "charon $role $what: ppk $p, want false"
			grep -q "IKE_AUTH response 1 \[.*N(PPK_ID)" "$CLOG" &&
				fail "charon $role $what: charon saw the PPK used"
			pass "charon, vtid $role, $what: up without the PPK in $t ms, ping both ways"
		fi
	fi
	[ "$role" = responder ] && { wait "$ini" 2>/dev/null || true; }
	stop_vtid a; forget_pid "$PID_a"
	wait_value 5 charon_sas = 0 || swanctl b --terminate --ike vti >/dev/null 2>&1 || true
}

swan_conf "" "" no
start_charon b
for role in initiator responder; do
	vs $role "both hold it, required" "$(ppk_lines site-ppk "$PPK1" yes)" site-ppk "$PPK1" yes ppk
	vs $role "both hold it, optional" "$(ppk_lines site-ppk "$PPK1" no)" site-ppk "$PPK1" no ppk
	vs $role "vtid optional, charon has none" "$(ppk_lines site-ppk "$PPK1" no)" "" "" no noppk
	vs $role "vtid has none, charon optional" "" site-ppk "$PPK1" no noppk
	vs $role "vtid required, charon has none" "$(ppk_lines site-ppk "$PPK1" yes)" "" "" no refused
	vs $role "vtid has none, charon required" "" site-ppk "$PPK1" yes refused
	vs $role "required, values differ" "$(ppk_lines site-ppk "$PPK1" yes)" site-ppk "$PPK2" yes refused
done
stop_charon b
assert_no_secret "$PPK1" "$PPK2"
pass "neither PPK appears in any log"
echo "ppk: all passed"
