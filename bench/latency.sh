#!/bin/bash
# latency.sh - ping round-trip times over the bare veth and through vti
# tunnels between two vtids (manual keys, aes128gcm16), in raw ESP and in
# ESP-in-UDP (encap = yes), all in one run and interleaved so that the
# other load on the machine falls on every path alike.  Prints one table:
# min / avg / p50 / p90 / p99 / max in microseconds, per path.
#
# Usage: sudo bench/latency.sh [ROUNDS, default 3] [PINGS per round, 200]
#   LAT_INTERVAL  seconds between pings (default 0.01)
#   LAT_SIZE      ping payload bytes (default 56)
#   LAT_BUILD     the build directory to take vtid from (default build)
#   LAT_RAW=1     also print every sample as "path rtt_us" on stderr
#   LAT_IPERF=T   also T seconds of iperf3 TCP (1 stream) through each
#                 tunnel per round, Mbit/s (mean and each round) after the table
#   LAT_DAEMON    lines for both vtids' [daemon] section ("busy-poll = 0")
#   LAT_COMPARE   a second pair of vtids in their own namespaces with these
#                 [daemon] lines, measured interleaved with the first: its
#                 rows are marked * (an A/B comparison under the same load)
#   LAT_COMPARE_BUILD  the build directory of that second pair's vtid
#   LAT_CPUS      pin the vtids (every process and thread) and ping to these
#                 CPUs (taskset list, e.g. 0): a diagnostic, not a setting
#   LAT_CPUS_B    with LAT_CPUS: the far vtid of each pair on these CPUs
#                 instead (two gateways on two machines do not share a CPU)
#   LAT_SPIN=1    keep every CPU from going idle while measuring: a busy
#                 loop per CPU at SCHED_IDLE, which anything woken preempts
#                 at once (a diagnostic of what waking a halted vCPU costs,
#                 not a setting)
#   LAT_TRACE=DIR afterwards, 2 s of pings through the UDP tunnel under
#                 `perf sched record` (DIR/sched.data) and 5 under strace -T
#                 of both network processes (DIR/strace.a, DIR/strace.b)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-3}"
N="${2:-200}"
IVL="${LAT_INTERVAL:-0.01}"
SIZE="${LAT_SIZE:-56}"
B="${LAT_BUILD:-build}"
scripts/deps.sh
if [ -n "${LAT_TRACE:-}" ]; then
	command -v perf >/dev/null && command -v strace >/dev/null ||
		{ apt-get update -qq && apt-get install -y -qq --no-install-recommends linux-perf strace >/dev/null; }
fi
[ -x "$B/vtid" ] || scripts/build.sh "$B"
export VTID="$PWD/$B/vtid" VTICTL="$PWD/$B/vtictl"
. tests/net/lib.sh

# pair X Y DAEMON-LINES: namespaces X and Y joined by a veth, a vtid in
# each with two tunnels: GCM in UDP (10.101.0.0/30) and raw (10.102.0.0/30).
pair() {
	local x="$1" y="$2" d="$3" k1 k2 k3 k4
	ns_add "$x"; ns_add "$y"; link_ab "$x" "$y"
	k1=$(key 20 lat-a1); k2=$(key 20 lat-b1); k3=$(key 20 lat-a2); k4=$(key 20 lat-b2)
	{
		printf '[daemon]\n%b\n' "$d"
		manual_tunnel lu 192.0.2.1 192.0.2.2 aes128gcm16 0x1001 0x2001 "$k2" "$k1" \
			10.101.0.1/30 "encap = yes"
		manual_tunnel lr 192.0.2.1 192.0.2.2 aes128gcm16 0x1002 0x2002 "$k4" "$k3" \
			10.102.0.1/30 "encap = no"
	} > "$VT_TMP/$x.conf"
	{
		printf '[daemon]\n%b\n' "$d"
		manual_tunnel lu 192.0.2.2 192.0.2.1 aes128gcm16 0x2001 0x1001 "$k1" "$k2" \
			10.101.0.2/30 "encap = yes"
		manual_tunnel lr 192.0.2.2 192.0.2.1 aes128gcm16 0x2002 0x1002 "$k3" "$k4" \
			10.102.0.2/30 "encap = no"
	} > "$VT_TMP/$y.conf"
	VTID="${4:-$VTID}" start_vtid "$x" "$VT_TMP/$x.conf" -q
	VTID="${4:-$VTID}" start_vtid "$y" "$VT_TMP/$y.conf" -q
	if [ -n "${LAT_CPUS:-}" ]; then
		for p in $(eval echo "\$PID_$x") $(vtid_children "$x"); do
			taskset -a -p -c "$LAT_CPUS" "$p" >/dev/null
		done
		for p in $(eval echo "\$PID_$y") $(vtid_children "$y"); do
			taskset -a -p -c "${LAT_CPUS_B:-$LAT_CPUS}" "$p" >/dev/null
		done
	fi
	for p in 192.0.2.2 10.101.0.2 10.102.0.2; do
		wait_until 10 in_ns "$x" ping -c 1 -W 1 "$p" || fail "no connectivity to $p"
	done
	if [ -n "${LAT_IPERF:-}" ]; then
		bg_in_ns "$y" iperf3 -s >/dev/null 2>&1
	fi
}

