#!/bin/sh
# The whole test suite, as CI runs it: installs the build dependencies,
# then builds twice and runs `make check` in each build: once with warnings
# as errors, once under AddressSanitizer and UndefinedBehaviorSanitizer.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
sh scripts/deps.sh
autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
jobs=$(nproc 2>/dev/null || echo 2)
run_build() {
	dir=$1; shift
	echo "=== build $dir: configure $*"
	mkdir -p "$dir"
	(cd "$dir" && "$top/configure" -q "$@" && make -s -j"$jobs" &&
	    make -s -j"$jobs" check) || {
		for f in "$dir"/tests/*.log; do
			[ -f "$f" ] || continue
			case "$f" in */test-suite.log) continue ;; esac
			grep -q "^# FAIL\|^FAIL\|ERROR" "$f" 2>/dev/null && { echo "--- $f"; tail -n 60 "$f"; }
		done
		exit 1
	}
	pass=$((pass + $(sed -n 's/^# PASS: *//p' "$dir"/test-suite.log)))
	fail=$((fail + $(sed -n 's/^# FAIL: *//p' "$dir"/test-suite.log)))
}
pass=0
fail=0
run_build build-check --enable-debug
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    run_build build-sanitize --enable-debug --enable-sanitizers CC=clang
echo "all tests passed in both builds"
echo "$pass passed, $fail failed"
