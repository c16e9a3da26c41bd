#!/bin/bash
# cycles.sh - instructions per packet for ESP encapsulation and
# decapsulation, counted by callgrind (repeatable whatever else the
# machine does) on the real esp_encap()/esp_decap(), per suite and size.
# Compare two builds by running it on each.  Usage: bench/cycles.sh [COUNT]
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-2000}"
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind >/dev/null; }
scripts/build.sh build
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
count() {	# FUNCTION SUITE SIZE -> instructions per packet inside FUNCTION
	valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" --toggle-collect="$1" \
		build/esp_bench "$2" "$N" "$3" >/dev/null 2>&1
	callgrind_annotate "$tmp/cg" 2>/dev/null | awk -v n="$N" '/PROGRAM TOTALS/ {
		gsub(",", "", $1); printf "%d", $1 / n }'
}
printf '| %-18s | %5s | %12s | %12s |\n' suite bytes "encap instr" "decap instr"
printf '|%s|\n' "--------------------|-------|--------------|--------------"
for suite in aes128gcm16 aes256gcm16 chacha20poly1305 aes128-sha256 aes256-sha512; do
	for size in 64 1400; do
		printf '| %-18s | %5s | %12s | %12s |\n' "$suite" "$size" \
			"$(count esp_encap "$suite" "$size")" "$(count esp_decap "$suite" "$size")"
	done
done
