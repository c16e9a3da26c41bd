#!/bin/bash
# The shipped examples are real: each passes vtid --check, and the man
# pages format without warnings.
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
for m in "$src"/doc/*.[58]; do
	out=$(groff -z -man -ww "$m" 2>&1)
	[ -z "$out" ] || { echo "FAIL: $m: $out"; exit 1; }
	n=$((n + 1))
done
echo "$n passed, 0 failed"
