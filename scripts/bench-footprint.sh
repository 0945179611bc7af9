#!/bin/bash
# Footprint benchmark (not a test): how big andnad and andna are, and how
# much memory andnad holds, for each build directory named (default:
# build).  Prints one table line per build and measure; figures only, no
# verdict.
#
#   scripts/bench-footprint.sh [BUILDDIR...]
#   RECORDS=2000 NODES=2 scripts/bench-footprint.sh build /tmp/build-armhf
#
# Sizes: andnad and andna stripped with the build's own strip
# (TRIPLET-strip for a cross build), and their text, data and bss.
#
# Memory (builds for this machine's CPU only): NODES (default 3) andnad
# on loopback form one mesh; after IDLE seconds (default 10) node 1's
# VmRSS and VmHWM (from /proc/PID/status) are read; then RECORDS (default
# 10,000) names, one IPv4 address each, are registered through node 1's
# control socket, all under node 1's own key (max_names_per_key raised for
# the run, 16 requests in flight), and once every node holds them all
# each node's VmRSS and VmHWM are read again, with the size of its store
# file (data.mdb) and of the part of it that is resident.  VmRSS counts
# every page of the shared libraries the process has mapped (1.5 MB of
# glibc alone on x86-64); PSS divides those among the processes that
# share them.  The store's pages are LMDB's memory map of data.mdb: page
# cache, not the process's own heap, which RssAnon shows.  Every node of a
# mesh this small is in the one gnode, so each holds every record and
# every counter tally.  With mdb_stat (Debian's lmdb-utils, installed
# through scripts/deps.sh), each node's store is then split by table: entries, pages (leaf, branch,
# overflow), kB and bytes per name.  The data directories go to /dev/shm
# unless TMPDIR is set (see below); NO_SIZES=1 skips the sizes.
#
# A cross build's andnad would run under qemu-user, whose own memory
# (translated code, its heap) dwarfs the guest's, so for those only the
# sizes are printed.  Only 127.0.0.0/8 is used; every wait is bounded;
# every process started here is killed on exit.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
[ $# -gt 0 ] || set -- "$top/build"
NODES=${NODES:-3}
RECORDS=${RECORDS:-10000}
IDLE=${IDLE:-10}
# the stores on tmpfs unless TMPDIR says otherwise: with LMDB's fsync on
# every commit a disk makes registering 10,000 names take minutes, and
# where the pages live changes only which column of RSS they count in
# (RssShmem on tmpfs, RssFile on a disk)
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
	TMPDIR=/dev/shm
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/andna-bench-footprint.XXXXXX") || exit 1
pids=()

cleanup() {
	{
		for p in "${pids[@]}"; do
			kill -9 "$p"
		done
		wait
	} 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

die() {
	echo "bench-footprint: $*" >&2
	exit 1
}

command -v python3 >/dev/null || die "needs python3"
# mdb_stat splits the stores by table; the figures come without it too
sh "$top/scripts/deps.sh" lmdb-utils ||
	echo "bench-footprint: no lmdb-utils: the stores are not split by table" >&2

# mkvar BUILDDIR NAME: a variable of the build's Makefile.
mkvar() {
	sed -n "s/^$2 = *//p" "$1/Makefile" | head -n 1
}

# kb PID FIELD: FIELD (VmRSS, VmHWM) of /proc/PID/status in kB.
kb() {
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

# mem PID: its VmRSS split into anonymous, file and shared memory, its
# PSS (file pages shared with other processes, the C library's above all,
# counted in proportion), and its VmHWM, in kB.
mem() {
	printf 'VmRSS %6d kB (anon %5d, file %5d, shmem %5d)  PSS %6d kB  VmHWM %6d kB' \
	    "$(kb "$1" VmRSS)" "$(kb "$1" RssAnon)" "$(kb "$1" RssFile)" \
	    "$(kb "$1" RssShmem)" \
	    "$(awk '$1 == "Pss:" { print $2 }' "/proc/$1/smaps_rollup")" \
	    "$(kb "$1" VmHWM)"
}

# store_kb PID DIR: the kB of DIR/data.mdb that PID has resident.
store_kb() {
	awk -v f="$2/data.mdb" '
	    /^[0-9a-f]+-[0-9a-f]+ / { cur = ($6 == f) }
	    cur && $1 == "Rss:" { sum += $2 }
	    END { print sum + 0 }' "/proc/$1/smaps"
}

# tables LABEL I DIR: node I's store in DIR split by table, from mdb_stat
# (one line a table that holds anything).
tables() {
	mdb_stat -af "$3" 2>/dev/null | awk -v label="$1" -v node="$2" \
	    -v names="$RECORDS" '
	    function flush() {
		if (db != "" && n > 0)
			printf "%-8s andnad   node %d, table %-13s %6d entries  %5d pages (%d leaf, %d branch, %d overflow)  %6d kB  %4d B a name\n",
			    label, node, db, n, leaf + br + ov, leaf, br, ov,
			    (leaf + br + ov) * 4, (leaf + br + ov) * 4096 / names
	    }
	    /^Status of / { flush(); db = $3 == "Main" ? "(main)" : $3
		leaf = br = ov = n = 0 }
	    $1 == "Free" && $2 == "pages:" { free = $3 }
	    $1 == "Branch" { br = $3 }
	    $1 == "Leaf" { leaf = $3 }
	    $1 == "Overflow" { ov = $3 }
	    $1 == "Entries:" { n = $2 }
	    END {
		flush()
		printf "%-8s andnad   node %d, free pages %d (%d kB)\n",
		    label, node, free, free * 4
	    }'
}

# sizes BUILD LABEL: the stripped sizes and segments of andnad and andna.
sizes() {
	local b=$1 label=$2 host strip size p f
	host=$(mkvar "$b" host_alias)
	strip=${host:+$host-}strip
	size=${host:+$host-}size
	for p in andnad andna; do
		[ -x "$b/$p" ] || die "no $p in $b: build it first"
		f="$tmp/$label-$p"
		cp "$b/$p" "$f"
		"$strip" "$f" || die "$strip failed"
		# shellcheck disable=SC2046
		set -- $("$size" "$f" | awk 'NR == 2 { print $1, $2, $3 }')
		printf '%-8s %-7s stripped %8d B   text %8d  data %6d  bss %6d\n' \
		    "$label" "$p" "$(stat -c %s "$f")" "$1" "$2" "$3"
	done
}

# The registering client: RECORDS names over node 1's control socket,
# INFLIGHT connections at once (one request per connection, as the
# control protocol has it).
cat >"$tmp/register.py" <<'EOF'
import socket, sys, threading
path, count, inflight = sys.argv[1], int(sys.argv[2]), 16
lock = threading.Lock()
state = {"next": 0, "failed": 0, "first": ""}

def one(i):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(120)
    s.connect(path)
    ip = "10.%d.%d.%d" % (i >> 16 & 255, i >> 8 & 255, i & 255)
    s.sendall(("text register fp-%d 0/none/0/1/%s\n" % (i, ip)).encode())
    reply = b""
    while True:
        d = s.recv(4096)
        if not d:
            break
        reply += d
    s.close()
    return reply.decode(errors="replace")

def worker():
    while True:
        with lock:
            i = state["next"]
            if i >= count:
                return
            state["next"] += 1
        r = one(i)
        if not r.startswith("0 "):
            with lock:
                state["failed"] += 1
                state["first"] = state["first"] or r.strip()

threads = [threading.Thread(target=worker) for _ in range(inflight)]
for t in threads:
    t.start()
for t in threads:
    t.join()
if state["failed"]:
    print("%d of %d failed, first: %s" % (state["failed"], count,
          state["first"]), file=sys.stderr)
    sys.exit(1)
EOF

# status_field I FIELD: FIELD of node I's status.
status_field() {
	"$ANDNA" --control "$tmp/n$1/control" --json status 2>/dev/null |
	    python3 -c 'import json, sys
print(json.load(sys.stdin).get(sys.argv[1], ""))' "$2" 2>/dev/null
}

# memory BUILD LABEL: the mesh, idle and then holding RECORDS records.
memory() {
	local b=$1 label=$2 i net port t0 t1 n all p
	ANDNAD=$b/andnad
	ANDNA=$b/andna
	net=127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1))
	port=$((20000 + RANDOM % 10000))
	for i in $(seq 1 "$NODES"); do
		mkdir -p "$tmp/$label/n$i"
		{
			echo "data_dir = $tmp/$label/n$i"
			echo "listen = $net.$i:$port"
			echo "control = $tmp/$label/n$i/control"
			echo "dns_listen ="
			echo "dns_resolv_conf ="
			echo "min_update_interval = 0"
			echo "max_names_per_key = 65535"
			echo "rate_limit = 1000000"
			echo "rate_burst = 1000000"
			[ "$i" -gt 1 ] && echo "bootstrap = $net.1:$port"
		} >"$tmp/$label/n$i/andnad.conf"
		"$ANDNAD" --config "$tmp/$label/n$i/andnad.conf" --foreground \
		    >"$tmp/$label/n$i/log" 2>&1 &
		pids+=($!)
		eval "pid$i=\$!"
		for _ in $(seq 1 150); do
			[ "$(tmp=$tmp/$label status_field "$i" joined)" = True ] &&
			    break
			sleep 0.2
		done
		[ "$(tmp=$tmp/$label status_field "$i" joined)" = True ] ||
		    die "$label: node $i did not join (log: $(tail -n 3 "$tmp/$label/n$i/log"))"
	done
	sleep "$IDLE"
	eval "p=\$pid1"
	printf '%-8s andnad   node 1, idle, %d nodes   %s\n' \
	    "$label" "$NODES" "$(mem "$p")"
	t0=$(date +%s.%N)
	python3 -S "$tmp/register.py" "$tmp/$label/n1/control" "$RECORDS" ||
	    die "$label: registering failed"
	t1=$(date +%s.%N)
	# every node holds every record (one gnode); wait until they do
	for _ in $(seq 1 300); do
		all=yes
		for i in $(seq 1 "$NODES"); do
			n=$(tmp=$tmp/$label status_field "$i" records)
			[ "${n:-0}" -ge "$RECORDS" ] || all=no
		done
		[ $all = yes ] && break
		sleep 0.2
	done
	[ $all = yes ] || die "$label: not every node holds $RECORDS records"
	sleep 2
	printf '%-8s andnad   %d names registered in %.1f s\n' "$label" \
	    "$RECORDS" "$(echo "$t1 - $t0" | bc -l 2>/dev/null ||
	    python3 -c "print($t1 - $t0)")"
	for i in $(seq 1 "$NODES"); do
		eval "p=\$pid$i"
		printf '%-8s andnad   node %d, %d records  %s  store %6d kB (%d kB resident)  tallies %s\n' \
		    "$label" "$i" "$(tmp=$tmp/$label status_field "$i" records)" \
		    "$(mem "$p")" \
		    "$(( $(stat -c %s "$tmp/$label/n$i/store/data.mdb") / 1024 ))" \
		    "$(store_kb "$p" "$tmp/$label/n$i/store")" \
		    "$(tmp=$tmp/$label status_field "$i" tallies)"
	done
	if command -v mdb_stat >/dev/null; then
		for i in $(seq 1 "$NODES"); do
			tables "$label" "$i" "$tmp/$label/n$i/store"
		done
	else
		printf '%-8s andnad   no mdb_stat (lmdb-utils): tables not split\n' "$label"
	fi
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	pids=()
}

machine=$(uname -m)
for b in "$@"; do
	b=$(cd "$b" 2>/dev/null && pwd) || die "no build directory $b"
	[ -f "$b/Makefile" ] || die "$b is not a build directory"
	host=$(mkvar "$b" host_alias)
	label=${host:-$machine}
	echo "== $label: $b (CFLAGS: $(mkvar "$b" CFLAGS) $(mkvar "$b" AM_CFLAGS | grep -o -- '-O[0-9s]' | tail -n 1))"
	[ -n "${NO_SIZES:-}" ] || sizes "$b" "$label"
	if [ -n "$host" ] && [ "${host%%-*}" != "$machine" ]; then
		printf '%-8s andnad   memory not measured: a cross build runs only under qemu-user\n' "$label"
		continue
	fi
	memory "$b" "$label"
done
