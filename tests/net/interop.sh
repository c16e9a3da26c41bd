#!/bin/bash
# interop.sh PEER: the interop matrix of vtid against one real IKEv2 peer,
#   charon  strongSwan 5.9.8 (kernel-libipsec: ESP in UDP, in userspace)
#   pluto   libreswan 4.10, unpacked by ../shared/peers/libreswan/install.sh
#           and run with its XFRM shim: it negotiates but carries no ESP, so
#           scapy (esp_peer.py) does its ESP with the keys the shim logs.
# Each case starts a fresh vtid, gets a tunnel up, and passes only when
# traffic went through it both ways (charon: ping through the tunnel;
# pluto: ESP that vtid accepts and vtid's ESP decrypted), and only when
# tshark, reading the case's capture with the keys the peer logged,
# decrypts every IKE message and ESP packet in it (wire_check.py).  Prints
# the matrix at the end: peer, vtid's role, case, result, ms to carrier.
. "$(dirname "$0")/lib.sh"
PEER=${1:?usage: interop.sh charon|pluto}
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
$PY -c 'import scapy.layers.ipsec' 2>/dev/null || fail "python3-scapy is not installed (scripts/deps.sh)"
PSK=an-interop-secret-$$
ms() { date +%s%3N; }

# Addresses: vtid in a at 192.0.2.1, the peer in b at 192.0.2.2 (or, in the
# NAT cases, at 198.51.100.2 behind namespace r, whose 192.0.2.2 it
# masquerades to).  Inner: vtid 10.255.0.1, peer 10.255.0.2.
# VTI_SEEN: vtid's address as the peer sees it (another behind a NAT).
PEER_IP=192.0.2.2 VTI_IP=192.0.2.1 VTI_SEEN=192.0.2.1 PNS=b
setup_direct() {
	ns_add a; ns_add b; link_ab a b
	in_ns $PNS ip addr add 10.255.0.2/32 dev lo
}

# ---- the peers --------------------------------------------------------
# peer_conf ROLE IKE ESP ENCAP [OPTIONS...]: proposals in strongSwan's words;
# ROLE is vtid's (the peer's is the other); OPTIONS: pfs, narrow (0/0 only),
# cookies (the peer demands them), rekey=CHILD/IKE seconds, nat.
# peer_start; peer_initiate; peer_rekey child|ike; peer_terminate; peer_sas.

