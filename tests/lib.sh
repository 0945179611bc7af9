# shellcheck shell=bash
# The preamble of the multi-process shell tests (mesh.sh, dns_mesh.sh,
# dns_cookie.sh, hostile.sh, clock.sh, dns_ttl.sh, dns_failover.sh and the
# others), sourced by each after `set -u` as
#
#	srcdir=${top_srcdir:-.}
#	# shellcheck source-path=SCRIPTDIR/.. source=tests/lib.sh
#	. "$srcdir/tests/lib.sh" NAME
#
# It picks a random loopback /24 ($net: only 127.0.0.0/8 is used, so
# parallel runs do not collide) and ports ($port for the overlay, $dport
# for the nodes' DNS fronts, $uport for dnsmasq; a script may choose its
# own after this), makes
# the temporary directory $tmp (andna-NAME.XXXXXX), and arms a trap that
# kills every process whose pid is in the array pid on exit and removes
# $tmp unless KEEP is set.  It defines log (with the seconds since the
# start), now_ms (milliseconds since the start), fail (the last lines of
# each node's log, then of what the script's fail_more prints), skip (exit
# 77), need, need_python, py (with tests/dnswire.py on its path),
# need_built, cli, check, has, hasnt, wait_joined, start_node,
# start_lone_node, stop_nodes, start_dnsmasq and fast_timers.
#
# ANDNAD and ANDNA (and HOSTILE in hostile.sh) may come from the
# environment: scripts/cross.sh points them at wrappers that run a cross
# build's programs under qemu-user.

builddir=${top_builddir:-.}
ANDNAD=${ANDNAD:-$builddir/andnad}
ANDNA=${ANDNA:-$builddir/andna}
# shellcheck disable=SC2034 # used by the scripts that source this
net=127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1))
port=$((20000 + RANDOM % 10000)) # overlay
# shellcheck disable=SC2034
dport=$((port + 10000))          # DNS of the nodes
uport=$((port + 20000))          # DNS of dnsmasq (start_dnsmasq)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/andna-$1.XXXXXX") || exit 99
declare -A pid=()
t0=$SECONDS

