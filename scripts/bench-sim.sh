#!/bin/sh
# Simulator benchmark (not a test): 10,000 nodes with gnode size 16 and
# 256, then 100,000 nodes with gnode size 32 (four levels of 16 hold at
# most 65,536 nodes).  Builds andna-sim optimised
# in build-bench/ if needed, prints progress on stderr and one JSON line
# per run on stdout.  Extra arguments go to every run (e.g. --seed 2).
# BUILD=dir picks another build directory; SIZES="10000:16" other runs.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build-bench}
sizes=${SIZES:-"10000:16 10000:256 100000:32"}
jobs=$(nproc 2>/dev/null || echo 2)

if [ ! -f "$build/Makefile" ]; then
	[ -x "$top/configure" ] || (cd "$top" && autoreconf -fi >/dev/null)
	mkdir -p "$build"
	(cd "$build" && "$top/configure" -q)
fi
make -s -C "$build" -j"$jobs" andna-sim

for run in $sizes; do
	nodes=${run%%:*}
	gsize=${run##*:}
	echo "bench-sim: $nodes nodes, gnode size $gsize" >&2
	"$build/andna-sim" --json --nodes "$nodes" --gnode-size "$gsize" "$@" |
	    tail -n 1
done