PING=(ping)
[ -z "${LAT_CPUS:-}" ] || PING=(taskset -c "$LAT_CPUS" ping)
pair a b "${LAT_DAEMON:-}"
# path name -> "namespace destination"
declare -A DST=([veth]="a 192.0.2.2" [gcm UDP]="a 10.101.0.2" [gcm raw]="a 10.102.0.2")
PATHS=("veth" "gcm UDP" "gcm raw")
if [ -n "${LAT_COMPARE:-}" ]; then
	pair c d "$LAT_COMPARE" "${LAT_COMPARE_BUILD:+$PWD/$LAT_COMPARE_BUILD/vtid}"
	DST+=([gcm UDP *]="c 10.101.0.2" [gcm raw *]="c 10.102.0.2")
	PATHS+=("gcm UDP *" "gcm raw *")
fi
if [ -n "${LAT_SPIN:-}" ]; then
	for c in $(seq 0 $(($(nproc) - 1))); do
		taskset -c "$c" chrt -i 0 sh -c 'while :; do :; done' &
		VT_PIDS+=("$!")
	done
fi
sleep 0.3
: > "$VT_TMP/samples"; : > "$VT_TMP/tput"
for r in $(seq "$ROUNDS"); do
	for p in "${PATHS[@]}"; do
		read -r ns dst <<<"${DST[$p]}"
		in_ns "$ns" "${PING[@]}" -n -c "$N" -i "$IVL" -s "$SIZE" "$dst" |
			sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' |
			awk -v p="$p" '{ printf "%s\t%d\n", p, $1 * 1000 + 0.5 }' >> "$VT_TMP/samples"
		[ -n "${LAT_IPERF:-}" ] && [ "$p" != veth ] || continue
		printf '%s\t%s\n' "$p" "$(in_ns "$ns" iperf3 -c "$dst" -t "$LAT_IPERF" -J 2>/dev/null |
			jq '.end.sum_received.bits_per_second / 1e6 | floor')" >> "$VT_TMP/tput"
	done
done
[ -z "${LAT_RAW:-}" ] || cat "$VT_TMP/samples" >&2

echo "ping -c $N -i $IVL -s $SIZE, $ROUNDS rounds interleaved; RTT in microseconds${LAT_DAEMON:+; [daemon] $LAT_DAEMON}${LAT_COMPARE:+; *: [daemon] $LAT_COMPARE}${LAT_CPUS:+; pinned to CPU $LAT_CPUS${LAT_CPUS_B:+, far end $LAT_CPUS_B}}${LAT_SPIN:+; CPUs kept from idling}"
echo
printf '| %-14s | %5s | %5s | %5s | %5s | %5s | %5s | %5s | %6s |\n' \
	path count min avg p50 p90 p99 max "/veth"
echo "|----------------|-------|-------|-------|-------|-------|-------|-------|--------|"
vavg=
for p in "${PATHS[@]}"; do
	read -r cnt mn avg p50 p90 p99 mx < <(awk -F'\t' -v p="$p" '$1 == p { print $2 }' \
		"$VT_TMP/samples" | sort -n | awk '
		{ v[NR] = $1; s += $1 }
		function q(f,  i) { i = int(f * NR + 0.999999); if (i < 1) i = 1; return v[i] }
		END { if (!NR) { print "0 - - - - - -"; exit }
		      printf "%d %d %d %d %d %d %d\n", NR, v[1], s / NR + 0.5, q(0.5), q(0.9), q(0.99), v[NR] }')
	[ -n "$vavg" ] || vavg=$avg
	printf '| %-14s | %5s | %5s | %5s | %5s | %5s | %5s | %5s | %6s |\n' "$p" "$cnt" "$mn" \
		"$avg" "$p50" "$p90" "$p99" "$mx" \
		"$(awk -v a="$avg" -v b="$vavg" 'BEGIN { printf "%.1f", b ? a / b : 0 }')"
done
if [ -n "${LAT_IPERF:-}" ]; then
	echo
	for p in "${PATHS[@]:1}"; do
		awk -F'\t' -v p="$p" '$1 == p { s += $2; n++; l = l " " $2 }
			END { printf "iperf3 TCP %s: mean %d Mbit/s (%s )\n", p, n ? s / n : 0, l }' \
			"$VT_TMP/tput"
	done
fi
expect=$((ROUNDS * N))
for p in "${PATHS[@]}"; do
	got=$(awk -F'\t' -v p="$p" '$1 == p' "$VT_TMP/samples" | wc -l)
	[ "$got" -eq "$expect" ] || echo "note: $p: $got of $expect pings answered"
done

if [ -n "${LAT_TRACE:-}" ]; then
	mkdir -p "$LAT_TRACE"
	perf sched record -a -o "$LAT_TRACE/sched.data" -- \
		ip netns exec "${VT_ID}a" "${PING[@]}" -n -q -c 200 -i "$IVL" 10.101.0.2 >/dev/null 2>&1
	if [ -n "${LAT_COMPARE:-}" ]; then
		perf sched record -a -o "$LAT_TRACE/sched-compare.data" -- \
			ip netns exec "${VT_ID}c" "${PING[@]}" -n -q -c 200 -i "$IVL" 10.101.0.2 \
			>/dev/null 2>&1
	fi
	for s in a b; do
		strace -f -T -tt -o "$LAT_TRACE/strace.$s" -p "$(vtid_net $s)" &
		eval "ST_$s=$!"
	done
	sleep 0.5
	in_ns a "${PING[@]}" -n -c 5 -i 0.2 10.101.0.2 > "$LAT_TRACE/strace.ping"
	sleep 0.2
	kill -INT "$ST_a" "$ST_b"; wait "$ST_a" "$ST_b" 2>/dev/null || true
fi
