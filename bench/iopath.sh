#!/bin/bash
# iopath.sh - one run, one table: how fast each candidate kernel I/O path
# moves ESP-shaped datagrams (bench/iopath.c) from namespace a to namespace
# b over a veth, at 1400- and 64-byte inner sizes (issue 15).  For each
# path: datagrams/s and Gbit/s (inner bytes) *received*, what was lost
# (sent - received), and CPU seconds per GB received of the sender, the
# receiver and the whole machine (from /proc/stat: softirq work done
# outside both processes counts there, so does anything else running).
# Throughput is also given relative to today's raw path (raw socket,
# recvmmsg of 32 as vtid's datapath.c) and to UDP with GSO/GRO (vtid's
# ESP-in-UDP).  Only ratios within one run mean anything: sender and
# receiver share the machine's cores.  Nothing here asserts a speed.
# Usage: sudo bench/iopath.sh [SECONDS per case, default 5]
# (IOPATH_ONLY=REGEX runs only the cases whose names match.)
set -euo pipefail; set -E; trap 'echo "FAIL: status $? at line $LINENO: $BASH_COMMAND" >&2' ERR
cd "$(dirname "$0")/.."
T="${1:-5}"
scripts/deps.sh
scripts/build.sh build
[ -x build/iopath ] || { echo "FAIL: build/iopath was not built (liburing-dev missing?)" >&2; exit 1; }
IOPATH="$PWD/build/iopath"
XDP_OBJ="$PWD/build/iopath_xdp.bpf.o"
[ -f "$XDP_OBJ" ] || { echo "FAIL: build/iopath_xdp.bpf.o was not built (libxdp-dev, libbpf-dev?)" >&2; exit 1; }
export VTID="$PWD/build/vtid" VTICTL="$PWD/build/vtictl"
. tests/net/lib.sh

LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
ns_add a; ns_add b; link_ab a b
A=192.0.2.1; B=192.0.2.2
MAC_B=$(in_ns b cat /sys/class/net/eth0/address)
in_ns a ping -c 1 -W 2 -q $B >/dev/null || fail "no connectivity over the veth"

busy_ticks() {	# non-idle jiffies of the whole machine
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat
}
field() { sed -n "s/.*\\b$1=\\([0-9.]*\\).*/\\1/p" <<<"$2"; }

declare -A KPPS GBPS DROP SCPU RCPU ACPU CHECK
ORDER=()

