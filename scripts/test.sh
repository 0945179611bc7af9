#!/bin/sh
# The whole test suite, as CI runs it: installs the build dependencies,
# then builds twice and runs `make check` in each build: once with warnings
# as errors, once under AddressSanitizer and UndefinedBehaviorSanitizer.
# CROSS=1 adds armhf and s390x builds tested under qemu-user.
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
# Other CPUs under qemu-user (scripts/cross.sh): only when asked, as
# CROSS=1 (armhf and s390x) or CROSS="ARCH...", for it takes long.
if [ -n "${CROSS:-}" ]; then
	[ "$CROSS" = 1 ] && CROSS="armhf s390x"
	# shellcheck disable=SC2086
	sh scripts/cross.sh $CROSS || exit 1
	for arch in $CROSS; do
		pass=$((pass + $(sed -n 's/^# PASS: *//p' "build-$arch/test-suite.log")))
		fail=$((fail + $(sed -n 's/^# FAIL: *//p' "build-$arch/test-suite.log")))
	done
fi
echo "all tests passed in every build"
echo "$pass passed, $fail failed"
