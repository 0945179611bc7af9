#!/bin/bash
# Hostile processes against a loopback mesh of andnad (DESIGN.md section
# 10, "Trust").  Eight nodes, each with a DNS front on its own address,
# hold six names of three addresses each; dig asks every node for every
# name.  Then two tests/hostile_node processes, speaking the wire protocol
# through the project's own codec, attack for $ATTACK seconds:
#
#   evict        claims a member's overlay address with a lower key it
#                minted (as a rumour relayed under another member's
#                address, and from the address itself), and says the
#                member is dead at incarnation 2^32-1;
#   fake-gnodes  gossips 200 level-1 gnodes that do not exist, all at its
#                one endpoint, proves any address it is challenged for,
#                acknowledges every routed request and every HANDOVER.
#
# Afterwards: the victim still holds its overlay address, no honest
# node's outer map ever held more than one level-1 gnode that does not
# exist (sampled each second during the attack: the attacker's one
# address may vouch for one gnode, as any node founding a gnode does;
# DESIGN.md section 10, "Nodes cost addresses"), and, once the attackers
# are gone and that gnode has left the maps, every name resolves with its
# whole address set through dig at every node.  (While it stays, the
# names that round into its gnode are its: README, "Security".)  Every check runs; the figures of
# each are printed, and the test fails at the end if any did.
#
# Only 127.0.0.0/8 addresses are used (a random /24 per run); no node
# reads /etc/resolv.conf (none has an upstream); every loop and wait is
# bounded; every process started here is killed on exit.
set -u

srcdir=${top_srcdir:-.}
# shellcheck source-path=SCRIPTDIR/.. source=tests/lib.sh
. "$srcdir/tests/lib.sh" hostile
HOSTILE=${HOSTILE:-$builddir/tests/hostile_node}
N=8
ATTACK=${HOSTILE_SECONDS:-20}
fail_more() { tail_logs "$tmp"/hostile-*.err; }

# dig comes with scripts/deps.sh; skip only where that cannot install it
if ! command -v dig >/dev/null; then
	sh "$srcdir/scripts/deps.sh" >/dev/null 2>&1
	need dig
fi
need_python
[ -x "$ANDNAD" ] && [ -x "$ANDNA" ] && [ -x "$HOSTILE" ] ||
	fail "build andnad, andna and tests/hostile_node first (make check)"

# jget I EXPR: EXPR of node I's status (as d), printed.
jget() {
	cli "$1" status
	[ "$rc" = 0 ] || fail "status of node $1: $out"
	py -c 'import json, sys
d = json.loads(sys.argv[1])
print(eval(sys.argv[2]))' "$out" "$2"
}

write_config() {
	local i=$1
	mkdir -p "$tmp/n$i"
	{
		echo "# node $i of the hostile test"
		echo "data_dir = $tmp/n$i"
		echo "listen = $net.$i:$port"
		echo "control = $tmp/n$i/control"
		echo "dns_listen = $net.$i:$dport"
		echo "http_listen ="
		echo "dns_rate_limit = 1000"
		# never the machine's resolv.conf, and no upstream
		echo "dns_resolv_conf ="
		# no health probes: the records' addresses are not on loopback
		echo "dns_probe = no"
		[ "$i" -gt 1 ] && echo "bootstrap = $net.1:$port"
		[ "$i" -gt 2 ] && echo "bootstrap = $net.2:$port"
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
		cache_cap = 1s
		negative_cache = 1s
		min_update_interval = 0
		sync_interval = 2s
		EOF
	} >"$tmp/n$i/andnad.conf"
}

# Waits until node I has joined, within 60 s (in place of lib.sh's, which
# waits 20 s).
wait_joined() {
	local i=$1 until=$((SECONDS + 60))
	while [ "$SECONDS" -lt "$until" ]; do
		cli "$i" status
		if [ "$rc" = 0 ] && py -c 'import json,sys
sys.exit(0 if json.loads(sys.argv[1])["joined"] else 1)' "$out" 2>/dev/null
		then
			return 0
		fi
		kill -0 "${pid[n$i]}" 2>/dev/null || fail "node $i died"
		sleep 0.2
	done
	fail "node $i did not join: $out"
}

# Writes every node's status to $tmp/samples/TAG.I (one sample).
sample() {
	local i
	mkdir -p "$tmp/samples"
	for i in $(seq 1 $N); do
		"$ANDNA" --control "$tmp/n$i/control" --json status \
		    >"$tmp/samples/$1.$i" 2>/dev/null
	done
}

