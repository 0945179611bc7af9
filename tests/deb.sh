#!/bin/bash
# The Debian package, as a new user meets it.  dpkg-buildpackage builds
# andna from a copy of the source; lintian finds no error in it; its
# systemd unit passes systemd-analyze verify.  It is installed into a fresh
# Debian 12 root (debootstrap --variant=minbase with the package's
# dependencies, made once and kept as a tarball in /var/cache/andna-tests;
# the first run takes a few minutes, later ones unpack it in seconds),
# where the installed andnad runs from the packaged configuration on a
# loopback address, binds DNS on port 53 and drops to the user andna, and
# again from the package's unit when systemd-nspawn boots the root (where
# removing the package stops the node, and installing it does not start
# it until systemctl enable --now); a
# member of the group andna registers a name with the installed andna, a
# user outside it is refused, and dig resolves the name.  Removing keeps
# the configuration and the state; purging takes every file the package
# or the node made, and keeps the user and group andna (owning nothing),
# as Debian's account handling recommends.
#
# Needs root, dpkg-buildpackage with debhelper, debootstrap, dig and the
# Debian archive (first run only); otherwise skipped (exit 77).  The root
# shares the host's network: only $net (in 127.0.0.0/8) is used, and
# nothing inside the root is given a resolver.  Everything started here
# is killed on exit; /proc is mounted in the root only inside a private
# mount namespace.
set -u
srcdir=${top_srcdir:-.}
# shellcheck source-path=SCRIPTDIR/.. source=tests/lib.sh
. "$srcdir/tests/lib.sh" deb
srcdir=$(cd "$srcdir" && pwd)

[ "$(id -u)" = 0 ] || skip "not root: cannot build a Debian root and install into it"
need dpkg-buildpackage dh debootstrap dig chroot unshare flock
[ -r /etc/debian_version ] || skip "not a Debian host"
# the package is built from the source with its own flags: once per
# suite is enough, and scripts/test.sh runs it in its plain build
grep -q -e '--enable-sanitizers' "$builddir/config.status" 2>/dev/null &&
	skip "a sanitizer build: the package does not depend on it (the plain build runs this)"

cache=${ANDNA_TEST_CACHE:-/var/cache/andna-tests}
root=$tmp/root
ip=$net.1

# what went on in the root, on failure
fail_more() {
	tail_logs "$tmp/build.log" "$tmp/andnad.log" "$tmp/dpkg.log"
}

# in_root CMD...: CMD inside the root, with /proc of its own
in_root() {
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare -m --propagation private /bin/sh -c \
	    'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"' "$root" "$@"
}

# ---- build the package from a copy of the source --------------------------
mkdir -p "$tmp/src/andna"
if git -C "$srcdir" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# the working tree as it is: tracked and new files, not what git ignores
	# shellcheck disable=SC2016 # expanded by the inner shell
	(cd "$srcdir" && git ls-files -z --cached --others --exclude-standard |
	    xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
	    tar -cf - --null -T -) | tar -xf - -C "$tmp/src/andna" ||
		fail "cannot copy the source"
else
	tar -cf - -C "$srcdir" --exclude='./build*' --exclude=./autom4te.cache \
	    --exclude=./config.status --exclude=./config.log . |
	    tar -xf - -C "$tmp/src/andna" || fail "cannot copy the source"
fi
log "building the package"
t=$SECONDS
(cd "$tmp/src/andna" && unset MAKEFLAGS MFLAGS &&
    DEB_BUILD_OPTIONS="nocheck parallel=2" \
    dpkg-buildpackage -b -us -uc -nc) >"$tmp/build.log" 2>&1 ||
	fail "dpkg-buildpackage failed"
log "built in $((SECONDS - t)) s"
deb=
for f in "$tmp"/src/andna_*_*.deb; do
	[ -f "$f" ] && deb=$f