cleanup() {
	{
		for i in "${!pid[@]}"; do
			kill -9 "${pid[$i]}"
		done
		wait
	} 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

log() { echo "[$((SECONDS - t0))s] $*"; }

# Milliseconds since the script started (bash's clock with microseconds).
start_us=${EPOCHREALTIME/[.,]/}
now_ms() {
	local t=${EPOCHREALTIME/[.,]/}
	echo $(((t - start_us) / 1000))
}

# tail_logs FILE...: the last lines of each FILE that exists.
tail_logs() {
	local f
	for f in "$@"; do
		[ -f "$f" ] || continue
		echo "--- $f (last lines)"
		tail -n 15 "$f"
	done
}

# What fail prints after the nodes' logs; a script redefines it to show
# logs of its own (its other processes').
fail_more() { :; }

fail() {
	echo "FAIL: $*"
	tail_logs "$tmp"/n*/log
	fail_more
	exit 1
}

skip() { echo "SKIP: $*"; exit 77; }

# need TOOL...: skip unless every TOOL is on the PATH.
need() {
	local tool
	for tool in "$@"; do
		command -v "$tool" >/dev/null || skip "no $tool"
	done
}

# need_python: skip without python3, else set PY for py.
need_python() {
	need python3
	# the interpreter itself, not a wrapper script that finds it on each call
	PY=$(python3 -c 'import sys; print(sys.executable)')
}
py() { PYTHONPATH="${srcdir:-.}/tests" "$PY" -S "$@"; }

need_built() {
	if ! [ -x "$ANDNAD" ] || ! [ -x "$ANDNA" ]; then
		fail "build andnad and andna first"
	fi
}

# andna on node I with --json: sets $out and $rc.
cli() {
	local i=$1
	shift
	out=$("$ANDNA" --control "$tmp/n$i/control" --json "$@" 2>&1)
	rc=$?
}

# check PYTHON-EXPR: true of the JSON in $out (as d), else fail.
check() {
	py -c '
import json, sys
d = json.loads(sys.argv[1])
sys.exit(0 if eval(sys.argv[2]) else 1)' "$out" "$1" 2>"$tmp/check.err" ||
		fail "expected $1 (exit $rc): $out $(cat "$tmp/check.err")"
}

# has REGEX: $out matches (extended regex), else fail.
has() {
	grep -Eq -- "$1" <<<"$out" || fail "expected /$1/ in: $out"
}

# hasnt REGEX: $out does not match.
hasnt() {
	grep -Eq -- "$1" <<<"$out" && fail "did not expect /$1/ in: $out"
	return 0
}

# wait_joined I: node I (its pid in pid[nI]) answers status and has joined
# the overlay within 20 s; else fail.
wait_joined() {
	local i=$1
	for _ in $(seq 1 100); do
		cli "$i" status
		if [ "$rc" = 0 ] && py -c 'import json,sys
sys.exit(0 if json.loads(sys.argv[1])["joined"] else 1)' "$out" 2>/dev/null
		then
			return 0
		fi
		kill -0 "${pid[n$i]}" 2>/dev/null || fail "node $i died"
		sleep 0.2
	done
	fail "node $i did not join: $out"
}

# start_node I: starts node I from $tmp/nI/andnad.conf in the foreground,
# logging to $tmp/nI/log; its pid goes to pid[nI].
start_node() {
	"$ANDNAD" --config "$tmp/n$1/andnad.conf" --foreground -v \
	    >>"$tmp/n$1/log" 2>&1 &
	pid[n$1]=$!
}

# start_lone_node LINE...: node 1 alone on $net.1 (overlay $port, DNS
# $dport, no resolv.conf, no status page), the configuration LINEs added;
# it has joined when this returns.
# shellcheck disable=SC2120 # the LINEs are optional
start_lone_node() {
	mkdir -p "$tmp/n1"
	printf '%s\n' "data_dir = $tmp/n1" "listen = $net.1:$port" \
	    "control = $tmp/n1/control" "dns_listen = $net.1:$dport" \
	    "http_listen =" \
	    "dns_resolv_conf =" "$@" >"$tmp/n1/andnad.conf"
	start_node 1
	wait_joined 1
}

# stop_nodes N: SIGTERM to nodes 1..N (their pids in pid[nI]); each must
# exit with 0.
stop_nodes() {
	local i st
	for i in $(seq 1 "$1"); do
		kill -TERM "${pid[n$i]}"
		wait "${pid[n$i]}"
		st=$?
		unset "pid[n$i]"
		[ "$st" = 0 ] || fail "node $i exited with $st on SIGTERM"
	done
}

# start_dnsmasq LINE...: dnsmasq on $net.250:$uport with the configuration
# LINEs added to its own: no resolv.conf, no hosts file, only that address.
# Its log is $tmp/dnsmasq.log.
start_dnsmasq() {
	printf '%s\n' no-resolv no-hosts no-poll bind-interfaces \
	    "listen-address=$net.250" "port=$uport" "$@" >"$tmp/dnsmasq.conf"
	"$(command -v dnsmasq)" --keep-in-foreground \
	    --conf-file="$tmp/dnsmasq.conf" --pid-file="$tmp/dnsmasq.pid" \
	    --log-facility="$tmp/dnsmasq.log" &
	pid[dnsmasq]=$!
}

# fast_timers: the configuration lines of the liveness and request timers
# of a test mesh on loopback (fractions of a second, where a router's
# defaults take seconds), so that it forms and heals in a few seconds.
fast_timers() {
	cat <<-EOF
	ping_interval = 300ms
	ping_timeout = 250ms
	suspect_timeout = 1500ms
	gossip_interval = 500ms
	hop_timeout = 400ms
	request_timeout = 1500ms
	request_tries = 3
	EOF
}
