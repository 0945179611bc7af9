#!/bin/bash
# Time without a wall clock.  Four andnad processes on loopback form one
# gnode; node 2 runs under libfaketime, whose offset this script changes
# while the daemon runs (FAKETIME_TIMESTAMP_FILE, read on every call), with
# the monotonic and boot clocks left alone: a router without a real-time
# clock whose wall clock jumps when NTP syncs.  Records expire after 20 s
# here, so they are renewed several times while the clock jumps.
#
# Node 4 registers a name under a key of its own and leaves: the key moves
# to node 2.  Then node 2's wall clock steps a day back, and later a year
# on.  After each step: node 2 stays in its gnode (`andna status`, and the
# others still count it), every name resolves with dig at node 2's DNS
# front and at node 1's, an update made on node 2 reaches node 1, and the
# records and tallies node 2 holds stay (nothing expired early).  A day
# back, node 2 takes over the moved key's name: its first sequence number
# comes from its wall clock, a day behind the one node 4 signed, so the
# hash gnode answers STALE and node 2 signs again above it.  Last, node 2
# stops and starts again (the clock a year on): its engine clock goes on
# where it was (the names' ages in `andna names` run on by the time it was
# stopped), and it keeps its records and names.
#
# Only 127.0.0.0/8 addresses are used (a random /24 per run); no node reads
# /etc/resolv.conf; every loop is bounded; every process started here is
# killed on exit.  Skipped (77) without dig, python3 or libfaketime, or
# when libfaketime cannot run the daemon.
set -u

srcdir=${top_srcdir:-.}
# shellcheck source-path=SCRIPTDIR/.. source=tests/lib.sh
. "$srcdir/tests/lib.sh" clock
N=4
EXPIRY=20