if [ "$PEER" = charon ]; then
	command -v /usr/lib/ipsec/charon >/dev/null || fail "strongswan-charon is not installed (scripts/deps.sh)"
	peer_conf() {
		local role=$1 ike=$2 esp=$3 encap=$4 opt o rekey="" ikerekey="" ts=0.0.0.0/0
		shift 4
		PEER_OPTS="$*"
		for o in "$@"; do
			case "$o" in
			narrow) ts=0.0.0.0/0 ;;
			rekey=*) o=${o#rekey=}
				# only rekey_time, as in issue 11: with kernel-libipsec
				# charon then lets the Child SA hard-expire, DELETEs it
				# and creates the next one in the same IKE SA
				rekey="rekey_time = ${o%/*}s"
				ikerekey="rekey_time = ${o#*/}s" ;;
			esac
		done
		[ "$encap" = yes ] && encap=yes || encap=no
		cat > "$VT_TMP/$PNS.swanctl.conf" <<C
connections {
	vti {
		version = 2
		local_addrs = $PEER_IP
		remote_addrs = $VTI_SEEN
		proposals = $ike
		encap = $encap
		mobike = no
		$ikerekey
		local { auth = psk
			id = $PEER_IP }
		remote { auth = psk
			 id = 192.0.2.1 }
		children {
			vti {
				local_ts = $ts
				remote_ts = $ts
				esp_proposals = $esp
				$rekey
			}
		}
	}
}
secrets {
	ike-vti {
		id-a = 192.0.2.1
		id-b = $PEER_IP
		secret = "$PSK"
	}
}
C
	}
	CHARON_UP=""
	peer_start() {
		local want=""
		case " $PEER_OPTS " in *" cookies "*) want=cookies ;; esac
		# charon's cookie threshold is global: restart it when it changes
		if [ "$CHARON_UP" = "run:$want:$PNS" ]; then
			swanctl_load $PNS; return 0
		fi
		[ -n "$CHARON_UP" ] && stop_charon "${CHARON_UP##*:}"
		if [ "$want" = cookies ]; then CHARON_EXTRA="cookie_threshold = 0"; else CHARON_EXTRA=""; fi
		CHARON_IKE_LOG=4 start_charon "$PNS"
		CHARON_UP="run:$want:$PNS"
	}
	peer_initiate() { swanctl $PNS --initiate --child vti --timeout 15 >/dev/null 2>&1; }
	peer_rekey() { swanctl $PNS --rekey "--$1" vti >/dev/null 2>&1; }
	peer_terminate() { swanctl $PNS --terminate --ike vti --timeout 10 >/dev/null 2>&1; }
	peer_sas() { swanctl $PNS --list-sas 2>/dev/null | grep -c "ESTABLISHED" || true; }
	peer_reset() { swanctl $PNS --terminate --ike vti --force --timeout 3 >/dev/null 2>&1 || true; }
	# charon routes everything into ipsec0 from table 220; keep only the
	# tunnel's inner host route.
	peer_routes() {
		while in_ns $PNS ip rule del pref 220 2>/dev/null; do :; done
		in_ns $PNS ip route replace 10.255.0.1/32 dev ipsec0 src 10.255.0.2 2>/dev/null
	}
	# traffic: ping through the tunnel both ways
	traffic() {
		peer_routes
		ping_ok a 10.255.0.2 || { echo "ping vtid -> charon failed"; return 1; }
		ping_ok $PNS 10.255.0.1 || { echo "ping charon -> vtid failed"; return 1; }
	}
