#!/usr/bin/env bash
# Install everything the tests need, then build and run every test:
#   1. the ci preset (-Wall -Wextra -Werror): unit, end-to-end and fuzz-seed tests;
#   2. the unit tests again under valgrind (leaks are errors);
#   3. the asan preset (AddressSanitizer + UndefinedBehaviorSanitizer): all tests;
#   4. each libFuzzer target for a short run (FUZZ_SECONDS, default 15).
set -euo pipefail
cd "$(dirname "$0")/.."

./packaging/install-deps.sh --test
jobs=$(nproc)
fuzz_seconds=${FUZZ_SECONDS:-15}

step() { printf '\n== %s (at %d s)\n' "$*" "$SECONDS"; }
passed=0
# Run a ctest preset and add its test count to the total (ctest exits non-zero on any failure).
run_ctest() {
	local log
	log=$(mktemp)
	# End-to-end tests mostly wait on sockets and timers: two per core keep the cores busy.
	ctest --preset "$1" -j"$((jobs * 2))" | tee "$log"
	passed=$((passed + $(sed -n 's/.*tests passed, 0 tests failed out of \([0-9]*\).*/\1/p' "$log")))
	rm -f "$log"
}

step "build and test: ci preset (-Werror)"
cmake --preset ci >/dev/null
cmake --build --preset ci -j"$jobs"
run_ctest ci

step "unit tests under valgrind"
# One test binary per core at a time; each writes its log, and its name to
# valgrind-clean or valgrind-failed.
vg_one() {
	local t=$1 name
	name=$(basename "$t")
	if valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
		"$t" >/dev/null 2>"build/ci/valgrind-$name.log"; then
		echo "$name" >>build/ci/valgrind-clean
		echo "valgrind: $name clean"
	else
		echo "$name" >>build/ci/valgrind-failed
		echo "valgrind: $name failed; see build/ci/valgrind-$name.log" >&2
	fi
}
export -f vg_one
rm -f build/ci/valgrind-clean build/ci/valgrind-failed
find build/ci -maxdepth 1 -name 'test_*' -type f -perm -u+x -print0 | sort -z |
	xargs -0 -n 1 -P "$jobs" bash -c 'vg_one "$0"'
if [ -s build/ci/valgrind-failed ]; then
	while read -r name; do cat "build/ci/valgrind-$name.log" >&2; done <build/ci/valgrind-failed
	exit 1
fi
passed=$((passed + $(wc -l <build/ci/valgrind-clean)))

step "build and test: asan preset (ASan + UBSan)"
cmake --preset asan >/dev/null
cmake --build --preset asan -j"$jobs"
run_ctest asan

step "fuzz targets, ${fuzz_seconds}s each"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j"$jobs"
# One target per core at a time, each from a copy of its seed corpus.
fuzz_one() {
	local f=$1 name work
	name=$(basename "$f")
	work=$(mktemp -d)
	cp -r "tests/fuzz/corpus/$name/." "$work/"
	if ! "$f" -max_total_time="$FUZZ_SECONDS" -print_final_stats=0 "$work" 2>"build/fuzz/$name.log"; then
		tail -n 40 "build/fuzz/$name.log" >&2
		echo "fuzz: $name found a crash" >&2
		echo "$name" >>build/fuzz/crashed
	else
		echo "fuzz: $name ran ${FUZZ_SECONDS}s: $(grep -o 'Done [0-9]* runs' "build/fuzz/$name.log" | tail -n 1)"
		echo "$name" >>build/fuzz/clean
	fi
	rm -rf "$work"
}
export -f fuzz_one
export FUZZ_SECONDS=$fuzz_seconds
rm -f build/fuzz/clean build/fuzz/crashed
find build/fuzz -maxdepth 1 -name 'fuzz_*' -type f -perm -u+x -print0 | sort -z |
	xargs -0 -n 1 -P "$jobs" bash -c 'fuzz_one "$0"'
[ ! -s build/fuzz/crashed ]
passed=$((passed + $(wc -l <build/fuzz/clean)))

step "all tests passed"
echo "$passed passed, 0 failed"