done
[ -f "$deb" ] || fail "no .deb built"
contents=$(dpkg-deb -c "$deb")
for f in ./usr/sbin/andnad ./usr/bin/andna ./etc/andna/andnad.conf \
    ./lib/systemd/system/andnad.service ./usr/share/man/man8/andnad.8.gz \
    ./usr/share/man/man1/andna.1.gz ./usr/share/man/man5/andnad.conf.5.gz; do
	grep -q " $f\$" <<<"$contents" || fail "the package lacks $f"
done
[ "$(dpkg-deb -I "$deb" conffiles)" = /etc/andna/andnad.conf ] ||
	fail "the configuration is not the one conffile: $(dpkg-deb -I "$deb" conffiles)"

if command -v lintian >/dev/null; then
	lintian --allow-root "$deb" >"$tmp/lintian.txt" 2>&1
	grep '^E:' "$tmp/lintian.txt" && fail "lintian reports errors"
	log "lintian: $(grep -c '^[WE]:' "$tmp/lintian.txt") errors or warnings"
else
	log "no lintian here: not run"
fi

mkdir -p "$tmp/x"
dpkg-deb -x "$deb" "$tmp/x" || fail "cannot unpack the package"
if command -v systemd-analyze >/dev/null; then
	# the unit as packaged, its program where it was unpacked
	sed "s|^ExecStart=/usr/sbin/andnad|ExecStart=$tmp/x/usr/sbin/andnad|" \
	    "$tmp/x/lib/systemd/system/andnad.service" >"$tmp/andnad.service"
	out=$(systemd-analyze verify --man=no "$tmp/andnad.service" 2>&1) ||
		fail "systemd-analyze verify: $out"
	[ -z "$out" ] || fail "systemd-analyze verify: $out"
	grep -qx 'User=andna' "$tmp/andnad.service" || fail "the unit runs as root"
	grep -qx 'CapabilityBoundingSet=CAP_NET_BIND_SERVICE' \
	    "$tmp/andnad.service" || fail "the unit keeps capabilities"
fi

# ---- a fresh Debian 12 root with the package's dependencies ---------------
# the package names of Depends, without versions
# (and systemd, to boot the root with the package's unit)
deps=$( (dpkg-deb -f "$deb" Depends; echo ", systemd, systemd-sysv") | tr ',' '\n' |
    sed -e 's/(.*)//' -e 's/|.*//' -e 's/ //g' | grep -v '^\$' | sort -u |
    paste -sd, -)
