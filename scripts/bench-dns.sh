#!/bin/bash
# DNS benchmark (not a test): dnsperf for a fixed time against andnad
# answering cached .ntk names, then against dnsmasq and unbound serving the
# same names from a local zone on the same machine, with one query file,
# in one run.  Prints queries per second and latency percentiles for each.
#
#   scripts/bench-dns.sh [BUILDDIR]     (default: build)
#   SECONDS_PER_RUN=10 NAMES=500 CLIENTS=4 OUTSTANDING=100 scripts/bench-dns.sh
#
# andnad: two nodes on loopback; the names are registered on the first and
# asked of the second, whose resolved cache answers them after one warm-up
# pass (cache_cap is an hour, so nothing expires during the run).  Every
# server runs one thread on 127.0.0.0/8 and forwards nothing; nothing reads
# /etc/resolv.conf.  Latency percentiles come from dnsperf -v (one line per
# answer), which costs the client a little: the same for every server.
# On a shared machine qps and latency move with the load of others and with
# dnsperf's own share of the CPU, so each server's CPU time per answer
# (user + system, from /proc) is printed too: it says what the server
# itself costs.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
builddir=${1:-$top/build}
ANDNAD=$builddir/andnad
ANDNA=$builddir/andna
T=${SECONDS_PER_RUN:-10}
K=${NAMES:-500}
C=${CLIENTS:-4}
Q=${OUTSTANDING:-100}
net=127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1))
port=$((20000 + RANDOM % 10000))
dport=$((port + 10000))
tmp=$(mktemp -d "${TMPDIR:-/tmp}/andna-bench-dns.XXXXXX") || exit 1
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
	echo "bench-dns: $*" >&2
	exit 1
}

for tool in dnsperf dnsmasq unbound dig python3; do
	command -v $tool >/dev/null || die "needs $tool (apt-get install $tool)"
done
[ -x "$ANDNAD" ] && [ -x "$ANDNA" ] ||
	die "no andnad in $builddir: build first, or name the build directory"
DNSMASQ=$(command -v dnsmasq)
UNBOUND=$(command -v unbound)

# the names and the one query file
: >"$tmp/queries"
: >"$tmp/names"
for n in $(seq 1 "$K"); do
	ip="10.77.$((n / 250)).$((n % 250 + 1))"
	echo "bench-$n $ip" >>"$tmp/names"
	echo "bench-$n.ntk A" >>"$tmp/queries"
done

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
		echo "cache_cap = 1h"
		echo "min_update_interval = 0"
		echo "max_names_per_key = 65535"
		[ "$i" = 2 ] && echo "bootstrap = $net.1:$port"
	} >"$tmp/n$i/andnad.conf"
	"$ANDNAD" --config "$tmp/n$i/andnad.conf" --foreground \
	    >"$tmp/n$i/log" 2>&1 &
	pids+=($!)
	andnad_pid=$!
	for _ in $(seq 1 100); do
		"$ANDNA" --control "$tmp/n$i/control" --json status 2>/dev/null |
		    grep -q '"joined":true' && break
		sleep 0.2
	done
done
echo "registering $K names on node 1..."
while read -r name ip; do
	"$ANDNA" --control "$tmp/n1/control" register "$name" "$ip" \
	    >/dev/null || die "cannot register $name"
done <"$tmp/names"
echo "warming node 2's cache..."
for _ in $(seq 1 30); do
	dig @"$net.2" -p "$dport" +short +tries=1 "bench-$K.ntk" | grep -q . &&
		break
	sleep 0.5
done
dnsperf -s "$net.2" -p "$dport" -d "$tmp/queries" -n 1 -t 10 >/dev/null 2>&1
ok=$(dnsperf -s "$net.2" -p "$dport" -d "$tmp/queries" -n 1 -t 10 2>&1 |
    sed -n 's/.*NOERROR \([0-9]*\).*/\1/p')
[ "${ok:-0}" = "$K" ] || die "node 2 answers $ok of $K names after warm-up"

# ---- dnsmasq: the same names as host records ----
{
	echo "no-resolv"
	echo "no-hosts"
	echo "no-poll"
	echo "bind-interfaces"
	echo "listen-address=$net.3"
	echo "port=$dport"
	echo "local=/ntk/"
	echo "cache-size=10000"
	while read -r name ip; do
		echo "host-record=$name.ntk,$ip"
	done <"$tmp/names"
} >"$tmp/dnsmasq.conf"
"$DNSMASQ" --keep-in-foreground --conf-file="$tmp/dnsmasq.conf" \
    --pid-file="$tmp/dnsmasq.pid" --log-facility="$tmp/dnsmasq.log" &
pids+=($!)
dnsmasq_pid=$!

# ---- unbound: the same names in a static local zone, one thread ----
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
	while read -r name ip; do
		echo "  local-data: \"$name.ntk. 300 IN A $ip\""
	done <"$tmp/names"
	echo "remote-control:"
	echo "  control-enable: no"
} >"$tmp/unbound.conf"
"$UNBOUND" -d -c "$tmp/unbound.conf" >"$tmp/unbound.out" 2>&1 &
pids+=($!)
unbound_pid=$!

for a in 3 4; do
	for _ in $(seq 1 50); do
		dig @"$net.$a" -p "$dport" +short +tries=1 +time=1 bench-1.ntk |
		    grep -q . && break
		sleep 0.2
	done
done

# ---- the runs ----
# clock ticks of user + system time of a process
ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

run() {
	local label=$1 addr=$2 pid=$3 t0
	t0=$(ticks "$pid")
	dnsperf -s "$addr" -p "$dport" -d "$tmp/queries" -l "$T" -c "$C" \
	    -q "$Q" -v >"$tmp/$label.out" 2>&1
	python3 - "$label" "$tmp/$label.out" $(($(ticks "$pid") - t0)) \
	    "$(getconf CLK_TCK)" <<-'EOF'
	import re, sys
	label, path = sys.argv[1], sys.argv[2]
	cpu_s = int(sys.argv[3]) / float(sys.argv[4])
	lat, qps, lost, codes = [], None, None, {}
	for line in open(path, errors="replace"):
	    if line.startswith("> "):
	        f = line.split()
	        codes[f[1]] = codes.get(f[1], 0) + 1
	        lat.append(float(f[-1]))
	    elif "Queries per second:" in line:
	        qps = float(line.split(":")[1])
	    elif "Queries lost:" in line:
	        lost = line.split(":", 1)[1].strip()
	lat.sort()
	def pct(p):
	    return lat[min(len(lat) - 1, int(p / 100.0 * len(lat)))] * 1e3 if lat else float("nan")
	ok = codes.get("NOERROR", 0) * 100.0 / max(1, sum(codes.values()))
	print("%-8s %10.0f %8.3f %8.3f %8.3f %8.3f %8.3f %8.2f  %5.1f%%  %s" % (
	    label, qps or 0, pct(50), pct(90), pct(99), pct(99.9),
	    lat[-1] * 1e3 if lat else float("nan"),
	    cpu_s * 1e6 / max(1, len(lat)), ok, lost))
	EOF
}

echo
echo "dnsperf: $T s per server, $K names (A), $C clients, $Q outstanding"
printf '%-8s %10s %8s %8s %8s %8s %8s %8s  %6s  %s\n' server qps p50_ms \
    p90_ms p99_ms p99.9_ms max_ms cpu_us/q NOERR lost
run andnad "$net.2" "$andnad_pid"
run dnsmasq "$net.3" "$dnsmasq_pid"
run unbound "$net.4" "$unbound_pid"
