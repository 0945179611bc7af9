#!/bin/bash
# Zero-configuration join on a routed multi-hop mesh: ten network
# namespaces are the routers, joined by veth links in a chain and, in a
# second run, a 3x4 grid (in a plain build; a sanitizer build runs the
# chain only, to keep the suite short; ZEROCONF_GRID=1 or 0 says which
# for any build); each router has a ULA
# IPv6 and an IPv4 address on its mesh links, babeld routes between them
# as a community mesh would run it, and andnad runs in every namespace
# with no bootstrap peer: the nodes find each other by link-local
# multicast.  A name registered at one end resolves at the other through
# dig @ that router's DNS front with its whole address set; then the
# same with 10% loss on every link (iptables statistic) and, when the
# NFQUEUE helper was built, 20 ms of delay per link; a router stopped and
# started again rejoins; a link cut in the middle splits the mesh, names
# are registered on both sides, and once the link is healed every name
# resolves everywhere.  The figures (time to join, resolve latency by hop
# count, time to merge, upkeep bytes) are printed, not asserted;
# ZEROCONF_NAMES (default 8) names are asked at each router measured, so
# set it higher for steadier percentiles.
#
# Root only (skips otherwise).  Everything lives in namespaces named
# with a random prefix, made here and removed on exit whatever happens;
# nothing outside them is touched, and every loop is bounded.
set -u

srcdir=${top_srcdir:-.}
# shellcheck source-path=SCRIPTDIR/.. source=tests/lib.sh
. "$srcdir/tests/lib.sh" zeroconf

[ "$(id -u)" = 0 ] || skip "needs root for network namespaces"
need ip babeld dig iptables
need_python
need_built
NFQ_DELAY=$builddir/tests/nfq_delay

pfx=azc$((RANDOM % 90000 + 10000))
ula=fd$(printf %02x $((RANDOM % 256))):$(printf %x $((RANDOM % 65536)))
v4net=10.$((RANDOM % 200 + 20))
declare -a ns_made=()
declare -A hops=() deg=()

# Kills every process started here and removes every namespace made here.
zc_stop() {
	{
		for i in "${!pid[@]}"; do
			kill -9 "${pid[$i]}"
		done
		wait
		for n in "${ns_made[@]}"; do
			ip netns pids "$n" | xargs -r kill -9
			ip netns del "$n"
		done
	} 2>/dev/null
	pid=()
	ns_made=()
	deg=()
}