mirror=$(sed -n 's/^URIs: *\([^ ]*\/debian\)\/*$/\1/p' \
    /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
[ -n "$mirror" ] || mirror=$(sed -n \
    's/^deb  *\(\[[^]]*\]  *\)\{0,1\}\([^ ]*\/debian\)\/*  *bookworm .*/\2/p' \
    /etc/apt/sources.list 2>/dev/null | head -n 1)
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
boot=$tmp/boot
tarball=$cache/bookworm-minbase-$(echo "$deps" | md5sum | cut -c1-12).tar.gz
mkdir -p "$cache" || fail "cannot make $cache"
(
	flock 9
	[ -s "$tarball" ] && exit 0
	log "making the Debian root (once): debootstrap from $mirror"
	t=$SECONDS
	rm -rf "${boot:?}"
	debootstrap --variant=minbase --include="$deps" bookworm "${boot:?}" \
	    "$mirror" >"$tmp/debootstrap.log" 2>&1 ||
		{ tail -n 20 "$tmp/debootstrap.log"; exit 1; }
	rm -rf "${boot:?}"/var/cache/apt/archives/*.deb \
	    "${boot:?}"/var/lib/apt/lists/*_Packages
	tar -czf "$tarball.part" -C "${boot:?}" . &&
		mv "$tarball.part" "$tarball"
	rc=$?
	# roots made for other dependencies are of no more use
	for old in "$cache"/bookworm-minbase-*.tar.gz; do
		[ "$old" = "$tarball" ] || rm -f "$old"
	done
	rm -rf "${boot:?}"
	log "root made in $((SECONDS - t)) s: $tarball"
	exit $rc
) 9>"$cache/lock" || skip "cannot make a Debian root with debootstrap"
t=$SECONDS
mkdir -p "$root" || fail "cannot make $root"
tar -xzf "$tarball" -C "$root" || fail "cannot unpack $tarball"
log "root unpacked in $((SECONDS - t)) s"
# no resolver inside: nothing here may leave the machine
: >"$root/etc/resolv.conf"
for u in member stranger; do
	in_root adduser --system --group --quiet "$u" >/dev/null ||
		fail "cannot add the user $u"
done

# every file of the root before the package, less what dpkg keeps of its own
snapshot() {
	(cd "$root" && find . -xdev \( -path ./proc -o -path ./dev \
	    -o -path ./var/lib/dpkg -o -path ./var/log -o -path ./var/cache \
	    -o -path ./tmp -o -path './etc/*-' \) -prune -o -print) |
	    LC_ALL=C sort
}
snapshot >"$tmp/before"

# ---- install ---------------------------------------------------------------
cp "$deb" "$root/tmp/andna.deb"
in_root dpkg -i /tmp/andna.deb >"$tmp/dpkg.log" 2>&1 ||
	fail "dpkg -i failed in the root"
rm -f "$root/tmp/andna.deb"
# shellcheck disable=SC2016 # a dpkg-query field, not the shell's
in_root dpkg-query -W -f='${Status}' andna | grep -q "install ok installed" ||
	fail "andna is not installed"
in_root getent passwd andna >/dev/null || fail "no user andna"
in_root getent group andna >/dev/null || fail "no group andna"
# the root's ids of andna: the host may give those numbers other names
uid=$(in_root id -u andna)
gid=$(in_root id -g andna)
[ "$(stat -c '%u:%g %a' "$root/var/lib/andna")" = "$uid:$gid 700" ] ||
	fail "/var/lib/andna is $(stat -c '%u:%g %a' "$root/var/lib/andna"), not $uid:$gid 700"
in_root adduser --quiet member andna >/dev/null || fail "cannot add member to andna"

# ---- run the installed node, from its packaged configuration ---------------
conf=$root/etc/andna/andnad.conf
grep -qx 'user = andna *#.*' "$conf" || fail "the configuration does not drop to andna"
cat >>"$conf" <<EOF
# added by tests/deb.sh
listen = $ip:$port
dns_listen = $ip:53
http_listen =
dns_resolv_conf =
EOF
# in_root's body, so that unshare, sh and chroot each exec the next and
# the pid is andnad's
# shellcheck disable=SC2016 # expanded by the inner shell
unshare -m --propagation private /bin/sh -c \
    'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"' "$root" \
    /usr/sbin/andnad --foreground >"$tmp/andnad.log" 2>&1 &
pid[node]=$!
sock=$root/run/andna/control
for _ in $(seq 1 100); do
	[ -S "$sock" ] && break
	kill -0 "${pid[node]}" 2>/dev/null || fail "andnad died: $(cat "$tmp/andnad.log")"
	sleep 0.1
done
[ -S "$sock" ] || fail "no control socket at /run/andna/control"
[ "$(stat -c '%g %a' "$sock")" = "$gid 660" ] ||
	fail "the control socket is $(stat -c '%u:%g %a' "$sock"), not group $gid 660"
node=${pid[node]}
for _ in $(seq 1 50); do
	[ "$(ps -o uid= -p "$node" 2>/dev/null | tr -d ' ')" = "$uid" ] && break
	sleep 0.1
done
[ "$(ps -o uid=,gid= -p "$node" | tr -s ' ' | sed 's/^ //')" = "$uid $gid" ] ||
	fail "andnad runs as $(ps -o uid=,gid= -p "$node"), not $uid $gid"
ss -lun 2>/dev/null | grep -q " $ip:53 " || fail "andnad does not listen on $ip:53"

# andna as a member of the group andna, and as a stranger
as() {
	local who=$1
	shift
	in_root setpriv --reuid="$who" --regid="$who" --init-groups \
	    /usr/bin/andna "$@" 2>&1
}
for _ in $(seq 1 100); do
	out=$(as member --json status) && grep -q '"joined": *true' <<<"$out" && break
	sleep 0.2
done
grep -q '"joined": *true' <<<"$out" || fail "the node did not come up: $out"
out=$(as stranger status)
rc=$?
[ "$rc" = 3 ] || fail "a user outside the group andna used the node (exit $rc): $out"
out=$(as member register pkg-test 10.9.8.7 fd00::87) ||
	fail "register failed: $out"
log "registered: $out"
out=$(as member resolve pkg-test) || fail "resolve failed: $out"
grep -q 10.9.8.7 <<<"$out" || fail "resolve: $out"
a=$(dig +short +time=2 +tries=2 @"$ip" pkg-test.ntk A)
[ "$a" = 10.9.8.7 ] || fail "dig pkg-test.ntk A: '$a'"
aaaa=$(dig +short +time=2 +tries=2 @"$ip" pkg-test.ntk AAAA)
[ "$aaaa" = fd00::87 ] || fail "dig pkg-test.ntk AAAA: '$aaaa'"
[ -s "$root/var/lib/andna/node.key" ] || fail "no node key in /var/lib/andna"
[ "$(stat -c '%u' "$root/var/lib/andna/store")" = "$uid" ] ||
	fail "the store is not andna's"
kill -TERM "$node" 2>/dev/null
for _ in $(seq 1 50); do
	kill -0 "${pid[node]}" 2>/dev/null || break
	sleep 0.1
done
kill -0 "${pid[node]}" 2>/dev/null && fail "andnad did not stop on SIGTERM"
unset 'pid[node]'
log "the installed node answered dig and andna, and stopped"

# ---- the same under systemd, from the package's unit -----------------------------
# systemd-nspawn boots the root with its changes on a tmpfs (nothing of
# this boot stays), starts andnad.service and a unit of the test's that
# writes what it sees to a directory of the test, and powers off.
if ! command -v systemd-nspawn >/dev/null; then
	log "no systemd-nspawn (systemd-container): the unit is not booted"
else
	mkdir -p "$tmp/ctl" "$tmp/out"
	cat >"$tmp/ctl/andna-check.service" <<-'EOF'
	[Unit]
	Description=tests/deb.sh: what andnad.service looks like
	Wants=andnad.service
	After=andnad.service
	[Service]
	Type=oneshot
	ExecStart=/bin/sh /run/andna-ctl/check.sh
	ExecStartPost=/bin/systemctl --no-block poweroff
	EOF
	cat >"$tmp/ctl/check.sh" <<-EOF
	out=/run/andna-out/out
	for _ in \$(seq 1 50); do
		[ -S /run/andna/control ] && break
		sleep 0.1
	done
	pid=\$(systemctl show -p MainPID --value andnad)
	{
	echo "active=\$(systemctl is-active andnad)"
	echo "ids=\$(awk '/^Uid:/ { u = \$2 } /^Gid:/ { g = \$2 } END { print u ":" g }' /proc/\$pid/status)"
	echo "caps=\$(awk '/^Cap(Eff|Bnd|Amb):/ { printf "%s ", \$2 }' /proc/\$pid/status)"
	echo "sock=\$(stat -c '%U:%G %a' /run/andna/control)"
	setpriv --reuid=member --regid=member --init-groups andna register sd-test 10.1.2.3 >/dev/null 2>&1
	echo "member=\$?"
	setpriv --reuid=stranger --regid=stranger --init-groups andna status >/dev/null 2>&1
	echo "stranger=\$?"
	systemctl reload andnad
	echo "reload=\$?"
	sleep 0.5
	echo "after_reload=\$(systemctl is-active andnad)"
	for _ in \$(seq 1 100); do
		[ -s /run/andna-out/dig ] && break
		sleep 0.1
	done
	echo "dig=\$(cat /run/andna-out/dig 2>/dev/null)"
	journalctl -u andnad --no-pager >/run/andna-out/journal 2>&1
	# removing stops the node; installing does not start it, and
	# systemctl enable --now does, as the README says
	dpkg -r andna >/dev/null 2>&1
	echo "removed=\$(systemctl is-active andnad)"
	[ -d /proc/\$pid ] && echo process=alive || echo process=gone
	dpkg -i /run/andna-ctl/andna.deb >/dev/null 2>&1
	echo "installed=\$(systemctl is-active andnad)"
	systemctl enable --now andnad >/dev/null 2>&1
	echo "enabled=\$(systemctl is-active andnad)"
	} >\$out 2>&1
	EOF
	cp "$deb" "$tmp/ctl/andna.deb"
	# dig runs on the host (the root shares its network, as above)
	(
		for _ in $(seq 1 100); do
			a=$(dig +short +time=1 +tries=1 @"$ip" sd-test.ntk A 2>/dev/null)
			[ "$a" = 10.1.2.3 ] && { echo "$a" >"$tmp/out/dig"; exit 0; }
			sleep 0.2
		done
	) &
	pid[dig]=$!
	t=$SECONDS
	timeout 120 systemd-nspawn -q -D "$root" --register=no --keep-unit \
	    --volatile=overlay \
	    --bind-ro="$tmp/ctl/andna-check.service:/etc/systemd/system/andna-check.service" \
	    --bind-ro="$tmp/ctl:/run/andna-ctl" --bind="$tmp/out:/run/andna-out" \
	    -b systemd.wants=andna-check.service >"$tmp/boot.log" 2>&1
	rc=$?
	kill "${pid[dig]}" 2>/dev/null
	wait "${pid[dig]}" 2>/dev/null
	unset 'pid[dig]'
	if [ ! -s "$tmp/out/out" ] && grep -q "bus\|cgroup\|Failed to" "$tmp/boot.log"; then
		log "systemd-nspawn cannot boot a container here: $(tail -n 2 "$tmp/boot.log" | tr '\n' ' ')"
	else
		[ -s "$tmp/out/out" ] || fail "the boot wrote nothing (nspawn exit $rc): $(tail -n 20 "$tmp/boot.log")"
		want="active=active
ids=$uid:$gid
caps=0000000000000400 0000000000000400 0000000000000400 
sock=andna:andna 660
member=0
stranger=3
reload=0
after_reload=active
dig=10.1.2.3
removed=inactive
process=gone
installed=inactive
enabled=active"
		[ "$(cat "$tmp/out/out")" = "$want" ] ||
			fail "andnad.service under systemd: $(diff <(echo "$want") "$tmp/out/out") $(tail -n 20 "$tmp/out/journal" 2>/dev/null)"
		log "booted in $((SECONDS - t)) s: andnad.service runs as andna with CAP_NET_BIND_SERVICE alone, answers dig, reloads; removal stops it, installation does not start it"
	fi
fi

# ---- remove, then purge ------------------------------------------------------
in_root dpkg -r andna >>"$tmp/dpkg.log" 2>&1 || fail "dpkg -r failed"
[ -e "$root/usr/sbin/andnad" ] && fail "dpkg -r left andnad"
[ -f "$conf" ] || fail "dpkg -r took the configuration (a conffile stays)"
[ -s "$root/var/lib/andna/node.key" ] || fail "dpkg -r took the node's key"
in_root dpkg -P andna >>"$tmp/dpkg.log" 2>&1 || fail "dpkg -P failed"
in_root dpkg-query -W andna >/dev/null 2>&1 && fail "andna still known to dpkg"
in_root deluser --quiet member andna >/dev/null 2>&1
snapshot >"$tmp/after"
left=$(comm -13 "$tmp/before" "$tmp/after")
[ -z "$left" ] || fail "purge left: $left"
gone=$(comm -23 "$tmp/before" "$tmp/after")
[ -z "$gone" ] || fail "purge took files that were there before: $gone"
# the account stays, and owns nothing
in_root getent passwd andna >/dev/null || fail "purge removed the user andna"
owned=$(find "$root" -xdev \( -uid "$uid" -o -gid "$gid" \) -print | head)
[ -z "$owned" ] || fail "files of andna left: $owned"
log "removed and purged: nothing left but the account andna"
echo "PASS: the Debian package builds, installs, runs, and purges clean"
exit 0