elif [ "$PEER" = pluto ]; then
	LSW=/tmp/libreswan-vti
	SHARED=$(cd "$HERE/../../.." && pwd)/shared
	[ -x "$SHARED/peers/libreswan/install.sh" ] || SHARED=/work/shared
	[ -x "$SHARED/peers/libreswan/install.sh" ] ||
		fail "no shared/peers/libreswan/install.sh beside the repository"
	"$SHARED/peers/libreswan/install.sh" "$LSW" >"$VT_TMP/install.out" 2>&1 ||
		{ cat "$VT_TMP/install.out" >&2; fail "libreswan could not be installed"; }
	# shellcheck source=/dev/null
	. "$LSW/env"
	PL=$VT_TMP/pluto
	lsw() { echo "$1" | sed 's/-sha256-prfsha256/-sha256/g; s/aes128gcm16/aes_gcm128/g; s/aes256gcm16/aes_gcm256/g; s/prfsha256/sha2_256/g;
		s/sha256/sha2_256/g; s/ecp256/dh19/g; s/modp2048/dh14/g; s/x25519/dh31/g; s/, /,/g'; }
	peer_conf() {
		local role=$1 ike=$2 esp=$3 encap=$4 o pfs=no ts="0.0.0.0/0" setup="" extra="" auto=add
		shift 4
		PEER_OPTS="$*"
		for o in "$@"; do
			case "$o" in
			pfs) pfs=yes ;;	# its PFS group is the IKE SA's
			cookies) setup="ddos-mode=busy" ;;
			rekey=*) o=${o#rekey=}
				extra="salifetime=$((${o%/*} * 3))s
    rekeymargin=$((${o%/*} * 2))s
    rekeyfuzz=0%
    ikelifetime=$((${o#*/} * 3))s" ;;
			esac
		done
		[ "$encap" = yes ] && encap=yes || encap=auto
		mkdir -p "$PL"
		cat > "$PL/ipsec.conf" <<C
config setup
    logfile=$PL/pluto.log
    logappend=yes
    # private: the IKE keys, for tshark (wire_check.py)
    plutodebug="base,private"
    dumpdir=$PL/run
    $setup
conn vti
    authby=secret
    ikev2=insist
    left=$PEER_IP
    leftid=$PEER_IP
    right=$VTI_SEEN
    rightid=192.0.2.1
    leftsubnet=$ts
    rightsubnet=$ts
    ike=$(lsw "$ike")
    esp=$(lsw "$esp" | sed 's/-dh[0-9]*//g')
    pfs=$pfs
    encapsulation=$encap
    leftupdown=%disabled
    auto=$auto
    $extra
C
		echo "$PEER_IP 192.0.2.1 : PSK \"$PSK\"" > "$PL/ipsec.secrets"
		[ "$VTI_SEEN" = 192.0.2.1 ] || echo "$PEER_IP $VTI_SEEN : PSK \"$PSK\"" >> "$PL/ipsec.secrets"
	}
	PLUTO_PID=""
	peer_start() {
		peer_stop
		PLUTO_PID=$(bash "$SHARED/peers/libreswan/pluto-ns.sh" "${VT_ID}$PNS" "$PL" "$LSW") ||
			fail "pluto did not start"
		VT_PIDS+=("$PLUTO_PID")
	}
	peer_stop() {
		[ -n "$PLUTO_PID" ] || return 0
		kill -TERM "$PLUTO_PID" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$PLUTO_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$PLUTO_PID" 2>/dev/null || true
		wait "$PLUTO_PID" 2>/dev/null || true
		PLUTO_PID=""
	}
	whack() { LD_LIBRARY_PATH=$LSW_LIB timeout 20 "$LSW_ROOT/usr/libexec/ipsec/whack" --rundir "$PL/run" "$@"; }
	peer_initiate() { whack --initiate --name vti >/dev/null 2>&1; }
	peer_rekey() { whack "--rekey-$([ "$1" = child ] && echo ipsec || echo ike)" --name vti >/dev/null 2>&1; }
	peer_terminate() { whack --terminate --name vti >/dev/null 2>&1; }
	peer_sas() { whack --showstates 2>/dev/null | grep -c "STATE_V2_ESTABLISHED_IKE_SA" || true; }
	peer_reset() { peer_stop; }
	# traffic: scapy, with the SA keys pluto's shim logged, sends ESP that
	# vtid must accept and decrypts the ESP vtid answers with
	traffic() {
		local c in out rx0 rx1
		c=$(vtictl a -j show sti0 | jq -c '.[0].child')
		in=$(echo "$c" | jq -r .spi_in); out=$(echo "$c" | jq -r .spi_out)
		[ "$in" != null ] || { echo "vtid has no Child SA"; return 1; }
		rx0=$(counter a sti0 rx_packets)
		in_ns $PNS $PY "$HERE/esp_peer.py" "$PL/fakexfrm.log" "$PEER_IP" "$VTI_SEEN" \
			10.255.0.2 10.255.0.1 "$in" "$out" 3 "$@" > "$VT_TMP/esp_peer.out" 2>&1 ||
			{ cat "$VT_TMP/esp_peer.out"; vtictl a -j show sti0 | jq -c '.[0] | [.child, .counters]'
			  vtictl a -j stats | jq -c .; return 1; }
		rx1=$(counter a sti0 rx_packets)
		[ $((rx1 - rx0)) -ge 3 ] || { echo "vtid counted $((rx1 - rx0)) packets in"; return 1; }
	}
else
	fail "unknown peer $PEER (charon or pluto)"
fi

# ---- vtid -------------------------------------------------------------
# vti_conf ROLE IKE ESP ENCAP [extra lines]
vti_conf() {
	local role=$1 ike=$2 esp=$3 encap=$4
	shift 4
	{
		cat <<C
[daemon]
C
		[ -n "${VTI_DAEMON:-}" ] && echo "$VTI_DAEMON"
		cat <<C
[tunnel sti0]
local = $VTI_IP
remote = $REMOTE
local-id = 192.0.2.1
remote-id = $PEER_IP
address = 10.255.0.1/30, fd00:255::1/64
psk = $PSK
ike = $ike
esp = $esp
encap = $encap
start = $([ "$role" = init ] && echo yes || echo no)
C
		local l
		for l in "$@"; do echo "$l"; done
	} > "$VT_TMP/a.conf"
}
REMOTE=192.0.2.2

