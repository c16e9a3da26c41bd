#!/bin/bash
# IKE fragmentation (RFC 7383) across an underlay of MTU 1280 where
# nftables drops every IP fragment at both ends (ingress, before
# reassembly): tunnels whose IKE_AUTH is larger than one packet (16 local
# and 16 remote traffic selectors, 15 of them IPv6) still come up,
# vtid <-> vtid over IPv4 and IPv6 and vtid <-> charon in both roles;
# traffic flows both ways, also after each side re-keyed the Child SA; a
# capture (read by tshark) shows IKE_AUTH and CREATE_CHILD_SA as Encrypted
# Fragment payloads from both sides and not one IP fragment.  With
# fragmentation = no the same tunnel does not come up (the test needs it).
# Then certificates: a 4096-bit RSA chain, vtid <-> vtid and vtid to
# charon, IKE_AUTH in Encrypted Fragments and no IP fragment.
# Prints the IKE_AUTH messages' fragment counts and sizes.
. "$(dirname "$0")/lib.sh"
for tool in nft tcpdump tshark; do
	command -v "$tool" >/dev/null || fail "$tool is not installed (run scripts/deps.sh)"
done

PSK=a-fragmentation-secret-$$
ns_add a; ns_add b; link_ab a b 1280
in_ns b ip addr add 10.255.0.2/32 dev lo

# Every IP fragment that reaches either end is counted and dropped at the
# device's ingress, which runs before the stack could reassemble it.
for n in a b; do
	in_ns "$n" nft -f - <<N || fail "nftables: cannot load the fragment filter"
table netdev vtfrag {
	chain in {
		type filter hook ingress device eth0 priority -500; policy accept;
		meta protocol ip ip frag-off & 0x3fff != 0 counter drop
		meta protocol ip6 exthdr frag exists counter drop
	}
}
N
done
dropped() {	# IP fragments dropped at both ends so far
	{ in_ns a nft list table netdev vtfrag; in_ns b nft list table netdev vtfrag; } |
		grep -o 'packets [0-9]*' | awk '{s += $2} END {print s + 0}'
}

# 16 selectors each way: the inner IPv4 /30 and 15 IPv6 /48s.
TS="10.255.0.0/30"
for i in $(seq 1 15); do TS="$TS, fd00:$i::/48"; done

vti_conf() {	# FILE LOCAL REMOTE INNER START [extra lines]
	local f="$1" l="$2" r="$3" in="$4" st="$5"; shift 5
	{ printf '[tunnel sti0]\nlocal = %s\nremote = %s\naddress = %s\npsk = %s\n' "$l" "$r" "$in" "$PSK"
	  printf 'start = %s\nlocal-ts = %s\nremote-ts = %s\n' "$st" "$TS" "$TS"
	  local x; for x in "$@"; do echo "$x"; done; } > "$f"
}

