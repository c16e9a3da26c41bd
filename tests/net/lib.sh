# lib.sh - shared helpers for the namespace tests, in the manner of
# WireGuard's netns.sh: every test builds its own little network of
# namespaces (named vt<pid>..., so parallel runs never collide), runs real
# vtid processes in them, and removes everything it made on exit.
#
# Needs VTID and VTICTL (paths to the binaries); the CTest driver sets them.

set -euo pipefail

[ "$(id -u)" = 0 ] || { echo "FAIL: namespace tests need root (ip netns, TUN)" >&2; exit 1; }
for tool in ip jq ping; do
	command -v "$tool" >/dev/null || { echo "FAIL: $tool is not installed (run scripts/deps.sh)" >&2; exit 1; }
done

: "${VTID:?VTID must point at the vtid binary}"
: "${VTICTL:?VTICTL must point at the vtictl binary}"

VT_ID="vt$$"
VT_TMP=$(mktemp -d "/tmp/${VT_ID}.XXXXXX")
VT_NS=()
VT_PIDS=()

vt_cleanup() {
	local rc=$? pid ns
	for pid in "${VT_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${VT_PIDS[@]}"; do
		# vtid exits within a second; anything else gets no mercy.
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	for ns in "${VT_NS[@]}"; do
		ip netns del "$ns" 2>/dev/null || true
	done
	if [ "$rc" -ne 0 ] && [ -d "$VT_TMP" ]; then
		for f in "$VT_TMP"/*.log; do
			[ -f "$f" ] || continue
			echo "---- $f"; tail -n 30 "$f"
		done
	fi
	[ -n "${VT_KEEP:-}" ] || rm -rf "$VT_TMP"
	exit "$rc"
}
trap vt_cleanup EXIT
trap 'exit 130' INT TERM

# forget_pid PID: cleanup no longer ends PID (it has ended; the number may
# be reused).  Exact matches only: a pattern would cut 123 out of 1234.
forget_pid() {
	local keep=() pid
	for pid in "${VT_PIDS[@]}"; do
		[ "$pid" = "$1" ] || keep+=("$pid")
	done
	VT_PIDS=("${keep[@]}")
}

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

# ns NAME: create namespace $VT_ID$NAME with loopback up; prints nothing.
ns_add() {
	local ns="$VT_ID$1"
	ip netns add "$ns"
	VT_NS+=("$ns")
	ip -n "$ns" link set lo up
	# No duplicate address detection: a tentative link-local address
	# would delay IPv6 neighbour discovery by a second.
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0
}

in_ns() { local ns="$VT_ID$1"; shift; ip netns exec "$ns" "$@"; }

# veth A IF_A B IF_B [OPTION...] [-- OPTION...]: a veth pair between
# namespaces A and B, named IF_A in A and IF_B in B, both up; OPTIONs go to
# `ip link add` for A's end (index N), those after -- for B's.
veth() {
	local oa=() ob=() peer= x

	for x in "${@:5}"; do
		if [ "$x" = -- ]; then peer=1; elif [ -n "$peer" ]; then ob+=("$x"); else oa+=("$x"); fi
	done
	ip link add "${VT_ID}x" netns "$VT_ID$1" "${oa[@]}" type veth \
		peer name "${VT_ID}y" netns "$VT_ID$3" "${ob[@]}"
	ip -n "$VT_ID$1" link set "${VT_ID}x" name "$2" up
	ip -n "$VT_ID$3" link set "${VT_ID}y" name "$4" up
}

# link A B: a veth between namespaces A and B with IPv4 192.0.2.0/24 and
# IPv6 2001:db8::/64 (documentation prefixes, inside the namespaces only).
# A gets .1/::1, B gets .2/::2.  Optional third argument: MTU; fourth: how
# many queues each way at both ends (a veth has one).
link_ab() {
	local a="$VT_ID$1" b="$VT_ID$2" mtu="${3:-1500}" q=()
	[ -z "${4:-}" ] || q=(numtxqueues "$4" numrxqueues "$4")
	veth "$1" eth0 "$2" eth0 "${q[@]}" -- "${q[@]}"
	ip -n "$a" link set eth0 mtu "$mtu"
	ip -n "$b" link set eth0 mtu "$mtu"
	ip -n "$a" addr add 192.0.2.1/24 dev eth0
	ip -n "$b" addr add 192.0.2.2/24 dev eth0
	ip -n "$a" addr add 2001:db8::1/64 dev eth0 nodad
	ip -n "$b" addr add 2001:db8::2/64 dev eth0 nodad
}

# start_vtid NS CONF [extra args]: run vtid in NS; waits for its socket.
start_vtid() { local ns="$1"; shift; start_vtid_as "$ns" "$ns" "$@"; }

# vt_state_dir CONF DIR: give CONF's [daemon] section state-dir = DIR unless
# it names one.  Manual tunnels keep sequence marks there (SPEC "Staying
# up"); each test daemon has its own, never the shared /var/lib/vti.
vt_state_dir() {
	local conf="$1" dir="$2"
	grep -q '^[[:space:]]*state-dir[[:space:]]*=' "$conf" && return 0
	if grep -q '^[[:space:]]*\[daemon\]' "$conf"; then
		sed -i "0,/^[[:space:]]*\[daemon\]/s||[daemon]\nstate-dir = $dir|" "$conf"
	else
		printf '[daemon]\nstate-dir = %s\n' "$dir" | cat - "$conf" > "$conf.new"
		cat "$conf.new" > "$conf"
		rm -f "$conf.new"
	fi
}

# start_vtid_as KEY NS CONF [extra args]: a vtid in NS whose socket, log
# and PID variable are named KEY (several daemons in one namespace).
# Returns once vtid answers `vtictl show`: it binds the socket before it
# makes its tunnels, and answers only from its loop, after them.
start_vtid_as() {
	local key="$1" ns="$2" conf="$3"; shift 3
	local sock="$VT_TMP/$key.sock" log="$VT_TMP/$key.log" pid
	chmod 600 "$conf"
	vt_state_dir "$conf" "$VT_TMP/$key.state"
	ip netns exec "$VT_ID$ns" "$VTID" -c "$conf" -S "$sock" "$@" >>"$log" 2>&1 &
	pid=$!
	VT_PIDS+=("$pid")
	eval "PID_$key=$pid"
	for _ in $(seq 200); do
		[ -S "$sock" ] && "$VTICTL" -S "$sock" show >/dev/null 2>&1 && return 0
		kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; fail "vtid $key in $ns exited"; }
		sleep 0.05
	done
	[ -S "$sock" ] || fail "vtid $key in $ns did not open its control socket"
	fail "vtid $key in $ns does not answer on its control socket"
}

# stop_vtid NS: SIGTERM and wait for a clean exit (status 0).
stop_vtid() {
	local pid
	pid=$(eval echo "\$PID_$1")
	kill -TERM "$pid"
	wait "$pid" || fail "vtid in $1 exited with status $?"
}

vtictl() { local ns="$1"; shift; in_ns "$ns" "$VTICTL" -S "$VT_TMP/$ns.sock" "$@"; }

# counter NS TUNNEL FIELD: one counter from vtictl -j show.
counter() {
	vtictl "$1" -j show "$2" | jq -r ".[0].counters.$3"
}

# wait_until SECONDS CMD...: poll until CMD succeeds.
wait_until() {
	local t="$1"; shift
	local end=$((SECONDS + t))
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# wait_value SECONDS 'COMMAND' OP VALUE: poll until COMMAND's output (run
# anew each time) compares to VALUE with test's OP.  Not
# `wait_until N test "$(COMMAND)" ...`: that runs COMMAND once, before
# the first poll, and then compares the same old value until the time
# is up.
wait_value() {
	local t="$1" cmd="$2" op="$3" want="$4"
	local end=$((SECONDS + t))
	until [ "$(eval "$cmd")" "$op" "$want" ] 2>/dev/null; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.1
	done
}

has_carrier() { in_ns "$1" ip link show "$2" | grep -q LOWER_UP; }

# ping_ok NS DEST: three quick pings must all come back.
ping_ok() {
	in_ns "$1" ping -c 3 -i 0.2 -W 2 -q "$2" >/dev/null 2>&1
}

# key HEXBYTES SEED: deterministic test key material of N bytes.
key() {
	local n="$1" seed="$2"
	printf '0x%s' "$(printf '%s' "$seed" | sha512sum | cut -c1-128 | \
		sed 's/$/'"$(printf '%s' "$seed-2" | sha512sum | cut -c1-128)"'/' | cut -c1-$((n * 2)))"
}

# manual_tunnel NAME LOCAL REMOTE ESP SPI_IN SPI_OUT KEY_IN KEY_OUT ADDRS [extra lines]
manual_tunnel() {
	cat <<C
[tunnel $1]
local = $2
remote = $3
mode = manual
esp = $4
spi-in = $5
spi-out = $6
key-in = $7
key-out = $8
address = $9
C
	shift 9
	local l
	for l in "$@"; do echo "$l"; done
}

# keymat_len ESP: bytes of key material a proposal needs.
keymat_len() {
	case "$1" in
	aes128gcm16*) echo 20 ;;
	aes256gcm16* | chacha20poly1305*) echo 36 ;;
	aes128-sha256*) echo 48 ;;
	aes256-sha256*) echo 64 ;;
	aes128-sha384*) echo 64 ;;
	aes256-sha384*) echo 80 ;;
	aes128-sha512*) echo 80 ;;
	aes256-sha512*) echo 96 ;;
	*) fail "keymat_len: unknown proposal $1" ;;
	esac
}

# start_charon NS: strongSwan's charon in namespace NS with userspace ESP
# (kernel-libipsec), its own config directory, vici socket and /run, so
# that several can run at once and none reads /etc (TESTPEERS.md).
# The caller writes $VT_TMP/NS.swanctl.conf first.  CHARON_EXTRA: more
# lines for the charon section; CHARON_IKE_LOG=4 logs the IKE and ESP keys.
start_charon() {
	local ns="$1" dir="$VT_TMP/charon-$1" plugin pkg
	# A missing plugin makes charon fail in ways that name neither it nor
	# its package ("HASHER:HASH_SHA1 unmet"): check first, name the package.
	[ -x /usr/lib/ipsec/charon ] || fail "charon is not installed: apt-get install strongswan-charon (or run scripts/deps.sh)"
	command -v swanctl >/dev/null || fail "swanctl is not installed: apt-get install strongswan-swanctl (or run scripts/deps.sh)"
	for plugin in openssl:libstrongswan-standard-plugins kernel-libipsec:libcharon-extra-plugins \
		vici:strongswan-swanctl kdf:libstrongswan pem:libstrongswan x509:libstrongswan; do
		pkg="${plugin#*:}" plugin="${plugin%%:*}"
		[ -f "/usr/lib/ipsec/plugins/libstrongswan-$plugin.so" ] ||
			fail "charon's $plugin plugin is missing: apt-get install $pkg (or run scripts/deps.sh)"
	done
	mkdir -p "$dir/run"
	cat > "$dir/strongswan.conf" <<C
charon {
	load_modular = no
	load = random nonce openssl kdf pem pkcs1 x509 pubkey vici kernel-libipsec kernel-netlink socket-default
	install_routes = no
	retransmit_timeout = 1
	retransmit_tries = 3
	${CHARON_EXTRA:-}
	plugins {
		vici { socket = unix://$dir/charon.vici }
	}
	filelog {
		log { path = $dir/charon.log
		      default = 1
		      ike = ${CHARON_IKE_LOG:-2}
		      chd = ${CHARON_IKE_LOG:-1}
		      # unbuffered: interop.sh reads the keys as they are logged
		      flush_line = yes
		      time_format = %T }
	}
}
C
	# A killed charon leaves its socket behind: wait for the new one.
	rm -f "$dir/charon.vici"
	# ip netns exec already gives a private mount namespace: a tmpfs on
	# /run keeps charon's hard-wired pid file apart from any other charon.
	STRONGSWAN_CONF="$dir/strongswan.conf" ip netns exec "$VT_ID$ns" \
		sh -c "mount -t tmpfs tmpfs /run && exec /usr/lib/ipsec/charon" \
		>"$dir/stdout.log" 2>&1 &
	VT_PIDS+=("$!")
	eval "CHARON_$ns=$!"
	for _ in $(seq 100); do
		[ -S "$dir/charon.vici" ] && break
		kill -0 "$!" 2>/dev/null || { cat "$dir/stdout.log" >&2; fail "charon in $ns exited"; }
		sleep 0.05
	done
	[ -S "$dir/charon.vici" ] || fail "charon in $ns did not open its vici socket"
	swanctl_load "$ns"
}

# swanctl NS COMMAND [ARGS]: the vici URI must follow the command.
swanctl() { local ns="$1" cmd="$2"; shift 2; in_ns "$ns" swanctl "$cmd" --uri "unix://$VT_TMP/charon-$ns/charon.vici" "$@"; }

# swanctl_load NS: (re)load connections and secrets from $VT_TMP/NS.swanctl.conf.
swanctl_load() {
	swanctl "$1" --load-all --file "$VT_TMP/$1.swanctl.conf" >"$VT_TMP/swanctl.out" 2>&1 ||
		{ cat "$VT_TMP/swanctl.out" >&2; fail "swanctl could not load $VT_TMP/$1.swanctl.conf"; }
}

stop_charon() {
	local pid
	pid=$(eval echo "\$CHARON_$1")
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# assert_no_secret SECRET...: no log (or show output) of this run contains them.
assert_no_secret() {
	local s f
	for s in "$@"; do
		s="${s#0x}"
		for f in "$VT_TMP"/*.log; do
			[ -f "$f" ] || continue
			grep -qiF -- "$s" "$f" && fail "secret found in $f"
		done
	done
	return 0
}

# vtid_children KEY: the PIDs of the auth and network processes of the vtid
# started as KEY; vtid_net KEY: the network process's alone.
vtid_children() { ps -o pid= --ppid "$(eval echo "\$PID_$1")"; }
vtid_net() {
	local p
	for p in $(vtid_children "$1"); do
		[ "$(cat "/proc/$p/comm")" = "vtid: net" ] && echo "$p"
	done
	return 0
}

# tcp_copy FROM TO ADDR BYTES: one TCP connection from namespace FROM to
# ADDR (in namespace TO) carries BYTES of random data; fails unless what
# arrived hashes the same as what was sent.
tcp_copy() {
	# The sink's port is below the ephemeral range (32768-60999 by
	# default): a sender's local port from an earlier copy, not yet
	# closed, made the sink's bind fail (EADDRINUSE) there once.
	local from="$1" to="$2" addr="$3" n="$4" port=$((20000 + RANDOM % 12000)) want
	local py; py="$(dirname "${BASH_SOURCE[0]}")/tcpcopy.py"
	head -c "$n" /dev/urandom > "$VT_TMP/copy.in"
	want=$(sha256sum < "$VT_TMP/copy.in" | cut -d' ' -f1)
	rm -f "$VT_TMP/copy.out"
	bg_in_ns "$to" python3 "$py" sink "$addr" "$port" "$VT_TMP/copy.out"
	in_ns "$from" timeout 90 python3 "$py" send "$addr" "$port" "$VT_TMP/copy.in" ||
		fail "tcp_copy $from -> $addr: the sender failed"
	wait_until 30 test -s "$VT_TMP/copy.out" || fail "tcp_copy $from -> $addr: nothing arrived"
	[ "$(cat "$VT_TMP/copy.out")" = "$want" ] ||
		fail "tcp_copy $from -> $addr: $n bytes arrived changed"
}

# udp_gso_copy FROM TO ADDR: 200 UDP GSO sends (UDP_SEGMENT) of 40
# datagrams (39 of 1,200 bytes, one of 700) from namespace FROM to ADDR
# (in namespace TO); fails unless every datagram that arrived is intact,
# unique and of those sizes, TO's kernel counted no UDP checksum error,
# and no more than 8 of the 8,000 went missing (a datagram lost or
# mangled for each glued packet would be 125 or more).
udp_gso_copy() {
	local from="$1" to="$2" addr="$3" port=$((20000 + RANDOM % 12000)) r e0 e1
	local py; py="$(dirname "${BASH_SOURCE[0]}")/udpgso.py"
	rm -f "$VT_TMP/udp.out"
	e0=$(udp_csum_errors "$to")
	bg_in_ns "$to" python3 "$py" sink "$addr" "$port" "$VT_TMP/udp.out"
	sleep 0.3
	in_ns "$from" timeout 60 python3 "$py" send "$addr" "$port" 200 1200 40 ||
		fail "udp_gso_copy $from -> $addr: the sender failed"
	wait_until 40 test -s "$VT_TMP/udp.out" || fail "udp_gso_copy $from -> $addr: no summary"
	r=$(cat "$VT_TMP/udp.out"); e1=$(udp_csum_errors "$to")
	jq -e '.bad == 0 and .dup == 0 and .sizes == [700, 1200] and .good >= 7992' <<<"$r" \
		>/dev/null && [ "$e1" = "$e0" ] ||
		fail "udp_gso_copy $from -> $addr: $r (8000 sent), UDP checksum errors $e0 -> $e1"
	echo "$r"
}
# UDP checksum errors (IPv4 and IPv6) the kernel of namespace NS counted.
udp_csum_errors() {
	in_ns "$1" nstat -asz 2>/dev/null | awk '/Udp6?InCsumErrors/ { s += $2 } END { print s + 0 }'
}

# bg_in_ns NS CMD...: start CMD in the background in namespace NS so that
# its PID (ip netns exec execs the command) is what cleanup kills.
bg_in_ns() {
	local ns="$VT_ID$1"; shift
	ip netns exec "$ns" "$@" &
	VT_PIDS+=("$!")
}

# start_frr NS CONF DAEMON...: FRR's zebra and the DAEMONs (ospfd, ospf6d,
# bgpd ...) in namespace NS, then CONF (an integrated frr.conf) loaded with
# vtysh -b, as FRR's own init script does.  Each namespace's FRR has its
# own directory $VT_TMP/frr-NS (config, pid files, vty sockets, zebra's
# API socket), so nothing reads or writes /etc/frr or /run/frr and no
# system service is involved.  The daemons run in the foreground as the
# frr user (they refuse root without the frrvty group); cleanup kills them
# by PID.  The daemons start from an empty file, so none of them reads the
# host's /etc/frr/frr.conf.
start_frr() {
	local ns="$1" conf="$2" dir="$VT_TMP/frr-$1" d; shift 2
	[ -x /usr/lib/frr/zebra ] || fail "frr is not installed: apt-get install frr (or run scripts/deps.sh)"
	command -v vtysh >/dev/null || fail "vtysh is not installed (package frr)"
	getent passwd frr >/dev/null || fail "the frr user is missing (package frr)"
	# The frr user must reach its directory (files holding PSKs stay 0600).
	chmod 711 "$VT_TMP"
	mkdir -p "$dir"
	cp "$conf" "$dir/frr.conf"
	: > "$dir/empty.conf"
	echo "service integrated-vtysh-config" > "$dir/vtysh.conf"
	chown -R frr:frr "$dir"
	for d in zebra "$@"; do
		bg_in_ns "$ns" "/usr/lib/frr/$d" -f "$dir/empty.conf" -i "$dir/$d.pid" \
			--vty_socket "$dir" -z "$dir/zserv.api" --log "file:$dir/$d.log" \
			>"$dir/$d.out" 2>&1
		ln -sf "$dir/$d.log" "$VT_TMP/frr-$ns-$d.log"
		wait_until 10 test -S "$dir/$d.vty" || { cat "$dir/$d.out" >&2; fail "$d in $ns did not start"; }
	done
	in_ns "$ns" vtysh --config_dir "$dir" --vty_socket "$dir" -b >"$dir/boot.out" 2>&1 ||
		{ cat "$dir/boot.out" >&2; fail "vtysh could not load $conf in $ns"; }
}

# vty NS COMMAND: one vtysh command to the FRR of namespace NS.
vty() { local ns="$1"; shift; in_ns "$ns" vtysh --config_dir "$VT_TMP/frr-$ns" --vty_socket "$VT_TMP/frr-$ns" -c "$*"; }

# triangle_up: the three sites of ospf.sh and frr.sh.  Namespaces r1..r3,
# each forwarding, with a LAN (lan0: 10.N.0.1/24, fd00:N::1/64) and an
# underlay veth to each other site (uAB: 172.16.AB.1/30 in rA, .2 in rB);
# a full triangle of IKEv2 tunnels t12/t21, t13/t31, t23/t32 (inner
# 10.255.AB.x/30, fd00:ff:AB::x/64, DPD 1 s / 3 s).  r2 runs two vtids
# (r2a: port 500, the r1-r2 tunnel; r2b: port 1500, the r2-r3 tunnel), so
# that killing the one serving r1-r2 leaves r2-r3 standing.
triangle_up() {
	for n in 1 2 3; do
		ns_add r$n
		in_ns r$n sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
		# A LAN per site: one end of a veth pair carries the site prefix.
		ip -n "${VT_ID}r$n" link add lan0 type veth peer name lan1
		in_ns r$n ip link set lan0 up
		in_ns r$n ip link set lan1 up
		in_ns r$n ip addr add 10.$n.0.1/24 dev lan0
		in_ns r$n ip addr add fd00:$n::1/64 dev lan0 nodad
	done
	underlay() {	# A B: veth uAB in rA (172.16.AB.1/30) <-> uBA in rB (.2)
		ip link add "${VT_ID}u$1$2" netns "${VT_ID}r$1" type veth peer name "${VT_ID}v$1$2" \
			netns "${VT_ID}r$2"
		in_ns r$1 ip link set "${VT_ID}u$1$2" name u$1$2 up
		in_ns r$2 ip link set "${VT_ID}v$1$2" name u$2$1 up
		in_ns r$1 ip addr add 172.16.$1$2.1/30 dev u$1$2
		in_ns r$2 ip addr add 172.16.$1$2.2/30 dev u$2$1
	}
	underlay 1 2; underlay 1 3; underlay 2 3

	PSK=triangle-secret-$$
	tun() {	# NAME LOCAL REMOTE INNER4 INNER6 START
		printf '[tunnel %s]\nlocal = %s\nremote = %s\naddress = %s, %s\npsk = %s\nstart = %s\n' \
			"$1" "$2" "$3" "$4" "$5" "$PSK" "$6"
		printf 'dpd = 1\ndpd-timeout = 3\n'
	}
	{ tun t12 172.16.12.1 172.16.12.2 10.255.12.1/30 fd00:ff:12::1/64 yes
	  tun t13 172.16.13.1 172.16.13.2 10.255.13.1/30 fd00:ff:13::1/64 yes; } > "$VT_TMP/r1.conf"
	tun t21 172.16.12.2 172.16.12.1 10.255.12.2/30 fd00:ff:12::2/64 no > "$VT_TMP/r2a.conf"
	{ printf '[daemon]\nport = 1500\nnatt-port = 14500\n'
	  tun t23 172.16.23.1 172.16.23.2 10.255.23.1/30 fd00:ff:23::1/64 yes; } > "$VT_TMP/r2b.conf"
	{ tun t31 172.16.13.2 172.16.13.1 10.255.13.2/30 fd00:ff:13::2/64 no
	  tun t32 172.16.23.2 172.16.23.1 10.255.23.2/30 fd00:ff:23::2/64 no; } > "$VT_TMP/r3.conf"
	start_vtid r1 "$VT_TMP/r1.conf"
	start_vtid_as r2a r2 "$VT_TMP/r2a.conf"
	start_vtid_as r2b r2 "$VT_TMP/r2b.conf"
	start_vtid r3 "$VT_TMP/r3.conf"
}

# pair_up: namespaces a (192.0.2.1) and b (192.0.2.2) linked, one IKEv2
# tunnel sti0 between them (10.255.0.1/30 in a, which initiates; .2 in b),
# DPD 1 s / 3 s, up with carrier.  For the BGP tests.
pair_up() {
	ns_add a; ns_add b; link_ab a b
	local psk=pair-secret-$$
	printf '[tunnel sti0]\nlocal = 192.0.2.1\nremote = 192.0.2.2\naddress = 10.255.0.1/30\npsk = %s\ndpd = 1\ndpd-timeout = 3\n' \
		"$psk" > "$VT_TMP/a.conf"
	printf '[tunnel sti0]\nlocal = 192.0.2.2\nremote = 192.0.2.1\naddress = 10.255.0.2/30\npsk = %s\nstart = no\ndpd = 1\ndpd-timeout = 3\n' \
		"$psk" > "$VT_TMP/b.conf"
	start_vtid b "$VT_TMP/b.conf"; start_vtid a "$VT_TMP/a.conf"
	wait_until 10 has_carrier a sti0 || fail "sti0: no carrier"
}

# hub_branches N: a hub h (IKE at 192.0.2.1 on its loopback) and branches
# b1..bN, each on a link of its own (10.0.I.0/24: hub .1, branch .2) with
# a route to the hub's address.  For the template tests.
hub_branches() {
	local i
	ns_add h
	in_ns h ip addr add 192.0.2.1/32 dev lo
	for i in $(seq 1 "$1"); do
		ns_add "b$i"
		ip link add "hb$i" netns "${VT_ID}h" type veth peer name eth0 netns "${VT_ID}b$i"
		in_ns h ip addr add "10.0.$i.1/24" dev "hb$i"
		in_ns h ip link set "hb$i" up
		in_ns "b$i" ip addr add "10.0.$i.2/24" dev eth0
		in_ns "b$i" ip link set eth0 up
		in_ns "b$i" ip route add 192.0.2.1/32 via "10.0.$i.1"
	done
}
