#!/bin/bash
# Certificate authentication (RFC 7427) between two vtids: strongSwan's
# pki builds a root CA, an intermediate and leaf certificates (RSA,
# ECDSA P-256 and P-384, Ed25519) in the test's directory.  Each key type:
# the initiator's leaf via the intermediate (its chain in local-cert), the
# responder's from the root, identified by DN (a's default: its subject)
# and by a subjectAltName (b's @b.example), traffic both ways.  Refused,
# with the log line naming the check and no tunnel: a wrong CA, an expired
# leaf, a revoked leaf with a CRL loaded, a revoked intermediate with the
# root's CRL loaded, an identity not in the certificate.
. "$(dirname "$0")/lib.sh"

command -v pki >/dev/null || fail "strongSwan's pki is not installed (scripts/deps.sh)"
P="$VT_TMP/pki"
mkdir -p "$P"
pk() { pki "$@" 2>/dev/null; }

# gen NAME TYPE: a private key (mode 0600) of TYPE: rsa, p256, p384, ed25519
gen() {
	case "$2" in
	rsa) pk --gen --type rsa --size 2048 --outform pem ;;
	p256) pk --gen --type ecdsa --size 256 --outform pem ;;
	p384) pk --gen --type ecdsa --size 384 --outform pem ;;
	ed25519) pk --gen --type ed25519 --outform pem ;;
	esac > "$P/$1.key"
	chmod 600 "$P/$1.key"
}
# issue NAME ISSUER DN [pki --issue options]: NAME.pem from NAME.key
issue() {
	local n="$1" i="$2" dn="$3"; shift 3
	pk --pub --in "$P/$n.key" --type priv |
		pk --issue --cacert "$P/$i.pem" --cakey "$P/$i.key" --dn "$dn" --outform pem "$@" \
		> "$P/$n.pem"
	[ -s "$P/$n.pem" ] || fail "pki could not issue $n"
}

gen root rsa
pk --self --ca --lifetime 3650 --in "$P/root.key" --type rsa --dn "C=CH, O=vti test, CN=root" \
	--outform pem > "$P/root.pem"
gen other rsa
pk --self --ca --lifetime 3650 --in "$P/other.key" --type rsa --dn "C=CH, O=vti test, CN=other" \
	--outform pem > "$P/other.pem"
gen int p256
issue int root "C=CH, O=vti test, CN=intermediate" --ca

ns_add a; ns_add b; link_ab a b

