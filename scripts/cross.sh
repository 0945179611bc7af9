#!/bin/sh
# Builds the whole tree for other CPUs with Debian's cross compilers and
# runs `make check` under qemu-user: by default armhf (32-bit ARM, 32-bit
# time_t, size_t and long) and s390x (64-bit big-endian), the two ways a
# router differs from the x86-64 machine every other test runs on.
#
#	scripts/cross.sh [--no-deps] [--build-only] [ARCH...]
#
# ARCH is a Debian architecture: armhf, s390x, arm64, armel, i386,
# mips64el, mipsel, ppc64el, riscv64 (the others untried).  Build
# directories are $CROSS_BUILD-ARCH (default ./build-ARCH), configured with
# --enable-debug, so warnings are errors there as here.
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
while [ $# -gt 0 ]; do
	case $1 in
	--no-deps) deps=no; shift ;;
	--build-only) check=no; shift ;;
	-h|--help) sed -n '2,30s/^# \{0,1\}//p' "$0"; exit 0 ;;
	-*) echo "cross.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || set -- armhf s390x
root_base=${CROSS_ROOT:-/var/tmp/andna-cross}
build_base=${CROSS_BUILD:-$top/build}
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
	[ -f "$root/.done" ] && return 0
	rm -rf "$root"
	mkdir -p "$root/debs"
	pkgs=""
	for p in $LIBDEBS; do
		pkgs="$pkgs $p:$arch"
	done
	# apt drops privileges to _apt, which may not write to $root
	chmod 0777 "$root/debs"
	# shellcheck disable=SC2086
	(cd "$root/debs" && apt-get download -q $pkgs >/dev/null)
	for f in "$root"/debs/*.deb; do
		dpkg-deb -x "$f" "$root"
	done
	mkdir -p "$root/pc"
	for f in "$root/usr/lib/$t/pkgconfig"/*.pc "$root"/usr/share/pkgconfig/*.pc; do
		[ -f "$f" ] || continue
		sed "s|=/usr|=$root/usr|" "$f" >"$root/pc/${f##*/}"
	done
	touch "$root/.done"
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
exec $q "$b/$p" "\$@"
EOF
	done
	chmod +x "$b"/qemu/run "$b"/qemu/andnad "$b"/qemu/andna \
	    "$b"/qemu/hostile_node
}

# build ARCH: configure, build, and unless --build-only, make check.
build() {
	arch=$1
	t=$(triplet "$arch")
	b=$build_base-$arch
	start=$(date +%s)
	echo "=== $arch ($t): $b"
	mkdir -p "$b"
	(cd "$b" && "$top/configure" -q --host="$t" --enable-debug \
	    CC="$t-gcc" PKG_CONFIG=pkg-config \
	    PKG_CONFIG_LIBDIR="$root/pc" \
	    LDFLAGS="-L$root/usr/lib/$t -Wl,-rpath-link,$root/usr/lib/$t" &&
	    make -s -j"$jobs")
	built=$(date +%s)
	echo "$arch: built in $((built - start)) s"
	[ "$check" = yes ] || return 0
	wrap "$b" "$arch"
	rc=0
	(cd "$b" && ANDNAD="$b/qemu/andnad" ANDNA="$b/qemu/andna" \
	    HOSTILE="$b/qemu/hostile_node" \
	    make -s -j"$jobs" check LOG_COMPILER="$b/qemu/run") || rc=$?
	end=$(date +%s)
	sed -n 's/^# \(TOTAL\|PASS\|SKIP\|XFAIL\|FAIL\|XPASS\|ERROR\): */\1 /p' \
	    "$b/test-suite.log" | tr '\n' ' ' | sed "s/^/$arch: /"
	echo
	grep -l ':test-result: SKIP' "$b"/tests/*.trs 2>/dev/null |
	    while read -r f; do
		f=${f%.trs}.log
		echo "$arch: skipped ${f#"$b"/}: $(grep -m1 'SKIP' "$f")"
	    done
	echo "$arch: tests in $((end - built)) s, $((end - start)) s in all"
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
for arch in "$@"; do
	t=$(triplet "$arch")
	root=$root_base/$arch
	[ "$deps" = no ] || deps "$arch"
	build "$arch"
done
exit $status
