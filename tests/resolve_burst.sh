#!/bin/bash
# A node that resolves many names at once is not throttled by the answers
# it asked for: four nodes in two gnodes of two; node 1 registers 60 names;
# node 4, whose limit on what one peer may send it is low here (20
# messages a second, bursts of 20), gets a DNS query for each of them at
# the same moment and votes on each with the members of the name's hash
# gnode (the other gnode, for about half of them), and every answer comes
# back NOERROR with the name's addresses.  The members' answers pass the
# limit because node 4 is waiting for them (without that, hundreds were
# dropped and the votes had to ask again).
#
# Loopback only (a random 127.x.y.0/24); every process started here is
# killed on exit.
set -u

srcdir=${top_srcdir:-.}
# shellcheck source-path=SCRIPTDIR/.. source=tests/lib.sh
. "$srcdir/tests/lib.sh" resolve-burst
N=4
K=60

need_python
need_built

# write_config I [EXTRA...]: node I's configuration, with EXTRA lines
write_config() {
	local i=$1
	shift
	mkdir -p "$tmp/n$i"
	{
		echo "data_dir = $tmp/n$i"
		echo "listen = $net.$i:$port"
		echo "control = $tmp/n$i/control"
		echo "dns_listen = $net.$i:$dport"
		echo "http_listen ="
		echo "dns_resolv_conf ="
		# the names' addresses are not on loopback: no probes
		echo "dns_probe = no"
		[ "$i" = 1 ] || echo "bootstrap = $net.1:$port"
		cat <<-EOF
		gnode_size = 2
		ping_interval = 300ms
		ping_timeout = 250ms
		suspect_timeout = 1500ms
		gossip_interval = 500ms
		hop_timeout = 400ms
		request_timeout = 1500ms
		min_update_interval = 0
		EOF
		for line in "$@"; do
			echo "$line"
		done
	} >"$tmp/n$i/andnad.conf"
}

start() {
	start_node "$1"
	wait_joined "$1"
}

for i in $(seq 1 $N); do
	write_config "$i"
	start "$i"
done
names=""
for k in $(seq 1 $K); do
	cli 1 register "burst$k" "10.2.$k.1" "10.2.$k.2" ||
		fail "register burst$k: $out"
	names="$names burst$k=10.2.$k.1,10.2.$k.2"
done
log "node 1 holds $K names"

cli 4 status
check 'd["outer"][0] == 1'
# node 4 again with a low limit per peer, and an empty cache
kill -TERM "${pid[n4]}"
wait "${pid[n4]}" || fail "node 4 exited with $? on SIGTERM"
write_config 4 "rate_limit = 20" "rate_burst = 20"
start 4
cli 4 status
limited=$(py -c 'import json,sys; print(json.loads(sys.argv[1])["io"]["dropped"]["rate_limited"])' "$out")

res=$(py - "$net.4" "$dport" "$names" 2>&1 <<-'EOF'
import select, socket, sys, time
from dnswire import answer, query

server = (sys.argv[1], int(sys.argv[2]))
names = [(n.split("=")[0] + ".ntk", sorted(n.split("=")[1].split(",")))
         for n in sys.argv[3].split()]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(server)
want = {}
for i, (name, addrs) in enumerate(names, 1):
    want[i] = (name, addrs)
    s.send(query(i, name))
bad = []
deadline = time.monotonic() + 8
while want and time.monotonic() < deadline:
    if not select.select([s], [], [], 0.2)[0]:
        continue
    qid, rcode, addrs = answer(s.recv(4096))
    if qid not in want:
        continue
    name, right = want.pop(qid)
    if rcode != 0 or addrs != right:
        bad.append("%s: rcode %d %r" % (name, rcode, addrs))
bad += ["%s: no answer" % name for name, _ in want.values()]
if bad:
    sys.exit("; ".join(bad[:8]) + " (%d of %d wrong)" % (len(bad), len(names)))
print("all %d answered right" % len(names))
EOF
) || fail "a burst of $K resolutions on node 4: $res"
cli 4 status
check 'd["name_service"]["resolve_failed"] == 0'
# the answers it waited for passed the limit: without that, hundreds of
# messages were dropped here; what may still be is unasked (gossip, sync)
check "d[\"io\"][\"dropped\"][\"rate_limited\"] - $limited < 50"
log "node 4 resolved $K names at once with a limit of 20 messages a" \
    "second per peer: $res"
stop_nodes $N
log "PASS"
