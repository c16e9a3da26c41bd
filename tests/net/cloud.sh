#!/bin/bash
# Cloud VPN peers: vtid with examples/aws.conf, azure.conf and gcp.conf as
# they ship (addresses, proposals, lifetimes, DPD, MTU), FRR on its side
# with examples/cloud/aws-frr.conf and gcp-frr.conf, BIRD with
# examples/cloud/azure-bird.conf, against two strongSwan charons per
# profile -- one per cloud tunnel endpoint, each in its own namespace, as
# the cloud has one endpoint per tunnel -- configured the way that cloud
# behaves (its proposals, lifetimes and rekey margins, DPD interval, who
# initiates), with BIRD on the cloud side announcing the cloud network
# 10.50.0.0/16 over both tunnels.  Both cloud endpoints answer for
# 10.50.0.1, so traffic follows whichever tunnel BGP chose.
#
# Per profile: both tunnels up with the profile's proposals, BGP learns the
# cloud prefix over both, traffic flows; then the cloud endpoint carrying
# the traffic closes its tunnel (what a cloud maintenance does) and the
# time until traffic flows over the other tunnel is measured; then the
# tunnel comes back.  For one profile (AWS) the active endpoint is also
# killed outright, so only vtid's DPD (the profile's timing) notices.
. "$(dirname "$0")/lib.sh"
command -v bird >/dev/null || fail "bird2 is not installed"
EX="$(cd "$(dirname "$0")/../../examples" && pwd)"
ms() { date +%s%3N; }

# The clouds' IKE behaviour, from the documents cited in the README
# ("Cloud VPN gateways") and in examples/*.conf.
# AWS: accepts AES-CBC/GCM-16 128/256, SHA-1/SHA2, DH 2 and 14-24; phase 1
# 28,800 s, phase 2 3,600 s, rekey margin 270 s with 100 % fuzz; DPD every
# 10 s; startup action "add": it only answers.
aws_ike="aes128-aes256-sha1-sha256-sha384-sha512-modp2048-modp3072-modp4096-ecp256-ecp384-ecp521-modp1024,aes128gcm16-aes256gcm16-prfsha1-prfsha256-prfsha384-prfsha512-modp2048-modp3072-modp4096-ecp256-ecp384-ecp521-modp1024"
aws_esp="aes128gcm16-aes256gcm16-modp2048-modp3072-modp4096-ecp256-ecp384-ecp521-modp1024,aes128-aes256-sha1-sha256-sha384-sha512-modp2048-modp3072-modp4096-ecp256-ecp384-ecp521-modp1024"
# Azure with the custom policy of examples/azure.conf: GCMAES256 + ECP384,
# PFS ECP384; main mode 28,800 s, quick mode 27,000 s; DPD timeout 45 s.
azure_ike="aes256gcm16-prfsha384-prfsha256-ecp384"
azure_esp="aes256gcm16-ecp384"
# Google Cloud VPN: AES-GCM-16 and AES-CBC, SHA2 PRFs, Curve25519 first,
# then ECP and MODP groups; phase 1 36,000 s, phase 2 10,800 s; initiates
# as well as answers.
gcp_ike="aes128gcm16-aes256gcm16-prfsha256-prfsha384-prfsha512-x25519-ecp256-ecp384-modp3072-modp2048,aes128-aes256-sha256-sha384-sha512-x25519-ecp256-ecp384-modp3072-modp2048"
gcp_esp="aes128gcm16-aes256gcm16-x25519-ecp256-ecp384-modp3072-modp2048,aes128-aes256-sha256-sha384-sha512-x25519-ecp256-ecp384-modp3072-modp2048"

# swan_conf NS PROFILE LOCAL REMOTE PSK: one cloud tunnel endpoint.
swan_conf() {
	local ns="$1" p="$2" ike esp ikelife childlife margin dpd start
	case "$p" in
	aws)	ike=$aws_ike esp=$aws_esp ikelife=28800 childlife=3600 margin=270 dpd=10 start=none ;;
	azure)	ike=$azure_ike esp=$azure_esp ikelife=28800 childlife=27000 margin=300 dpd=15 start=start ;;
	gcp)	ike=$gcp_ike esp=$gcp_esp ikelife=36000 childlife=10800 margin=300 dpd=20 start=start ;;
	esac
	cat > "$VT_TMP/$ns.swanctl.conf" <<C
connections {
	cloud {
		version = 2
		local_addrs = $3
		remote_addrs = $4
		proposals = $ike
		encap = yes
		mobike = no
		dpd_delay = ${dpd}s
		rekey_time = $((ikelife - margin))s
		over_time = ${margin}s
		rand_time = ${margin}s
		local { auth = psk
			id = $3 }
		remote { auth = psk
			 id = $4 }
		children {
			cloud {
				local_ts = 0.0.0.0/0
				remote_ts = 0.0.0.0/0
				esp_proposals = $esp
				rekey_time = $((childlife - margin))s
				life_time = ${childlife}s
				rand_time = ${margin}s
				dpd_action = clear
				start_action = $start
			}
		}
	}
}
secrets {
	ike-cloud {
		id-a = $3
		id-b = $4
		secret = "$5"
	}
}
C
}

