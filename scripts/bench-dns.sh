#!/bin/bash
# DNS benchmark (not a test): what each answer costs andnad, beside the
# cheapest authoritative servers we can run here (Knot DNS, NSD) and the
# resolvers a router runs (dnsmasq, unbound), with one query file, in one
# run.
#
#   scripts/bench-dns.sh [BUILDDIR]     (default: build)
#   SECONDS_PER_RUN=10 ROUNDS=2 NAMES=500 scripts/bench-dns.sh
#   ONLY="andnad-cache knot" scripts/bench-dns.sh    (some servers only)
#
# The names have two A records each.  The query file: 90% A of existing
# names, 5% AAAA of the same names (no data), 5% A of missing names (no
# such name), shuffled.  andnad runs as two nodes on loopback: "andnad-own"
# holds the names (registered on it) and "andnad-cache" answers them from
# its resolved cache after one warm-up pass (the names keep the default
# TTL of 60 s: from the third round on, its entries run out together and
# it asks its peer for all of them again at once).  The others serve the
# same names from a zone.  Every server runs one worker on 127.0.0.0/8 and forwards nothing;
# nothing reads /etc/resolv.conf.
#
# dnsperf runs pinned to one core and the servers to the other; the servers
# take turns (A B C ... A B C ...) for ROUNDS rounds, so a change of the
# machine's load falls on all of them.  What is compared is each server's
# own CPU time (every thread and child, from /proc) per answered query; qps
# and latency also move with dnsperf's share of the machine.  The last line
# is the ratio of andnad's cost to Knot DNS's.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
builddir=${1:-$top/build}
ANDNAD=$builddir/andnad
ANDNA=$builddir/andna
T=${SECONDS_PER_RUN:-10}
R=${ROUNDS:-2}
K=${NAMES:-500}
C=${CLIENTS:-4}
Q=${OUTSTANDING:-100}
net=127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1))
port=$((20000 + RANDOM % 10000))
dport=$((port + 10000))
tmp=$(mktemp -d "${TMPDIR:-/tmp}/andna-bench-dns.XXXXXX") || exit 1
pids=()

cleanup() {
	exec 2>/dev/null # no word from bash on the servers it kills
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
	echo "bench-dns: $*" >&2
	exit 1
}

sh "$top/scripts/deps.sh" dnsperf knot nsd dnsmasq-base unbound ||
	die "cannot install the servers to compare with"
[ -x "$ANDNAD" ] && [ -x "$ANDNA" ] ||
	die "no andnad in $builddir: build first, or name the build directory"
ncpu=$(nproc)
if [ "$ncpu" -ge 2 ]; then
	client_cpu=0
	server_cpu=1
else
	client_cpu=0
	server_cpu=0
fi
# Run in the background: exec, so that $! is the server itself and the
# cleanup stops it (a subshell killed would leave the server running).
serve() { exec taskset -c "$server_cpu" "$@"; }

# ---- the names, the zone and the one query file ----
: >"$tmp/names"
for n in $(seq 1 "$K"); do
	echo "bench-$n 10.77.$((n / 250)).$((n % 250 + 1)) 10.78.$((n / 250)).$((n % 250 + 1))" \
	    >>"$tmp/names"
done
{
	echo "\$ORIGIN ntk."
	echo "@ 3600 IN SOA ns.ntk. hostmaster.ntk. 1 3600 600 86400 60"
	echo "@ 3600 IN NS ns.ntk."
	echo "ns 3600 IN A $net.1"
	while read -r name a b; do
		echo "$name 60 IN A $a"
		echo "$name 60 IN A $b"
	done <"$tmp/names"
} >"$tmp/ntk.zone"
python3 - "$K" >"$tmp/queries" <<-'EOF'
import random, sys
k = int(sys.argv[1])
rng = random.Random(7)
out = []
for i in range(20 * k):
    r = rng.random()
    n = rng.randint(1, k)
    if r < 0.90:
        out.append("bench-%d.ntk A" % n)
    elif r < 0.95:
        out.append("bench-%d.ntk AAAA" % n)
    else:
        out.append("missing-%d.ntk A" % n)
