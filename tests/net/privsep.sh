#!/bin/bash
# Least privilege, checked from outside while tunnels are up: the uid,
# capabilities, no_new_privs and seccomp mode of every vtid process
# (/proc/PID/status), the descriptors each holds, and the PSK and the
# RFC 8784 PPK found in the auth process's memory and nowhere in the
# network process's.  Then
# test_privsep, run as a daemon inside a namespace, tries socket options
# inside the network process's seccomp filter (IP_HDRINCL must kill) and
# makes the requests the privileged parent must refuse.
. "$(dirname "$0")/lib.sh"
: "${TEST_PRIVSEP:?TEST_PRIVSEP must point at the test_privsep binary}"
MEMSCAN="$(dirname "$0")/memscan.py"

# Two queues each way: the parent binds AF_XDP sockets to queue 1 too.
ns_add a; ns_add b; link_ab a b 1500 2
PSK="privsep-psk-$$-$RANDOM$RANDOM"
PPK=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
for side in a b; do
	if [ $side = a ]; then l=192.0.2.1; r=192.0.2.2; ip=10.255.0.1/30; else l=192.0.2.2; r=192.0.2.1; ip=10.255.0.2/30; fi
	printf '[tunnel sti0]\nlocal = %s\nremote = %s\naddress = %s\npsk = %s\nppk-id = privsep-ppk\nppk = 0x%s\nppk-required = yes\n' \
		$l $r $ip "$PSK" "$PPK" > "$VT_TMP/$side.conf"
done
start_vtid b "$VT_TMP/b.conf"; start_vtid a "$VT_TMP/a.conf"
wait_until 10 has_carrier a sti0 || fail "no carrier"
ping_ok a 10.255.0.2 || fail "no traffic"
vtictl a -j show sti0 | jq -e '.[0].ike.ppk == true' >/dev/null || fail "the PPK was not used"

field() { awk -v k="$2:" '$1 == k { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status"; }
uid=$(id -u vtid); gid=$(id -g vtid)
for side in a b; do
	parent=$(eval echo "\$PID_$side")
	# The parent: root, CAP_NET_ADMIN (12), CAP_KILL (5), CAP_SETUID (7)
	# and CAP_SETGID (6) only: the last two to start a child anew.
	[ "$(field "$parent" Uid | awk '{ print $2 }')" = 0 ] || fail "$side: parent is not root"
	[ "$(field "$parent" CapEff)" = 00000000000010e0 ] ||
		fail "$side: parent capabilities $(field "$parent" CapEff), want CAP_NET_ADMIN+CAP_KILL+CAP_SETUID+CAP_SETGID"
	[ "$(field "$parent" CapBnd)" = 0000000000000000 ] || fail "$side: parent bounding set not empty"
	[ "$(field "$parent" NoNewPrivs)" = 1 ] || fail "$side: parent may gain privileges"
	children=$(vtid_children "$side")
	[ "$(echo "$children" | wc -w)" = 2 ] || fail "$side: want 2 children, have: $children"
	names=""
	for c in $children; do
		name=$(field "$c" Name); names="$names[$name]"
		[ "$(field "$c" Uid)" = "$uid $uid $uid $uid" ] || fail "$side/$name: uid $(field "$c" Uid)"
		[ "$(field "$c" Gid)" = "$gid $gid $gid $gid" ] || fail "$side/$name: gid $(field "$c" Gid)"
		[ -z "$(field "$c" Groups)" ] || fail "$side/$name: supplementary groups $(field "$c" Groups)"
		for cap in CapInh CapPrm CapEff CapBnd CapAmb; do
			[ "$(field "$c" $cap)" = 0000000000000000 ] || fail "$side/$name: $cap $(field "$c" $cap)"
		done
		[ "$(field "$c" NoNewPrivs)" = 1 ] || fail "$side/$name: no_new_privs not set"
		[ "$(field "$c" Seccomp)" = 2 ] || fail "$side/$name: seccomp mode $(field "$c" Seccomp), want 2 (filter)"
		# Descriptors: sockets, TUN, epoll/signalfd; no file but the log.
		files=$(ls -l "/proc/$c/fd" | awk '/ -> \// { print $NF }' | grep -v "^$VT_TMP/$side.log$" | grep -v -e "^/dev/net/tun$" -e "^/dev/null$" || true)
		[ -z "$files" ] || fail "$side/$name: holds files: $files"
		n=$(python3 "$MEMSCAN" "$c" "$PSK")
		k=$(python3 "$MEMSCAN" "$c" "hex:$PPK")
		x=$(python3 "$MEMSCAN" "$c" "$PPK")
		case "$name" in
		"vtid: auth") [ "$n" -ge 1 ] || fail "$side: the PSK is not in the auth process (scan broken?)"
			[ "$k" -ge 1 ] || fail "$side: the PPK is not in the auth process (scan broken?)" ;;
		"vtid: net") [ "$n" = 0 ] || fail "$side: the PSK is in the network process's memory ($n times)"
			[ "$k" = 0 ] && [ "$x" = 0 ] ||
				fail "$side: the PPK is in the network process's memory ($k times, $x as hex)" ;;
		*) fail "$side: unexpected process $name" ;;
		esac
	done
	[ "$names" = "[vtid: auth][vtid: net]" ] || [ "$names" = "[vtid: net][vtid: auth]" ] ||
		fail "$side: processes $names"
done
pass "parent root with CAP_NET_ADMIN+CAP_KILL+CAP_SETUID+CAP_SETGID only; net and auth as vtid ($uid), no capabilities, no_new_privs, seccomp filter; the PSK and the PPK (used: \"ppk\": true) in auth's memory, not in net's"

