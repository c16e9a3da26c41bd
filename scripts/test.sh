#!/bin/bash
# Every test: unit, known-answer, namespace integration and interop tests,
# once on a normal build and once under AddressSanitizer +
# UndefinedBehaviorSanitizer, then each libFuzzer target for a fixed time.
# Runs as root on Debian 12; installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZ_SECONDS="${FUZZ_SECONDS:-30}"

scripts/deps.sh

echo "== build (RelWithDebInfo) and test"
scripts/build.sh build
(cd build && ctest -j2 --output-on-failure)

echo "== build with ASan+UBSan and test"
scripts/build.sh build-asan -DVTI_SANITIZE=ON
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest -j2 --output-on-failure)

echo "== fuzz each parser for ${FUZZ_SECONDS}s"
CC=clang scripts/build.sh build-fuzz -DVTI_FUZZ=ON
for f in build-fuzz/tests/fuzz_*; do
	name=$(basename "$f"); corpus="tests/fuzz/corpus/${name#fuzz_}"
	work=$(mktemp -d)
	echo "-- $name"
	"$f" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 -artifact_prefix=build-fuzz/ \
		"$work" "$corpus" 2>&1 | grep -E "^(stat::number_of_executed_units|INFO: Done|==[0-9]+==ERROR)" || true
	rm -rf "$work"
	# libFuzzer leaves crash-*/leak-*/timeout-* files when it finds something.
	if ls build-fuzz/crash-* build-fuzz/leak-* build-fuzz/timeout-* >/dev/null 2>&1; then
		echo "FAIL: $name found a crash: $(ls build-fuzz/crash-* build-fuzz/leak-* build-fuzz/timeout-* 2>/dev/null)"
		exit 1
	fi
done
echo "all tests passed"
