#!/bin/sh
# Builds the whole tree for other CPUs with Debian's cross compilers and
# runs `make check` under qemu-user: by default armhf (32-bit ARM, 32-bit
# time_t, size_t and long) and s390x (64-bit big-endian), the two ways a
# router differs from the x86-64 machine every other test runs on.
#
#	scripts/cross.sh [--no-deps] [--build-only] [--release] [ARCH...]
#
# CROSS_SKIP (default tests/hostile.sh, see below) lists tests left out;
# CROSS_TESTS="tests/test_store tests/mesh.sh" runs only those.
#
# ARCH is a Debian architecture: armhf, s390x, arm64, armel, i386,
# mips64el, mipsel, ppc64el, riscv64 (the others untried).  Build
# directories are $CROSS_BUILD-ARCH (default ./build-ARCH), configured with
# --enable-debug, so warnings are errors there as here; --release builds
# without it (optimised, assertions off: what scripts/bench-footprint.sh
# measures) in $CROSS_BUILD-release-ARCH.
#
# Dependencies.  The compilers (gcc-TRIPLET) and qemu-user-static are
# installed with apt.  The libraries' -dev packages of the other
# architecture are not: Debian 12's libevent-dev is not Multi-Arch: same,
# so libevent-dev:armhf would remove the native one, and the archive's
# s390x files lag the amd64 ones by a security update, so Multi-Arch: same
# packages of the two would disagree on a version.  Instead the script
# downloads those .deb files (apt-get download) and unpacks them into
# $CROSS_ROOT/ARCH (default /var/tmp/andna-cross/ARCH) with dpkg-deb -x:
# nothing of the machine's own packages changes.  Their .pc files are
# rewritten to point there.
#
# Running.  binfmt_misc is not needed (containers rarely have it): every
# test binary runs as qemu-ARCH-static PROGRAM, the C library from the
# cross compiler's /usr/TRIPLET, the unpacked libraries through the guest's
# LD_LIBRARY_PATH.  The multi-process shell tests start andnad, andna and
# hostile_node through wrappers that do the same (tests/lib.sh takes
# ANDNAD, ANDNA and HOSTILE from the environment).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

deps=yes
check=yes
debug=--enable-debug
flavour=""
while [ $# -gt 0 ]; do
	case $1 in
	--no-deps) deps=no; shift ;;
	--build-only) check=no; shift ;;
	--release) debug=""; flavour=release-; shift ;;
	-h|--help) sed -n '2,30s/^# \{0,1\}//p' "$0"; exit 0 ;;
	-*) echo "cross.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || set -- armhf s390x
root_base=${CROSS_ROOT:-/var/tmp/andna-cross}
build_base=${CROSS_BUILD:-$top/build}
# hostile.sh is left out by default (CROSS_SKIP= runs it): under
# emulation it passed on a quiet machine for armhf and s390x (40 s), but
# failed in four runs of seven on a loaded one: names not resolved within
# its 3-second DNS deadlines, and once (armhf) a fake gnode in the
# victim's level-1 map, which is not explained yet.
skip_tests=${CROSS_SKIP-tests/hostile.sh}
jobs=$(nproc 2>/dev/null || echo 2)
[ "$jobs" -le 2 ] || jobs=2

# triplet ARCH: the GNU triplet of a Debian architecture.
triplet() {
	case $1 in
	armhf) echo arm-linux-gnueabihf ;;
	armel) echo arm-linux-gnueabi ;;
	arm64) echo aarch64-linux-gnu ;;
	i386) echo i686-linux-gnu ;;
	mips64el) echo mips64el-linux-gnuabi64 ;;
	mipsel) echo mipsel-linux-gnu ;;
	ppc64el) echo powerpc64le-linux-gnu ;;
	riscv64) echo riscv64-linux-gnu ;;
	s390x) echo s390x-linux-gnu ;;
	*) echo "cross.sh: unknown architecture $1" >&2; return 1 ;;
	esac
}