conf() {	# NAME LOCAL REMOTE ADDR [extra lines]: one tunnel
	printf '[tunnel %s]\nlocal = %s\nremote = %s\naddress = %s\n' "$1" "$2" "$3" "$4"
	shift 4
	local l
	for l in "$@"; do echo "$l"; done
}
stop_both() {
	local ns pid
	for ns in a b; do
		pid=$(eval echo "\${PID_$ns:-}")
		[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && stop_vtid "$ns"
		eval "PID_$ns="
	done
	VT_PIDS=()
}
# pair A_CERT B_CERT B_CA [extra line for a] [extra line for b]
pair() {
	conf sti0 192.0.2.1 192.0.2.2 10.255.0.1/30 "local-cert = $P/$1.chain" \
		"local-key = $P/$1.key" "ca = $P/root.pem" "remote-id = @b.example" "${4:-}" \
		> "$VT_TMP/a.conf"
	conf sti0 192.0.2.2 192.0.2.1 10.255.0.2/30 "local-cert = $P/$2.pem" \
		"local-key = $P/$2.key" "ca = $3" "local-id = @b.example" \
		"remote-id = \"${A_DN}\"" "start = no" "${5:-}" > "$VT_TMP/b.conf"
	: > "$VT_TMP/a.log"; : > "$VT_TMP/b.log"
	start_vtid b "$VT_TMP/b.conf"; start_vtid a "$VT_TMP/a.conf"
}
# a's leaf NAME of TYPE, from the intermediate, with its chain file
leaf_a() {
	gen "$1" "$2"
	issue "$1" int "C=CH, O=vti test, CN=$1" --san a.example "${@:3}"
	cat "$P/$1.pem" "$P/int.pem" > "$P/$1.chain"
}

# 1. Each key type both sides; traffic both ways.
for t in rsa p256 p384 ed25519; do
	leaf_a "a-$t" "$t"
	gen "b-$t" "$t"
	issue "b-$t" root "C=CH, O=vti test, CN=b-$t" --san b.example
	A_DN="C=CH, O=vti test, CN=a-$t"
	pair "a-$t" "b-$t" "$P/root.pem"
	wait_until 10 has_carrier a sti0 || fail "$t: no carrier"
	wait_until 5 has_carrier b sti0 || fail "$t: no carrier on the responder"
	ping_ok a 10.255.0.2 && ping_ok b 10.255.0.1 || fail "$t: no traffic"
	# show: the peer's certificate, both ends.
	vtictl a -j show sti0 | jq -e --arg s "C=CH, O=vti test, CN=b-$t" '.[0].ike.peer_cert |
		.subject == $s and .issuer == "C=CH, O=vti test, CN=root" and
		(.not_after | test("^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$"))' >/dev/null ||
		fail "$t: show on a: $(vtictl a -j show sti0 | jq -c '.[0].ike')"
	vtictl b -j show sti0 | jq -e --arg s "$A_DN" '.[0].ike.peer_cert |
		.subject == $s and .issuer == "C=CH, O=vti test, CN=intermediate"' >/dev/null ||
		fail "$t: show on b: $(vtictl b -j show sti0 | jq -c '.[0].ike')"
	vtictl a show sti0 | grep -q "peer    C=CH, O=vti test, CN=b-$t" || fail "$t: text show"
	if [ "$t" = p256 ]; then
		# Reload (the parent pushes the PKI files again): unchanged files
		# keep the SA; a re-issued certificate is a changed tunnel, whose
		# new chain the responder accepts.
		spi=$(vtictl a -j show sti0 | jq -r '.[0].ike.spi_i')
		kill -HUP "$PID_a"
		wait_until 5 grep -q "configuration reloaded" "$VT_TMP/a.log" || fail "reload: none"
		sleep 0.5
		[ "$(vtictl a -j show sti0 | jq -r '.[0].ike.spi_i')" = "$spi" ] ||
			fail "reload: unchanged certificates, yet the IKE SA was replaced"
		issue a-p256 int "C=CH, O=vti test, CN=a-p256" --san a.example
		cat "$P/a-p256.pem" "$P/int.pem" > "$P/a-p256.chain"
		: > "$VT_TMP/a.log"
		kill -HUP "$PID_a"
		wait_until 5 grep -q "configuration reloaded" "$VT_TMP/a.log" || fail "reload 2: none"
		wait_value 10 "vtictl a -j show sti0 | jq -r '.[0].ike.spi_i'" != "$spi" ||
			fail "reload: a new certificate did not renew the tunnel"
		wait_until 10 has_carrier a sti0 && ping_ok a 10.255.0.2 || fail "reload: no traffic"
		pass "reload: unchanged PKI files keep the IKE SA; a re-issued certificate renews it"
	fi
	stop_both
	pass "$t: certificates via an intermediate, DN and subjectAltName identities, traffic both ways"
done

# refused CASE LOGLINE: the responder says why, and no tunnel comes up.
refused() {
	wait_until 10 grep -q "$2" "$VT_TMP/b.log" || fail "$1: no '$2' in b's log"
	wait_until 5 grep -q "AUTHENTICATION_FAILED" "$VT_TMP/a.log" ||
		fail "$1: initiator not told AUTHENTICATION_FAILED"
	has_carrier a sti0 && fail "$1: carrier up on a"
	has_carrier b sti0 && fail "$1: carrier up on b"
	stop_both
	pass "$1: refused, logged: $2"
}

# 2. A CA that did not issue the peer's chain.
A_DN="C=CH, O=vti test, CN=a-p256"
pair a-p256 b-p256 "$P/other.pem"
refused "wrong ca" "certificate of peer C=CH, O=vti test, CN=a-p256: not issued by a trusted ca: unable to get local issuer certificate"

# 3. An expired leaf.
leaf_a a-old p256 --not-before "01.01.20 00:00:00" --not-after "01.01.21 00:00:00"
A_DN="C=CH, O=vti test, CN=a-old"
pair a-old b-p256 "$P/root.pem"
refused "expired" "certificate of peer C=CH, O=vti test, CN=a-old: expired at 2021-01-01T00:00:00Z"

# 4. A revoked leaf, with the intermediate's CRL loaded.
leaf_a a-revoked p256
pk --signcrl --cacert "$P/int.pem" --cakey "$P/int.key" --reason key-compromise \
	--cert "$P/a-revoked.pem" --outform pem > "$P/int.crl"
A_DN="C=CH, O=vti test, CN=a-revoked"
pair a-revoked b-p256 "$P/root.pem" "" "crl = $P/int.crl"
refused "revoked" "certificate of peer C=CH, O=vti test, CN=a-revoked: revoked"

# 4b. A revoked intermediate, with the root's CRL loaded (the leaf's own
# issuer has no CRL there: the chain is checked all the same).
gen int2 p256
issue int2 root "C=CH, O=vti test, CN=intermediate2" --ca
gen a-int2 p256
issue a-int2 int2 "C=CH, O=vti test, CN=a-int2" --san a.example
cat "$P/a-int2.pem" "$P/int2.pem" > "$P/a-int2.chain"
pk --signcrl --cacert "$P/root.pem" --cakey "$P/root.key" --reason ca-compromise \
	--cert "$P/int2.pem" --outform pem > "$P/root.crl"
A_DN="C=CH, O=vti test, CN=a-int2"
pair a-int2 b-p256 "$P/root.pem" "" "crl = $P/root.crl"
refused "revoked intermediate" "certificate of peer C=CH, O=vti test, CN=a-int2: revoked by a loaded crl (a ca in its chain)"

# 5. An identity the certificate does not carry (a claims another name).
conf sti0 192.0.2.1 192.0.2.2 10.255.0.1/30 "local-cert = $P/a-p256.chain" \
	"local-key = $P/a-p256.key" "ca = $P/root.pem" "local-id = @c.example" \
	"remote-id = \"C=CH, O=vti test, CN=b-p256\"" > "$VT_TMP/a.conf"
conf sti0 192.0.2.2 192.0.2.1 10.255.0.2/30 "local-cert = $P/b-p256.pem" \
	"local-key = $P/b-p256.key" "ca = $P/root.pem" "remote-id = @*.example" "start = no" \
	> "$VT_TMP/b.conf"
: > "$VT_TMP/a.log"; : > "$VT_TMP/b.log"
start_vtid b "$VT_TMP/b.conf"; start_vtid a "$VT_TMP/a.conf"
refused "identity" "certificate of peer c.example: identity not in certificate"

# 6. The same with a name it does carry, admitted by the pattern.
sed -i 's/^local-id = @c.example$/local-id = @a.example/' "$VT_TMP/a.conf"
: > "$VT_TMP/a.log"; : > "$VT_TMP/b.log"
start_vtid b "$VT_TMP/b.conf"; start_vtid a "$VT_TMP/a.conf"
wait_until 10 has_carrier a sti0 || fail "pattern: no carrier"
ping_ok a 10.255.0.2 && ping_ok b 10.255.0.1 || fail "pattern: no traffic"
stop_both
pass "remote-id = @*.example admits a.example (subjectAltName dNSName)"

# A template hub admits a branch by its certificate: one [template]
# (remote-id a DN pattern, ca) and an instance per peer, which signs with
# the template's key (the key-holding process knows the template's name).
cat > "$VT_TMP/b.conf" <<C
[template br]
local = 192.0.2.2
remote = any
remote-id = "C=CH, O=vti test, CN=a-*"
local-cert = $P/b-p256.pem
local-key = $P/b-p256.key
ca = $P/root.pem
address = 10.255.0.2/32
pool = 10.255.0.0/24
C
conf sti0 192.0.2.1 192.0.2.2 auto "local-cert = $P/a-p256.chain" "local-key = $P/a-p256.key" \
	"ca = $P/root.pem" "remote-id = \"C=CH, O=vti test, CN=b-p256\"" > "$VT_TMP/a.conf"
: > "$VT_TMP/a.log"; : > "$VT_TMP/b.log"
start_vtid b "$VT_TMP/b.conf"; start_vtid a "$VT_TMP/a.conf"
wait_until 10 has_carrier a sti0 || fail "template: no carrier"
wait_until 5 has_carrier b br0 || fail "template: no instance br0 with carrier"
ping_ok a 10.255.0.2 || fail "template: no traffic"
vtictl b -j show br0 | jq -e '.[0].ike.peer_cert.subject == "C=CH, O=vti test, CN=a-p256"' \
	>/dev/null || fail "template: show br0: $(vtictl b -j show br0 | jq -c '.[0].ike')"
stop_both
pass "template hub: a branch admitted by its certificate (DN pattern), br0 signs with the template's key"

# 7. strongSwan 5.9.8 (charon, kernel-libipsec, ESP in UDP as in
# strongswan.sh) with certificates, both roles, each key type: charon's
# leaf from the root, vtid's via the intermediate.  charon sends its
# certificate when asked (our CERTREQ) and verifies our RFC 7427 signature.
command -v /usr/lib/ipsec/charon >/dev/null || fail "strongswan-charon is not installed"
in_ns b ip addr add 10.255.0.2/32 dev lo
CHARON_EXTRA="load = random nonce openssl kdf pem pkcs1 pkcs8 x509 pubkey curve25519 revocation constraints vici kernel-libipsec kernel-netlink socket-default"
mkdir -p "$VT_TMP/x509" "$VT_TMP/x509ca" "$VT_TMP/private"
cp "$P/root.pem" "$VT_TMP/x509ca/"
swan_conf() {	# KEYTYPE
	rm -f "$VT_TMP"/x509/* "$VT_TMP"/private/*
	cp "$P/b-$1.pem" "$VT_TMP/x509/"
	cp "$P/b-$1.key" "$VT_TMP/private/"
	cat > "$VT_TMP/b.swanctl.conf" <<C
connections {
	vti {
		version = 2
		local_addrs = 192.0.2.2
		remote_addrs = 192.0.2.1
		proposals = aes128gcm16-prfsha256-x25519
		encap = yes
		mobike = no
		local { auth = pubkey
			certs = b-$1.pem
			id = "C=CH, O=vti test, CN=b-$1" }
		remote { auth = pubkey
			 id = "C=CH, O=vti test, CN=a-$1" }
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
}
swan_routes() {
	while in_ns b ip rule del pref 220 2>/dev/null; do :; done
	in_ns b ip route replace 10.255.0.1/32 dev ipsec0 src 10.255.0.2
}
charon_sas() { swanctl b --list-sas 2>/dev/null | grep -c "ESTABLISHED" || true; }
vti_swan() {	# KEYTYPE START
	conf sti0 192.0.2.1 192.0.2.2 10.255.0.1/30 "local-cert = $P/a-$1.chain" \
		"local-key = $P/a-$1.key" "ca = $P/root.pem" \
		"remote-id = \"C=CH, O=vti test, CN=b-$1\"" "start = $2" > "$VT_TMP/a.conf"
	: > "$VT_TMP/a.log"
}
# The IKE_AUTH messages vtid sent, as charon received them (bytes, after
# UDP encapsulation's marker): request as initiator, response as responder.
auth_sizes() {
	awk '/received packet: from 192.0.2.1/ { n = $0; sub(/.*\(/, "", n); sub(/ bytes.*/, "", n) }
	     /parsed IKE_AUTH request/ { q = n } /parsed IKE_AUTH response/ { r = n }
	     END { printf "%s %s", q, r }' "$VT_TMP/charon-b/charon.log"
}
SIZES=()
swan_conf p256
start_charon b
for t in rsa p256 p384 ed25519; do
	swan_conf "$t"; swanctl_load b
	: > "$VT_TMP/charon-b/charon.log"
	vti_swan "$t" yes
	start_vtid a "$VT_TMP/a.conf"
	wait_until 10 has_carrier a sti0 || fail "charon $t: vtid as initiator: no carrier"
	swan_routes
	ping_ok a 10.255.0.2 && ping_ok b 10.255.0.1 || fail "charon $t: initiator: no traffic"
	vtictl a -j show sti0 > "$VT_TMP/show.json"
	stop_vtid a
	forget_pid "$PID_a"
	wait_value 5 charon_sas = 0 || fail "charon $t: SA kept after vtid exited"
	vti_swan "$t" no
	start_vtid a "$VT_TMP/a.conf"
	swanctl b --initiate --child vti --timeout 10 >/dev/null || fail "charon $t: could not initiate"
	wait_until 5 has_carrier a sti0 || fail "charon $t: vtid as responder: no carrier"
	swan_routes
	ping_ok a 10.255.0.2 && ping_ok b 10.255.0.1 || fail "charon $t: responder: no traffic"
	stop_vtid a
	forget_pid "$PID_a"
	wait_value 5 charon_sas = 0 || fail "charon $t: SA kept after vtid exited"
	read -r q r <<<"$(auth_sizes)"
	SIZES+=("| $t | $q | $r |")
	pass "charon $t: vtid initiator and responder, certificates both ways, traffic both ways"
