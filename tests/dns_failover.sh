#!/bin/bash
# Failover as a new user meets it, with the defaults: a name whose two web
# servers sit on two hosts, and one host dies (its packets vanish).  Two
# andnad processes on loopback; node 1 has every default (health probes
# on, port 80, every 5 s), node 2 says `dns_probe = no`.  Two web servers
# (python3 -m http.server) on port 80 of A and B, both under one name
# (`andna register web A B`).  B is black-holed with iptables (INPUT DROP
# on its address only, removed on exit).  curl then resolves web.ntk
# through the system resolver (glibc's getaddrinfo, in a private mount
# namespace where /etc/resolv.conf names a node's DNS front):
#   - node 1 puts B last only once its probe found it down (a warning in
#     its log, within an interval and a timeout): just after B died it
#     still led answers in turn;
#   - glibc keeps the node's order (no RFC 6724 rule tells two loopback
#     addresses apart), and without probes (node 2) B leads half the
#     answers and a curl that takes it first waits on it: this test would
#     see a wait;
#   - after the probe, 20 curls through node 1 each reach A, none waits
#     (each well under 1 s, with --connect-timeout 3 s).
# "Down" means no answer at all: an address that refuses port 80 (a
# server that only speaks HTTPS: RST), or whose host sends ICMP port
# unreachable, keeps its turn; ICMP host unreachable puts it last.
#
# Needs root (iptables, port 53 and 80, mount namespaces), curl, unshare
# and iptables; skips otherwise.  Only 127.0.0.0/8 addresses are used (a
# random /24 per run); every rule added is removed and every process
# started here is killed on exit, failed or not.
set -u

srcdir=${top_srcdir:-.}
# shellcheck source-path=SCRIPTDIR/.. source=tests/lib.sh
. "$srcdir/tests/lib.sh" failover
N=2
A=$net.11  # a live web server
B=$net.12  # a web server whose host dies (DROP)
C=$net.13  # a host up with nothing on port 80 (RST): HTTPS only
D=$net.14  # ICMP host unreachable
E=$net.15  # ICMP port unreachable
CURLS=20

[ "$(id -u)" = 0 ] || skip "needs root (iptables, ports 53 and 80, mount namespaces)"
need curl dig unshare iptables getent
need_python
need_built

# ---- iptables rules, removed on exit whatever happens ----
rules=()
# block ADDR TARGET...: adds an INPUT rule for packets to ADDR.
block() {
	local addr=$1
	shift
	iptables -w -I INPUT -d "$addr/32" -j "$@" || return 1
	rules+=("$addr/32 -j $*")
}
unblock_all() {
	local r
	for r in "${rules[@]}"; do
		# shellcheck disable=SC2086 # the rule's words
		while iptables -w -C INPUT -d $r 2>/dev/null; do
			iptables -w -D INPUT -d $r || break
		done
	done
	rules=()
}
trap 'unblock_all; cleanup' EXIT

# the sandbox must offer what the test needs, else there is nothing to test
py -c 'import socket, sys
for port, kind in ((53, socket.SOCK_DGRAM), (53, socket.SOCK_STREAM),
                   (80, socket.SOCK_STREAM)):
    s = socket.socket(socket.AF_INET, kind)
    s.bind((sys.argv[1], port))' "$net.1" 2>/dev/null ||
	skip "cannot bind ports 53 and 80 on $net.1"
block "$net.250" DROP 2>/dev/null || skip "iptables cannot add a rule"
unblock_all
iptables -w -C INPUT -d "$net.250/32" -j DROP 2>/dev/null &&
	fail "iptables: a rule stays after it was removed"
echo "hosts: files dns" >"$tmp/nsswitch.conf"
unshare -m sh -c "mount --bind $tmp/nsswitch.conf /etc/resolv.conf &&
    mount --bind $tmp/nsswitch.conf /etc/nsswitch.conf" 2>/dev/null ||
	skip "cannot bind-mount over /etc/resolv.conf in a mount namespace"

fail_more() { tail_logs "$tmp"/www-*.log; }

# A web server on ADDR:80 whose page says NAME.
start_www() {
	mkdir -p "$tmp/www-$2"
	echo "$2" >"$tmp/www-$2/index.html"
	"$PY" -m http.server 80 --bind "$1" --directory "$tmp/www-$2" \
	    >"$tmp/www-$2.log" 2>&1 &
	pid[www$2]=$!
}