# qemu_cpu ARCH: the suffix of its qemu-*-static.
qemu_cpu() {
	case $1 in
	armhf|armel) echo arm ;;
	arm64) echo aarch64 ;;
	i386) echo i386 ;;
	mips64el) echo mips64el ;;
	mipsel) echo mipsel ;;
	ppc64el) echo ppc64le ;;
	*) echo "$1" ;;
	esac
}

# The libraries andna links, each with the runtime package its -dev
# package's .so symlink points into; libevent-dev's .so files come from
# several.
LIBDEBS="libsodium-dev libsodium23 libevent-dev libevent-2.1-7
libevent-core-2.1-7 libevent-extra-2.1-7 libevent-pthreads-2.1-7
liblmdb-dev liblmdb0 libmsgpack-dev libmsgpackc2 libcmocka-dev libcmocka0"

# deps ARCH: compiler and qemu from apt, libraries unpacked in $root.
deps() {
	arch=$1
	t=$(triplet "$arch")
	export DEBIAN_FRONTEND=noninteractive
	sh scripts/deps.sh
	if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
		dpkg --add-architecture "$arch"
		apt-get -o DPkg::Lock::Timeout=600 update -qq
	fi
	missing=""
	for p in "gcc-$t" qemu-user-static; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q "ok installed" || missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		echo "installing:$missing"
		# shellcheck disable=SC2086
		apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
		    --no-install-recommends $missing >/dev/null
	fi
	# shellcheck disable=SC2086,SC2116 # the list on one line
	want=$(echo $LIBDEBS)
	[ "$(cat "$root/.done" 2>/dev/null)" = "$want" ] && return 0
	# unpacked beside it, then swapped in: a build using the old tree
	# keeps it until then
	new=$root.new
	rm -rf "$new"
	mkdir -p "$new/debs"
	pkgs=""
	for p in $LIBDEBS; do
		pkgs="$pkgs $p:$arch"
	done
	# apt drops privileges to _apt, which may not write there
	chmod 0777 "$new/debs"
	# shellcheck disable=SC2086
	(cd "$new/debs" && apt-get download -q $pkgs >/dev/null)
	for f in "$new"/debs/*.deb; do
		dpkg-deb -x "$f" "$new"
	done
	mkdir -p "$new/pc"
	for f in "$new/usr/lib/$t/pkgconfig"/*.pc "$new"/usr/share/pkgconfig/*.pc; do
		[ -f "$f" ] || continue
		sed "s|=/usr|=$root/usr|" "$f" >"$new/pc/${f##*/}"
	done
	echo "$want" >"$new/.done"
	rm -rf "$root"
	mv "$new" "$root"
}

# wrap BUILD ARCH: $BUILD/qemu/: run (the LOG_COMPILER: foreign programs
# under qemu, scripts as they are) and the shell tests' program wrappers.
wrap() {
	b=$1
	q="qemu-$(qemu_cpu "$2")-static"
	mkdir -p "$b/qemu"
	cat >"$b/qemu/env" <<EOF
QEMU_LD_PREFIX=/usr/$t
QEMU_SET_ENV=LD_LIBRARY_PATH=$root/usr/lib/$t
export QEMU_LD_PREFIX QEMU_SET_ENV
EOF
	cat >"$b/qemu/run" <<EOF
#!/bin/sh
. "$b/qemu/env"
if head -c 4 "\$1" | grep -q ELF; then
	exec $q "\$@"
fi
exec "\$@"
EOF
	for p in andnad andna tests/hostile_node; do
		cat >"$b/qemu/${p##*/}" <<EOF
#!/bin/sh
. "$b/qemu/env"
case \${LD_PRELOAD:-} in
*faketime*)
	# the host's library cannot reach the guest, and the guest's own
	# (libfaketime:$arch) hangs under qemu-user: refuse, so that
	# tests/clock.sh skips at once
	echo "${p##*/} under qemu-user: no libfaketime" >&2
	exit 1 ;;
esac
exec $q "$b/$p" "\$@"
EOF
	done
	chmod +x "$b"/qemu/run "$b"/qemu/andnad "$b"/qemu/andna \
	    "$b"/qemu/hostile_node
}