done
stop_charon b

# 8. A peer without RFC 7427 (charon with signature_authentication = no
# sends no SIGNATURE_HASH_ALGORITHMS): vtid signs with RSA method 1 and
# ECDSA method 9, which charon verifies.
CHARON_EXTRA="$CHARON_EXTRA
	signature_authentication = no"
start_charon b
for t in rsa p256; do
	swan_conf "$t"; swanctl_load b
	: > "$VT_TMP/charon-b/charon.log"
	vti_swan "$t" yes
	start_vtid a "$VT_TMP/a.conf"
	wait_until 10 has_carrier a sti0 || fail "charon without RFC 7427, $t: no carrier"
	swan_routes
	ping_ok a 10.255.0.2 && ping_ok b 10.255.0.1 || fail "charon without RFC 7427, $t: no traffic"
	case $t in
	rsa) want="RSA signature" ;;
	p256) want="ECDSA-256" ;;
	esac
	grep -q "authentication of 'C=CH, O=vti test, CN=a-$t' with $want" \
		"$VT_TMP/charon-b/charon.log" || fail "charon without RFC 7427, $t: not $want: $(grep "authentication of" "$VT_TMP/charon-b/charon.log")"
	stop_vtid a
	forget_pid "$PID_a"
	wait_value 5 charon_sas = 0 || fail "charon $t: SA kept after vtid exited"
	pass "charon without SIGNATURE_HASH_ALGORITHMS, $t: vtid signed with $want (RFC 7296 §3.8 / RFC 4754)"
done
stop_charon b
echo
echo "IKE_AUTH sent by vtid (bytes on the wire, UDP payload; chain: leaf + intermediate P-256):"
echo "| key | request (initiator) | response (responder) |"
echo "|---|---|---|"
printf '%s\n' "${SIZES[@]}"