# The control socket: root only (no group configured), not vtid's user.
out=$(in_ns a setpriv --reuid vtid --regid vtid --clear-groups "$VTICTL" -S "$VT_TMP/a.sock" show 2>&1) &&
	fail "the vtid user may use the control socket"
grep -q "permission denied" <<<"$out" || fail "vtid user: $out"
pass "control socket: refused to the vtid user ($out)"

# A SIGHUP reload goes through the parent and reaches the network process.
sed -i 's/^psk = .*/psk = changed-psk/' "$VT_TMP/a.conf" "$VT_TMP/b.conf"
kill -HUP "$PID_b"; kill -HUP "$PID_a"
wait_until 10 grep -q "configuration reloaded" "$VT_TMP/a.log" || fail "SIGHUP: no reload"
wait_until 10 has_carrier a sti0 && ping_ok a 10.255.0.2 || fail "no traffic after the PSK changed"
pass "SIGHUP: the parent re-read the file; the changed PSK reached the tunnel"
stop_vtid a; stop_vtid b
VT_PIDS=()

# Certificates: the private key (its PEM text, its scalar in either byte
# order, as OpenSSL's BIGNUM words hold it) is in the auth process only.
for side in a b; do
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=$side" -addext keyUsage=digitalSignature -keyout "$VT_TMP/$side.key" \
		-out "$VT_TMP/$side.pem" 2>/dev/null || fail "openssl cannot make a certificate"
	chmod 600 "$VT_TMP/$side.key"
done
for side in a b; do
	if [ $side = a ]; then l=192.0.2.1; r=192.0.2.2; ip=10.255.0.1/30; o=b; else l=192.0.2.2; r=192.0.2.1; ip=10.255.0.2/30; o=a; fi
	printf '[tunnel sti0]\nlocal = %s\nremote = %s\naddress = %s\nlocal-cert = %s\nlocal-key = %s\nca = %s\nremote-id = CN=%s\n' \
		$l $r $ip "$VT_TMP/$side.pem" "$VT_TMP/$side.key" "$VT_TMP/$o.pem" $o > "$VT_TMP/$side.conf"
done
: > "$VT_TMP/a.log"
start_vtid b "$VT_TMP/b.conf"; start_vtid a "$VT_TMP/a.conf"
wait_until 10 has_carrier a sti0 || fail "certificates: no carrier"
ping_ok a 10.255.0.2 || fail "certificates: no traffic"
for side in a b; do
	scalar=$(openssl pkey -in "$VT_TMP/$side.key" -text -noout |
		awk '/^priv:/ { p = 1; next } /^pub:/ { p = 0 } p' | tr -dc '0-9a-f' | tail -c 64)
	[ ${#scalar} = 64 ] || fail "$side: cannot read the private scalar"
	reversed=$(echo "$scalar" | fold -w2 | tac | tr -d '\n')
	pemline=$(sed -n 2p "$VT_TMP/$side.key")
	for c in $(vtid_children "$side"); do
		name=$(field "$c" Name)
		n=$(( $(python3 "$MEMSCAN" "$c" --hex "$scalar") + $(python3 "$MEMSCAN" "$c" --hex "$reversed") ))
		t=$(python3 "$MEMSCAN" "$c" "$pemline")
		case "$name" in
		"vtid: auth") [ "$t" -ge 1 ] && [ "$n" -ge 1 ] ||
			fail "$side: the private key is not in the auth process (text $t, scalar $n: scan broken?)" ;;
		"vtid: net") [ "$t" = 0 ] && [ "$n" = 0 ] ||
			fail "$side: the private key is in the network process's memory (text $t, scalar $n)" ;;
		esac
	done
done
pass "certificates: the private key (PEM text and scalar) in auth's memory, not in net's"
stop_vtid a; stop_vtid b
VT_PIDS=()

# The parent's checks, from inside a real network process.
{ printf '[daemon]\nuser = vtid\nstate-dir = %s\n' "$VT_TMP/pv.state"
  printf '[tunnel pv0]\nlocal = 192.0.2.1\nremote = 192.0.2.2\naddress = 10.77.0.1/30\npsk = %s\nstart = no\n' "$PSK"
  printf 'ppk-id = pv-ppk\nppk = 0x%s\n' "$PPK"
  manual_tunnel pm0 192.0.2.1 192.0.2.2 aes128gcm16 0x3001 0x4001 "$(key 20 pm-in)" \
	"$(key 20 pm-out)" 10.78.0.1/30 "start = no"; } > "$VT_TMP/pv.conf"
chmod 600 "$VT_TMP/pv.conf"
in_ns a "$TEST_PRIVSEP" "$VT_TMP/pv.conf" "$PSK" "$PPK" > "$VT_TMP/tp.log" 2>&1 ||
	{ cat "$VT_TMP/tp.log" >&2; fail "test_privsep failed"; }
grep -q "privsep: refused" "$VT_TMP/tp.log" || fail "refusals are not logged"
pass "seccomp: the network process may read socket options but set none (IP_HDRINCL, IPV6_HDRINCL and others: SIGSYS); parent refuses foreign interfaces, MTUs and addresses, malformed requests, and AF_XDP on its own interfaces (the network process may not bind one itself); grants sequence numbers only for a manual tunnel's own key, upwards; auth signs with the PSK and mixes the PPK: $(tail -1 "$VT_TMP/tp.log")"
echo "privsep: all passed"