# cpu_now: sets $cpu to the user and system seconds of every child of
# this script so far (what a machine shared with others does not inflate,
# as it does wall time).  `times` runs in this shell, not a subshell,
# which would not see them.
cpu_now() {
	times >"$timesf"
	cpu=$(awk 'NR == 2 {
		t = 0
		for (i = 1; i <= 2; i++) {
			split($i, a, "m")
			t += a[1] * 60 + a[2]
		}
		printf "%d\n", t
	}' "$timesf")
}

# tests_of BUILD: the tests to run: $CROSS_TESTS, else every test of the
# build but those in $CROSS_SKIP.
tests_of() {
	if [ -n "${CROSS_TESTS:-}" ]; then
		echo "$CROSS_TESTS"
		return
	fi
	# shellcheck disable=SC2016 # $(TESTS) is make's
	printf 'print-tests:\n\t@echo $(TESTS)\n' |
	    make -s -C "$1" -f Makefile -f - print-tests | tr ' ' '\n' |
	    grep -vxF "$(echo "$skip_tests" | tr ' ' '\n')" | tr '\n' ' '
}

# build ARCH: configure, build, and unless --build-only, make check.
build() {
	arch=$1
	t=$(triplet "$arch")
	b=$build_base-$flavour$arch
	start=$(date +%s)
	cpu_now
	cpu_start=$cpu
	echo "=== $arch ($t): $b"
	mkdir -p "$b"
	# shellcheck disable=SC2086
	(cd "$b" && "$top/configure" -q --host="$t" $debug \
	    CC="$t-gcc" PKG_CONFIG=pkg-config \
	    PKG_CONFIG_LIBDIR="$root/pc" \
	    LDFLAGS="-L$root/usr/lib/$t -Wl,-rpath-link,$root/usr/lib/$t" &&
	    make -s -j"$jobs")
	built=$(date +%s)
	cpu_now
	cpu_built=$cpu
	echo "$arch: built in $((built - start)) s" \
	    "(CPU $((cpu_built - cpu_start)) s)"
	[ "$check" = yes ] || return 0
	wrap "$b" "$arch"
	rc=0
	run=$(tests_of "$b")
	(cd "$b" && ANDNAD="$b/qemu/andnad" ANDNA="$b/qemu/andna" \
	    HOSTILE="$b/qemu/hostile_node" \
	    make -s -j"$jobs" check LOG_COMPILER="$b/qemu/run" \
	    TESTS="$run") || rc=$?
	end=$(date +%s)
	cpu_now
	sed -n 's/^# \(TOTAL\|PASS\|SKIP\|XFAIL\|FAIL\|XPASS\|ERROR\): */\1 /p' \
	    "$b/test-suite.log" | tr '\n' ' ' | sed "s/^/$arch: /"
	echo
	for s in $run; do
		grep -q ':test-result: SKIP' "$b/$s.trs" 2>/dev/null &&
		    echo "$arch: skipped $s: $(grep -m1 'SKIP' "$b/$s.log")"
	done
	if [ -z "${CROSS_TESTS:-}" ]; then
		for s in $skip_tests; do
			echo "$arch: left out $s (CROSS_SKIP)"
		done
	fi
	echo "$arch: tests in $((end - built)) s, $((end - start)) s in all" \
	    "(CPU: build $((cpu_built - cpu_start)) s, tests $((cpu - cpu_built)) s)"
	if [ "$rc" != 0 ]; then
		for f in "$b"/tests/*.log; do
			case $f in */test-suite.log) continue ;; esac
			grep -q "^# FAIL\|^FAIL\|ERROR" "$f" 2>/dev/null &&
			    { echo "--- $f"; tail -n 40 "$f"; }
		done
		status=1
	fi
	return 0
}

[ -f configure ] || autoreconf -fi
status=0
timesf=$(mktemp)
trap 'rm -f "$timesf"' EXIT
for arch in "$@"; do
	t=$(triplet "$arch")
	root=$root_base/$arch
	[ "$deps" = no ] || deps "$arch"
	build "$arch"
done
exit $status