# up ROLE: get the tunnel up from the given side; sets T_UP (ms)
up() {
	local t0
	t0=$(ms)
	start_vtid a "$VT_TMP/a.conf"
	if [ "$1" = resp ]; then
		peer_initiate || { echo "the peer could not initiate"; return 1; }
	fi
	wait_until 20 has_carrier a sti0 || { echo "no carrier"; return 1; }
	T_UP=$(( $(ms) - t0 ))
}
down_vtid() {
	[ -n "${PID_a:-}" ] || return 0
	kill -TERM "$PID_a" 2>/dev/null || true
	wait "$PID_a" 2>/dev/null || true
	forget_pid "$PID_a"
	PID_a=""
}

MATRIX=()
FAILED=0
FLOW=""
# stop_flow: end the background traffic of a case that failed midway (it
# would send into the next case's capture)
stop_flow() {
	[ -n "$FLOW" ] || return 0
	kill -TERM "$FLOW" 2>/dev/null || true
	wait "$FLOW" 2>/dev/null || true
	FLOW=""
}
# run ROLE CASE FUNCTION: one row of the matrix.  The function runs in this
# shell (vtid and the peer it starts are cleaned up by lib.sh), with errexit
# off: it checks each step and returns 1 with a reason on stdout.
# Every case is captured on vtid's side and read by tshark (wire_check.py)
# with the keys the peer logged meanwhile: a case passes only if that
# reading also succeeds.
peer_logs() {	# the peer's key logs
	if [ "$PEER" = charon ]; then
		ls "$VT_TMP"/charon-*/charon.log 2>/dev/null
	else
		echo "$PL/pluto.log" "$PL/fakexfrm.log"
	fi
}
log_marks() {	# each key log with its current size: LOG@BYTES
	local f
	for f in $(peer_logs); do echo "$f@$(stat -c %s "$f" 2>/dev/null || echo 0)"; done
}
wire_start() {
	WIRE=$VT_TMP/$PEER-$1-$2.pcap
	# ip netns exec execs tcpdump: $! is tcpdump's own PID.  Immediate
	# mode: otherwise packets wait in a TPACKET_V3 block until its 1 s
	# timeout, and what came in the last second before the stop is lost
	# (the ESP of a fast case, while its IKE was already read).
	ip netns exec "${VT_ID}a" tcpdump --immediate-mode -i any -U -s 0 -w "$WIRE" \
		'udp port 500 or udp port 4500 or esp' 2>"$WIRE.err" &
	TCPD=$!
	VT_PIDS+=("$TCPD")
	wait_until 5 grep -q "listening on" "$WIRE.err" || echo "tcpdump did not start"
	MARKS=$(log_marks)
}
wire_stop() {	# check the capture; prints why not
	local m marks=() f
	sleep 0.3
	kill -TERM "$TCPD" 2>/dev/null; wait "$TCPD" 2>/dev/null
	forget_pid "$TCPD"
	TCPD=""
	# logs that appeared during the case are read from their start
	for f in $(peer_logs); do
		m=$(grep -F "$f@" <<<"$MARKS") || m="$f@0"
		marks+=("$m")
	done
	$PY "$HERE/wire_check.py" "$WIRE" "$PEER" "${marks[@]}"
}
run() {
	local role=$1 name=$2 fn=$3 ok=1
	T_UP="-"
	echo "-- $PEER $role $name"
	wire_start "$role" "$name"
	$fn "$role" || ok=""
	if [ -n "$ok" ] && ! wire_stop; then ok=""; fi
	if [ -n "$ok" ]; then
		MATRIX+=("| $PEER | $role | $name | pass | $T_UP |")
		echo "ok: $PEER $role $name ($T_UP ms to carrier)"
	else
		MATRIX+=("| $PEER | $role | $name | FAIL | $T_UP |")
		echo "FAIL: $PEER $role $name"
		tail -20 "$VT_TMP/a.log" 2>/dev/null | sed 's/^/   vtid: /'
		FAILED=1
	fi
	if [ -n "$TCPD" ]; then	# the case failed before wire_stop
		kill -TERM "$TCPD" 2>/dev/null || true
		wait "$TCPD" 2>/dev/null || true
		forget_pid "$TCPD"
		TCPD=""
	fi
	stop_flow
	down_vtid
	peer_reset
	: > "$VT_TMP/a.log"
}
establish() {	# ROLE IKE ESP VTI_ENCAP PEER_ENCAP [peer options...]
	local role=$1 ike=$2 esp=$3 ve=$4 pe=$5
	shift 5
	peer_conf "$role" "$ike" "$esp" "$pe" "$@"
	peer_start
	vti_conf "$role" "${VTI_IKE:-$ike}" "${VTI_ESP:-$esp}" "$ve" ${VTI_EXTRA:+"$VTI_EXTRA"}
	up "$role"
}