need dig
need_python
need_built
LIBFT=""
for f in /usr/lib/*/faketime/libfaketime.so.1 /usr/lib/faketime/libfaketime.so.1 \
    /usr/local/lib/faketime/libfaketime.so.1; do
	[ -r "$f" ] && LIBFT=$f && break
done
[ -n "$LIBFT" ] || skip "no libfaketime (Debian package faketime)"

# The offset of node 2's wall clock, as libfaketime reads it.
FT=$tmp/faketime
echo "+0" >"$FT"
# The environment of node 2's clock, for env(1), which execs the
# command (so $! is the daemon).  In a sanitizer build: ASan must not
# insist on coming first (libfaketime does), and its allocator must not
# read the monotonic clock while it holds a lock (libfaketime's
# clock_gettime() allocates on its first call: a deadlock).
FAKED=(LD_PRELOAD="$LIBFT" FAKETIME_TIMESTAMP_FILE="$FT" FAKETIME_NO_CACHE=1
    FAKETIME_DONT_FAKE_MONOTONIC=1
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0:allocator_release_to_os_interval_ms=-1")

# The daemon starts under libfaketime (some sanitizer runtimes hang).
timeout 20 env "${FAKED[@]}" "$ANDNAD" --help >/dev/null 2>&1 ||
	skip "andnad does not start under libfaketime in this build"

# libfaketime moves the wall clock and leaves the boot clock alone; else
# this test would prove nothing.
clocks='import time; print(time.time(), time.clock_gettime(time.CLOCK_BOOTTIME), time.clock_gettime(time.CLOCK_MONOTONIC))'
echo "+365d" >"$FT"
read -r fw fb fm <<<"$(env "${FAKED[@]}" "$PY" -S -c "$clocks")"
read -r rw rb rm <<<"$(py -c "$clocks")"
echo "+0" >"$FT"
py -c 'import sys
fw, fb, fm, rw, rb, rm = map(float, sys.argv[1:])
year = 365 * 86400
sys.exit(0 if abs(fw - rw - year) < 60 and abs(fb - rb) < 60 and
    abs(fm - rm) < 60 else 1)' "$fw" "$fb" "$fm" "$rw" "$rb" "$rm" ||
	skip "libfaketime does not fake the wall clock alone here" \
	    "(wall $fw/$rw, boot $fb/$rb, monotonic $fm/$rm)"

# field EXPR: prints a value of the JSON in $out (as d).
field() {
	py -c 'import json, sys
d = json.loads(sys.argv[1])
print(eval(sys.argv[2]))' "$out" "$1"
}

write_config() {
	local i=$1
	mkdir -p "$tmp/n$i"
	{
		echo "# node $i of the clock test"
		echo "data_dir = $tmp/n$i"
		echo "listen = $net.$i:$port"
		echo "control = $tmp/n$i/control"
		echo "dns_listen = $net.$i:$dport"
		echo "http_listen ="
		echo "dns_resolv_conf ="
		# no health probes: the records' addresses are not on loopback
		echo "dns_probe = no"
		echo "dns_rate_limit = 1000"
		[ "$i" -gt 1 ] && echo "bootstrap = $net.1:$port"
		cat <<-EOF
		gnode_size = 4
		ping_interval = 300ms
		ping_timeout = 250ms
		suspect_timeout = 1500ms
		gossip_interval = 500ms
		outer_timeout = 10s
		hop_timeout = 400ms
		request_timeout = 1500ms
		request_tries = 3
		expiry = ${EXPIRY}s
		min_update_interval = 0
		cache_cap = 1s
		negative_cache = 1s
		sync_interval = 2s
		EOF
	} >"$tmp/n$i/andnad.conf"
}

start_node() {
	local i=$1
	if [ "$i" = 2 ]; then
		env "${FAKED[@]}" "$ANDNAD" --config "$tmp/n$i/andnad.conf" \
		    --foreground -v >>"$tmp/n$i/log" 2>&1 &
	else
		"$ANDNAD" --config "$tmp/n$i/andnad.conf" --foreground -v \
		    >>"$tmp/n$i/log" 2>&1 &
	fi
	pid[n$i]=$!
}

# Whether process P runs (a zombie, ended but not waited for, does not).
running() {
	[ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status"
}

# Stops node I cleanly (SIGTERM) and waits for it.
stop_node() {
	local i=$1 p=${pid[n$1]}
	kill -TERM "$p"
	for _ in $(seq 1 50); do
		running "$p" || break
		sleep 0.1
	done
	running "$p" && fail "node $i did not stop"
	wait "$p" 2>/dev/null
	unset "pid[n$i]"
}

# Waits until every node in "$@" counts $members live members in its
# gnode.
wait_members() {
	local members=$1 i
	shift
	for i in "$@"; do
		for _ in $(seq 1 60); do
			cli "$i" status
			[ "$rc" = 0 ] && [ "$(field 'd["gnode_members"]')" = "$members" ] &&
				break
			sleep 0.25
		done
		check "d['gnode_members'] == $members"
	done
}

# dig at node I for NAME; passes when the answer is exactly ADDRESS,
# waiting up to 8 s (caches and replication), else fails.
resolves() {
	local i=$1 name=$2 want=$3 got=""
	for _ in $(seq 1 32); do
		got=$(dig @"$net.$i" -p "$dport" +tries=1 +time=2 +short \
		    "$name.ntk" A 2>&1)
		[ "$got" = "$want" ] && return 0
		sleep 0.25
	done
	fail "dig @node $i $name.ntk: '$got', not $want"
}

# The numbers node 2's status shows: "records tallies own".
counts() {
	cli 2 status
	[ "$rc" = 0 ] || fail "status of node 2: $out"
	field '"%d %d %d" % (d["records"], d["tallies"], d["own_names"])'
}

# The age of node 2's name faked.clk in seconds (andna names).
age_of_faked() {
	cli 2 names
	[ "$rc" = 0 ] || fail "names of node 2: $out"
	field '[n["age_s"] for n in d["names"] if n["record"]["name"] == "faked.clk"][0]'
}

# Node 2 is in its gnode at its address, the others count it, and every
# name resolves at node 2 and at node 1 with its current address.
all_well() {
	cli 2 status
	check 'd["joined"] is True and d["address"] == "'"$addr2"'"'
	wait_members 3 1 2 3
	for i in 2 1; do
		resolves "$i" plain.clk 10.7.0.1
		resolves "$i" faked.clk "$faked_ip"
		resolves "$i" third.clk 10.7.0.3
		resolves "$i" moved.clk "$moved_ip"
	done
	[ "$(counts)" = "$want_counts" ] ||
		fail "node 2 holds $(counts) (records tallies own), not $want_counts"
}

log "clock mesh of $N nodes on $net.1-$N (overlay $port, DNS $dport) in $tmp"
for i in $(seq 1 $N); do
	write_config "$i"
	start_node "$i"
	wait_joined "$i"
done
wait_members 4 1 2 3 4
log "all $N nodes joined one gnode; node 2's wall clock is libfaketime's"

"$ANDNA" keygen --out "$tmp/moved.key" >/dev/null 2>&1 ||
	fail "keygen --out failed"
cli 1 register plain.clk 10.7.0.1 || fail "register plain.clk: $out"
cli 2 register faked.clk 10.7.0.2 || fail "register faked.clk: $out"
cli 3 register third.clk 10.7.0.3 || fail "register third.clk: $out"
cli 4 register moved.clk 10.7.0.4 --key "$tmp/moved.key" ||
	fail "register moved.clk: $out"
faked_ip=10.7.0.2
moved_ip=10.7.0.4
# node 4 leaves for good: its key moves to node 2 later on
stop_node 4
cli 2 status
addr2=$(field 'd["address"]')
want_counts="4 4 1"
all_well
log "four names registered, node 4 gone; node 2 at $addr2 holds $(counts)"

# ---- a day back ----
echo "-1d" >"$FT"
sleep 2
all_well
faked_ip=10.7.1.2
cli 2 update faked.clk $faked_ip || fail "update faked.clk a day back: $out"
# the moved key: node 2 signs first with its wall clock's seconds, a day
# below node 4's number: STALE, then above it
moved_ip=10.7.1.4
cli 2 register moved.clk $moved_ip --key "$tmp/moved.key" ||
	fail "register moved.clk on node 2 a day back: $out"
want_counts="4 4 2"
all_well
log "a day back: in its gnode, names resolve, updates work, $(counts) held"

# ---- a year on ----
echo "+365d" >"$FT"
sleep 2
all_well
faked_ip=10.7.2.2
cli 2 update faked.clk $faked_ip || fail "update faked.clk a year on: $out"
moved_ip=10.7.2.4
cli 2 update moved.clk $moved_ip || fail "update moved.clk a year on: $out"
all_well
# names are renewed at half their life: wait past another renewal of all
sleep $((EXPIRY / 2 + 1))
all_well
log "a year on: the same, and $EXPIRY s records stay through renewals"

# ---- a restart, the clock still a year on ----
before=$(age_of_faked)
t_stop=$SECONDS
stop_node 2
sleep 2
start_node 2
wait_joined 2
after=$(age_of_faked)
gap=$((SECONDS - t_stop))
py -c 'import sys
b, a, gap = map(int, sys.argv[1:])
sys.exit(0 if b + gap - 2 <= a <= b + gap + 2 else 1)' "$before" "$after" "$gap" ||
	fail "faked.clk was $before s old before the restart, $after s after" \
	    "it ($gap s later): the engine clock did not go on"
grep -q "s after it was last saved" "$tmp/n2/log" ||
	fail "node 2 did not say its engine clock went on"
cli 2 status
addr2=$(field 'd["address"]')
all_well
log "restarted: the engine clock went on ($before s -> $after s old in $gap s)," \
    "records and names kept"

log "PASS"
exit 0
