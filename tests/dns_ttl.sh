#!/bin/bash
# The owner chooses freshness, end to end: four andnad processes on
# loopback in two gnodes of two, {1, 2} and {3, 4}.  A name registered on
# node 1 with `andna register --ttl 10s` is asked with dig at node 4's DNS
# front, so node 4 and the member of its gnode that it asks cache it
# (neither is the owner, who would hand out the record's TTL fresh); dig
# shows a TTL of at most 10.  The owner then moves the name to another
# address (`andna update`, no --ttl: the name keeps its 10 s), and within
# the TTL dig at node 4 answers the new address, never the old one with a
# TTL that outlives it, although the nodes may cache for 300 s.  A name
# registered without --ttl gets 60 s, and andna refuses a TTL out of
# 5 s .. 1 day and says so.
#
# Only 127.0.0.0/8 addresses are used (a random /24 per run); dig is
# always given @127.x; no node reads /etc/resolv.conf or has an upstream;
# every loop is bounded; every process started here is killed on exit.
set -u

srcdir=${top_srcdir:-.}
# shellcheck source-path=SCRIPTDIR/.. source=tests/lib.sh
. "$srcdir/tests/lib.sh" ttl
N=4
B=4 # the node asked with dig
TTL=10

need dig
need_python
need_built
# loopback beyond 127.0.0.1 is Linux's; elsewhere, and in sandboxes that
# forbid it, there is nothing to test on
py -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))' "$net.1" 2>/dev/null ||
	{ echo "SKIP: cannot bind $net.1"; exit 77; }

# A records of NAME at node I's DNS front: sets $ans to "TTL ADDRESS"
# lines (empty when there is none) and $status to the rcode.
ask() {
	local out
	out=$(dig @"$net.$1" -p "$dport" +tries=1 +time=3 "$2" A \
	    2>&1)
	status=$(sed -n 's/.*status: \([A-Z]*\),.*/\1/p' <<<"$out")
	ans=$(awk -v n="$2." '$1 == n && $3 == "IN" && $4 == "A" {
	    print $2, $5 }' <<<"$out")
}

write_config() {
	local i=$1
	mkdir -p "$tmp/n$i"
	{
		echo "# node $i of the TTL test"
		echo "data_dir = $tmp/n$i"
		echo "listen = $net.$i:$port"
		echo "control = $tmp/n$i/control"
		echo "dns_listen = $net.$i:$dport"
		echo "http_listen ="
		echo "dns_resolv_conf ="
		# no health probes: the records' addresses are not on loopback
		echo "dns_probe = no"
		# 1 founds, 2 fills its gnode, 3 founds the next one, 4 fills it
		[ "$i" -gt 1 ] && [ "$i" != 4 ] && echo "bootstrap = $net.1:$port"
		[ "$i" = 4 ] && echo "bootstrap = $net.3:$port"
		cat <<-EOF
		gnode_size = 2
		ping_interval = 300ms
		ping_timeout = 250ms
		suspect_timeout = 1500ms
		gossip_interval = 500ms
		outer_timeout = 10s
		hop_timeout = 400ms
		request_timeout = 1500ms
		request_tries = 3
		cache_cap = 300s
		negative_cache = 1s
		min_update_interval = 0
		sync_interval = 2s
		EOF
	} >"$tmp/n$i/andnad.conf"
}

log "$N nodes on $net.1-$N (overlay $port, DNS $dport) in $tmp"
for i in $(seq 1 $N); do
	write_config "$i"
	start_node "$i"
	wait_joined "$i"
done
log "all $N nodes joined"

# node B's gnode is not the owner's: gnodes are a.b.c of a.b.c.d
gnode() {
	cli "$1" status
	py -c 'import json, sys
print(json.loads(sys.argv[1])["address"].rsplit(".", 1)[0])' "$out"
}
[ "$(gnode 1)" != "$(gnode $B)" ] ||
	fail "node $B joined the gnode of node 1: $(gnode 1)"
[ "$(gnode 3)" = "$(gnode $B)" ] ||
	fail "node $B is not in the gnode of node 3"

# ---- a TTL out of range is refused, with the range ----
for bad in 4 4s 2d 86401 0; do
	cli 1 register bad.ttl 10.9.0.1 --ttl "$bad"
	[ "$rc" = 2 ] || fail "--ttl $bad: exit $rc, not 2: $out"
	check 'd["ok"] is False and d["error"] == "invalid"'
	check '"5s to 1d" in d["message"] and "86400" in d["message"]'
done
cli 1 register bad.ttl 10.9.0.1 --ttl 10x
[ "$rc" = 2 ] || fail "--ttl 10x: exit $rc, not 2: $out"
check '"duration" in d["message"]'
cli 1 register bad.ttl 10.9.0.1 --ttl
[ "$rc" = 2 ] || fail "--ttl without a value: exit $rc, not 2: $out"