print("\n".join(out))
EOF

# ---- andnad: two nodes ----
for i in 1 2; do
	mkdir -p "$tmp/n$i"
	{
		echo "data_dir = $tmp/n$i"
		echo "listen = $net.$i:$port"
		echo "control = $tmp/n$i/control"
		echo "dns_listen = $net.$i:$dport"
		echo "http_listen ="
		echo "dns_resolv_conf ="
		echo "dns_rate_limit = 1000000"
		# no health probes: the records' addresses are not on loopback,
		# and the servers compared do not probe either
		echo "dns_probe = no"
		echo "cache_cap = 1h"
		echo "min_update_interval = 0"
		echo "max_names_per_key = 65535"
		[ "$i" = 2 ] && echo "bootstrap = $net.1:$port"
	} >"$tmp/n$i/andnad.conf"
	serve "$ANDNAD" --config "$tmp/n$i/andnad.conf" --foreground \
	    >"$tmp/n$i/log" 2>&1 &
	pids+=($!)
	eval "andnad${i}_pid=$!"
	for _ in $(seq 1 100); do
		"$ANDNA" --control "$tmp/n$i/control" --json status 2>/dev/null |
		    grep -q '"joined":true' && break
		sleep 0.2
	done
done
echo "registering $K names on node 1..."
while read -r name a b; do
	"$ANDNA" --control "$tmp/n1/control" register "$name" "$a" "$b" \
	    >/dev/null || die "cannot register $name"
done <"$tmp/names"

# ---- Knot DNS: one UDP worker ----
mkdir -p "$tmp/knot"
cat >"$tmp/knot/knot.conf" <<EOF
server:
    listen: $net.5@$dport
    rundir: "$tmp/knot"
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "$tmp/knot"
log:
  - target: stderr
    any: error
template:
  - id: default
    storage: "$tmp"
    semantic-checks: off
zone:
  - domain: ntk
    file: ntk.zone
EOF
serve knotd -c "$tmp/knot/knot.conf" >"$tmp/knot/out" 2>&1 &
pids+=($!)
knot_pid=$!

# ---- NSD: one server process (a child of the one started) ----
mkdir -p "$tmp/nsd"
cat >"$tmp/nsd/nsd.conf" <<EOF
server:
    ip-address: $net.6@$dport
    server-count: 1
    username: ""
    chroot: ""
    zonesdir: "$tmp"
    database: ""
    zonelistfile: "$tmp/nsd/zone.list"
    xfrdfile: "$tmp/nsd/xfrd.state"
    xfrdir: "$tmp/nsd"
    pidfile: "$tmp/nsd/nsd.pid"
    logfile: "$tmp/nsd/log"
    verbosity: 0
    rrl-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: ntk
    zonefile: ntk.zone
EOF
serve nsd -d -c "$tmp/nsd/nsd.conf" >"$tmp/nsd/out" 2>&1 &
pids+=($!)
nsd_pid=$!

# ---- dnsmasq: the names in a hosts file ----
: >"$tmp/hosts"
while read -r name a b; do
	echo "$a $name.ntk" >>"$tmp/hosts"
	echo "$b $name.ntk" >>"$tmp/hosts"
done <"$tmp/names"
cat >"$tmp/dnsmasq.conf" <<EOF
no-resolv
no-hosts
no-poll
bind-interfaces
listen-address=$net.3
port=$dport
local=/ntk/
addn-hosts=$tmp/hosts
cache-size=10000
EOF
# dnsmasq reads its hosts file as nobody
chmod a+rx "$tmp"
chmod a+r "$tmp/hosts"
serve dnsmasq --keep-in-foreground --conf-file="$tmp/dnsmasq.conf" \
    --pid-file="$tmp/dnsmasq.pid" --log-facility="$tmp/dnsmasq.log" &
