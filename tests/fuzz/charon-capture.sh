#!/bin/bash
# charon-capture.sh PCAP: record the IKE messages of a real vtid<->charon
# session for the fuzz seeds (tests/fuzz/mkseeds.py turns them into
# fuzz_ikes inputs): vtid initiates, Child and IKE SA rekeys from both
# ends, charon's DELETE, then charon initiates and vtid deletes.  Only
# IKE is kept (port 500, and 4500 behind the non-ESP marker).  Needs
# root, VTID and VTICTL, and runs under the namespace lock:
#   flock /tmp/vt-net.lock env VTID=build/vtid VTICTL=build/vtictl \
#       bash tests/fuzz/charon-capture.sh tests/fuzz/charon.pcap
. "$(dirname "$0")/../net/lib.sh"
command -v /usr/lib/ipsec/charon >/dev/null || fail "strongswan-charon is not installed"
command -v tcpdump >/dev/null || fail "tcpdump is not installed"
out=$(realpath "$1")
PSK=a-capture-secret-$$
IKE=aes128gcm16-prfsha256-x25519
ESP=aes128gcm16

ns_add a; ns_add b; link_ab a b
cat > "$VT_TMP/b.swanctl.conf" <<C
connections {
	vti {
		version = 2
		local_addrs = 192.0.2.2
		remote_addrs = 192.0.2.1
		proposals = $IKE
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
				esp_proposals = $ESP
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
vti_conf() {	# START
	cat > "$VT_TMP/a.conf" <<C
[tunnel sti0]
local = 192.0.2.1
remote = 192.0.2.2
address = 10.255.0.1/30
psk = $PSK
ike = $IKE
esp = $ESP
start = $1
C
}

# Not through in_ns: $! must be tcpdump itself (ip netns exec execs it),
# not a subshell that would ignore the SIGINT that ends the capture.
ip netns exec "${VT_ID}a" tcpdump --immediate-mode -i eth0 -U -s 0 -w "$VT_TMP/ike.pcap" \
	'udp port 500 or (udp port 4500 and udp[8:4] = 0)' 2>"$VT_TMP/tcpdump.log" &
VT_PIDS+=("$!")
TCPDUMP=$!
sleep 1
start_charon b
swanctl_load b
no_carrier() { ! has_carrier a sti0; }

vti_conf yes
start_vtid a "$VT_TMP/a.conf"
wait_until 10 has_carrier a sti0 || fail "vtid as initiator: no carrier"
vtictl a rekey sti0 >/dev/null; sleep 0.5
swanctl b --rekey --child vti >/dev/null; sleep 0.5
vtictl a rekey sti0 ike >/dev/null; sleep 0.5
swanctl b --rekey --ike vti >/dev/null; sleep 0.5
swanctl b --terminate --ike vti >/dev/null
wait_until 5 no_carrier || fail "carrier stayed up after charon's DELETE"
stop_vtid a
VT_PIDS=("${VT_PIDS[@]/$PID_a}")
sleep 0.5

vti_conf no
start_vtid a "$VT_TMP/a.conf"
swanctl b --initiate --child vti --timeout 10 >/dev/null || fail "charon could not initiate"
wait_until 5 has_carrier a sti0 || fail "vtid as responder: no carrier"
vtictl a down sti0 >/dev/null
sleep 0.5
stop_vtid a
VT_PIDS=("${VT_PIDS[@]/$PID_a}")
sleep 0.5
kill -INT "$TCPDUMP"; wait "$TCPDUMP" 2>/dev/null || true
cp "$VT_TMP/ike.pcap" "$out"
pass "captured $(tcpdump -r "$out" 2>/dev/null | wc -l) IKE datagrams into $out"
