#!/bin/sh
# `make install` puts the programs and the man pages andnad(8), andna(1)
# and andnad.conf(5) in place (under a DESTDIR in a temporary directory),
# and andnad.service where configure found systemd; the pages render
# without warnings, the unit passes systemd-analyze verify, and
# `make uninstall` takes every file away again.
set -u
builddir=${top_builddir:-.}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/andna-install.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT

fail() {
	echo "FAIL: $*"
	exit 1
}

# the parent make's jobserver and flags are not for this one
unset MAKEFLAGS MFLAGS
make -s -C "$builddir" install DESTDIR="$tmp/root" \
    >"$tmp/install.log" 2>&1 || fail "make install: $(cat "$tmp/install.log")"
# where configure's prefix put them
find_one() {
	find "$tmp/root" -path "*/$1" -type f | head -n 1
}
for f in sbin/andnad bin/andna; do
	[ -x "$(find_one "$f")" ] || fail "make install did not install $f"
done
for page in man8/andnad.8 man1/andna.1 man5/andnad.conf.5; do
	f=$(find_one "man/$page")
	[ -s "$f" ] || fail "make install did not install $page"
	if command -v man >/dev/null; then
		LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$f" \
		    >"$tmp/page.txt" 2>"$tmp/warn.txt" ||
			fail "man cannot render $page: $(cat "$tmp/warn.txt")"
		[ -s "$tmp/warn.txt" ] && fail "$page: $(cat "$tmp/warn.txt")"
		grep -q "^NAME" "$tmp/page.txt" || fail "$page has no NAME section"
	fi
done
# the systemd unit, where configure found systemd: it starts the andnad
# just installed, and systemd-analyze finds nothing wrong in it
unitdir=$(sed -n 's/^systemdsystemunitdir = //p' "$builddir/Makefile")
if [ -n "$unitdir" ]; then
	unit=$tmp/root$unitdir/andnad.service
	[ -s "$unit" ] || fail "make install did not install $unitdir/andnad.service"
	exe=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit")
	[ -x "$tmp/root$exe" ] || fail "the unit starts $exe, which make install did not install"
	if command -v systemd-analyze >/dev/null; then
		sed "s|^ExecStart=$exe|ExecStart=$tmp/root$exe|" "$unit" >"$tmp/andnad.service"
		out=$(systemd-analyze verify --man=no "$tmp/andnad.service" 2>&1) ||
			fail "systemd-analyze verify andnad.service: $out"
		[ -z "$out" ] || fail "systemd-analyze verify andnad.service: $out"
	fi
fi
make -s -C "$builddir" uninstall DESTDIR="$tmp/root" \
    >"$tmp/uninstall.log" 2>&1 || fail "make uninstall: $(cat "$tmp/uninstall.log")"
left=$(find "$tmp/root" -type f)
[ -z "$left" ] || fail "make uninstall left $left"
echo "PASS: programs, man pages${unitdir:+ and the systemd unit} install and uninstall"
exit 0