# bird_cloud NS ASN INSIDE-LOCAL INSIDE-PEER KEEPALIVE HOLD: the cloud's BGP
# speaker (AWS's virtual private gateway, Azure's gateway instance, Google's
# Cloud Router) on charon's ipsec0.
bird_cloud() {
	cat > "$VT_TMP/bird-$1.conf" <<B
router id $3;
log "$VT_TMP/bird-$1.log" all;
protocol device { scan time 1; }
protocol static vpc { ipv4; route 10.50.0.0/16 blackhole; }
protocol kernel { ipv4 { import none; export where source = RTS_BGP; }; }
protocol bgp onprem {
	local as $2;
	neighbor $4 as 65000;
	direct;
	keepalive time $5;
	hold time $6;
	connect retry time 1;
	error wait time 1, 5;
	ipv4 { import all; export where proto = "vpc"; };
}
B
	bg_in_ns "$1" bird -f -c "$VT_TMP/bird-$1.conf" -s "$VT_TMP/bird-$1.ctl" >"$VT_TMP/bird-$1.out" 2>&1
}

# charon routes everything through ipsec0 from table 220 each time it
# installs a Child SA (TESTPEERS.md): a watcher drops that rule, so the
# main table (BGP's routes) stays in charge.
swan_rule_watch() {
	bg_in_ns "$1" sh -c 'while :; do ip rule del pref 220 2>/dev/null; sleep 0.1; done'
}