# ---- the name, with a 10 s TTL ----
cli 1 register fo.ttl 10.9.0.1 --ttl ${TTL}s || fail "register: $out"
check 'd["ok"] is True'
cli 1 names
check "[n['record']['ttl'] for n in d['names']
    if n['record']['name'] == 'fo.ttl'] == [$TTL]"
cli 1 register plain.ttl 10.9.0.9 || fail "register plain.ttl: $out"
log "registered fo.ttl with --ttl ${TTL}s, plain.ttl without"

# the owner's front answers its own name with the record's TTL
ask 1 fo.ttl.ntk
[ "$status" = NOERROR ] || fail "node 1: fo.ttl.ntk: $status"
read -r ttl addr <<<"$ans"
[ "$addr" = 10.9.0.1 ] || fail "node 1: fo.ttl.ntk is '$ans'"
[ "$ttl" -le $TTL ] && [ "$ttl" -ge $((TTL - 1)) ] ||
	fail "node 1: TTL $ttl, not $TTL"
ask 1 plain.ttl.ntk
read -r ttl addr <<<"$ans"
[ "$addr" = 10.9.0.9 ] && [ "$ttl" -le 60 ] && [ "$ttl" -ge 59 ] ||
	fail "node 1: plain.ttl.ntk is '$ans', not 10.9.0.9 with TTL 60"

# node B resolves it through the overlay and caches it (bounded wait for
# the replication to the hash gnode)
for _ in $(seq 1 40); do
	ask $B fo.ttl.ntk
	[ "$status" = NOERROR ] && [ -n "$ans" ] && break
	sleep 0.5
done
cached_ms=$(now_ms)
read -r ttl addr <<<"$ans"
[ "$addr" = 10.9.0.1 ] || fail "node $B: fo.ttl.ntk is '$ans' ($status)"
[ "$ttl" -ge 1 ] && [ "$ttl" -le $TTL ] ||
	fail "node $B: TTL $ttl, not 1..$TTL"
log "node $B answers 10.9.0.1 with TTL $ttl"
ask $B plain.ttl.ntk
read -r ttl addr <<<"$ans"
[ "$addr" = 10.9.0.9 ] && [ "$ttl" -ge 1 ] && [ "$ttl" -le 60 ] ||
	fail "node $B: plain.ttl.ntk is '$ans', not 10.9.0.9 with TTL <= 60"

# ---- the owner moves the name; node B has the old set cached ----
cli 1 update fo.ttl 10.9.0.2 || fail "update: $out"
updated_ms=$(now_ms)
cli 1 names
check "[n['record']['ttl'] for n in d['names']
    if n['record']['name'] == 'fo.ttl'] == [$TTL]"
log "moved fo.ttl to 10.9.0.2," \
    "$((updated_ms - cached_ms)) ms after node $B cached it"

# node B keeps the old set no longer than the TTL allows: poll it, and
# check every old answer's TTL ends before the old copy must be gone
seen_old=0
while :; do
	t=$(now_ms)
	ask $B fo.ttl.ntk
	read -r ttl addr <<<"$ans"
	[ "$status" = NOERROR ] || fail "node $B: $status at +$((t - updated_ms)) ms"
	[ "$addr" = 10.9.0.2 ] && break
	[ "$addr" = 10.9.0.1 ] || fail "node $B: fo.ttl.ntk is '$ans'"
	seen_old=$((seen_old + 1))
	# a copy cached when node B first asked lives TTL seconds from
	# then (1 s of slack for dig's own rounding and the time it took)
	[ $((t + ttl * 1000)) -le $((cached_ms + TTL * 1000 + 1000)) ] ||
		fail "node $B: old set with TTL $ttl at +$((t - cached_ms)) ms"
	[ $((t - updated_ms)) -le $((TTL * 1000 + 3000)) ] ||
		fail "node $B still answers the old set $((t - updated_ms)) ms" \
		    "after the update (TTL ${TTL}s)"
	sleep 0.5
done
new_ms=$(now_ms)
[ "$ttl" -ge 1 ] && [ "$ttl" -le $TTL ] || fail "node $B: new TTL $ttl"
log "node $B answers 10.9.0.2 $((new_ms - updated_ms)) ms after the update" \
    "(old set seen $seen_old times)"
# when the update came well within the TTL, node B had the old set cached
if [ $((updated_ms - cached_ms)) -lt $((TTL * 1000 - 3000)) ] &&
	[ "$seen_old" = 0 ]; then
	fail "node $B did not have the old set cached"
fi
log "PASS"
