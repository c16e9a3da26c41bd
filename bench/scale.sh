#!/bin/bash
# scale.sh N...: how a hub copes with N branches (issue 13's measurement).
#
# Three namespaces: the hub h (192.0.2.1), a router r, and the branches'
# side b, whose N outer addresses (100.64.0.0/16, on its loopback) reach
# the hub through r, one next hop, as real branches do (thousands of
# addresses on the hub's own link would overflow the kernel's neighbour
# table, a limit that is not vti's).  The hub has one [tunnel] section a
# branch (start = no); the branches are the N tunnels of one vtid in b
# (start = yes), all started at once: AES-GCM, X25519, PSK.  They stand
# for N separate branches, each starting on its own, so the branch vtid
# does not pace its initiations (initiate-rate = 100000): the storm is the
# hub's to weather.
#
# For each N it prints: seconds until every hub interface has carrier,
# tunnels/s, the hub's CPU time (all its vtid processes) per tunnel until
# then, the hub's memory (all its vtid processes, RSS, after IDLE seconds
# without traffic) per tunnel,
# how long `vtictl show` and an unchanged reload take (and how many of
# 300 pings through the first tunnel across the reload are lost), how long the hub
# takes to stop, and how long until every tunnel is back after a hub
# restart and after a branch-side restart.  Only the hub's figures are
# the point; the branch side is one vtid doing N tunnels' work too.
# With SCALE_MODE=template the hub has one [template s] instead (SPEC
# "Templates"): each branch authenticates as bI.branches.example with the
# one PSK and asks for its address (address = auto) from the template's
# pool; the hub's interfaces s0, s1 ... appear as the branches come.
# SCALE_AUTH=cert: with ECDSA P-256 certificates from one CA instead of
# the PSK (bench/certs.py makes them; template mode only).
# With SCALE_RESTART=keep the hub restart is `vtictl restart` (interfaces
# kept, exit status 4, vtid(8) "Restarts that keep the interfaces") in place
# of SIGTERM, and the row says how many hub interfaces kept their ifindex.
# Usage: [SCALE_MODE=template] [SCALE_AUTH=cert] [SCALE_RESTART=keep] bench/scale.sh [N...]
#        (default: 100 1000)
set -euo pipefail
cd "$(dirname "$0")/.."
NS_LIST=("${@:-100 1000}")
read -ra NS_LIST <<<"${NS_LIST[*]}"
LIMIT=${SCALE_LIMIT:-180}	# seconds to wait for all tunnels
scripts/deps.sh >/dev/null
scripts/build.sh build >/dev/null
export VTID="$PWD/build/vtid" VTICTL="$PWD/build/vtictl"
. tests/net/lib.sh

ms() { date +%s%3N; }
# IPv4 only (README "Scale"): an interface whose selectors admit no IPv6
# is made without it; with IPv6 the kernel walks its whole IPv6 routing
# table for every interface that comes or goes, O(N^2) at N interfaces.
# SCALE_IPV6=yes keeps the default selectors (0.0.0.0/0 and ::/0).
V4ONLY='local-ts = 0.0.0.0/0\nremote-ts = 0.0.0.0/0\n'
[ "${SCALE_IPV6:-no}" = yes ] && V4ONLY=''
IDLE=${SCALE_IDLE:-25}	# seconds idle before the memory is read
# addr BASE I: the I-th address of a /10-sized block starting at BASE (a.b)
addr() { echo "$1.$(($2 / 256 % 256)).$(($2 % 256))"; }
# the inner /30 of tunnel I: 10.64.0.0/10, hub .1, branch .2
inner() { local o=$(($1 * 4)); echo "10.$((64 + o / 65536)).$((o / 256 % 256)).$((o % 256 + $2))"; }

setup() {
	ns_add h; ns_add r; ns_add b
	ip link add "${VT_ID}hr" netns "${VT_ID}h" type veth peer name "${VT_ID}rh" netns "${VT_ID}r"
	ip link add "${VT_ID}br" netns "${VT_ID}b" type veth peer name "${VT_ID}rb" netns "${VT_ID}r"
	in_ns h ip link set "${VT_ID}hr" name eth0 up
	in_ns b ip link set "${VT_ID}br" name eth0 up
	in_ns r ip link set "${VT_ID}rh" name eth0 up
	in_ns r ip link set "${VT_ID}rb" name eth1 up
	in_ns h ip addr add 192.0.2.1/24 dev eth0
	in_ns r ip addr add 192.0.2.2/24 dev eth0
	in_ns r ip addr add 198.51.100.1/24 dev eth1
	in_ns b ip addr add 198.51.100.2/24 dev eth0
	in_ns h ip route add 100.64.0.0/16 via 192.0.2.2
	in_ns b ip route add 192.0.2.0/24 via 198.51.100.1
	in_ns r ip route add 100.64.0.0/16 via 198.51.100.2
	in_ns r sysctl -qw net.ipv4.ip_forward=1
	# the branches' addresses: one route for all of them, local on b
	in_ns b ip route add local 100.64.0.0/16 dev lo
}