# maps_ok: every node's level-1 outer map in the last sample holds the
# level-1 gnodes that exist beside its own, no more and no fewer.
maps_ok() {
	py - "$tmp/samples" "$1" "$N" <<-'EOF'
	import json, sys
	d, tag, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
	st = [json.load(open("%s/%s.%d" % (d, tag, i))) for i in range(1, n + 1)]
	if not all(s["joined"] for s in st):
	    sys.exit(1)
	l1 = {s["address"].rsplit(".", 1)[0] for s in st}
	sys.exit(0 if all(s["outer"][0] == len(l1) - 1 for s in st) else 1)
	EOF
}

# dig_one I NAME: node I's A records of NAME.ntk, sorted, on one line,
# into $tmp/dig/I.NAME; the status instead when there are none.
dig_one() {
	local a set
	a=$(dig @"$net.$1" -p "$dport" +tries=1 +time=3 "$2.ntk" A 2>&1)
	set=$(awk '$4 == "A" { print $5 }' <<<"$a" | sort | tr '\n' ' ')
	if [ -n "$set" ]; then
		echo "$set"
	elif grep -q "timed out" <<<"$a"; then
		echo "(no answer in 3 s)"
	else
		grep -o "status: [A-Z]*" <<<"$a" || echo "(no status)"
	fi >"$tmp/dig/$1.$2"
}

# dig_all: asks every node for every name at once; sets $dig_good (the
# answers with the whole set) and $dig_bad ("node I NAME: answer" lines).
dig_all() {
	local i name jobs=()
	rm -rf "$tmp/dig"
	mkdir -p "$tmp/dig"
	for i in $(seq 1 $N); do
		for name in "${!names[@]}"; do
			dig_one "$i" "$name" &
			jobs+=("$!")
		done
	done
	wait "${jobs[@]}"
	dig_good=0
	dig_bad=""
	for i in $(seq 1 $N); do
		for name in "${!names[@]}"; do
			got=$(cat "$tmp/dig/$i.$name")
			if [ "$got" = "${names[$name]}" ]; then
				dig_good=$((dig_good + 1))
			else
				dig_bad="$dig_bad
	node $i $name: '$got'"
			fi
		done
	done
}

log "mesh of $N nodes on $net.1-$N (overlay $port, DNS $dport) in $tmp"
for i in $(seq 1 $N); do
	write_config "$i"
	start_node "$i"
	[ "$i" -le 2 ] && wait_joined "$i"
done
for i in $(seq 1 $N); do
	wait_joined "$i"
done
settled=""
for k in $(seq 1 40); do
	sample "settle$k"
	maps_ok "settle$k" && settled=$k && break
	sleep 0.5
done
[ -n "$settled" ] ||
	fail "the outer maps did not settle: $(cat "$tmp"/samples/settle40.*)"
log "all $N nodes joined; outer maps hold the real gnodes"

# ---- names of three addresses each, registered on nodes 1-6 ----
declare -A names=()
k=0
for name in alpha bravo charlie delta echo foxtrot; do
	k=$((k + 1))
	cli "$k" register "$name" "10.$k.0.1" "10.$k.0.2" "10.$k.0.3"
	[ "$rc" = 0 ] || fail "register $name on node $k: $out"
	names[$name]="10.$k.0.1 10.$k.0.2 10.$k.0.3 "
done
for _ in $(seq 1 20); do
	dig_all
	[ -z "$dig_bad" ] && break
	sleep 1
done
[ -z "$dig_bad" ] ||
	fail "before the attack, not every node resolves every name:$dig_bad"
log "${#names[@]} names resolve with all 3 addresses at all $N nodes (dig)"

# ---- the victim: a node other than 1 in a gnode of two or more ----
victim=$(py - "$tmp/samples" "settle$settled" "$N" <<-'EOF'
import json, sys
d, tag, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
st = {i: json.load(open("%s/%s.%d" % (d, tag, i))) for i in range(1, n + 1)}
g = {}
for i, s in st.items():
    g.setdefault(s["address"].rsplit(".", 1)[0], []).append(i)
best = max((m for m in g.values() if len(m) >= 2),
           key=lambda m: (1 not in m, len(m)))
print(max(best))
EOF
) || fail "no gnode of two members to attack"
sample before
victim_addr=$(jget "$victim" 'd["address"]')
victim_key=$(jget "$victim" 'd["node_key"]')
prefix=${victim_addr%.*}
members=""
for i in $(seq 1 $N); do
	a=$(jget "$i" 'd["address"]')
	[ "${a%.*}" = "$prefix" ] && members="$members${members:+,}$net.$i:$port"