# Whether ADDR:80 accepts within 0.5 s.
accepts() {
	py -c 'import socket, sys
socket.create_connection((sys.argv[1], 80), 0.5)' "$1" 2>/dev/null
}

# ask I NAME: the addresses of NAME A at node I's DNS front, in the order
# answered: sets $all (each followed by a space) and $first.
ask() {
	all=$(dig @"$net.$1" +tries=1 +time=3 +short "$2" A | tr '\n' ' ')
	first=${all%% *}
}

# through I CMD...: runs CMD with the system resolver asking node I only
# (resolv.conf and nsswitch.conf bind-mounted in a private mount
# namespace; nothing outside it changes).
through() {
	local i=$1
	shift
	unshare -m sh -c 'mount --bind "$1" /etc/resolv.conf &&
	    mount --bind "$2" /etc/nsswitch.conf && shift 2 && exec "$@"' \
	    sh "$tmp/resolv-$i.conf" "$tmp/nsswitch.conf" "$@"
}

# curls I N: N curls of http://web.ntk/ through node I, one line each:
# "SECONDS PAGE" (PAGE empty when it failed).
curls() {
	through "$1" bash -c 'for _ in $(seq 1 "$1"); do
		rm -f "$2"
		t=$(curl -sS --connect-timeout 3 --max-time 8 -o "$2" \
		    -w "%{time_total}" http://web.ntk/ 2>/dev/null)
		echo "$t $(cat "$2" 2>/dev/null)"
	done' sh "$2" "$tmp/page"
}

# wait_down ADDR WHY: node 1's log says, within 10 s, that its probe
# found ADDR:80 down for WHY.
wait_down() {
	for _ in $(seq 1 100); do
		grep -qF "probe: $1 port 80 is down ($2)" "$tmp/n1/log" &&
			return 0
		sleep 0.1
	done
	return 1
}

write_config() {
	local i=$1
	mkdir -p "$tmp/n$i"
	{
		echo "# node $i of the failover test"
		echo "data_dir = $tmp/n$i"
		echo "listen = $net.$i:$port"
		echo "control = $tmp/n$i/control"
		# port 53: resolv.conf has no port
		echo "dns_listen = $net.$i:53"
		echo "http_listen ="
		echo "dns_resolv_conf ="
		# node 1 keeps every DNS default: probes on, port 80, 5 s
		[ "$i" = 2 ] && echo "dns_probe = no"
		[ "$i" -gt 1 ] && echo "bootstrap = $net.1:$port"
		cat <<-EOF
		ping_interval = 300ms
		ping_timeout = 250ms
		suspect_timeout = 1500ms
		gossip_interval = 500ms
		hop_timeout = 400ms
		request_timeout = 1500ms
		min_update_interval = 0
		EOF
	} >"$tmp/n$i/andnad.conf"
	printf 'nameserver %s\noptions timeout:2 attempts:1\n' "$net.$i" \
	    >"$tmp/resolv-$i.conf"
}

# ---- two web servers, two nodes, one name ----
start_www "$A" A
start_www "$B" B
for _ in $(seq 1 50); do
	accepts "$A" && accepts "$B" && break
	sleep 0.1
done
accepts "$A" && accepts "$B" || fail "the web servers did not start"

log "$N nodes on $net.1-$N (overlay $port, DNS 53), web on $A and $B, in $tmp"
for i in $(seq 1 $N); do
	write_config "$i"
	start_node "$i"
	wait_joined "$i"
done
cli 1 register web "$A" "$B" || fail "register web: $out"
cli 1 register tls "$C" "$A" || fail "register tls: $out"
cli 1 register unreach "$D" "$A" || fail "register unreach: $out"
cli 1 register portunreach "$E" "$A" || fail "register portunreach: $out"
for _ in $(seq 1 40); do
	ask 2 web.ntk
	[ -n "$first" ] && break
	sleep 0.5
done
[ "$all" = "$A $B " ] || [ "$all" = "$B $A " ] ||
	fail "node 2 answers web.ntk with '$all'"
log "registered web ($A $B), tls, unreach, portunreach; node 2 answers"

# the system resolver asks the node: both servers are reached in turn,
# none waits; node 1 starts probing both
seen=$(curls 1 4)
grep -q " A$" <<<"$seen" && grep -q " B$" <<<"$seen" ||
	fail "curls through node 1 before any failure: $seen"
# and the other names (in this order: C and E are then probed again no
# later than D, whose probe says when it found D down)
for n in portunreach tls unreach; do ask 1 $n.ntk; done

# ---- B's host dies: its packets vanish ----
block "$B" DROP || fail "iptables: cannot black-hole $B"
dead_ms=$(now_ms)
block "$D" REJECT --reject-with icmp-host-unreachable ||
	fail "iptables: cannot reject $D"
block "$E" REJECT --reject-with icmp-port-unreachable ||
	fail "iptables: cannot reject $E"

# its probe has not found it down yet (that takes a timeout, 1 s, after
# the rule): node 1 still gives it its turn
b_first=0
t=$(now_ms)
for _ in 1 2 3 4; do
	ask 1 web.ntk
	[ "$first" = "$B" ] && b_first=$((b_first + 1))
done
if [ $(($(now_ms) - dead_ms)) -lt 900 ]; then
	[ "$b_first" -ge 1 ] ||
		fail "node 1 put $B last before its probe could find it down"
	grep -q "probe: $B port 80 is down" "$tmp/n1/log" &&
		fail "node 1 found $B down within a timeout"
	log "before its probe: $B led $b_first of 4 answers"
else
	log "(asking took $(($(now_ms) - t)) ms: not checked before the probe)"
fi
! accepts "$B" || fail "$B still accepts"

# the probe finds it down within an interval (5 s, ticks of 1.25 s) and
# a timeout (1 s)
wait_down "$B" "no answer in 1000 ms" ||
	fail "node 1 did not find $B down in 10 s"
log "node 1's probe found $B down $(($(now_ms) - dead_ms)) ms after it died"

# ---- without probes (node 2) the dead host leads half the answers, glibc
# keeps that order, and a curl that takes it first waits ----
b_first=0
for _ in 1 2 3 4; do
	got=$(through 2 getent ahostsv4 web.ntk | awk 'NR == 1 { print $1 }')
	[ "$got" = "$B" ] && b_first=$((b_first + 1))
done
[ "$b_first" -ge 1 ] ||
	fail "through node 2 (no probes) getaddrinfo never put $B first:" \
	    "this test could not see a client wait"
seen=$(curls 2 4)
waits=$(awk '$1 >= 1' <<<"$seen" | wc -l)
[ "$waits" -ge 1 ] ||
	fail "no curl through node 2 (no probes) waited on $B: $seen"
log "without probes: getaddrinfo put $B first $b_first of 4 times;" \
    "$waits of 4 curls waited ($(awk '{ printf "%ss ", $1 }' <<<"$seen"))"

# ---- with the defaults (node 1): B last, every curl fast ----
for _ in 1 2 3 4; do
	ask 1 web.ntk
	[ "$all" = "$A $B " ] || fail "node 1 answers '$all', not $A then $B"
	got=$(through 1 getent ahostsv4 web.ntk | awk '{ print $1 }' | uniq |
	    tr '\n' ' ')
	[ "$got" = "$A $B " ] || fail "getaddrinfo through node 1: '$got'"
done
seen=$(curls 1 $CURLS)
[ "$(grep -c " A$" <<<"$seen")" = $CURLS ] ||
	fail "not every curl through node 1 reached $A: $seen"
slow=$(awk '$1 >= 1' <<<"$seen")
[ -z "$slow" ] || fail "curls through node 1 waited: $slow"
log "$CURLS curls through node 1 reached $A, the slowest in" \
    "$(sort -n <<<"$seen" | tail -n 1 | cut -d' ' -f1) s"

# ---- down means no answer: refused and port unreachable keep their turn,
# host unreachable goes last ----
wait_down "$D" "No route to host" ||
	fail "node 1 did not find $D (ICMP host unreachable) down in 10 s"
for n in C E; do
	addr=${!n}
	grep "probe: $addr port 80 is down" "$tmp/n1/log" &&
		fail "node 1 found $addr down"
done
for n in tls:$C unreach:$D portunreach:$E; do
	lead=0
	for _ in 1 2 3 4; do
		ask 1 "${n%%:*}.ntk"
		[ "$first" = "${n#*:}" ] && lead=$((lead + 1))
	done
	case $n in
	unreach:*) [ "$lead" = 0 ] || fail "$n led $lead of 4 answers" ;;
	*) [ "$lead" -ge 1 ] || fail "$n never led: it counted as down" ;;
	esac
done
log "refused ($C) and ICMP port unreachable ($E) kept their turn;" \
    "ICMP host unreachable ($D) went last"
log "PASS"
