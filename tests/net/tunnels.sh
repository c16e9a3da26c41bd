#!/bin/bash
# Every algorithm, over every combination of outer family (IPv4, IPv6)
# and encapsulation (raw ESP, ESP in UDP), carrying IPv4 and IPv6.  All
# tunnels of one run share the same pair of outer addresses, so each
# ping also shows that SPIs keep them apart.
. "$(dirname "$0")/lib.sh"

SUITES=(aes128gcm16 aes256gcm16 chacha20poly1305 aes128-sha256 aes256-sha256
	aes256-sha384 aes256-sha512 aes128gcm16-esn aes256-sha256-esn)

ns_add a; ns_add b; link_ab a b

run_matrix() {
	local outer="$1" encap="$2" la lb i s n ka kb
	if [ "$outer" = 4 ]; then la=192.0.2.1; lb=192.0.2.2; else la=2001:db8::1; lb=2001:db8::2; fi
	: > "$VT_TMP/a.conf"; : > "$VT_TMP/b.conf"
	for i in "${!SUITES[@]}"; do
		s=${SUITES[$i]}; n=$(keymat_len "$s")
		ka=$(key "$n" "a$i$s"); kb=$(key "$n" "b$i$s")
		manual_tunnel "t$i" $la $lb "$s" $((0x1000 + i)) $((0x2000 + i)) "$kb" "$ka" \
			"10.1.$i.1/30, fd00:1:$i::1/64" "encap = $encap" >> "$VT_TMP/a.conf"
		manual_tunnel "t$i" $lb $la "$s" $((0x2000 + i)) $((0x1000 + i)) "$ka" "$kb" \
			"10.1.$i.2/30, fd00:1:$i::2/64" "encap = $encap" >> "$VT_TMP/b.conf"
	done
	start_vtid a "$VT_TMP/a.conf"
	start_vtid b "$VT_TMP/b.conf"
	for i in "${!SUITES[@]}"; do
		local before after
		before=$(vtictl b -j show | jq -c '[.[].counters.rx_packets]')
		ping_ok a "10.1.$i.2" || fail "IPv$outer/$encap ${SUITES[$i]}: IPv4 ping a->b"
		ping_ok b "fd00:1:$i::1" || fail "IPv$outer/$encap ${SUITES[$i]}: IPv6 ping b->a"
		after=$(vtictl b -j show | jq -c '[.[].counters.rx_packets]')
		# A burst through t$i must land on t$i alone: b's other tunnels see at
		# most their own IPv6 housekeeping (router solicitations, MLD).
		in_ns a ping -c 30 -i 0.005 -q "10.1.$i.2" >/dev/null || fail "burst on t$i"
		after=$(vtictl b -j show | jq -c '[.[].counters.rx_packets]')
		jq -en --argjson x "$before" --argjson y "$after" --argjson i "$i" \
			'[range(0; $x|length) | $y[.] - $x[.]] as $d |
			 $d[$i] >= 36 and ([range(0; $d|length) | select(. != $i) | $d[.]] | max) < 6' \
			>/dev/null ||
			fail "IPv$outer/$encap: t$i's traffic went astray: rx $before -> $after"
		pass "outer IPv$outer, encap $encap, ${SUITES[$i]}: IPv4 and IPv6 both ways"
	done
	# Bulk TCP both ways, inner IPv4 and IPv6: TSO super-packets are cut
	# into ESP segments and coalesced again on receive; the bytes arrive
	# unchanged (SHA-256), and the offload counters show both happened.
	for i in 0 2 3; do
		tcp_copy a b "10.1.$i.2" 4000000
		tcp_copy b a "fd00:1:$i::1" 4000000
	done
	for ns in a b; do
		vtictl $ns -j show t0 | jq -e '.[0].counters | .tx_tso > 0 and .rx_gro > 0' >/dev/null ||
			fail "IPv$outer/$encap: no TSO or GRO on $ns: $(vtictl $ns show t0 | grep offload)"
	done
	pass "outer IPv$outer, encap $encap: 4 MB over TCP both ways, IPv4 and IPv6, GCM, ChaCha20, CBC: intact; $(vtictl b show t0 | grep offload | sed 's/^ *//')"
	# UDP sent as GSO super-packets (QUIC senders do this): the kernel
	# hands vtid USO packets, cut into datagrams for ESP, and the far end
	# glues them again for its TUN device; every datagram arrives intact.
	local i cut glued r
	for ns in a b; do
		vtictl $ns -j show t0 | jq -e '.[0].offload == "tcp+udp"' >/dev/null ||
			fail "$ns: the TUN device does not take UDP super-packets (Linux 6.2 does): $(vtictl $ns show t0 | grep offload)"
	done
	for i in 0 3; do
		cut=$(counter a t$i tx_tso); glued=$(counter b t$i rx_gro)
		r=$(udp_gso_copy a b "10.1.$i.2")
		[ "$(counter a t$i tx_tso)" -ge $((cut + 150)) ] && [ "$(counter b t$i rx_gro)" -gt "$glued" ] ||
			fail "IPv$outer/$encap ${SUITES[$i]}: UDP super-packets not cut or not glued: $(vtictl a show t$i | grep offload) / $(vtictl b show t$i | grep offload)"
		cut=$(counter b t$i tx_tso); glued=$(counter a t$i rx_gro)
		r="$r; $(udp_gso_copy b a "fd00:1:$i::1")"
		[ "$(counter b t$i tx_tso)" -ge $((cut + 150)) ] && [ "$(counter a t$i rx_gro)" -gt "$glued" ] ||
			fail "IPv$outer/$encap ${SUITES[$i]}: IPv6 UDP super-packets not cut or not glued"
		pass "outer IPv$outer, encap $encap, ${SUITES[$i]}: UDP GSO both ways, IPv4 and IPv6: $r"
	done
	# Nothing failed or went astray anywhere.
	local want_encap=none; [ "$encap" = yes ] && want_encap=udp
	for ns in a b; do
		vtictl $ns -j show | jq -e --arg e $want_encap 'all(.[]; .child.encap == $e)' \
			>/dev/null || fail "encap is not $want_encap on $ns"
		vtictl $ns -j show | jq -e 'all(.[]; .counters.rx_dropped == 0 and .carrier)' \
			>/dev/null || fail "drops or missing carrier on $ns: $(vtictl $ns show)"
		vtictl $ns -j stats | jq -e '.rx_unknown_spi == 0' >/dev/null ||
			fail "unknown SPIs on $ns"
	done
	# vtid deletes its interfaces as one link group at exit (a random
	# group of its own): every one goes, in one request, and nothing else
	# (an interface in another group and the underlay stay).
	in_ns a ip link add vtkeep type veth peer name vtkeep1
	in_ns a ip link set vtkeep group $((0x40000001))
	stop_vtid a; stop_vtid b
	for i in "${!SUITES[@]}"; do
		in_ns a ip link show t$i >/dev/null 2>&1 && fail "interface t$i left behind after exit"
	done
	grep -q "cannot delete the interfaces at once" "$VT_TMP/a.log" "$VT_TMP/b.log" &&
		fail "the interfaces were not deleted as one group"
	in_ns a ip link show vtkeep >/dev/null 2>&1 && in_ns a ip link show eth0 >/dev/null 2>&1 ||
		fail "vtid's exit took interfaces that were not its own"
	in_ns a ip link del vtkeep
	VT_PIDS=()
}

run_matrix 4 no
run_matrix 4 yes
run_matrix 6 no
run_matrix 6 yes
echo "tunnels: all passed"
