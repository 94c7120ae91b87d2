#!/usr/bin/env bash
# Install everything the tests need, then build and run every test:
#   1. the ci preset (-Wall -Wextra -Werror): unit, end-to-end and fuzz-seed tests;
#   2. the unit tests again under valgrind (leaks are errors);
#   3. the asan preset (AddressSanitizer + UndefinedBehaviorSanitizer): all tests;
#   4. each libFuzzer target for a short run (FUZZ_SECONDS, default 20).
set -euo pipefail
cd "$(dirname "$0")/.."

./packaging/install-deps.sh --test
jobs=$(nproc)
fuzz_seconds=${FUZZ_SECONDS:-20}

step() { printf '\n== %s\n' "$*"; }
passed=0
# Run a ctest preset and add its test count to the total (ctest exits non-zero on any failure).
run_ctest() {
	local log
	log=$(mktemp)
	ctest --preset "$1" -j"$jobs" | tee "$log"
	passed=$((passed + $(sed -n 's/.*tests passed, 0 tests failed out of \([0-9]*\).*/\1/p' "$log")))
	rm -f "$log"
}

step "build and test: ci preset (-Werror)"
cmake --preset ci >/dev/null
cmake --build --preset ci -j"$jobs"
run_ctest ci

step "unit tests under valgrind"
vg_fail=0
for t in build/ci/test_*; do
	[ -x "$t" ] || continue
	if ! valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
		"$t" >/dev/null 2>build/ci/valgrind-"$(basename "$t")".log; then
		echo "valgrind: $(basename "$t") failed; see build/ci/valgrind-$(basename "$t").log" >&2
		cat build/ci/valgrind-"$(basename "$t")".log >&2
		vg_fail=1
	else
		echo "valgrind: $(basename "$t") clean"
		passed=$((passed + 1))
	fi
done
[ "$vg_fail" -eq 0 ]

step "build and test: asan preset (ASan + UBSan)"
cmake --preset asan >/dev/null
cmake --build --preset asan -j"$jobs"
run_ctest asan

step "fuzz targets, ${fuzz_seconds}s each"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j"$jobs"
for f in build/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	work=$(mktemp -d)
	cp -r "tests/fuzz/corpus/$name/." "$work/"
	"$f" -max_total_time="$fuzz_seconds" -print_final_stats=0 "$work" 2>build/fuzz/"$name".log ||
		{ tail -n 40 build/fuzz/"$name".log >&2; echo "fuzz: $name found a crash" >&2; exit 1; }
	echo "fuzz: $name ran ${fuzz_seconds}s: $(grep -o 'Done [0-9]* runs' build/fuzz/"$name".log | tail -n 1)"
	passed=$((passed + 1))
	rm -rf "$work"
done

step "all tests passed"
echo "$passed passed, 0 failed"