RES=()
profile() {	# NAME T1 T2 CLOUD-ASN IN1 IN2 KEEPALIVE HOLD ROUTER
	local p="$1" t1="$2" t2="$3" asn="$4" g="${1}g" c1="${1}1" c2="${1}2" router="$9"
	local conf="$VT_TMP/$p.conf" psk1 psk2 t0 tc tf act other actns deadms=-

	ns_add "$g"; ns_add "$c1"; ns_add "$c2"
	in_ns "$g" ip addr add 192.0.2.10/32 dev lo
	in_ns "$g" ip link add lan0 type veth peer name lan1
	in_ns "$g" ip link set lan0 up; in_ns "$g" ip link set lan1 up
	in_ns "$g" ip addr add 10.1.0.1/24 dev lan0
	local c n=0 addr
	for c in "$c1" "$c2"; do
		n=$((n + 1)); [ $n = 1 ] && addr=203.0.113.1 || addr=203.0.113.129
		ip link add "${VT_ID}u$n" netns "$VT_ID$g" type veth peer name "${VT_ID}w$n" netns "$VT_ID$c"
		in_ns "$g" ip link set "${VT_ID}u$n" name wan$n up
		in_ns "$c" ip link set "${VT_ID}w$n" name eth0 up
		in_ns "$c" ip addr add $addr/32 dev eth0
		in_ns "$c" ip route add 192.0.2.10/32 dev eth0 src $addr
		in_ns "$g" ip route add $addr/32 dev wan$n src 192.0.2.10
		in_ns "$c" ip addr add 10.50.0.1/32 dev lo
	done

	# vtid: the shipped example as it is.
	cp "$EX/$p.conf" "$conf"
	psk1=$(awk -v t="[tunnel $t1]" '$0 == t { s = 1 } s && $1 == "psk" { print $3; exit }' "$conf")
	psk2=$(awk -v t="[tunnel $t2]" '$0 == t { s = 1 } s && $1 == "psk" { print $3; exit }' "$conf")
	sed -i "s|^socket = .*|socket = $VT_TMP/$g.sock|" "$conf"
	swan_conf "$c1" "$p" 203.0.113.1 192.0.2.10 "$psk1"
	swan_conf "$c2" "$p" 203.0.113.129 192.0.2.10 "$psk2"
	start_charon "$c1"; start_charon "$c2"
	swan_rule_watch "$c1"; swan_rule_watch "$c2"
	in_ns "$c1" ip addr add "$5.1/30" dev ipsec0
	in_ns "$c2" ip addr add "$6.1/30" dev ipsec0
	start_vtid "$g" "$conf"
	wait_until 30 has_carrier "$g" "$t1" || fail "$p: tunnel 1 did not come up"
	wait_until 30 has_carrier "$g" "$t2" || fail "$p: tunnel 2 did not come up"
	# One IKE SA and one Child SA pair per tunnel, also where both ends
	# initiated at once: vtid deletes the duplicate it drops (charon keeps
	# both otherwise and sends on the one vtid dropped until its DPD).
	one_sa() { [ "$(swanctl "$1" --list-sas | grep -c ESTABLISHED)" = 1 ] &&
		   [ "$(swanctl "$1" --list-sas | grep -c INSTALLED)" = 1 ]; }
	wait_until 15 one_sa "$c1" || fail "$p: not one IKE SA and one Child SA at endpoint 1: $(swanctl "$c1" --list-sas)"
	wait_until 15 one_sa "$c2" || fail "$p: not one IKE SA and one Child SA at endpoint 2: $(swanctl "$c2" --list-sas)"
	local prop; prop=$(vtictl "$g" -j show "$t1" | jq -r '.[0].ike.proposal + " / " + .[0].child.proposal')

	bird_cloud "$c1" "$asn" "$5.1" "$5.2" "$7" "$8"
	bird_cloud "$c2" "$asn" "$6.1" "$6.2" "$7" "$8"
	in_ns "$g" sysctl -qw net.ipv4.ip_forward=1
	# The customer side's BGP: examples/cloud/P-frr.conf or P-bird.conf.
	if [ "$router" = frr ]; then
		start_frr "$g" "$EX/cloud/$p-frr.conf" bgpd
	else
		bg_in_ns "$g" bird -f -c "$EX/cloud/$p-bird.conf" -s "$VT_TMP/bird-$g.ctl" \
			>"$VT_TMP/bird-$g.log" 2>&1
	fi

	via() { in_ns "$g" ip route get 10.50.0.1 2>/dev/null | grep -o 'dev [a-z0-9-]*' | cut -d' ' -f2; }
	lan_ok() { in_ns "$g" ping -c 1 -W 0.5 -I 10.1.0.1 10.50.0.1 >/dev/null 2>&1; }
	both() {
		if [ "$router" = frr ]; then
			[ "$(vty "$g" "show ip bgp 10.50.0.0/16" | grep -c 'from 169.254')" = 2 ]
		else
			[ "$(in_ns "$g" birdc -s "$VT_TMP/bird-$g.ctl" show route for 10.50.0.1 |
			     grep -c 'via 169.254')" = 2 ]
		fi
	}
	t0=$(ms)
	wait_until 60 both || fail "$p: 10.50.0.0/16 not learned over both tunnels: $(vty "$g" "show ip bgp summary")"
	wait_until 10 lan_ok || fail "$p: no traffic to the cloud network (route via $(via))"
	local tl=$(( $(ms) - t0 ))
	act=$(via)
	case "$act" in
	"$t1") other=$t2 actns=$c1 ;;
	"$t2") other=$t1 actns=$c2 ;;
	*) fail "$p: the cloud route goes via '$act'" ;;
	esac
	pass "$p: both tunnels up ($prop), BGP ($router) learned 10.50.0.0/16 over both in $tl ms, traffic via $act"

	# The active cloud endpoint closes its tunnel (DELETE).
	t0=$(ms)
	swanctl "$actns" --terminate --ike cloud >/dev/null
	wait_until 10 eval "! has_carrier $g $act" || fail "$p: carrier of $act stayed up after the cloud's DELETE"
	tc=$(( $(ms) - t0 ))
	wait_until 30 eval '[ "$(via)" = "$other" ] && lan_ok' || fail "$p: traffic did not move to $other (route via $(via))"
	tf=$(( $(ms) - t0 ))
	pass "$p: cloud closed $act: carrier down after $tc ms, traffic via $other after $tf ms"
	# The tunnel returns: re-initiated by vtid (start = yes), and by the
	# cloud where it initiates too.
	t0=$(ms)
	wait_until 60 has_carrier "$g" "$act" || fail "$p: $act did not come back"
	wait_until 60 both || fail "$p: BGP did not learn the route over $act again"
	local tb=$(( $(ms) - t0 ))
	pass "$p: $act back and BGP over it again after $tb ms"

	if [ "$p" = aws ]; then
		# The active endpoint dies without a word: only DPD notices.
		act=$(via)
		case "$act" in "$t1") other=$t2 actns=$c1 ;; *) other=$t1 actns=$c2 ;; esac
		t0=$(ms)
		kill -KILL "$(eval echo "\$CHARON_$actns")"
		wait_until 60 eval "! has_carrier $g $act" || fail "$p: $act kept its carrier with its endpoint dead"
		deadms=$(( $(ms) - t0 ))
		wait_until 30 eval '[ "$(via)" = "$other" ] && lan_ok' || fail "$p: traffic did not move to $other after DPD"
		local tk=$(( $(ms) - t0 ))
		pass "$p: endpoint of $act killed: DPD declared it dead after $deadms ms, traffic via $other after $tk ms"
		deadms="$deadms ms (traffic after $tk ms)"
	fi
	RES+=("| $p | $router | $prop | $tl ms | $tc ms | $tf ms | $tb ms | $deadms |")
	# Free the CPU for the next profile.
	vt_stop_all
}

# vt_stop_all: stop every process started so far (by PID) and forget them.
vt_stop_all() {
	local pid
	for pid in "${VT_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${VT_PIDS[@]}"; do
		for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	VT_PIDS=()
}

profile aws aws-tun1 aws-tun2 64512 169.254.10 169.254.11 10 30 frr
profile azure az-tun1 az-tun2 65515 169.254.21 169.254.22 10 30 bird
profile gcp gcp-tun0 gcp-tun1 64514 169.254.0 169.254.1 20 60 frr
echo
echo "| profile | vtid side BGP | negotiated (tunnel 1) | BGP learned + traffic | cloud DELETE -> carrier down | -> traffic on the other tunnel | tunnel + BGP back | endpoint killed -> DPD dead |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s\n' "${RES[@]}"