done
peers=""
for i in $(seq 1 $N); do
	peers="$peers${peers:+,}$net.$i:$port"
done
log "victim: node $victim at $victim_addr; its gnode: $members"

# ---- the attack ----
"$HOSTILE" evict --bind "$net.240:$port" --victim-addr "$victim_addr" \
    --victim-key "$victim_key" --members "$members" --seconds "$ATTACK" \
    >"$tmp/hostile-evict.out" 2>"$tmp/hostile-evict.err" &
pid[evict]=$!
"$HOSTILE" fake-gnodes --bind "$net.241:$port" --peers "$peers" \
    --gnodes 200 --seconds "$ATTACK" \
    >"$tmp/hostile-fake.out" 2>"$tmp/hostile-fake.err" &
pid[fake]=$!
log "hostile nodes at $net.240 (evict) and $net.241 (fake-gnodes) for ${ATTACK}s"
k=0
until=$((SECONDS + ATTACK + 10))
while kill -0 "${pid[evict]}" 2>/dev/null ||
    kill -0 "${pid[fake]}" 2>/dev/null; do
	[ "$SECONDS" -lt "$until" ] || fail "the hostile nodes did not stop"
	k=$((k + 1))
	sample "attack$k"
	sleep 1
done
for h in evict fake; do
	wait "${pid[$h]}"
	st=$?
	unset "pid[$h]"
	[ "$st" = 0 ] ||
		fail "hostile_node $h exited with $st: $(cat "$tmp/hostile-$h.err")"
	log "hostile $h: $(cat "$tmp/hostile-$h.out")"
done
sample after

# ---- the checks, all of them, then the verdict ----
failed=""
verdict=$(py - "$tmp/samples" "$N" "$victim" "$victim_addr" \
    2>"$tmp/verdict.log" <<-'EOF'
import glob, json, os, sys
d, n, victim, vaddr = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
    sys.argv[4]
samples = {}
for path in glob.glob(d + "/*"):
    tag, i = os.path.basename(path).rsplit(".", 1)
    try:
        samples.setdefault(tag, {})[int(i)] = json.load(open(path))
    except ValueError:
        pass  # a node that did not answer one sample
# every real level-1 gnode any node was in, in the whole run
real = {s["address"].rsplit(".", 1)[0] for st in samples.values()
        for s in st.values() if s.get("address")}
bad = []
after = samples.get("after", {}).get(victim, {})
if after.get("address") != vaddr:
    bad.append("victim node %d moved from %s to %s (%s rehooks)" % (
        victim, vaddr, after.get("address"),
        after.get("messages", {}).get("rehooks")))
worst = {}
for tag, st in samples.items():
    if not tag.startswith("attack") and tag != "after":
        continue
    for i, s in st.items():
        worst[i] = max(worst.get(i, 0), s["outer"][0])
# one hostile address vouches for one gnode at most
over = {i: w for i, w in sorted(worst.items()) if w > len(real)}
if over:
    bad.append("fake gnodes entered outer maps: %d real level-1 gnodes, "
               "but level-1 maps of up to %s" % (len(real), ", ".join(
                   "node %d: %d" % kv for kv in over.items())))
held = lambda tag: [samples.get(tag, {}).get(i, {}).get("records")
                    for i in range(1, n + 1)]
print("records held by nodes 1-%d: %s before, %s after" % (
    n, held("before"), held("after")), file=sys.stderr)
for b in bad:
    print(b)
EOF
) || fail "cannot read the samples: $(cat "$tmp/verdict.log")"
log "$(cat "$tmp/verdict.log")"
[ -n "$verdict" ] && failed="$failed
$verdict"
# The attacker's one address may hold one gnode (see above): names that
# round into it are its while it stays.  Once it is gone and its gnode
# left the maps (outer_timeout, 10 s here), every name must resolve.
sleep 12
dig_all
if [ -n "$dig_bad" ]; then
	sleep 2 # one more chance for answers still in flight
	dig_all
fi
total=$((N * ${#names[@]}))
log "after the attack: $dig_good of $total answers (node x name) hold" \
    "the whole set"
[ -n "$dig_bad" ] && failed="$failed
names lost: $((total - dig_good)) of $total dig answers lack the whole set:$dig_bad"
[ -z "$failed" ] || fail "the attacks succeeded:$failed"

stop_nodes "$N"
log "PASS"
exit 0