zc_cleanup() {
	zc_stop
	[ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap zc_cleanup EXIT

fail_more() { tail_logs "$tmp"/b*.log; }

ns() { echo "$pfx-r$1"; }
now_ms() { date +%s%3N; }
v6() { echo "$ula::$1"; }
v4() { echo "$v4net.0.$1"; }
inns() { local i=$1; shift; ip netns exec "$(ns "$i")" "$@"; }

# Makes router I: a namespace with loopback up and forwarding on.
router() {
	local i=$1 n
	n=$(ns "$i")
	ip netns add "$n" || fail "cannot make namespace $n"
	ns_made+=("$n")
	ip -n "$n" link set lo up
	inns "$i" sysctl -qw net.ipv6.conf.all.forwarding=1 \
	    net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
	    net.ipv4.conf.default.rp_filter=0 >/dev/null
}

# Links routers A and B with a veth pair made inside A's namespace (its
# other end moved into B's), never in the host's: m<B> in A, m<A> in B.
# Each end carries its router's addresses, as mesh routers number their
# links with the router's own address.
link() {
	local a=$1 b=$2 x y
	ip -n "$(ns "$a")" link add "m$b" type veth peer name "m$a" \
	    netns "$(ns "$b")" || fail "cannot link $a and $b"
	deg[$a]=$((${deg[$a]:-0} + 1))
	deg[$b]=$((${deg[$b]:-0} + 1))
	for x in "$a:$b" "$b:$a"; do
		y=${x#*:}
		x=${x%:*}
		ip -n "$(ns "$x")" addr add "$(v6 "$x")/128" dev "m$y" nodad
		ip -n "$(ns "$x")" addr add "$(v4 "$x")/32" dev "m$y"
		ip -n "$(ns "$x")" link set "m$y" up
	done
}

# Cuts (down) or heals (up) the link between A and B, at both ends.
set_link() {
	ip -n "$(ns "$1")" link set "m$2" "$3"
	ip -n "$(ns "$2")" link set "m$1" "$3"
}

start_babel() {
	local i=$1 ifs
	ifs=$(ip -n "$(ns "$i")" -o link show | awk -F': ' '{print $2}' |
	    sed 's/@.*//' | grep '^m')
	# shellcheck disable=SC2086 # one word per interface
	inns "$i" babeld -I "$tmp/b$i.pid" -S "$tmp/b$i.state" \
	    -L "$tmp/b$i.log" -h 1 -H 1 $ifs &
	pid[b$i]=$!
}

write_config() {
	local i=$1
	mkdir -p "$tmp/n$i"
	cat >"$tmp/n$i/andnad.conf" <<-EOF
	# router $i of the zero-configuration test: no bootstrap peer
	data_dir = $tmp/n$i
	control = $tmp/n$i/control
	dns_listen = [$(v6 "$i")]:53 127.0.0.1:53
	dns_resolv_conf =
	discover_interval = 1s
	gnode_size = 4
	ping_interval = 500ms
	ping_timeout = 400ms
	suspect_timeout = 3s
	gossip_interval = 1s
	outer_timeout = 8s
	hop_timeout = 500ms
	request_timeout = 2s
	request_tries = 3
	cache_cap = 1s
	negative_cache = 1s
	min_update_interval = 0
	sync_interval = 2s
	EOF
}

start_node() {
	local i=$1
	# shellcheck disable=SC2086 # no flag at all when set empty
	inns "$i" "$ANDNAD" --config "$tmp/n$i/andnad.conf" --foreground \
	    ${ZEROCONF_VERBOSE--v} >>"$tmp/n$i/log" 2>&1 &
	pid[n$i]=$!
}

joined() {
	cli "$1" status
	[ "$rc" = 0 ] && py -c 'import json,sys
sys.exit(0 if json.loads(sys.argv[1])["joined"] else 1)' "$out" 2>/dev/null
}

# Waits up to SECS for every router in the list to have joined.
wait_all_joined() {
	local secs=$1 i left
	shift
	local until=$((SECONDS + secs))
	while [ "$SECONDS" -lt "$until" ]; do
		left=0
		for i in "$@"; do
			kill -0 "${pid[n$i]}" 2>/dev/null || fail "node $i died"
			joined "$i" || left=$((left + 1))
		done
		[ "$left" = 0 ] && return 0
		sleep 0.3
	done
	fail "$left routers did not join within $secs s"
}

# Registers NAME on router I with ADDRS, retried while the overlay is
# settling (bounded).
register() {
	local i=$1 name=$2
	shift 2
	for _ in $(seq 1 30); do
		cli "$i" register "$name" "$@"
		[ "$rc" = 0 ] && return 0
		sleep 1
	done
	fail "router $i cannot register $name: $out"
}

# dig at router I's DNS front: q I NAME TYPE; sets $out and $ms.
q() {
	out=$(inns "$1" dig @"$(v6 "$1")" +tries=1 +time=4 +noall +answer \
	    +stats "$2.ntk" "$3" 2>&1)
	ms=$(echo "$out" | sed -n 's/.*Query time: \([0-9]*\) msec.*/\1/p')
}

# The addresses of NAME (A and AAAA) at router I, sorted, one line.
addrs() {
	local a b
	q "$1" "$2" A
	a=$(echo "$out" | awk '$4 == "A" {print $5}')
	q "$1" "$2" AAAA
	b=$(echo "$out" | awk '$4 == "AAAA" {print $5}')
	printf '%s\n%s\n' "$a" "$b" | sed '/^$/d' | sort | tr '\n' ' '
}

# Resolves NAME at router I until it has the address set WANT, within
# SECS; fails otherwise.
resolve_until() {
	local i=$1 name=$2 want=$3 secs=$4 got=""
	local until=$((SECONDS + secs))
	while [ "$SECONDS" -lt "$until" ]; do
		got=$(addrs "$i" "$name")
		[ "$got" = "$want" ] && return 0
		sleep 0.5
	done
	fail "router $i: $name.ntk is '$got', not '$want' after $secs s"
}

# Prints the p50 and p99 of the numbers on stdin (nearest rank).
pct() {
	py -c '
import sys
v = sorted(int(x) for x in sys.stdin.read().split())
if not v:
    print("no answers")
    sys.exit(0)
r = lambda p: v[min(len(v) - 1, max(0, -(-p * len(v) // 100) - 1))]
print("p50 %d ms, p99 %d ms (%d answers)" % (r(50), r(99), len(v)))'
}

# Registers K fresh names at router FROM, then asks each once (an
# overlay resolution: nothing cached yet) at the routers of the list,
# printing success and latency by hop count.  Every answer must hold the
# whole address set.
measure() {
	local label=$1 from=$2 k=$3 i j ok lat
	shift 3
	for j in $(seq 1 "$k"); do
		register "$from" "$label-$j" "10.77.$j.1" "10.77.$j.2" "fd77::$j"
	done
	for i in "$@"; do
		ok=0
		lat=""
		for j in $(seq 1 "$k"); do
			q "$i" "$label-$j" AAAA
			if echo "$out" | grep -q "fd77::$j\$"; then
				ok=$((ok + 1))
				lat="$lat $ms"
			fi
		done
		# the whole set, once each name has resolved
		resolve_until "$i" "$label-$k" \
		    "10.77.$k.1 10.77.$k.2 fd77::$k " 30
		log "FIGURE $topo $label: ${hops[$i]} hops (router $i):" \
		    "$ok/$k resolved at the first query," \
		    "$(echo "$lat" | pct)"
		[ "$ok" -gt 0 ] || fail "router $i resolved none of $k names"
	done
}

# Upkeep: the bytes andnad sent (overlay and discovery ports) per router
# per second over SECS of an idle mesh, counted by iptables in each
# namespace.
upkeep() {
	local secs=$1 i total=0 b
	for i in "${routers[@]}"; do
		inns "$i" iptables -N ZCUP 2>/dev/null
		inns "$i" iptables -F ZCUP
		inns "$i" iptables -I OUTPUT -j ZCUP
		inns "$i" iptables -A ZCUP -p udp --sport 7269
		inns "$i" iptables -A ZCUP -p tcp --sport 7269
		inns "$i" iptables -A ZCUP -p udp --dport 7269
		inns "$i" iptables -A ZCUP -p tcp --dport 7269
		inns "$i" iptables -A ZCUP -p udp --dport 7270
	done
	sleep "$secs"
	for i in "${routers[@]}"; do
		b=$(inns "$i" iptables -nvxL ZCUP | awk 'NR > 2 {s += $2}
		    END {print s + 0}')
		total=$((total + b))
		inns "$i" iptables -D OUTPUT -j ZCUP
		inns "$i" iptables -F ZCUP
		inns "$i" iptables -X ZCUP
	done
	log "FIGURE $topo upkeep: $((total / ${#routers[@]} / secs)) bytes" \
	    "per router per second (overlay and discovery, sent, idle mesh)"
}

# 10% loss on every link: each router drops a tenth of what comes in on
# its mesh interfaces; with the helper, every packet coming in waits
# 20 ms in its queue first.
impair() {
	local i
	for i in "${routers[@]}"; do
		inns "$i" iptables -A INPUT -i 'm+' -m statistic --mode random \
		    --probability 0.1 -j DROP
		inns "$i" iptables -A FORWARD -i 'm+' -m statistic \
		    --mode random --probability 0.1 -j DROP
		if [ "$delay" = 1 ]; then
			if ! inns "$i" iptables -A INPUT -i 'm+' -j NFQUEUE \
			    --queue-num 7 --queue-bypass ||
			    ! inns "$i" iptables -A FORWARD -i 'm+' -j NFQUEUE \
			    --queue-num 7 --queue-bypass; then
				fail "no NFQUEUE in this kernel: remove" \
				    "tests/nfq_delay to test loss alone"
			fi
			inns "$i" "$NFQ_DELAY" 7 20 >>"$tmp/nfq$i.log" 2>&1 &
			pid[q$i]=$!
		fi
	done
}

unimpair() {
	local i
	for i in "${routers[@]}"; do
		inns "$i" iptables -F INPUT
		inns "$i" iptables -F FORWARD
		if [ -n "${pid[q$i]:-}" ]; then
			kill "${pid[q$i]}" 2>/dev/null
			wait "${pid[q$i]}" 2>/dev/null
			unset "pid[q$i]"
		fi
	done
}

# One run on topology TOPO: chain (1-2-...-10) or grid (3 rows of 4).
run() {
	topo=$1
	local i r c far mid
	local last=10
	[ "$topo" = grid ] && last=12
	mapfile -t routers < <(seq 1 "$last")
	for i in "${routers[@]}"; do
		router "$i"
	done
	if [ "$topo" = chain ]; then
		for i in $(seq 1 9); do
			link "$i" $((i + 1))
			hops[$i]=$((i - 1))
		done
		hops[10]=9
		far=10
		mid=5
	else
		# router r*4+c+1 at row r, column c; hops from router 1
		for r in 0 1 2; do
			for c in 0 1 2 3; do
				i=$((r * 4 + c + 1))
				hops[$i]=$((r + c))
				[ "$c" -lt 3 ] && link "$i" $((i + 1))
				[ "$r" -lt 2 ] && link "$i" $((i + 4))
			done
		done
		far=12
	fi
	log "$topo: ${#routers[@]} routers, babeld and andnad in each"
	for i in "${routers[@]}"; do
		write_config "$i"
		start_babel "$i"
	done
	local t_0
	t_0=$(now_ms)
	for i in "${routers[@]}"; do
		start_node "$i"
	done
	wait_all_joined 120 "${routers[@]}"
	log "FIGURE $topo: every router joined $(($(now_ms) - t_0)) ms" \
	    "after babeld and andnad started together, with no bootstrap peer"
	for i in "${routers[@]}"; do
		grep -q "^bootstrap" "$tmp/n$i/andnad.conf" &&
		    fail "router $i was given a bootstrap peer"
		# it heard every router on its links, and nobody beyond
		for _ in $(seq 1 20); do
			cli "$i" status
			check 'd["neighbours"] <= '"${deg[$i]}"
			py -c 'import json,sys
sys.exit(json.loads(sys.argv[1])["neighbours"] != int(sys.argv[2]))' \
			    "$out" "${deg[$i]}" && break
			sleep 0.5
		done
		check 'd["neighbours"] == '"${deg[$i]}"
	done
	log "every router heard exactly the routers on its links"

	# the acceptance: a name from one end resolves at the other end
	register 1 end "10.9.0.1" "10.9.0.2" "fd99::1"
	resolve_until "$far" end "10.9.0.1 10.9.0.2 fd99::1 " 60
	log "end.ntk, registered at router 1, resolves at router $far" \
	    "(${hops[$far]} hops) with its whole address set"

	local probe=(2 6 10)
	[ "$topo" = grid ] && probe=(2 7 12)
	measure plain 1 "${ZEROCONF_NAMES:-8}" "${probe[@]}"
	upkeep 6

	impair
	local what="10% loss per link"
	[ "$delay" = 1 ] && what="$what and 20 ms delay per link"
	log "$what"
	measure lossy 1 "${ZEROCONF_NAMES:-8}" "${probe[@]}"
	resolve_until "$far" end "10.9.0.1 10.9.0.2 fd99::1 " 60
	unimpair

	[ "$topo" = chain ] || return 0

	# a router stopped and started again rejoins, through the peers it
	# saved and its neighbours
	local old=${pid[n$mid]}
	kill "$old"
	wait "$old" 2>/dev/null
	kill -0 "$old" 2>/dev/null && fail "router $mid did not stop"
	t_0=$(now_ms)
	start_node "$mid"
	wait_all_joined 60 "$mid"
	log "FIGURE chain: router $mid, stopped and started again, rejoined" \
	    "in $(($(now_ms) - t_0)) ms"
	resolve_until "$mid" end "10.9.0.1 10.9.0.2 fd99::1 " 60

	# the middle link cut: two meshes, each registering its own names
	set_link 5 6 down
	log "cut the link between routers 5 and 6"
	sleep 12 # both halves see the other's gnodes time out
	register 1 left "10.5.0.1" "fd55::1"
	register 10 right "10.6.0.1" "fd66::1"
	resolve_until 5 left "10.5.0.1 fd55::1 " 60
	resolve_until 6 right "10.6.0.1 fd66::1 " 60
	# the cut is real: neither half resolves the other's name
	q 1 right AAAA
	echo "$out" | grep -q 'fd66::1' && fail "router 1 resolves across the cut"
	q 10 left AAAA
	echo "$out" | grep -q 'fd55::1' && fail "router 10 resolves across the cut"
	log "each half registered and resolves its own name, not the other's"
	set_link 5 6 up
	t_0=$(now_ms)
	log "healed the link"
	for i in 1 5 6 10; do
		resolve_until "$i" left "10.5.0.1 fd55::1 " 120
		resolve_until "$i" right "10.6.0.1 fd66::1 " 120
		resolve_until "$i" end "10.9.0.1 10.9.0.2 fd99::1 " 120
	done
	log "FIGURE chain: merged $(($(now_ms) - t_0)) ms after the link was" \
	    "healed: names of both halves resolve at routers 1, 5, 6 and 10"
}

delay=0
if [ -x "$NFQ_DELAY" ]; then
	delay=1
else
	log "no tests/nfq_delay (configure found no libnetfilter-queue):" \
	    "the lossy links get no delay"
fi

grid=${ZEROCONF_GRID:-}
if [ -z "$grid" ]; then
	grid=1
	grep -q -e '--enable-sanitizers' "$builddir/config.status" \
	    2>/dev/null && grid=0
fi
run chain
if [ "$grid" = 1 ]; then
	zc_stop
	rm -rf "$tmp"/n* "$tmp"/b*
	run grid
fi
log "PASS"