cap_start() {	# NAME: capture everything on a's underlay
	CAP=$VT_TMP/$1.pcap
	ip netns exec "${VT_ID}a" tcpdump -i eth0 --immediate-mode -U -s 0 -w "$CAP" 2>"$CAP.err" &
	TCPD=$!
	VT_PIDS+=("$TCPD")
	wait_until 5 grep -q "listening on" "$CAP.err" || fail "tcpdump did not start"
}
cap_stop() {
	sleep 0.3
	kill -TERM "$TCPD" 2>/dev/null; wait "$TCPD" 2>/dev/null || true
	forget_pid "$TCPD"
}
# cap_check NAME A B: the capture holds Encrypted Fragment payloads of
# IKE_AUTH and CREATE_CHILD_SA sent by each of A and B, and no IP fragment;
# SUMMARY says how IKE_AUTH went on the wire.
cap_check() {
	local name="$1" x e ipf
	ipf=$(tshark -r "$CAP" -Y 'ip.flags.mf == 1 || ip.frag_offset > 0 || ipv6.fragment' 2>/dev/null | wc -l)
	[ "$ipf" = 0 ] || fail "$name: $ipf IP fragments on the wire"
	# one line per Encrypted Fragment message: source exchange response number total length
	tshark -r "$CAP" -Y 'isakmp.typepayload == 53' -T fields -E separator='|' \
		-e ip.src -e ipv6.src -e isakmp.exchangetype -e isakmp.flag_r -e isakmp.frag.number \
		-e isakmp.frag.total -e frame.len 2>/dev/null |
		awk -F'|' '{ print ($1 != "" ? $1 : $2), $3, ($4 == "1" || $4 == "True" ? "response" : "request"), $5, $6, $7 }' \
		> "$CAP.skf" || fail "$name: tshark failed"
	for x in "$2" "$3"; do
		for e in 35 36; do
			awk -v x="$x" -v e="$e" '$1 == x && $2 == e { f = 1 } END { exit !f }' "$CAP.skf" ||
				{ cat "$CAP.skf" >&2; fail "$name: no Encrypted Fragment of exchange $e from $x"; }
		done
	done
	SUMMARY=$(awk '$2 == 35 { k = "IKE_AUTH " $3 " from " $1; n[k]++; s[k] = s[k] (s[k] ? "+" : "") $6 }
		END { for (k in n) printf "%s: %d fragments (%s bytes); ", k, n[k], s[k] }' "$CAP.skf" | sort)
}

no_carrier() { ! has_carrier "$1" sti0; }
ms() { date +%s%3N; }
traffic() {	# NAME NS-A ADDR-IN-B NS-B ADDR-IN-A
	ping_ok "$2" "$3" || fail "$1: ping $2 -> $3"
	ping_ok "$4" "$5" || fail "$1: ping $4 -> $5"
}
child_spi() { vtictl a -j show sti0 | jq -r '.[0].child.spi_in'; }
one_child() { [ "$(swanctl b --list-sas 2>/dev/null | grep -c INSTALLED)" = 1 ]; }
# rekey NAME CMD...: the Child SA is re-keyed by CMD (its CREATE_CHILD_SA,
# 16 selectors each way, does not fit one packet either).
rekey() {
	local name="$1" spi; shift
	spi=$(child_spi)
	"$@" >/dev/null || fail "$name: $* failed"
	# A peer that crossed another rekey (TEMPORARY_FAILURE) tries again
	# up to 15 s later (charon's RETRY_INTERVAL).
	wait_value 20 child_spi != "$spi" || fail "$name: the Child SA was not re-keyed"
}
frag_stats() { vtictl "$1" -j stats | jq -r '"\(.ike_frag_tx) sent fragmented, \(.ike_frag_rx) fragments in, \(.ike_frag_reassembled) reassembled, \(.ike_frag_invalid) invalid"'; }

RESULTS=()

# ---- vtid <-> vtid, over IPv4 and over IPv6 ----
for fam in 4 6; do
	if [ "$fam" = 4 ]; then A=192.0.2.1 B=192.0.2.2; else A=2001:db8::1 B=2001:db8::2; fi
	vti_conf "$VT_TMP/a.conf" "$A" "$B" 10.255.0.1/30 yes
	vti_conf "$VT_TMP/b.conf" "$B" "$A" 10.255.0.2/30 no
	d0=$(dropped)
	cap_start "vtid-v$fam"
	start_vtid b "$VT_TMP/b.conf"
	t0=$(ms)
	start_vtid a "$VT_TMP/a.conf"
	wait_until 15 has_carrier a sti0 || fail "IPv$fam vtid<->vtid: no carrier"
	wait_until 5 has_carrier b sti0 || fail "IPv$fam vtid<->vtid: no carrier at the responder"
	t_up=$(( $(ms) - t0 ))
	traffic "IPv$fam vtid<->vtid" a 10.255.0.2 b 10.255.0.1
	rekey "IPv$fam vtid<->vtid" vtictl a rekey sti0
	rekey "IPv$fam vtid<->vtid" vtictl b rekey sti0
	traffic "IPv$fam vtid<->vtid, re-keyed" a 10.255.0.2 b 10.255.0.1
	vtictl a -j show sti0 | jq -e '.[0].ike.fragmentation == true' >/dev/null ||
		fail "IPv$fam vtid<->vtid: show does not say fragmentation is used"
	cap_stop
	cap_check "IPv$fam vtid<->vtid" "$A" "$B"
	[ "$(dropped)" = "$d0" ] || fail "IPv$fam vtid<->vtid: IP fragments were dropped"
	sa=$(frag_stats a); sb=$(frag_stats b)
	[ "$(vtictl a -j stats | jq .ike_frag_reassembled)" -ge 1 ] &&
		[ "$(vtictl b -j stats | jq .ike_frag_reassembled)" -ge 1 ] ||
		fail "IPv$fam vtid<->vtid: nothing reassembled (a: $sa; b: $sb)"
	stop_vtid a; forget_pid "$PID_a"
	stop_vtid b; forget_pid "$PID_b"
	pass "IPv$fam vtid<->vtid: up in ${t_up} ms, Child SA re-keyed by each, ping both ways, no IP fragment; $SUMMARY a: $sa; b: $sb"
	RESULTS+=("| vtid <-> vtid, IPv$fam | up in ${t_up} ms | $SUMMARY |")
done

# ---- the same tunnel without fragmentation: IKE_AUTH is lost ----
vti_conf "$VT_TMP/a.conf" 192.0.2.1 192.0.2.2 10.255.0.1/30 yes "fragmentation = no"
vti_conf "$VT_TMP/b.conf" 192.0.2.2 192.0.2.1 10.255.0.2/30 no
d0=$(dropped)
start_vtid b "$VT_TMP/b.conf"
start_vtid a "$VT_TMP/a.conf"
! wait_until 8 has_carrier a sti0 || fail "fragmentation = no: the tunnel came up (the underlay passes IP fragments?)"
d1=$(dropped)
[ "$d1" -gt "$d0" ] || fail "fragmentation = no: no IP fragment was dropped"
stop_vtid a; forget_pid "$PID_a"
stop_vtid b; forget_pid "$PID_b"
pass "fragmentation = no: not up after 8 s; $((d1 - d0)) IP fragments dropped"

# ---- vtid <-> charon, both roles ----
command -v /usr/lib/ipsec/charon >/dev/null || fail "strongswan-charon is not installed"
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
		fragmentation = yes
		local { auth = psk
			id = 192.0.2.2 }
		remote { auth = psk
			 id = 192.0.2.1 }
		children {
			vti {
				local_ts = $TS
				remote_ts = $TS
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
# charon routes everything through ipsec0 from table 220; keep only the
# inner host route.
swan_routes() {
	while in_ns b ip rule del pref 220 2>/dev/null; do :; done
	in_ns b ip route replace 10.255.0.1/32 dev ipsec0 src 10.255.0.2
}
# kernel-libipsec routes each selector through ipsec0 from an address of
# ours inside it: give b one in each IPv6 /48 (else "error installing route").
for i in $(seq 1 15); do in_ns b ip addr add "fd00:$i::2/128" dev lo; done
SUITES=("aes128gcm16-prfsha256-x25519 aes128gcm16" "aes256-sha256-modp2048 aes256-sha256")
swan_conf ${SUITES[0]}
start_charon b
for suite in "${SUITES[@]}"; do
	read -r ike esp <<<"$suite"
	swan_conf "$ike" "$esp"; swanctl_load b
	for role in initiator responder; do
		st=yes; [ "$role" = responder ] && st=no
		vti_conf "$VT_TMP/a.conf" 192.0.2.1 192.0.2.2 10.255.0.1/30 "$st" "ike = $ike" "esp = $esp"
		d0=$(dropped)
		cap_start "charon-$role"
		t0=$(ms)
		start_vtid a "$VT_TMP/a.conf"
		if [ "$role" = responder ]; then
			t0=$(ms)
			swanctl b --initiate --child vti --timeout 15 >/dev/null ||
				fail "vtid responder: charon could not initiate"
		fi
		wait_until 15 has_carrier a sti0 || fail "vtid $role with charon: no carrier"
		t_up=$(( $(ms) - t0 ))
		swan_routes
		traffic "vtid $role with charon" a 10.255.0.2 b 10.255.0.1
		rekey "vtid $role with charon" vtictl a rekey sti0
		# charon re-keys every Child SA of that name, and skips one it
		# has just replaced: wait until the last rekey is done there.
		wait_until 10 one_child || fail "vtid $role with charon: charon holds $(swanctl b --list-sas | grep -c INSTALLED) Child SAs"
		rekey "vtid $role with charon" swanctl b --rekey --child vti
		swan_routes
		traffic "vtid $role with charon, re-keyed" a 10.255.0.2 b 10.255.0.1
		cap_stop
		cap_check "vtid $role with charon" 192.0.2.1 192.0.2.2
		[ "$(dropped)" = "$d0" ] || fail "vtid $role with charon: IP fragments were dropped"
		sa=$(frag_stats a)
		vtictl a down sti0 >/dev/null
		wait_value 5 "swanctl b --list-sas 2>/dev/null | grep -c ESTABLISHED" = 0 ||
			fail "vtid $role with charon: charon kept the SA"
		stop_vtid a; forget_pid "$PID_a"
		pass "vtid $role with charon ($ike / $esp): up in ${t_up} ms, Child SA re-keyed by each, ping both ways, no IP fragment; $SUMMARY vtid: $sa"
		RESULTS+=("| vtid $role <-> charon, IPv4, $ike | up in ${t_up} ms | $SUMMARY |")
	done
done
stop_charon b

# ---- certificates: a 4096-bit RSA chain (root, intermediate, leaf) ----
# No selectors padding it this time: the certificates (leaf and
# intermediate in each IKE_AUTH) and the 512-byte signature make it
# several packets.  vtid <-> vtid, and vtid initiating to charon.
command -v pki >/dev/null || fail "strongSwan's pki is not installed (scripts/deps.sh)"
P=$VT_TMP/pki4096
mkdir -p "$P" "$VT_TMP/x509" "$VT_TMP/x509ca" "$VT_TMP/private"
rsa4096() { pki --gen --type rsa --size 4096 --outform pem > "$P/$1.key" 2>/dev/null; chmod 600 "$P/$1.key"; }
issue4096() {	# NAME ISSUER CN [--ca]
	pki --pub --in "$P/$1.key" --type priv 2>/dev/null |
		pki --issue --cacert "$P/$2.pem" --cakey "$P/$2.key" --dn "C=CH, O=vti test, CN=$3" \
			--outform pem "${@:4}" > "$P/$1.pem" 2>/dev/null
	[ -s "$P/$1.pem" ] || fail "pki could not issue $1"
}
for k in root int a b; do rsa4096 "$k"; done
pki --self --ca --lifetime 3650 --in "$P/root.key" --type rsa --dn "C=CH, O=vti test, CN=root4096" \
	--outform pem > "$P/root.pem" 2>/dev/null
issue4096 int root int4096 --ca
issue4096 a int a4096
issue4096 b int b4096
cat "$P/a.pem" "$P/int.pem" > "$P/a.chain"
cat "$P/b.pem" "$P/int.pem" > "$P/b.chain"
cert_conf() {	# FILE LOCAL REMOTE INNER START ME PEER
	printf '[tunnel sti0]\nlocal = %s\nremote = %s\naddress = %s\nstart = %s\n' "$2" "$3" "$4" "$5" > "$1"
	printf 'local-cert = %s\nlocal-key = %s\nca = %s\nremote-id = "C=CH, O=vti test, CN=%s"\n' \
		"$P/$6.chain" "$P/$6.key" "$P/root.pem" "$7" >> "$1"
}
# cap_auth NAME A B: Encrypted Fragments of IKE_AUTH from both, no IP fragment
cap_auth() {
	local x ipf
	ipf=$(tshark -r "$CAP" -Y 'ip.flags.mf == 1 || ip.frag_offset > 0' 2>/dev/null | wc -l)
	[ "$ipf" = 0 ] || fail "$1: $ipf IP fragments on the wire"
	tshark -r "$CAP" -Y 'isakmp.typepayload == 53 && isakmp.exchangetype == 35' -T fields \
		-E separator='|' -e ip.src -e frame.len 2>/dev/null > "$CAP.skf"
	for x in "$2" "$3"; do
		grep -q "^$x|" "$CAP.skf" || fail "$1: no Encrypted Fragment of IKE_AUTH from $x"
	done
	SUMMARY=$(awk -F'|' '{ n[$1]++; s[$1] = s[$1] (s[$1] ? "+" : "") $2 }
		END { for (k in n) printf "IKE_AUTH from %s: %d fragments (%s bytes); ", k, n[k], s[k] }' "$CAP.skf")
}
cert_conf "$VT_TMP/a.conf" 192.0.2.1 192.0.2.2 10.255.0.1/30 yes a b4096
cert_conf "$VT_TMP/b.conf" 192.0.2.2 192.0.2.1 10.255.0.2/30 no b a4096
d0=$(dropped)
cap_start "rsa4096-vtid"
start_vtid b "$VT_TMP/b.conf"
t0=$(ms)
start_vtid a "$VT_TMP/a.conf"
wait_until 15 has_carrier a sti0 || fail "RSA 4096 chain vtid<->vtid: no carrier"
t_up=$(( $(ms) - t0 ))
wait_until 5 has_carrier b sti0 || fail "RSA 4096 chain vtid<->vtid: no carrier at the responder"
traffic "RSA 4096 chain vtid<->vtid" a 10.255.0.2 b 10.255.0.1
cap_stop
cap_auth "RSA 4096 chain vtid<->vtid" 192.0.2.1 192.0.2.2
[ "$(dropped)" = "$d0" ] || fail "RSA 4096 chain vtid<->vtid: IP fragments were dropped"
stop_vtid a; forget_pid "$PID_a"
stop_vtid b; forget_pid "$PID_b"
pass "RSA 4096 chain vtid<->vtid: up in ${t_up} ms, ping both ways, no IP fragment; $SUMMARY"
RESULTS+=("| vtid <-> vtid, RSA 4096 chain | up in ${t_up} ms | $SUMMARY |")

cp "$P/b.pem" "$VT_TMP/x509/"; cp "$P/int.pem" "$P/root.pem" "$VT_TMP/x509ca/"; cp "$P/b.key" "$VT_TMP/private/"
cat > "$VT_TMP/b.swanctl.conf" <<C
connections {
	vti {
		version = 2
		local_addrs = 192.0.2.2
		remote_addrs = 192.0.2.1
		proposals = aes128gcm16-prfsha256-x25519
		encap = yes
		mobike = no
		fragmentation = yes
		send_cert = always
		local { auth = pubkey
			certs = b.pem
			id = "C=CH, O=vti test, CN=b4096" }
		remote { auth = pubkey
			 id = "C=CH, O=vti test, CN=a4096" }
		children {
			vti {
				local_ts = 0.0.0.0/0
				remote_ts = 0.0.0.0/0
				esp_proposals = aes128gcm16
			}
		}
	}
}
C
start_charon b
cert_conf "$VT_TMP/a.conf" 192.0.2.1 192.0.2.2 10.255.0.1/30 yes a b4096
d0=$(dropped)
cap_start "rsa4096-charon"
t0=$(ms)
start_vtid a "$VT_TMP/a.conf"
wait_until 15 has_carrier a sti0 || fail "RSA 4096 chain vtid->charon: no carrier"
t_up=$(( $(ms) - t0 ))
swan_routes
traffic "RSA 4096 chain vtid->charon" a 10.255.0.2 b 10.255.0.1
cap_stop
cap_auth "RSA 4096 chain vtid->charon" 192.0.2.1 192.0.2.2
[ "$(dropped)" = "$d0" ] || fail "RSA 4096 chain vtid->charon: IP fragments were dropped"
grep -q "reassembled fragmented IKE message" "$VT_TMP/charon-b/charon.log" ||
	fail "RSA 4096 chain vtid->charon: charon did not reassemble"
stop_vtid a; forget_pid "$PID_a"
stop_charon b
pass "RSA 4096 chain vtid->charon: up in ${t_up} ms, ping both ways, no IP fragment; $SUMMARY"
RESULTS+=("| vtid -> charon, RSA 4096 chain | up in ${t_up} ms | $SUMMARY |")
echo
echo "| case | establishment | IKE_AUTH on the wire (underlay MTU 1280) |"
echo "|---|---|---|"
printf '%s\n' "${RESULTS[@]}"
