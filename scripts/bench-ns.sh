#!/bin/sh
# Name-service benchmark (not a test): andna-sim with 10,000 nodes in
# gnodes of 256 and 100,000 names, each under its own key with 1 to 4
# addresses (some IPv6, some services), registered from random nodes and
# resolved from random nodes.  Prints one JSON line on stdout (progress on
# stderr): wall_s, cpu_s and peak_rss_kb; resolve_success, resolve_hops_*,
# resolve_ms_*; copies_*; bytes_records_per_node_max and _mean (the record
# bytes each node holds: the ANDNA article promises at most 300 KB per
# node).  Builds andna-sim optimised in build-bench/ if needed.
#
#   scripts/bench-ns.sh [andna-sim options]
#   NODES=1000 NAMES=10000 scripts/bench-ns.sh   # a tenth of it
#
# NODES, NAMES, GNODE_SIZE, SEED and JOIN_RATE (joins per simulated
# second) change the run; MAX_TIME bounds it in simulated seconds (default
# 3600); CONVERGE_MAX (default 120) is how long the names wait for the
# maps to converge after the joins before they go ahead anyway.
#
# Memory is what bounds it.  Every member of a name's hash and backup
# gnodes holds its record (501 copies on average when the nodes fill 40
# gnodes) and every member of its key's counter gnode a tally with the
# signed record (248).  The simulated stores keep each signed record once
# (store_blobs in store/store.h), so a copy costs about 200 bytes: its
# key, the store's framing and expiry-index entry, malloc's share.  That
# is 148 KB a name: the full run peaks at 15.2 GB and takes 34 minutes of
# one core.  MEM_KB (default 90% of the memory available) caps the
# process, so a run that does not fit cannot wake the kernel's OOM killer:
# it ends with "out of memory" instead.  BUILD=dir picks another build
# directory.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build-bench}
jobs=$(nproc 2>/dev/null || echo 2)

if [ ! -f "$build/Makefile" ]; then
	[ -x "$top/configure" ] || (cd "$top" && autoreconf -fi >/dev/null)
	mkdir -p "$build"
	(cd "$build" && "$top/configure" -q)
fi
make -s -C "$build" -j"$jobs" andna-sim >&2

avail=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo 2>/dev/null || echo 0)
mem=${MEM_KB:-$((avail * 9 / 10))}
[ "$mem" -gt 0 ] && ulimit -v "$mem"
ulimit -c 0

set -- --json --nodes "${NODES:-10000}" --gnode-size "${GNODE_SIZE:-256}" \
    --names "${NAMES:-100000}" --seed "${SEED:-1}" \
    --max-time "${MAX_TIME:-3600}" --converge-max "${CONVERGE_MAX:-120}" \
    --steady 10 ${JOIN_RATE:+--join-rate "$JOIN_RATE"} "$@"
echo "bench-ns: andna-sim $*" >&2
echo "bench-ns: memory capped at $mem kB" >&2
exec "$build/andna-sim" "$@"