confs_template() {	# N: one template at the hub, N branches that ask for addresses
	local n=$1 i hauth bauth c="$VT_TMP/certs"
	hauth='psk = scale-secret\n'
	if [ "${SCALE_AUTH:-psk}" = cert ]; then
		[ -f "$c/b$((n - 1)).pem" ] || python3 bench/certs.py "$c" "$n"
		hauth="local-cert = $c/hub.pem\nlocal-key = $c/hub.key\nca = $c/ca.pem\nlocal-id = hub.branches.example\n"
	fi
	printf '[daemon]\ncookie-threshold = 100000\n[template s]\nlocal = 192.0.2.1\nremote = any\nremote-id = *.branches.example\n%baddress = 10.64.0.1/32\npool = 10.64.0.0/10\n%bdpd = 10\ndpd-timeout = 30\n' "$hauth" "$V4ONLY" > "$VT_TMP/h.conf"
	{
		printf '[daemon]\ninitiate-rate = 100000\n'
		for ((i = 0; i < n; i++)); do
			bauth='psk = scale-secret\n'
			[ "${SCALE_AUTH:-psk}" = cert ] &&
				bauth="local-cert = $c/b$i.pem\nlocal-key = $c/b$i.key\nca = $c/ca.pem\nremote-id = hub.branches.example\n"
			printf '[tunnel s%d]\nlocal = %s\nremote = 192.0.2.1\nlocal-id = b%d.branches.example\naddress = auto\n%b%bdpd = 10\ndpd-timeout = 30\n' \
				"$i" "$(addr 100.64 "$i")" "$i" "$bauth" "$V4ONLY"
		done
	} > "$VT_TMP/b.conf"
}

confs() {	# N: hub and branch configurations
	local n=$1 i
	[ "${SCALE_MODE:-}" = template ] && { confs_template "$n"; return; }
	{
		printf '[daemon]\ncookie-threshold = 100000\n'
		for ((i = 0; i < n; i++)); do
			printf '[tunnel s%d]\nlocal = 192.0.2.1\nremote = %s\naddress = %s/30\npsk = scale-secret-%d\nstart = no\n%bdpd = 10\ndpd-timeout = 30\n' \
				"$i" "$(addr 100.64 "$i")" "$(inner "$i" 1)" "$i" "$V4ONLY"
		done
	} > "$VT_TMP/h.conf"
	{
		printf '[daemon]\ninitiate-rate = 100000\n'
		for ((i = 0; i < n; i++)); do
			printf '[tunnel s%d]\nlocal = %s\nremote = 192.0.2.1\naddress = %s/30\npsk = scale-secret-%d\n%bdpd = 10\ndpd-timeout = 30\n' \
				"$i" "$(addr 100.64 "$i")" "$(inner "$i" 2)" "$i" "$V4ONLY"
		done
	} > "$VT_TMP/b.conf"
}