# run_case NAME SEND-PATH RECV-PATH SEND-BATCH RECV-BATCH SIZE [drop]
run_case() {
	local name="$1" spath="$2" path="$3" sb="$4" rb="$5" size="$6" drop="${7:-}" key="$1/$6"
	[[ "$name" =~ ${IOPATH_ONLY:-.} ]] || return 0
	local out="$VT_TMP/recv.out" err="$VT_TMP/recv.err" snd rcv b0 b1 rpid ppid=""
	local sent rcvd secs scpu rcpu foreign
	if [ "$drop" = drop ]; then
		# Drop our ESP at the netdev ingress hook: the ETH_P_ALL ring
		# has seen it by then, the IP stack never does; anything else
		# passes.  (This kernel has no tc gact action, so nftables.)
		in_ns b nft -f - <<-N
		table netdev vtiopath {
			chain in {
				type filter hook ingress device "eth0" priority 0; policy accept;
				ip protocol esp ip daddr $B drop
			}
		}
		N
	fi
	: > "$out"; : > "$err"
	in_ns b "$IOPATH" recv "$path" -l $B -p $A -t "$T" -s "$size" -b "$rb" -i eth0 \
		-x "$XDP_OBJ" >"$out" 2>"$err" &
	rpid=$!
	VT_PIDS+=("$rpid")
	for _ in $(seq 50); do grep -q ready "$err" && break; sleep 0.05; done
	grep -q ready "$err" || fail "$name: receiver did not start: $(cat "$err")"
	sleep 0.3
	b0=$(busy_ticks)
	if [ "$path" = packet ] || [ "$spath" = packet ] || [ "$path" = xdp ] || [ "$spath" = xdp ]; then
		# A packet that is not ours must still reach the kernel: ping
		# during the run, and the ring must have seen none of it.
		in_ns a ping -c 20 -i 0.1 -W 1 -q $B >"$VT_TMP/ping.out" 2>&1 &
		ppid=$!
		VT_PIDS+=("$ppid")
	fi
	snd=$(in_ns a "$IOPATH" send "$spath" -l $A -p $B -t "$T" -s "$size" -b "$sb" -i eth0 \
		-m "$MAC_B") || fail "$name: sender failed"
	wait "$rpid" || fail "$name: receiver failed: $(cat "$err")"
	b1=$(busy_ticks)
	rcv=$(cat "$out")
	CHECK[$key]=""
	if [ -n "$ppid" ]; then
		wait "$ppid" || true
		CHECK[$key]="ping $(awk '/received/ { print $4 }' "$VT_TMP/ping.out")/20 during the run"
		[ "$path" != packet ] && [ "$path" != xdp ] || CHECK[$key]+=", RX ring saw $(field foreign "$rcv") frames not ours"
	fi
	if [ "$drop" = drop ]; then in_ns b nft delete table netdev vtiopath; fi
	sent=$(field sent "$snd"); rcvd=$(field rcvd "$rcv"); secs=$(field secs "$rcv")
	scpu=$(field cpu "$snd"); rcpu=$(field cpu "$rcv")
	[ "${rcvd:-0}" -gt 0 ] || fail "$name $size: nothing received ($snd / $rcv)"
	awk -v n="$rcvd" -v s="$secs" -v sz="$size" -v sent="$sent" -v sc="$scpu" -v rc="$rcpu" \
		-v at=$((b1 - b0)) -v hz="$(getconf CLK_TCK)" 'BEGIN {
		gb = n * sz / 1e9
		printf "%d %.2f %.1f %.2f %.2f %.2f\n", n / s / 1000, gb * 8 / s,
			(sent - n) * 100 / sent, sc / gb, rc / gb, at / hz / gb }' > "$VT_TMP/calc"
	local kpps gbps drop sc rc ac
	read -r kpps gbps drop sc rc ac < "$VT_TMP/calc"
	KPPS[$key]=$kpps; GBPS[$key]=$gbps; DROP[$key]=$drop
	SCPU[$key]=$sc; RCPU[$key]=$rc; ACPU[$key]=$ac
	ORDER+=("$key")
	[ "$(field kdrops "$rcv")" = 0 ] || CHECK[$key]+="${CHECK[$key]:+, }$(field kdrops "$rcv") dropped in the kernel before the ring"
	echo "measured $key: ${KPPS[$key]} kpps, ${GBPS[$key]} Gbit/s, ${DROP[$key]}% lost," \
		"CPU s/GB ${SCPU[$key]} / ${RCPU[$key]} / ${ACPU[$key]} ${CHECK[$key]} ($snd; $rcv)" >&2
}

RAW="raw mmsg 32"; UDP="UDP GSO/GRO"
for size in 1400 64; do
	run_case "raw mmsg 1" raw raw 1 1 $size
	run_case "$RAW" raw raw 32 32 $size
	run_case "raw mmsg 64" raw raw 64 64 $size
	run_case "UDP mmsg 32" udp udp 32 32 $size
	# vtid sends up to 128 datagrams per burst (datapath.c TXQ) as GSO
	# runs, and reads 32 GRO messages per recvmmsg.
	run_case "$UDP" udpgso udpgso 128 32 $size
	run_case "uring 64" uring uring 64 64 $size
	run_case "raw > uring-ms" raw uringms 64 64 $size
	run_case "ring > ring" packet packet 64 64 $size
	run_case "ring > ring+nft" packet packet 64 64 $size drop
	run_case "ring > raw" packet raw 64 32 $size
	run_case "pkt mmsg > raw" packetmm raw 64 32 $size
	run_case "raw > ring+nft" raw packet 32 64 $size drop
	# AF_XDP in copy mode (veth has no zero-copy); the kernel sends at
	# most 32 descriptors per kick in that mode.
	run_case "xdp > xdp" xdp xdp 32 64 $size
	run_case "raw > xdp" raw xdp 32 64 $size
	run_case "xdp > raw" xdp raw 32 32 $size
