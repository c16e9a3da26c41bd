#!/bin/bash
# The shipped examples are real: each passes vtid --check, the FRR and
# BIRD configurations parse, and the man pages format without warnings.
set -euo pipefail
: "${VTID:?}"
src="$(dirname "$0")/.."
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
n=0
for f in "$src"/examples/*.conf "$src"/examples/strongswan/vtid.conf; do
	cp "$f" "$tmp/x.conf"; chmod 600 "$tmp/x.conf"
	"$VTID" --check -c "$tmp/x.conf" >/dev/null || { echo "FAIL: $f"; exit 1; }
	n=$((n + 1))
done
# FRR and BIRD configurations: parsed by the programs that will read them
# (vtysh -C checks every daemon's commands; bird -p parses and exits).
command -v vtysh >/dev/null || { echo "FAIL: vtysh is not installed (package frr)"; exit 1; }
command -v bird >/dev/null || { echo "FAIL: bird is not installed (package bird2)"; exit 1; }
: > "$tmp/vtysh.conf"
for f in "$src"/examples/frr/*.conf "$src"/examples/cloud/*-frr.conf; do
	out=$(vtysh --config_dir "$tmp" -C -f "$f" 2>&1) || { echo "FAIL: $f: $out"; exit 1; }
	n=$((n + 1))
done
for f in "$src"/examples/cloud/*-bird.conf "$src"/examples/bird/*.conf; do
	bird -p -c "$f" || { echo "FAIL: $f"; exit 1; }
	n=$((n + 1))
done
for m in "$src"/doc/*.[58]; do
	out=$(groff -z -man -ww "$m" 2>&1)
	[ -z "$out" ] || { echo "FAIL: $m: $out"; exit 1; }
	n=$((n + 1))
done
echo "$n passed, 0 failed"
