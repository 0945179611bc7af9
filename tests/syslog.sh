#!/bin/bash
# A detached andnad (no --foreground) writes its log to syslog: to the
# socket /dev/log, one datagram a line, with the ident "andnad", its pid,
# facility daemon and each line's own priority (it starts, joins through
# a peer, refuses a broken configuration on SIGHUP, stops on SIGTERM),
# and nothing more to stderr once it has detached.  The test listens on a socket of its own,
# seen as /dev/log only inside a private mount namespace (a tmpfs on /dev
# there, with null, zero, random and urandom bound in), so the host's
# /dev/log, or its absence, is never touched.  Needs root and unshare(1);
# otherwise it is skipped (exit 77).  Only 127.0.0.0/8 is used; every
# wait is bounded; every process started here is killed on exit.
set -u

builddir=${top_builddir:-.}
ANDNAD=${ANDNAD:-$builddir/andnad}
ANDNA=${ANDNA:-$builddir/andna}

skip() {
	echo "SKIP: $*"
	exit 77
}

[ "$(id -u)" = 0 ] || skip "not root: cannot make a private mount namespace"
command -v unshare >/dev/null || skip "no unshare(1)"
unshare -m --propagation private /bin/sh -c \
    'mount -t tmpfs -o size=64k andna-test-probe /dev' 2>/dev/null ||
	skip "unshare cannot make a mount namespace with its own /dev here"
command -v python3 >/dev/null || skip "no python3"
PY=$(python3 -c 'import sys; print(sys.executable)')
[ -x "$ANDNAD" ] && [ -x "$ANDNA" ] || { echo "FAIL: build andnad and andna first"; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/andna-syslog.XXXXXX") || exit 99
listener=""
node=""
peer=""
cleanup() {
	[ -n "$node" ] && kill -9 "$node" 2>/dev/null
	[ -n "$peer" ] && kill -9 "$peer" 2>/dev/null
	[ -n "$listener" ] && kill "$listener" 2>/dev/null
	wait 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
	echo "FAIL: $*"
	echo "--- what reached the test's /dev/log"
	cat "$tmp/syslog" 2>/dev/null
	echo "--- andnad's stderr"
	cat "$tmp/start.err" 2>/dev/null
	exit 1
}

# The syslog daemon stand-in: every datagram on its socket becomes one line
# of $tmp/syslog.  It stops by itself after two minutes without one.
"$PY" -S - "$tmp/log.sock" "$tmp/syslog" <<-'EOF' &
	import os, socket, sys
	s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
	s.bind(sys.argv[1])
	os.chmod(sys.argv[1], 0o666)
	s.settimeout(120)
	with open(sys.argv[2], "ab", buffering=0) as out:
	    while True:
	        try:
	            d = s.recv(65536)
	        except socket.timeout:
	            break
	        out.write(d.replace(b"\n", b" ").rstrip(b"\0") + b"\n")
	EOF
listener=$!
for _ in $(seq 1 50); do
	[ -S "$tmp/log.sock" ] && break
	sleep 0.1
done
[ -S "$tmp/log.sock" ] || fail "the listener did not bind its socket"
: >>"$tmp/syslog"

# A peer in the foreground founds the overlay; the node under test joins
# through it once detached, so the join is logged to syslog.
net=127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1))
port=$((20000 + RANDOM % 20000))
"$ANDNAD" --foreground --data-dir "$tmp/peer" --listen "$net.2:$port" \
    --control "$tmp/peer.control" --dns-listen "" --http-listen "" \
    >"$tmp/peer.log" 2>&1 &
peer=$!
for _ in $(seq 1 50); do
	grep -q "joined the overlay" "$tmp/peer.log" && break
	sleep 0.1
done
grep -q "joined the overlay" "$tmp/peer.log" ||
	fail "the peer did not start: $(cat "$tmp/peer.log")"
cat >"$tmp/andnad.conf" <<-EOF
	data_dir = $tmp/data
	listen = $net.1:$port
	control = $tmp/control
	dns_listen =
	http_listen =
	bootstrap = $net.2:$port
	EOF

host_log=$(stat -c '%d %i %F' /dev/log 2>&1)
# In the namespace: /dev is a tmpfs holding the few devices a node opens
# and our socket as /dev/log; andnad detaches there, and the namespace
# lives on with it.
unshare -m --propagation private /bin/sh -e -c '
	tmp=$1; andnad=$2
	mkdir "$tmp/realdev"
	mount --rbind /dev "$tmp/realdev"
	mount -t tmpfs -o mode=0755,size=64k andna-test-dev /dev
	for f in null zero random urandom; do
		: >"/dev/$f"
		mount --bind "$tmp/realdev/$f" "/dev/$f"
	done
	: >/dev/log
	mount --bind "$tmp/log.sock" /dev/log
	exec "$andnad" --config "$tmp/andnad.conf" --pid-file "$tmp/pid"
' sh "$tmp" "$ANDNAD" 2>"$tmp/start.err" || fail "andnad did not start"
node=$(cat "$tmp/pid" 2>/dev/null)
[ -n "$node" ] && kill -0 "$node" 2>/dev/null || fail "no running andnad after it detached"
[ "$(stat -c '%d %i %F' /dev/log 2>&1)" = "$host_log" ] ||
	fail "the host's /dev/log changed"

# wait_line REGEX: waits (10 s at most) for a line of $tmp/syslog
wait_line() {
	for _ in $(seq 1 100); do
		grep -Eq "$1" "$tmp/syslog" && return 0
		sleep 0.1
	done
	fail "no line matching '$1' reached syslog"
}

# <30> is facility daemon (3 * 8) with priority info (6); the header is
# the one glibc writes: a timestamp, the ident and the pid
head="^<%d>[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} andnad\\[$node\\]: "
# shellcheck disable=SC2059
info=$(printf "$head" 30)
# shellcheck disable=SC2059
err=$(printf "$head" 27)
wait_line "${info}andnad [0-9.]+ started$"
wait_line "${info}joined the overlay as [0-9.]+$"
echo "a detached node logs that it started and joined to syslog, as daemon.info"
"$ANDNA" --control "$tmp/control" status >/dev/null ||
	fail "the detached node does not answer status"

# an error has its own priority (daemon.err: 3 * 8 + 3)
echo "hop_limit = many" >>"$tmp/andnad.conf"
kill -HUP "$node"
wait_line "${err}configuration not reloaded: .*hop_limit"
echo "a broken configuration on SIGHUP is logged as daemon.err"

kill -TERM "$node"
for _ in $(seq 1 50); do
	kill -0 "$node" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$node" 2>/dev/null && fail "andnad did not stop on SIGTERM"
node=""
wait_line "${info}SIGTERM: shutting down"
kill -TERM "$peer"
wait "$peer" 2>/dev/null
peer=""

# stderr had the start-up only: nothing once the node had detached
grep -q "listening on" "$tmp/start.err" ||
	fail "andnad said nothing on stderr while starting"
grep -Eq "started|joined the overlay|shutting down|not reloaded" "$tmp/start.err" &&
	fail "andnad wrote to stderr once detached"
# and nothing the node logged went anywhere but our socket
lines=$(wc -l <"$tmp/syslog")
[ "$lines" -ge 4 ] || fail "only $lines lines reached syslog"
[ "$(stat -c '%d %i %F' /dev/log 2>&1)" = "$host_log" ] ||
	fail "the host's /dev/log changed"
grep -Evq "^<[0-9]+>" "$tmp/syslog" && fail "a syslog line without a priority"
echo "PASS: $lines lines on syslog, none on stderr after detaching"
exit 0