done

# priv_case SEND-PATH RECV-PATH [drop]: the path set up as root, then both
# ends as nobody without capabilities (-U): does the I/O still work, and
# does a ping?
PRIV=()
priv_case() {
	local spath="$1" path="$2" drop="${3:-}" out="$VT_TMP/priv.out" err="$VT_TMP/priv.err" rpid snd res
	[[ "$path" =~ ${IOPATH_ONLY:-.} ]] || return 0
	if [ "$drop" = drop ]; then
		in_ns b nft -f - <<-N
		table netdev vtiopath {
			chain in {
				type filter hook ingress device "eth0" priority 0; policy accept;
				ip protocol esp ip daddr $B drop
			}
		}
		N
	fi
	: > "$err"
	in_ns b "$IOPATH" recv "$path" -U -l $B -p $A -t 1 -s 1400 -b 32 -i eth0 -x "$XDP_OBJ" \
		>"$out" 2>"$err" &
	rpid=$!
	VT_PIDS+=("$rpid")
	for _ in $(seq 50); do grep -q ready "$err" && break; sleep 0.05; done
	sleep 0.3
	if snd=$(in_ns a "$IOPATH" send "$spath" -U -l $A -p $B -t 1 -s 1400 -b 32 -i eth0 \
		-m "$MAC_B" 2>&1) && wait "$rpid" && [ "$(field rcvd "$(cat "$out")")" -gt 0 ]; then
		res="works without capabilities after setup ($(field rcvd "$(cat "$out")") received)"
	else
		wait "$rpid" 2>/dev/null || true
		res="FAILS without capabilities: ${snd//$'\n'/ } $(grep -v ready "$err" | tr '\n' ' ' || true)"
	fi
	in_ns a ping -c 3 -i 0.2 -W 1 -q $B >/dev/null 2>&1 || res+="; ping FAILED"
	if [ "$drop" = drop ]; then in_ns b nft delete table netdev vtiopath; fi
	# nobody could not detach its XDP program (CAP_NET_ADMIN): we do.
	in_ns b ip link set dev eth0 xdp off
	PRIV+=("$spath > $path${drop:+ (+nft drop)}: $res")
}
for p in raw udpgso uring packet xdp; do priv_case $p $p; done
priv_case raw uringms
priv_case packet packet drop

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
echo
echo "iopath ${T} s per case, veth between two namespaces; $(nproc) cores, $(uname -r);"
echo "load average before the run: $LOAD."
echo "kpps and Gbit/s received (inner bytes); lost = (sent - received) / sent;"
echo "CPU s per GB received: sender process, receiver process, whole machine (/proc/stat)."
echo
printf '| %-16s | %5s | %8s | %7s | %6s | %6s | %6s | %7s | %7s | %7s |\n' path inner kpps Gbit/s \
	"/raw32" "/udp" "lost %" "snd s/GB" "rcv s/GB" "all s/GB"
printf '|%s|\n' "------------------|-------|----------|---------|--------|--------|--------|----------|----------|----------"
for k in "${ORDER[@]}"; do
	size=${k##*/}
	printf '| %-16s | %5s | %8s | %7s | %6s | %6s | %6s | %8s | %8s | %8s |\n' "${k%/*}" "$size" \
		"${KPPS[$k]}" "${GBPS[$k]}" "$(ratio "${KPPS[$k]}" "${KPPS[$RAW/$size]:-0}")" \
		"$(ratio "${KPPS[$k]}" "${KPPS[$UDP/$size]:-0}")" "${DROP[$k]}" \
		"${SCPU[$k]}" "${RCPU[$k]}" "${ACPU[$k]}"
done
echo
for k in "${ORDER[@]}"; do
	[ -z "${CHECK[$k]}" ] || echo "$k: ${CHECK[$k]}"
done
echo
for l in "${PRIV[@]}"; do echo "$l"; done