# start KEY CONF: vtid, waiting as long as a large configuration needs
start() {
	local key=$1 conf=$2 sock="$VT_TMP/$1.sock"
	chmod 600 "$conf"
	vt_state_dir "$conf" "$VT_TMP/$key.state"
	rm -f "$sock"
	ip netns exec "$VT_ID$key" "$VTID" -c "$conf" -S "$sock" >>"$VT_TMP/$key.log" 2>&1 &
	VT_PIDS+=("$!")
	eval "PID_$key=$!"
	local pid=$!
	for _ in $(seq 3000); do
		[ -S "$sock" ] && return 0
		kill -0 "$pid" 2>/dev/null || { tail -n 5 "$VT_TMP/$key.log" >&2; fail "vtid $key exited"; }
		sleep 0.1
	done
	fail "vtid $key did not start"
}
stop() {	# KEY: SIGTERM; STOP_MS: ms until it exited (not in a subshell:
		# only this shell can wait for its child)
	local pid t0
	pid=$(eval echo "\$PID_$1")
	t0=$(ms)
	kill -TERM "$pid"
	wait "$pid" || true
	forget_pid "$pid"
	STOP_MS=$(($(ms) - t0))
}
# keep_restart KEY: vtictl restart, waiting for exit status 4; STOP_MS as stop
keep_restart() {
	local pid t0 rc=0
	pid=$(eval echo "\$PID_$1")
	t0=$(ms)
	vtictl "$1" restart >/dev/null
	wait "$pid" || rc=$?
	forget_pid "$pid"
	[ "$rc" = 4 ] || fail "vtid $1 stopped for a restart with status $rc, not 4"
	STOP_MS=$(($(ms) - t0))
}
# the hub's interfaces and their ifindex, one "NAME INDEX" a line
ifindexes() { in_ns h ip -o link show 2>/dev/null | sed -nE 's/^([0-9]+): (s[0-9]+)[:@].*/\2 \1/p' | sort; }
up_count() { in_ns h ip -o link show 2>/dev/null | grep -cE '^[0-9]+: s[0-9]+:.*LOWER_UP' || true; }
if_count() { in_ns h ip -o link show 2>/dev/null | grep -cE '^[0-9]+: s[0-9]+:' || true; }
hub_ifs() { [ "$(if_count)" -ge "$1" ]; }
# wait_up N: ms until N hub interfaces have carrier (or LIMIT s: "-")
wait_up() {
	local n=$1 t0 c
	t0=$(ms)
	while :; do
		c=$(up_count)
		[ "$c" -ge "$n" ] && { echo $(($(ms) - t0)); return 0; }
		[ $(($(ms) - t0)) -lt $((LIMIT * 1000)) ] || { echo "- ($c up)"; return 0; }
		sleep 0.2
	done
}
rss_kib() {	# KEY: RSS of vtid and its children, KiB
	local pid t=0 p
	pid=$(eval echo "\$PID_$1")
	for p in "$pid" $(ps -o pid= --ppid "$pid"); do
		t=$((t + $(awk '/^VmRSS/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)))
	done
	echo "$t"
}

cpu_ms() {	# KEY: user + system CPU of vtid and its children so far, ms
	local pid t=0 p hz
	hz=$(getconf CLK_TCK)
	pid=$(eval echo "\$PID_$1")
	for p in "$pid" $(ps -o pid= --ppid "$pid"); do
		t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
	done
	echo $((t * 1000 / hz))
}

ROWS=()
setup
for n in "${NS_LIST[@]}"; do
	echo "-- N = $n" >&2
	confs "$n"
	start h "$VT_TMP/h.conf"
	[ "${SCALE_MODE:-}" = template ] ||
		wait_until 600 hub_ifs "$n" || fail "the hub's interfaces did not appear"
	rss0=$(rss_kib h)
	cpu0=$(cpu_ms h)
	start b "$VT_TMP/b.conf"
	up=$(wait_up "$n")
	cpu=$(( ($(cpu_ms h) - cpu0) * 1000 / n ))	# µs of hub CPU a tunnel
	sleep "$IDLE"	# idle: SAs give up their cipher contexts (sadb_sweep)
	rss1=$(rss_kib h)
	t0=$(ms); vtictl h -j show >/dev/null; show=$(($(ms) - t0))
	# pings through the first tunnel across the reload: none may be lost
	in_ns b ip route replace 10.64.0.1/32 dev s0
	in_ns b ping -q -i 0.01 -c 300 -W 1 10.64.0.1 > "$VT_TMP/ping" 2>&1 &
	pping=$!
	sleep 0.5
	t0=$(ms); vtictl h reload >/dev/null; reload=$(($(ms) - t0))
	wait "$pping" || true
	lost=$(grep -o '[0-9]* received' "$VT_TMP/ping" | cut -d' ' -f1)
	lost="$((300 - ${lost:-0}))/300 lost"
	sleep 1
	still=$(up_count)
	# hub restart: the branches find it gone (DPD) and initiate again
	kept=""
	if [ "${SCALE_RESTART:-}" = keep ]; then
		before=$(ifindexes)
		keep_restart h; hstop=$STOP_MS
	else
		stop h; hstop=$STOP_MS
	fi
	start h "$VT_TMP/h.conf"
	back_h=$(wait_up "$n")
	# what the restarted hub went through (drops, cookies, half-open)
	[ -n "${SCALE_STATS:-}" ] && vtictl h stats >&2
	[ "${SCALE_RESTART:-}" = keep ] &&
		kept=" ($(comm -12 <(echo "$before") <(ifindexes) | grep -c . || true)/$(grep -c . <<<"$before") ifindex kept)"
	# branch restart: the hub learns of the branches' new SAs
	stop b; bstop=$STOP_MS
	start b "$VT_TMP/b.conf"
	back_b=$(wait_up "$n")
	per=$(( (rss1 - rss0) * 10 / n ))
	per="$((per / 10)).$((per % 10))"
	rate="-"
	[[ "$up" =~ ^[0-9]+$ ]] && [ "$up" -gt 0 ] && rate=$((n * 1000 / up))
	ROWS+=("| $n | $up | $rate | $cpu | $((rss1 / 1024)) MiB, $per KiB/tunnel | $show | $reload ($still up after, $lost) | $hstop | $back_h$kept | $bstop | $back_b |")
	stop b; stop h
done
echo
how=SIGTERM; [ "${SCALE_RESTART:-}" = keep ] && how="vtictl restart"
echo "${SCALE_MODE:-tunnel} mode, hub restart by $how"
echo "| N | ms until all up | tunnels/s | hub CPU µs/tunnel | hub RSS (idle), per tunnel | vtictl show ms | unchanged reload ms | hub SIGTERM ms | ms all back after hub restart | branch SIGTERM ms | ms all back after branch restart |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