pids+=($!)
dnsmasq_pid=$!

# ---- unbound: the names in a static local zone, one thread ----
{
	echo "server:"
	echo "  interface: $net.4@$dport"
	echo "  port: $dport"
	echo "  do-daemonize: no"
	echo "  username: \"\""
	echo "  chroot: \"\""
	echo "  directory: \"$tmp\""
	echo "  pidfile: \"$tmp/unbound.pid\""
	echo "  logfile: \"$tmp/unbound.log\""
	echo "  use-syslog: no"
	echo "  num-threads: 1"
	echo "  access-control: 127.0.0.0/8 allow"
	echo "  module-config: \"iterator\""
	echo "  do-ip6: no"
	echo "  local-zone: \"ntk.\" static"
	while read -r name a b; do
		echo "  local-data: \"$name.ntk. 60 IN A $a\""
		echo "  local-data: \"$name.ntk. 60 IN A $b\""
	done <"$tmp/names"
	echo "remote-control:"
	echo "  control-enable: no"
} >"$tmp/unbound.conf"
serve unbound -d -c "$tmp/unbound.conf" >"$tmp/unbound.out" 2>&1 &
pids+=($!)
unbound_pid=$!

# ---- every server answers every name of the file before the runs ----
# (andnad-cache: this pass is its warm-up)
servers="andnad-own:1:$andnad1_pid andnad-cache:2:$andnad2_pid \
knot:5:$knot_pid nsd:6:$nsd_pid dnsmasq:3:$dnsmasq_pid unbound:4:$unbound_pid"
if [ -n "${ONLY:-}" ]; then
	servers=$(for s in $servers; do
		case " $ONLY " in *" ${s%%:*} "*) echo "$s" ;; esac
	done)
fi
sort -u "$tmp/queries" >"$tmp/distinct"
for s in $servers; do
	IFS=: read -r label a _ <<<"$s"
	for _ in $(seq 1 50); do
		dig @"$net.$a" -p "$dport" +short +tries=1 +time=1 bench-1.ntk |
		    grep -q . && break
		sleep 0.2
	done
	dnsperf -s "$net.$a" -p "$dport" -d "$tmp/distinct" -n 1 -t 10 \
	    >/dev/null 2>&1
	dnsperf -s "$net.$a" -p "$dport" -d "$tmp/distinct" -n 1 -t 10 \
	    >"$tmp/check.out" 2>&1
	python3 - "$label" "$tmp/check.out" "$(wc -l <"$tmp/distinct")" <<-'EOF'
	import sys
	label, path, want = sys.argv[1], sys.argv[2], int(sys.argv[3])
	text = open(path, errors="replace").read()
	done = 0
	for line in text.splitlines():
	    if "Queries completed:" in line:
	        done = int(line.split(":")[1].split()[0])
	if done != want:
	    sys.exit("bench-dns: %s answers %d of %d distinct queries" % (label, done, want))
	EOF
	[ $? = 0 ] || exit 1
done

# Knot DNS pins its UDP worker to CPU 0 by itself, whatever taskset said:
# beside dnsperf, it would hand its answers to the client without waking
# the other CPU, which the other servers pay for.  Every thread of every
# server goes back to the servers' CPU, and is checked there after the
# runs.
pin() {
	local c
	taskset -a -pc "$server_cpu" "$1" >/dev/null
	for c in $(pgrep -P "$1"); do
		pin "$c"
	done
}
# off_cpu PID: the threads of PID and its children not on the servers' CPU
off_cpu() {
	local t c
	for t in /proc/"$1"/task/*; do
		[ "$(awk '/^Cpus_allowed_list/ { print $2 }' "$t/status")" = \
		    "$server_cpu" ] || echo "${t##*/}"
	done
	for c in $(pgrep -P "$1"); do
		off_cpu "$c"
	done
}
for s in $servers; do
	IFS=: read -r _ _ pid <<<"$s"
	pin "$pid"
