# rawlib.sh - what the raw-ESP send-path tests (fastpath.sh, xdp.sh) share;
# sourced after lib.sh.

ESP=aes128gcm16
NK=$(keymat_len $ESP)

# conf NAME LOCAL REMOTE SPI_IN SPI_OUT KEY_IN KEY_OUT INNER4 INNER6: one
# raw-ESP manual tunnel.
conf() {
	manual_tunnel "$1" "$2" "$3" $ESP "$4" "$5" "$6" "$7" "$8, $9" "encap = no"
}

# dual_conf SIDE [DAEMON-LINE]: side a's or b's configuration of two
# tunnels over link_ab's veth, t4 (IPv4 outer) and t6 (IPv6 outer), keyed
# with the calling script's KA and KB; DAEMON-LINE goes in [daemon].
dual_conf() {
	[ -z "${2:-}" ] || printf '[daemon]\n%s\n' "$2"
	if [ "$1" = a ]; then
		conf t4 192.0.2.1 192.0.2.2 0x4102 0x4201 "$KB" "$KA" 10.4.0.1/30 fd00:4::1/64
		conf t6 2001:db8::1 2001:db8::2 0x6102 0x6201 "$KB" "$KA" 10.6.0.1/30 fd00:6::1/64
	else
		conf t4 192.0.2.2 192.0.2.1 0x4201 0x4102 "$KA" "$KB" 10.4.0.2/30 fd00:4::2/64
		conf t6 2001:db8::2 2001:db8::1 0x6201 0x6102 "$KA" "$KB" 10.6.0.2/30 fd00:6::2/64
	fi
}

# path NS TUN: the tunnel's child object (path, path_dev, path_why) and
# its text path line, for the failure messages.
path() {
	echo "json $(vtictl "$1" -j show "$2" | jq -c '.[0].child | {path, path_dev, path_why}')," \
		"text '$(vtictl "$1" show "$2" | grep '^  path ' || echo 'no path line')'"
}

# path_is NS TUN WANT: the JSON path is WANT, and the text says the same.
path_is() {
	local p line
	p=$(vtictl "$1" -j show "$2" | jq -r '.[0].child.path')
	[ "$p" = "$3" ] || return 1
	line=$(vtictl "$1" show "$2" | grep '^  path ') || return 1
	case "$3" in
	xdp) [[ "$line" == "  path    AF_XDP on "* ]] ;;
	packet) [[ "$line" == "  path    packet socket on "* ]] ;;
	socket) [[ "$line" == "  path    raw socket ("*")" ]] ;;
	udp) [[ "$line" == "  path    UDP socket" ]] ;;
	esac
}

# until_sent SECS NS DEST CMD...: ping DEST from NS through the tunnel once
# a round (the path may be looked up only when there is something to
# send) until CMD succeeds.
until_sent() {
	local end=$((SECONDS + $1)) ns="$2" dst="$3"
	shift 3
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		in_ns "$ns" ping -c 1 -W 0.3 "$dst" >/dev/null 2>&1 || true
	done
}

# wait_path SECS NS TUN WANT DEST: ... until the tunnel's path is WANT.
wait_path() { until_sent "$1" "$2" "$5" path_is "$2" "$3" "$4"; }

# copies NS_A NS_B ADDR_IN_B ADDR_IN_A: 4 MB each way, SHA-256 checked.
copies() {
	tcp_copy "$1" "$2" "$3" 4000000
	tcp_copy "$2" "$1" "$4" 4000000
}
