#!/bin/bash
# [daemon] crypto-threads (lib/workers.h, doc/fastpath.md "Multi-core"):
# the network process seals each outbound burst on several threads and
# sends it in order.  vtid to vtid, a with 2 threads and b with 16 (the
# most; past 9, glibc would ask the CPU count for each thread's malloc
# arena unless told a limit, and the sandbox forbids asking):
#   a. the network process has exactly that many threads, and every one
#      runs as the unprivileged user with no capability, no_new_privs and
#      the seccomp filter (/proc/PID/task/TID/status);
#   b. 4 MB TCP copies each way arrive intact (SHA-256) over raw ESP with
#      IPv4 and IPv6 outer headers (by the packet socket, AES-GCM) and over
#      ESP in UDP (AES-CBC + HMAC-SHA-256, whose HMAC allocates);
#   c. the threads beside the loop sealed and opened part of it (vtictl
#      stats and the metrics count the packets), on both ends;
#   d. nothing was dropped for order or authentication: rx_replay and
#      rx_auth_fail stay 0 on every tunnel at both ends, and tx_dropped 0;
#   e. a reload with another count says it takes effect at the next start
#      and keeps the threads it has.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rawlib.sh"

KA=$(key "$NK" threads-a); KB=$(key "$NK" threads-b)
CBC=aes256-sha256; NC=$(keymat_len $CBC)
CA=$(key "$NC" threads-ca); CB=$(key "$NC" threads-cb)
ns_add a; ns_add b; link_ab a b
{ dual_conf a "crypto-threads = 2"
  manual_tunnel tu 192.0.2.1 192.0.2.2 $CBC 0x7102 0x7201 "$CB" "$CA" 10.7.0.1/30 "encap = yes"
} > "$VT_TMP/a.conf"
{ dual_conf b "crypto-threads = 16"
  manual_tunnel tu 192.0.2.2 192.0.2.1 $CBC 0x7201 0x7102 "$CA" "$CB" 10.7.0.2/30 "encap = yes"
} > "$VT_TMP/b.conf"
start_vtid a "$VT_TMP/a.conf"; start_vtid b "$VT_TMP/b.conf"
for t in t4 t6 tu; do wait_until 10 has_carrier a $t || fail "$t: no carrier"; done

# a. Threads, and the privileges of each.
tfield() { awk -v k="$2:" '$1 == k { $1 = ""; sub(/^ /, ""); print }' "$1/status"; }
uid=$(id -u vtid)
threads_ok() {
	local side="$1" want="$2" net task n=0 cap
	net=$(vtid_net "$side")
	[ -n "$net" ] || fail "a. $side: no network process"
	for task in /proc/"$net"/task/*; do
		n=$((n + 1))
		[ "$(tfield "$task" Uid)" = "$uid $uid $uid $uid" ] ||
			fail "a. $side: thread ${task##*/} uid $(tfield "$task" Uid)"
		for cap in CapInh CapPrm CapEff CapBnd CapAmb; do
			[ "$(tfield "$task" $cap)" = 0000000000000000 ] ||
				fail "a. $side: thread ${task##*/} $cap $(tfield "$task" $cap)"
		done
		[ "$(tfield "$task" NoNewPrivs)" = 1 ] && [ "$(tfield "$task" Seccomp)" = 2 ] ||
			fail "a. $side: thread ${task##*/} no_new_privs $(tfield "$task" NoNewPrivs), seccomp $(tfield "$task" Seccomp)"
	done
	[ "$n" = "$want" ] || fail "a. $side: the network process has $n threads, want $want"
}
threads_ok a 2; threads_ok b 16
pass "a. the network process runs 2 threads in a, 16 in b; each as vtid ($uid), no capabilities, no_new_privs, seccomp filter"

# b. Copies both ways on each tunnel.
copies a b 10.4.0.2 10.4.0.1
copies a b fd00:6::2 fd00:6::1
copies a b 10.7.0.2 10.7.0.1
# (The packet socket's path is looked up again now and then; a neighbour
# entry not confirmed lately sends a burst by the raw socket meanwhile.)
for s in a b; do
	[ $s = a ] && d4=10.4.0.2 d6=fd00:6::2 || d4=10.4.0.1 d6=fd00:6::1
	wait_path 10 $s t4 packet $d4 || fail "b. $s/t4: $(path $s t4)"
	wait_path 10 $s t6 packet $d6 || fail "b. $s/t6: $(path $s t6)"
	path_is $s tu udp || fail "b. $s/tu: $(path $s tu)"
done
pass "b. 4 MB each way intact (SHA-256) over raw ESP with IPv4 and IPv6 outer headers (packet socket, GCM) and ESP in UDP (CBC + HMAC), on 2 and 16 threads"

# c. The threads beside the loop sealed and opened some of it.
for s in a b; do
	st=$(vtictl $s -j stats | jq -c '{crypto_threads, thread_sealed, thread_opened}')
	want=2; [ $s = b ] && want=16
	echo "$st" | jq -e --argjson n $want \
		'.crypto_threads == $n and .thread_sealed > 100 and .thread_opened > 100' >/dev/null ||
		fail "c. $s: $st"
	vtictl $s stats | grep -qx "crypto threads   $want; the others sealed $(echo "$st" | jq .thread_sealed), opened $(echo "$st" | jq .thread_opened) ESP packets" ||
		fail "c. $s: the text says $(vtictl $s stats | grep '^crypto')"
	for op in seal open; do
		vtictl $s metrics | grep -q "^vti_crypto_thread_packets_total{op=\"$op\"} [1-9]" ||
			fail "c. $s: no packets for op=$op in the metrics"
	done
done
pass "c. the threads beside the loop sealed and opened ESP: a $(vtictl a -j stats | jq -c '{thread_sealed, thread_opened}'), b $(vtictl b -j stats | jq -c '{thread_sealed, thread_opened}')"

# d. In order and authentic: no replay drops, no ICV failures.
for s in a b; do
	for t in t4 t6 tu; do
		c=$(vtictl $s -j show $t | jq -c '.[0].counters | {rx_replay, rx_auth_fail, tx_dropped, tx_packets}')
		echo "$c" | jq -e '.rx_replay == 0 and .rx_auth_fail == 0 and .tx_dropped == 0 and .tx_packets > 2000' \
			>/dev/null || fail "d. $s/$t: $c"
	done
done
pass "d. rx_replay, rx_auth_fail and tx_dropped 0 on every tunnel at both ends"

# e. A reload cannot change the count.
sed -i 's/^crypto-threads = 2$/crypto-threads = 4/' "$VT_TMP/a.conf"
vtictl a reload >/dev/null || fail "e. reload refused"
wait_until 5 grep -q 'crypto-threads = 4 takes effect at the next start (2 now)' "$VT_TMP/a.log" ||
	fail "e. the reload did not say when crypto-threads takes effect: $(tail -3 "$VT_TMP/a.log")"
threads_ok a 2
ping_ok a 10.4.0.2 || fail "e. no traffic after the reload"
pass "e. a reload to crypto-threads = 4 says it takes effect at the next start; 2 threads still, traffic flows"
stop_vtid a; stop_vtid b
echo "threads: all passed"
