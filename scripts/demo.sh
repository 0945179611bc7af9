#!/bin/sh
# The README's demo: installs what it needs, builds everything, starts a
# small mesh of andnad nodes on loopback addresses (127.0.1.1 to 127.0.1.N),
# registers a name with two addresses on one node, resolves it from another
# (with `andna resolve`, then with dig through that node's DNS front), and
# stops every node it started.  With --keep the mesh stays up and the
# script says how to stop it.
#
# Each node shows its status page at http://127.0.1.N:7270/.
# The DNS fronts listen on port 7253, so the demo needs neither root nor a
# free port 53, and they forward nothing: names outside the overlay get
# REFUSED, and this machine's /etc/resolv.conf is never read.
set -eu
keep=no
nodes=8
for arg in "$@"; do
	case "$arg" in
	--keep) keep=yes ;;
	--nodes=*) nodes=${arg#--nodes=} ;;
	*) echo "usage: sh scripts/demo.sh [--keep] [--nodes=N]" >&2; exit 2 ;;
	esac
done
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
sh scripts/deps.sh
autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
mkdir -p build-demo
(cd build-demo && { [ -f Makefile ] || ../configure -q; } &&
    make -s -j"$(nproc 2>/dev/null || echo 2)")
bin=$top/build-demo
run=$(mktemp -d /tmp/andna-demo.XXXXXX)
dport=7253

stop() {
	for f in "$run"/*.pid; do
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
	done
	sleep 1
	rm -rf "$run"
}
[ "$keep" = yes ] || trap stop EXIT INT TERM

node() { # node N: the andna command for node N
	"$bin/andna" --control "$run/n$1.sock" "$@"
}

echo "== starting $nodes nodes on 127.0.1.1 to 127.0.1.$nodes (logs in $run)"
i=1
while [ "$i" -le "$nodes" ]; do
	boot=""
	[ "$i" -gt 1 ] && boot="--bootstrap 127.0.1.1:7269"
	# the names' addresses are not on this machine: no health probes
	# of them (nothing leaves loopback)
	# shellcheck disable=SC2086
	"$bin/andnad" --foreground --data-dir "$run/n$i" \
	    --control "$run/n$i.sock" --listen "127.0.1.$i:7269" \
	    --dns-listen "127.0.1.$i:$dport" --dns-resolv-conf "" \
	    --http-listen "127.0.1.$i:7270" \
	    --dns-probe=no --gnode-size 4 $boot \
	    >"$run/n$i.log" 2>&1 &
	echo $! >"$run/n$i.pid"
	i=$((i + 1))
	sleep 0.3
done

# wait until the last node has joined (bounded): while it joins, its
# overlay address reads "none (joining)"
tries=0
until "$bin/andna" --control "$run/n$nodes.sock" status 2>/dev/null |
    grep -q "^overlay address: *[0-9]"; do
	tries=$((tries + 1))
	[ "$tries" -lt 60 ] || { echo "the mesh did not form; see $run/*.log"; exit 1; }
	sleep 0.5
done
sleep 3
echo
echo "== node $nodes sees the mesh"
"$bin/andna" --control "$run/n$nodes.sock" status
echo
echo "== node 1 registers web.demo with two addresses"
"$bin/andna" --control "$run/n1.sock" register web.demo 10.1.0.1 10.1.0.2
echo
echo "== node $nodes resolves it through the overlay"
"$bin/andna" --control "$run/n$nodes.sock" resolve web.demo
echo
echo "== and in JSON, for scripts"
"$bin/andna" --control "$run/n$nodes.sock" --json resolve web.demo
echo
echo "== and over plain DNS: dig asks node $nodes's DNS front for web.demo.ntk"
dig @"127.0.1.$nodes" -p "$dport" +tries=2 +time=3 web.demo.ntk A
echo "== twice more: every answer holds both addresses, the first one rotates"
dig @"127.0.1.$nodes" -p "$dport" +tries=2 +time=3 +short web.demo.ntk A
dig @"127.0.1.$nodes" -p "$dport" +tries=2 +time=3 +short web.demo.ntk A
echo
echo "== node $nodes counted those queries"
"$bin/andna" --control "$run/n$nodes.sock" status | grep "^DNS"
echo
cat <<MSG
Try next (with --keep the mesh stays up):
  $bin/andna --control $run/n3.sock resolve web.demo
  dig @127.0.1.3 -p $dport web.demo.ntk
  dig @127.0.1.3 -p $dport ntk SOA
  $bin/andna --control $run/n2.sock register shop.demo --service 80 --proto tcp 10.1.0.7
  dig @127.0.1.2 -p $dport _http._tcp.shop.demo.ntk SRV
  $bin/andna --control $run/n5.sock names
  $bin/andna --control $run/n4.sock status
  a browser at http://127.0.1.1:7270/ (each node N has its page at
  http://127.0.1.N:7270/, Prometheus metrics at /metrics)
MSG
if [ "$keep" = yes ]; then
	echo "The mesh keeps running; stop it with: kill \$(cat $run/*.pid); rm -rf $run"
fi
