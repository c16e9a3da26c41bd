#!/bin/bash
# Install what building, testing and the demo need (Debian 12, as root).
# Quiet and quick when everything is already there.
set -euo pipefail
PKGS=(build-essential cmake pkg-config clang libclang-rt-dev libssl-dev libmnl-dev libseccomp-dev libcap-ng-dev libsystemd-dev
	iproute2 iputils-ping jq nftables tcpdump tshark iperf3 ethtool
	wireguard-go wireguard-tools python3 python3-scapy python3-cryptography
	python3-cryptography-vectors util-linux procps
	strongswan-charon strongswan-swanctl strongswan-pki libcharon-extra-plugins libstrongswan-standard-plugins libstrongswan-extra-plugins
	conntrack bird2 frr groff-base prometheus curl liburing-dev libxdp-dev libbpf-dev
	openssl systemd man-db)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# vtid's network-facing processes run as this user (SPEC: [daemon] user).
if ! getent passwd vtid >/dev/null; then
	echo "deps: creating system user vtid"
	useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin vtid
fi