# ---- the cases ----------------------------------------------------------
# IKE: AES-GCM with charon; with pluto AES-CBC + HMAC-SHA2, since pluto
# logs IKE keys without the AES-GCM salt and tshark could not read them.
if [ "$PEER" = charon ]; then GE=aes128gcm16-prfsha256; else GE=aes128-sha256-prfsha256; fi
G=$GE-ecp256
E=aes128gcm16
no_carrier() { ! has_carrier a sti0; }
ike_prop() { vtictl a -j show sti0 | jq -r '.[0].ike.proposal'; }

c_basic() { establish "$1" $G $E auto auto && traffic; }
c_encap_both() { establish "$1" $G $E yes yes && traffic; }
c_encap_vti() { establish "$1" $G $E yes auto && traffic; }
c_encap_peer() { establish "$1" $G $E auto yes && traffic; }
# several proposals, the one both accept not first (on whichever side offers)
c_proposals() {
	if [ "$1" = init ]; then
		VTI_IKE="aes256-sha256-modp2048, $G" VTI_ESP="aes256-sha256, $E" \
			establish init $G $E auto auto || return 1
	else
		VTI_IKE=$G VTI_ESP=$E establish resp \
			"aes256gcm16-prfsha256-ecp256, $G" "aes256gcm16, $E" auto auto || return 1
	fi
	[ "$(ike_prop)" = "$G" ] || { echo "IKE proposal $(ike_prop)"; return 1; }
	traffic
}
# INVALID_KE_PAYLOAD: the initiator's KE is for a group the responder
# accepts only second (RFC 7296 §1.2)
c_invalid_ke() {
	if [ "$1" = init ]; then
		VTI_IKE="$GE-x25519, $G" establish init $G $E auto auto || return 1
	else
		local two=$GE-x25519-ecp256
		[ "$PEER" = pluto ] && two=$GE-x25519+ecp256
		VTI_IKE=$G establish resp "$two" $E auto auto || return 1
	fi
	traffic
}
# cookies (RFC 7296 §2.6): vtid demands them of an initiating peer, the
# peer demands them of vtid
c_cookies() {
	if [ "$1" = resp ]; then
		VTI_DAEMON="cookie-threshold = 0" establish resp $G $E auto auto || return 1
		[ "$(vtictl a -j stats | jq .ike_cookies_sent)" -ge 1 ] || { echo "vtid sent no cookie"; return 1; }
	else
		establish init $G $E auto auto cookies || return 1
	fi
	traffic
}
# Child and IKE rekeys from both ends (PFS when $2 = pfs), traffic after each
c_rekey() {
	local esp=$E opt="" spi0 n
	if [ "${2:-}" = pfs ]; then esp=$E-ecp256; opt=pfs; fi
	establish "$1" $G "$esp" auto auto $opt || return 1
	traffic || return 1
	spi0=$(vtictl a -j show sti0 | jq -r '.[0].child.spi_in')
	# traffic all the while: 300 pings at 20 ms through charon; with pluto,
	# scapy's ESP on whichever SA pluto installed last (esp_peer.py --stream)
	# (ip netns exec execs the program: $! is its own PID, for stop_flow)
	if [ "$PEER" = charon ]; then
		ip netns exec "${VT_ID}a" ping -i 0.02 -c 300 -q 10.255.0.2 > "$VT_TMP/ping.out" 2>&1 &
	else
		rm -f "$VT_TMP/stream.stop"
		ip netns exec "${VT_ID}$PNS" $PY "$HERE/esp_peer.py" --stream "$VT_TMP/stream.stop" 0 \
			"$PL/fakexfrm.log" "$PEER_IP" "$VTI_SEEN" 10.255.0.2 10.255.0.1 \
			> "$VT_TMP/stream.out" 2>&1 &
	fi
	FLOW=$!
	sleep 0.7
	for step in "vtictl a rekey sti0" "peer_rekey child" "vtictl a rekey sti0 ike" \
		"peer_rekey ike" "vtictl a rekey sti0" "peer_rekey child"; do
		$step >/dev/null || { echo "$step failed"; return 1; }
		sleep 1
	done
	if [ "$PEER" = charon ]; then
		wait $FLOW; FLOW=""
		grep -q " 0% packet loss" "$VT_TMP/ping.out" || { echo "lost: $(tail -2 "$VT_TMP/ping.out")"; return 1; }
	else
		# the stream ends when told, after the last rekey
		touch "$VT_TMP/stream.stop"
		wait $FLOW || { FLOW=""; cat "$VT_TMP/stream.out"; return 1; }
		FLOW=""
		cat "$VT_TMP/stream.out"
	fi
	[ "$(vtictl a -j show sti0 | jq -r '.[0].child.spi_in')" != "$spi0" ] || { echo "SPI unchanged"; return 1; }
	n=$(grep -c "re-keyed" "$VT_TMP/a.log")
	[ "$n" -ge 6 ] || { echo "$n re-keyed events, not 6"; return 1; }
	if [ -n "$opt" ] && ! grep -q "with PFS" "$VT_TMP/a.log"; then echo "the peer's rekey had no PFS"; return 1; fi
	[ "$(peer_sas)" = 1 ] || { echo "the peer has $(peer_sas) IKE SAs"; return 1; }
	traffic
}
c_rekey_pfs() { c_rekey "$1" pfs; }
# the peer rekeys on its own timers (Child SA every 6 s, IKE SA every 14 s)
# under 300 pings at 50 ms (issue 11, item 3).  charon (kernel-libipsec,
# rekey_time only) lets each Child SA hard-expire, DELETEs it and creates
# the next in the same IKE SA: vtid must keep the IKE SA for that (it
# closed it, and the tunnel was down for a whole new IKE_SA_INIT +
# IKE_AUTH).  charon breaks before it makes, so a ping in that gap of a
# few ms may be lost: at most one per Child SA it replaced.
c_rekey_timed() {
	local lost ups rep
	establish "$1" $G $E auto auto rekey=6/14 || return 1
	traffic || return 1
	in_ns a ping -i 0.05 -c 300 -q 10.255.0.2 > "$VT_TMP/ping.out" 2>&1
	lost=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$VT_TMP/ping.out")
	lost=$((300 - ${lost:-0}))
	ups=$(grep -c "IKE SA established" "$VT_TMP/a.log")
	rep=$(grep -c "re-keyed\|peer deleted Child SA" "$VT_TMP/a.log")
	echo "300 pings: $lost lost; IKE SAs established: $ups; Child SA replacements and rekeys: $rep"
	[ "$ups" = 1 ] || { echo "the tunnel started over $((ups - 1)) times"; return 1; }
	[ "$rep" -ge 3 ] || { echo "too few rekeys"; return 1; }
	[ "$lost" -le $((rep / 2 + 1)) ] || { echo "too many pings lost"; return 1; }
	traffic
}
# DELETE from the peer: vtid's carrier drops (an initiating vtid then comes
# back); DELETE from vtid (vtictl down): the peer keeps no SA
c_delete() {
	establish "$1" $G $E auto auto || return 1
	traffic || return 1
	peer_terminate || { echo "the peer could not terminate"; return 1; }
	wait_until 10 grep -q "deleted by the peer\|peer deleted" "$VT_TMP/a.log" || { echo "vtid saw no DELETE"; return 1; }
	if [ "$1" = init ]; then
		wait_until 20 has_carrier a sti0 || { echo "vtid did not come back"; return 1; }
	else
		wait_until 5 no_carrier || { echo "carrier stayed up"; return 1; }
		peer_initiate || { echo "the peer could not initiate again"; return 1; }
		wait_until 20 has_carrier a sti0 || { echo "no carrier again"; return 1; }
	fi
	traffic || return 1
	vtictl a down sti0 >/dev/null
	wait_value 10 peer_sas = 0 || { echo "the peer kept $(peer_sas) SAs after vtictl down"; return 1; }
}
# the peer narrows 0/0 + ::/0 to 0/0: vtid must send no IPv6 into the SA
c_narrow() {
	local tx0 tx1
	establish "$1" $G $E auto auto narrow || return 1
	traffic || return 1
	tx0=$(counter a sti0 tx_packets)
	in_ns a ping -6 -c 3 -i 0.2 -W 1 -I sti0 fd00:255::2 >/dev/null 2>&1 || true
	tx1=$(counter a sti0 tx_packets)
	[ "$tx1" = "$tx0" ] || { echo "vtid sent $((tx1 - tx0)) IPv6 packets into an IPv4-only SA"; return 1; }
	traffic
}