done

# ---- the runs ----
# CPU nanoseconds of a process, its threads and its descendants (NSD
# answers in a child)
cpu_ns() {
	local sum=0 t c ns
	for t in /proc/"$1"/task/*/schedstat; do
		read -r ns _ <"$t" 2>/dev/null && sum=$((sum + ns))
	done
	for c in $(pgrep -P "$1"); do
		sum=$((sum + $(cpu_ns "$c")))
	done
	echo "$sum"
}

# run LABEL ADDRESS PID ROUND: one turn of dnsperf, its output kept apart
# from the other rounds' (what each answer cost is their sum over all)
run() {
	local label=$1 addr=$2 pid=$3 out="$tmp/$1.$4.out" c0 c1
	c0=$(cpu_ns "$pid")
	taskset -c "$client_cpu" dnsperf -s "$addr" -p "$dport" \
	    -d "$tmp/queries" -l "$T" -c "$C" -q "$Q" -v >"$out" 2>&1
	c1=$(cpu_ns "$pid")
	echo "$label $((c1 - c0)) $out" >>"$tmp/runs"
}

echo
echo "dnsperf: $R rounds of $T s per server, $K names, $C clients," \
    "$Q outstanding; client on CPU $client_cpu, servers on CPU $server_cpu"
: >"$tmp/runs"
for round in $(seq 1 "$R"); do
	for s in $servers; do
		IFS=: read -r label a pid <<<"$s"
		run "$label" "$net.$a" "$pid" "$round"
	done
done
for s in $servers; do
	IFS=: read -r label _ pid <<<"$s"
	[ -z "$(off_cpu "$pid")" ] ||
	    echo "bench-dns: $label moved threads off CPU $server_cpu" >&2
done
python3 - "$tmp/runs" <<-'EOF'
import sys
runs = {}
order = []
for line in open(sys.argv[1]):
    label, ns, path = line.split()
    if label not in runs:
        runs[label] = {"ns": 0, "lat": [], "codes": {}, "qps": [], "lost": 0}
        order.append(label)
    r = runs[label]
    r["ns"] += int(ns)
    for l in open(path, errors="replace"):
        if l.startswith("> "):
            f = l.split()
            r["codes"][f[1]] = r["codes"].get(f[1], 0) + 1
            r["lat"].append(float(f[-1]))
        elif "Queries per second:" in l:
            r["qps"].append(float(l.split(":")[1]))
        elif "Queries lost:" in l:
            r["lost"] += int(l.split(":", 1)[1].split()[0])
print("%-13s %9s %7s %7s %7s %7s %9s  %s" % ("server", "qps", "p50_ms",
      "p99_ms", "max_ms", "NOERROR", "cpu_us/q", "lost  (NOERROR/NXDOMAIN/other)"))
cost = {}
for label in order:
    r = runs[label]
    lat = sorted(r["lat"])
    n = len(lat)
    def pct(p):
        return lat[min(n - 1, int(p / 100.0 * n))] * 1e3 if n else float("nan")
    c = r["codes"]
    cost[label] = r["ns"] / 1e3 / max(1, n)
    other = n - c.get("NOERROR", 0) - c.get("NXDOMAIN", 0)
    print("%-13s %9.0f %7.3f %7.3f %7.2f %6.1f%% %9.2f  %d  (%d/%d/%d)" % (
        label, sum(r["qps"]) / max(1, len(r["qps"])), pct(50), pct(99),
        lat[-1] * 1e3 if n else float("nan"),
        c.get("NOERROR", 0) * 100.0 / max(1, n), cost[label], r["lost"],
        c.get("NOERROR", 0), c.get("NXDOMAIN", 0), other))
k = cost.get("knot")
mine = [l for l in ("andnad-own", "andnad-cache") if l in cost]
if k and mine:
    print("ratio to Knot DNS (CPU per answer): " +
          ", ".join("%s %.2f" % (l, cost[l] / k) for l in mine))
EOF