# NAT-T through a real NAT (RFC 7296 §2.23, RFC 3948).  Namespace r
# joins vtid's second link (a 203.0.113.1, r 203.0.113.2) to c's
# (r 198.51.100.1, c 198.51.100.2), where the peer runs.
#   nat       the peer behind r, which masquerades it as 203.0.113.2;
#             the peer initiates.
#   nat_init  vtid behind r, which masquerades it as 198.51.100.1; vtid
#             initiates.
# ESP goes in UDP.  Then the NAT forgets its mappings and moves the side
# behind it to other ports: that side's next IKE request (a Child rekey)
# must move the other's SAs to the new port (the side behind the NAT must
# not move), and traffic flows both ways again.
NAT_UP=""
setup_nat() {
	[ -n "$NAT_UP" ] && return 0
	ns_add r; ns_add c
	ip link add "${VT_ID}n" netns "${VT_ID}a" type veth peer name "${VT_ID}m" netns "${VT_ID}r"
	ip -n "${VT_ID}a" link set "${VT_ID}n" name eth1 up
	ip -n "${VT_ID}r" link set "${VT_ID}m" name eth0 up
	ip -n "${VT_ID}a" addr add 203.0.113.1/24 dev eth1
	ip -n "${VT_ID}r" addr add 203.0.113.2/24 dev eth0
	ip link add "${VT_ID}p" netns "${VT_ID}r" type veth peer name "${VT_ID}q" netns "${VT_ID}c"
	ip -n "${VT_ID}r" link set "${VT_ID}p" name eth1 up
	ip -n "${VT_ID}c" link set "${VT_ID}q" name eth0 up
	ip -n "${VT_ID}r" addr add 198.51.100.1/24 dev eth1
	ip -n "${VT_ID}c" addr add 198.51.100.2/24 dev eth0
	ip -n "${VT_ID}c" route add default via 198.51.100.1
	ip -n "${VT_ID}a" route add 198.51.100.0/24 via 203.0.113.2
	ip -n "${VT_ID}c" addr add 10.255.0.2/32 dev lo
	in_ns r sysctl -qw net.ipv4.ip_forward=1
	NAT_UP=1
}
nat_rule() {	# OUT PORTS: masquerade what leaves r by OUT; PORTS "" keeps
		# ports where it can, ":30000-30999" moves them.  The old
		# mappings are forgotten.
	in_ns r nft -f - <<N
flush ruleset
table ip nat {
	chain post { type nat hook postrouting priority srcnat; $([ -n "$2" ] && echo "oifname \"$1\" meta l4proto udp masquerade to $2;") oifname "$1" masquerade; }
}
N
	in_ns r conntrack -F >/dev/null 2>&1 || true
}
# nat_case ROLE: the peer in c; ROLE init puts vtid behind the NAT
nat_case() {
	local rc=0
	command -v conntrack >/dev/null || { echo "conntrack is not installed (scripts/deps.sh)"; return 1; }
	setup_nat
	if [ "$1" = init ]; then
		PNS=c PEER_IP=198.51.100.2 VTI_IP=203.0.113.1 VTI_SEEN=198.51.100.1 REMOTE=198.51.100.2
		NAT_OUT=eth1
	else
		PNS=c PEER_IP=198.51.100.2 VTI_IP=203.0.113.1 VTI_SEEN=203.0.113.1 REMOTE=203.0.113.2
		NAT_OUT=eth0
	fi
	nat_rule $NAT_OUT ""
	nat_steps "$1" || rc=1
	peer_reset
	[ "$PEER" = charon ] && { stop_charon c; CHARON_UP=""; }
	PNS=b PEER_IP=192.0.2.2 VTI_IP=192.0.2.1 VTI_SEEN=192.0.2.1 REMOTE=192.0.2.2
	return $rc
}
nat_steps() {
	local encap moved
	establish "$1" $G $E auto auto || return 1
	encap=$(vtictl a -j show sti0 | jq -r '.[0].child.encap')
	[ "$encap" = udp ] || { echo "no NAT detected: encap $encap"; return 1; }
	traffic || return 1
	nat_rule $NAT_OUT ":30000-30999"
	if [ "$1" = init ]; then
		vtictl a rekey sti0 >/dev/null || { echo "vtid could not rekey after the NAT change"; return 1; }
	else
		peer_rekey child || { echo "the peer could not rekey after the NAT change"; return 1; }
	fi
	sleep 1
	traffic || { echo "no traffic after the NAT mapping changed"; return 1; }
	in_ns r conntrack -L -p udp 2>/dev/null | grep -Eq 'dport=30[0-9]{3}' ||
		{ echo "the NAT did not move to a new port"; in_ns r conntrack -L -p udp; return 1; }
	moved=$(vtictl a -j stats | jq .ike_peer_moved)
	if [ "$1" = init ]; then
		[ "$moved" = 0 ] || { echo "vtid, behind the NAT, moved its peer $moved times"; return 1; }
	else
		[ "$moved" -ge 1 ] || { echo "vtid did not follow the peer's new mapping"; return 1; }
	fi
	echo "NAT mapping changed (the $([ "$1" = init ] && echo "vtid's" || echo "peer's") 4500 now leaves from a port in 30000-30999); the other side followed"
}
c_nat() { nat_case "$1"; }

CASES=(basic encap_both encap_vti encap_peer proposals invalid_ke cookies rekey rekey_pfs delete narrow nat)
[ "$PEER" = charon ] && CASES+=(rekey_timed)
[ -n "${INTEROP_CASES:-}" ] && read -ra CASES <<<"$INTEROP_CASES"
setup_direct
for c in "${CASES[@]}"; do
	for role in init resp; do
		case "$c" in rekey_timed) [ "$role" = init ] && continue ;; esac
		run "$role" "$c" "c_$c"
	done
done

echo
echo "| peer | vtid | case | result | ms to carrier |"
echo "|---|---|---|---|---|"
printf '%s\n' "${MATRIX[@]}"
[ "$FAILED" = 0 ] || fail "$PEER: some cases failed"
