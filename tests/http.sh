#!/bin/bash
# The status page, status.json and /metrics over real sockets: four
# andnad processes on loopback in two gnodes of two, {1, 2} and {3, 4},
# each serving HTTP on its own address.  On every node status.json parses
# and agrees with `andna --json status` and `andna --json names` (key,
# address, members, names) and its map places the node in its gnode;
# /metrics parses with the Prometheus text parser (python3-prometheus-
# client), has HELP and TYPE for each family, and its DNS counters grow
# by the queries dig sends between two scrapes.  Bad requests (headers
# over the cap, unknown paths, POST, PUT, DELETE, a body over the cap,
# garbage bytes) get 4xx or a closed connection, a burst over
# http_rate_limit gets 429, connections beyond 8 from one address are
# closed, and the node keeps serving.  Headless
# Chromium loads the page and the DOM it rendered (after the script
# fetched status.json) holds the members, the gnodes of the map as SVG
# and the registered name.  Last, the memory the HTTP server adds to a
# node (VmRSS with http_listen on and off, idle and after requests) is
# measured and bounded.
#
# Only 127.0.0.0/8 addresses are used (a random /24 per run); dig is
# always given @127.x; no node reads /etc/resolv.conf or has an upstream;
# Chromium loads only the loopback page, with background networking off
# and no other host resolvable; every loop is bounded; every process
# started here is killed on exit.
set -u

srcdir=${top_srcdir:-.}
# shellcheck source-path=SCRIPTDIR/.. source=tests/lib.sh
. "$srcdir/tests/lib.sh" http
N=4
hport=$((dport + 1)) # HTTP of the nodes
PROM=/usr/bin/python3 # the Debian one, where python3-prometheus-client is

need dig
need_python
need_built
need chromium
"$PROM" -c 'import prometheus_client.parser' 2>/dev/null ||
	skip "no python3-prometheus-client for $PROM (scripts/deps.sh)"
py -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))' "$net.1" 2>/dev/null ||
	skip "cannot bind $net.1"

write_config() {
	local i=$1
	mkdir -p "$tmp/n$i"
	{
		echo "# node $i of the HTTP test"
		echo "data_dir = $tmp/n$i"
		echo "listen = $net.$i:$port"
		echo "control = $tmp/n$i/control"
		echo "dns_listen = $net.$i:$dport"
		echo "dns_resolv_conf ="
		echo "http_listen = $net.$i:$hport"
		# node 2 limits HTTP hard, for the burst below
		[ "$i" = 2 ] && echo "http_rate_limit = 3"
		# 1 founds, 2 fills its gnode, 3 founds the next one, 4 fills it
		[ "$i" -gt 1 ] && [ "$i" != 4 ] && echo "bootstrap = $net.1:$port"
		[ "$i" = 4 ] && echo "bootstrap = $net.3:$port"
		echo "gnode_size = 2"
		echo "outer_timeout = 10s"
		echo "negative_cache = 1s"
		echo "sync_interval = 2s"
		fast_timers
	} >"$tmp/n$i/andnad.conf"
}

# get I PATH: GET http://$net.I:$hport/PATH from $net.200; sets $out to
# the body and $rc to the status code (0: no answer).
get() {
	out=$(py - "$net.$1" "$hport" "$2" "$net.200" <<-'EOF'
	import http.client, sys
	host, port, path, src = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
	c = http.client.HTTPConnection(host, port, timeout=5,
	    source_address=(src, 0))
	try:
	    c.request("GET", path)
	    r = c.getresponse()
	    body = r.read()
	    sys.stdout.write(body.decode())
	    sys.exit(r.status % 256 if r.status != 200 else 0)
	except OSError:
	    sys.exit(255)
	EOF
	)
	rc=$?
}

# Waits until node I's gnode has N members (bounded).
wait_members() {
	for _ in $(seq 1 60); do
		cli "$1" status
		py -c 'import json, sys
sys.exit(0 if json.loads(sys.argv[1])["gnode_members"] == int(sys.argv[2])
    else 1)' "$out" "$2" 2>/dev/null && return 0
		sleep 0.25
	done
	fail "node $1 does not see $2 members: $out"
}

log "$N nodes on $net.1-$N (overlay $port, DNS $dport, HTTP $hport) in $tmp"
for i in $(seq 1 $N); do
	write_config "$i"
	start_node "$i"
	wait_joined "$i"
done
for i in $(seq 1 $N); do wait_members "$i" 2; done
log "all $N nodes joined, two gnodes of two"

cli 1 register web.http 10.7.0.1 10.7.0.2 || fail "register: $out"
check 'd["ok"] is True'

# ---- status.json agrees with andna --json status, on every node ----
# agree I: andna and status.json of node I, read one after the other,
# agree; fails with why when not
agree() {
	local i=$1
	cli "$i" status
	st=$out
	cli "$i" names
	names=$out
	get "$i" /status.json
	[ "$rc" = 0 ] || { echo "GET /status.json: status $rc: $out"; return 1; }
	py - "$st" "$names" "$out" "$net.$i:$hport" <<-'EOF'
	import json, sys
	st, names, web = (json.loads(a) for a in sys.argv[1:4])
	url = "http://%s/" % sys.argv[4]
	def need(cond, what):
	    if not cond:
	        sys.exit("%s\nstatus.json: %s" % (what, sys.argv[3][:3000]))
	need(web["ok"] is True, "not ok")
	for k in ("node_key", "address", "joined", "gnode_members", "endpoints",
	    "outer", "own_names", "records", "tallies"):
	    need(web[k] == st[k], "%s: %r in status.json, %r from andna" %
	        (k, web[k], st[k]))
	need(st["http"] == url and web["http"] == url,
	    "http: %r and %r, not %r" % (st["http"], web["http"], url))
	# every member of the gnode is listed, the node itself first
	m = web["map"]["members"]
	gnode = st["address"].rsplit(".", 1)[0]
	need(m[0]["self"] and m[0]["address"] == st["address"] and
	    m[0]["node_key"] == st["node_key"], "members[0] is not the node")
	need(len(m) == web["map"]["members_total"] == st["gnode_members"],
	    "%d members listed, %d live" % (len(m), st["gnode_members"]))
	need(all(x["address"].rsplit(".", 1)[0] == gnode and
	    x["state"] == "alive" for x in m), "members outside the gnode")
	need(len(set(x["node_key"] for x in m)) == len(m), "a key twice")
	# the map: at each level the node's own gnode, with its siblings
	a = [int(x) for x in st["address"].split(".")]
	for lv in web["map"]["levels"]:
	    L = lv["level"]
	    need(lv["own"] == a[3 - L], "level %d: own %r" % (L, lv["own"]))
	    need(lv["own"] in [g["id"] for g in lv["gnodes"]],
	        "level %d: own gnode missing" % L)
	    need(len(lv["gnodes"]) == 1 + st["outer"][L - 1],
	        "level %d: %d gnodes, outer %r" % (L, len(lv["gnodes"]),
	        st["outer"]))
	l1 = web["map"]["levels"][0]
	own = [g for g in l1["gnodes"] if g["id"] == l1["own"]][0]
	need(own["count"] == st["gnode_members"], "own gnode count %r" % own)
	# the names, as andna --json names lists them
	need([n["record"] for n in web["names"]] ==
	    [n["record"] for n in names["names"]], "names differ")
	need(web["names_total"] == len(names["names"]) == st["own_names"],
	    "names_total")
	need(all(0 < n["life_s"] <= 30 * 86400 for n in web["names"]), "life_s")
	q = web["dns_per_minute"]
	need(len(q["queries"]) == len(q["answered"]) >= 1, "dns_per_minute")
	EOF
}
# the counts move while replication settles, between the two reads: a
# few tries each
for i in $(seq 1 $N); do
	for try in $(seq 1 10); do
		why=$(agree "$i" 2>&1) && break
		[ "$try" = 10 ] && fail "node $i: status.json disagrees: $why"
		sleep 0.3
	done
done
get 1 /status.json
py -c 'import json, sys
d = json.loads(sys.argv[1])
sys.exit(0 if [n["record"]["name"] for n in d["names"]] == ["web.http"] and
    d["map"]["levels"][0]["gnodes"][0]["count"] == 2 else 1)' "$out" ||
	fail "node 1: web.http or its gnode missing: $out"
log "status.json agrees with andna on every node"

# ---- /metrics parses, and its counters grow with DNS traffic ----
# scrape I: node I's /metrics as JSON {"name{labels}": value} in $out,
# after the Prometheus parser took it; fails when it does not parse
scrape() {
	get "$1" /metrics
	[ "$rc" = 0 ] || fail "node $1: GET /metrics: status $rc"
	printf '%s\n' "$out" >"$tmp/metrics.txt"
	out=$("$PROM" - "$tmp/metrics.txt" <<-'EOF'
	import json, re, sys
	from prometheus_client.parser import text_string_to_metric_families
	text = open(sys.argv[1]).read()
	out, families = {}, 0
	for f in text_string_to_metric_families(text):
	    families += 1
	    if not f.documentation or f.type not in ("counter", "gauge"):
	        sys.exit("%s: no HELP or TYPE" % f.name)
	    if f.type == "counter" and not any(s.name.endswith("_total")
	            for s in f.samples):
	        sys.exit("%s: a counter without _total" % f.name)
	    for s in f.samples:
	        if s.name.endswith("_created"):
	            continue
	        key = s.name + "".join("{%s=%s}" % kv for kv in
	            sorted(s.labels.items()))
	        out[key] = s.value
	# every family has its own HELP and TYPE lines in the text itself
	helps = re.findall(r"^# HELP (\S+) ", text, re.M)
	types = re.findall(r"^# TYPE (\S+) ", text, re.M)
	if len(helps) != families or helps != types:
	    sys.exit("HELP/TYPE lines: %d, %d for %d families" %
	        (len(helps), len(types), families))
	print(json.dumps(out))
	EOF
	) || fail "node $1: /metrics does not parse: $out"
}
# node 4 resolves the name once before counting, so that every query
# counted is answered from its cache, well within dig's wait
for _ in $(seq 1 20); do
	dig @"$net.4" -p "$dport" +tries=1 +time=3 +short web.http.ntk A |
	    grep -q "^10.7.0.1$" && break
	sleep 0.5
done
scrape 4
m1=$out
cli 4 status
py - "$m1" "$out" <<-'EOF' || fail "node 4: /metrics disagrees with status"
import json, sys
m, st = json.loads(sys.argv[1]), json.loads(sys.argv[2])
def need(cond, what):
    if not cond:
        sys.exit(what)
for k in ("andna_uptime_seconds", "andna_gnode_members",
    "andna_overlay_bytes_sent_total", "andna_overlay_messages_sent_total",
    "andna_dns_queries_total{transport=udp}", "andna_records_held",
    "andna_dns_responses_total{rcode=NOERROR}", "andna_own_names"):
    need(k in m, "no " + k)
need(m["andna_gnode_members"] == st["gnode_members"], "members")
need(abs(m["andna_uptime_seconds"] - st["uptime_s"]) <= 2, "uptime")
need([m[k] for k in m if k.startswith("andna_node_info") and
    "node_key=" + st["node_key"] in k and "address=" + st["address"] in k]
    == [1], "andna_node_info")
need(m["andna_outer_gnodes{level=1}"] == st["outer"][0], "outer")
need(m["andna_overlay_bytes_sent_total"] > 0, "no bytes sent")
EOF
Q=20
for _ in $(seq 1 $Q); do
	dig @"$net.4" -p "$dport" +tries=1 +time=3 +short web.http.ntk A \
	    >>"$tmp/dig.out" 2>&1
done
grep -q "^10.7.0.1$" "$tmp/dig.out" || fail "dig: $(tail -3 "$tmp/dig.out")"
scrape 4
m2=$out
py - "$m1" "$m2" "$Q" <<-'EOF' || fail "node 4: counters did not grow"
import json, sys
a, b, q = json.loads(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3])
k = "andna_dns_queries_total{transport=udp}"
if b[k] - a[k] != q:
    sys.exit("%s: %r then %r, not %d more" % (k, a[k], b[k], q))
k = "andna_dns_responses_total{rcode=NOERROR}"
if b[k] - a[k] != q:
    sys.exit("%s: %r then %r" % (k, a[k], b[k]))
for k in a:
    if k.endswith("_total") and b[k] < a[k]:
        sys.exit("%s went down: %r then %r" % (k, a[k], b[k]))
if b["andna_overlay_messages_sent_total"] <= a["andna_overlay_messages_sent_total"]:
    sys.exit("no overlay messages sent")
EOF
# the chart's minute in progress counted them too
get 4 /status.json
py -c 'import json, sys
q = json.loads(sys.argv[1])["dns_per_minute"]
sys.exit(0 if q["queries"][-1] >= int(sys.argv[2]) and
    q["answered"][-1] >= int(sys.argv[2]) else 1)' "$out" "$Q" ||
	fail "node 4: dns_per_minute: $out"
log "/metrics parses; $Q queries later its DNS counters grew by $Q"

# ---- bad requests get 4xx or a closed connection; the node serves on ----
py - "$net.3" "$hport" "$net.201" <<-'EOF' || fail "node 3: bad requests"
import socket, sys, os
host, port, src = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def ask(raw):
    s = socket.create_connection((host, port), timeout=5,
        source_address=(src, 0))
    try:
        s.sendall(raw)
        s.shutdown(socket.SHUT_WR)
    except OSError:
        pass  # it may close before taking it all
    data = b""
    try:
        while len(data) < 65536:
            d = s.recv(4096)
            if not d:
                break
            data += d
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()
    return data
def status(raw):
    data = ask(raw)
    if not data:
        return None  # closed without a word
    line = data.split(b"\r\n", 1)[0].split()
    return int(line[1]), data
def expect(raw, codes, what, closed_ok=False):
    r = status(raw)
    if r is None:
        if closed_ok:
            return None
        sys.exit("%s: closed without an answer" % what)
    if r[0] not in codes:
        sys.exit("%s: %d, not %s: %r" % (what, r[0], codes, r[1][:200]))
    return r[1]
expect(b"GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n", [404], "unknown path")
expect(b"GET /status.json/x HTTP/1.1\r\nHost: x\r\n\r\n", [404], "subpath")
expect(b"GET /../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", [400, 404], "dots")
for m in (b"POST", b"PUT", b"DELETE", b"PATCH", b"OPTIONS"):
    d = expect(m + b" / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
        [405], m.decode())
    if b"\r\nAllow: GET, HEAD\r\n" not in d:
        sys.exit("%s: no Allow header" % m.decode())
expect(b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" +
    b"x" * 100000, [413, 400], "a body over the cap", closed_ok=True)
expect(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n",
    [400, 413, 431], "headers over the cap", closed_ok=True)
expect(b"GET / HTTP/1.1\r\n" + b"X-Many: a\r\n" * 2000 + b"\r\n",
    [400, 413, 431], "many headers", closed_ok=True)
expect(b"BREW /pot HTTP/1.1\r\n\r\n", [400, 405, 501], "unknown method",
    closed_ok=True)
for junk in (os.urandom(3000), b"\x00\x01\x02\r\n\r\n", b"GET\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n", b"\r\n" * 50):
    expect(junk, range(400, 500), "garbage %r" % junk[:10], closed_ok=True)
# HEAD: the headers of GET, no body
d = expect(b"HEAD /status.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    [200], "HEAD")
head, _, body = d.partition(b"\r\n\r\n")
if body or b"Content-Type: application/json" not in head:
    sys.exit("HEAD: %r" % d[:300])
expect(b"GET /status.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    [200], "GET after the bad ones")
EOF
kill -0 "${pid[n3]}" || fail "node 3 died of bad requests"
get 3 /status.json
[ "$rc" = 0 ] || fail "node 3 no longer serves: status $rc"
cli 3 status
[ "$rc" = 0 ] || fail "node 3 no longer answers andna: $out"
# nothing secret is served: a key file holds the hex of the seed and the
# public key; the seed is in no answer
for spec in 3/node.key 1/owner.key; do
	f=$tmp/n${spec%%/*}/${spec#*/}
	[ -f "$f" ] || fail "no $f"
	k=$(sed -n 2p "$f" | cut -c1-64)
	[ ${#k} = 64 ] || fail "$f: no seed on its second line"
	for p in / /status.json /metrics; do
		get "${spec%%/*}" "$p"
		case "$out" in *"$k"*) fail "$p serves the seed of $f" ;; esac
	done
done
log "bad requests got 4xx or a closed connection; node 3 serves on"

# ---- one source over http_rate_limit (3/s, bursts of 6) gets 429 ----
codes=$(py - "$net.2" "$hport" "$net.202" <<-'EOF'
import http.client, sys
host, port, src = sys.argv[1], int(sys.argv[2]), sys.argv[3]
codes = []
for i in range(30):
    c = http.client.HTTPConnection(host, port, timeout=5,
        source_address=(src, 0))
    c.request("GET", "/metrics")
    codes.append(c.getresponse().status)
    c.close()
print(" ".join(map(str, codes)))
EOF
)
n200=$(tr ' ' '\n' <<<"$codes" | grep -c '^200$')
n429=$(tr ' ' '\n' <<<"$codes" | grep -c '^429$')
[ "$n429" -gt 0 ] && [ "$n200" -ge 6 ] && [ $((n200 + n429)) = 30 ] ||
	fail "node 2: a burst of 30 got: $codes"
get 2 /status.json # another source: its own bucket
[ "$rc" = 0 ] || fail "node 2 refused another source: $rc"
sleep 1.5
scrape 2
py -c 'import json, sys
sys.exit(0 if json.loads(sys.argv[1])["andna_http_refused_total{reason=rate_limited}"] == int(sys.argv[2]) else 1)' "$out" "$n429" ||
	fail "node 2: rate_limited is not $n429: $out"
grep -q "asks the status page more than 3 times a second" "$tmp/n2/log" ||
	fail "node 2 did not log the excess"
log "a burst of 30: $n200 served, $n429 got 429, counted and logged"

# ---- one source holds at most 8 connections at once ----
py - "$net.3" "$hport" "$net.204" "$net.205" <<-'EOF' || fail "node 3: connection cap"
import http.client, select, socket, sys, time
host, port, src, other = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def get(source):
    c = http.client.HTTPConnection(host, port, timeout=5,
        source_address=(source, 0))
    c.request("GET", "/metrics")
    r = c.getresponse()
    body = r.read().decode()
    c.close()
    return r.status, body
# twelve connections that say nothing: the node closes the last four
held = [socket.create_connection((host, port), timeout=5,
    source_address=(src, 0)) for i in range(12)]
closed = set()
deadline = time.time() + 3
while len(closed) < 4 and time.time() < deadline:
    ready = select.select([s for s in held if held.index(s) not in closed],
        [], [], 0.2)[0]
    for s in ready:
        try:
            if s.recv(1) == b"":
                closed.add(held.index(s))
        except ConnectionResetError:
            closed.add(held.index(s))
time.sleep(0.5)  # and no more than four
for s in select.select(held, [], [], 0)[0]:
    closed.add(held.index(s))
if len(closed) != 4:
    sys.exit("closed %r of 12 silent connections, not 4" % sorted(closed))
# another address is served meanwhile, and sees them counted
status, body = get(other)
if status != 200 or 'andna_http_refused_total{reason="connections"} 4' not in body:
    sys.exit("another source: %d %s" % (status, body[-400:]))
# once they are closed, the first address is served again
for s in held:
    s.close()
time.sleep(0.3)
if get(src)[0] != 200:
    sys.exit("the first source is not served after closing")
EOF
grep -q "opens more connections to the status page than it may" \
    "$tmp/n3/log" || fail "node 3 did not log the excess connections"
log "one address with 12 silent connections kept 8; others were served"

# ---- the page in a real browser ----
# Chromium loads only the loopback page: background networking, updates,
# sync and default apps off, and no host resolves but node 1's address
chrome() {
	timeout 90 chromium --headless --no-sandbox --disable-gpu \
	    --disable-background-networking --disable-component-update \
	    --no-first-run --disable-sync --disable-default-apps \
	    --disable-extensions --host-resolver-rules="MAP * ~NOTFOUND, EXCLUDE $net.1" \
	    --user-data-dir="$tmp/chromium" --virtual-time-budget=4000 "$@" \
	    2>>"$tmp/chromium.log"
}
chrome --dump-dom "http://$net.1:$hport/" >"$tmp/dom.html" ||
	fail "chromium failed: $(tail -5 "$tmp/chromium.log")"
cli 1 status
st1=$out
cli 3 status
py - "$tmp/dom.html" "$st1" "$out" <<-'EOF' || fail "the rendered page lacks it"
import json, re, sys
from html.parser import HTMLParser
st, st3 = json.loads(sys.argv[2]), json.loads(sys.argv[3])
class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text, self.stack = [], {}, []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        self.stack.append((tag, a.get("class", ""), a.get("id", "")))
    def handle_endtag(self, tag):
        while self.stack and self.stack.pop()[0] != tag:
            pass
    def handle_data(self, data):
        for t, cls, ident in self.stack:
            for k in cls.split() + ([ident] if ident else []):
                self.text[k] = self.text.get(k, "") + data
p = Page()
p.feed(open(sys.argv[1]).read())
def need(cond, what):
    if not cond:
        sys.exit(what)
gnode = st["address"].rsplit(".", 1)[0]
need(p.text.get("address", "").strip() == st["address"],
    "header shows %r" % p.text.get("address"))
# the members: a row each, this node's and its gnode neighbour's
rows = [a for t, a in p.tags if t == "tr" and a.get("class") == "member"]
need(len(rows) == st["gnode_members"] == 2, "%d member rows" % len(rows))
dots = sorted(a["data-address"] for t, a in p.tags
    if t == "g" and a.get("class") == "member")
need(len(dots) == 2 and st["address"] in dots and
    all(d.rsplit(".", 1)[0] == gnode for d in dots), "member dots %r" % dots)
members = p.text.get("members", "")
need(all(d in members for d in dots), "member table %r" % members)
# the map: the own gnode at levels 1 to 3 inside the mesh, as SVG groups,
# and node 3's gnode beside node 1's
gs = [(a.get("data-level"), a.get("data-prefix"), a.get("class"))
    for t, a in p.tags if t == "g" and "gnode" in a.get("class", "")]
a = st["address"].split(".")
for L in (1, 2, 3):
    need((str(L), ".".join(a[:4 - L]), "gnode own") in gs,
        "no own level-%d gnode in %r" % (L, gs))
other = st3["address"].rsplit(".", 1)[0]
if other != gnode:
    sib = [g for g in gs if g[2] == "gnode sibling"]
    need(any(g[1] == other for g in sib) or
        any(other.startswith(g[1] + ".") for g in sib),
        "node 3's gnode %s not drawn: %r" % (other, sib))
need(sum(t == "rect" for t, a in p.tags) >= 5, "no SVG boxes")
# the name, with its addresses and life
names = p.text.get("name", "")
need("web.http" in names and "10.7.0.1" in names and "days" in names,
    "names table %r" % names)
# the script fetched status.json without a failure
banner = [a for t, a in p.tags if a.get("id") == "banner"]
need(banner and "display: none" in banner[0].get("style", ""),
    "the page says the node does not answer: %r" % banner)
EOF
log "Chromium rendered the members, the map's gnodes and web.http"
# SCREENSHOT=FILE.png keeps a picture of node 1's page, after a little
# DNS traffic to it (names it has, and one nobody has)
if [ -n "${SCREENSHOT:-}" ]; then
	for q in web.http web.http nobody.http web.http; do
		dig @"$net.1" -p "$dport" +tries=1 +time=3 "$q.ntk" A >/dev/null
	done
	chrome --window-size=1200,1150 --screenshot="$SCREENSHOT" \
	    "http://$net.1:$hport/" || fail "chromium took no screenshot"
	log "screenshot of node 1's page in $SCREENSHOT"
fi

# ---- an address already taken: the node runs on without the page ----
write_config 7
sed -i -e '/^bootstrap/d' -e "s/^http_listen = .*/http_listen = $net.1:$hport/" \
    "$tmp/n7/andnad.conf"
start_node 7
wait_joined 7
check 'd["http"] is None'
grep -q "cannot serve the status page on $net.1:$hport: Address already in use" \
    "$tmp/n7/log" || fail "node 7 did not say why it has no page"
out=$("$ANDNA" --control "$tmp/n7/control" status)
grep -q "^http: *off$" <<<"$out" || fail "node 7: andna status: $out"
get 1 /status.json
[ "$rc" = 0 ] || fail "node 1 lost its page to node 7: $rc"
log "node 7, its HTTP address taken, runs without a page and says so"

# ---- memory: VmRSS with the HTTP server on and off ----
# two lone nodes (each founds its own overlay), the same but for
# http_listen
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
for i in 5 6; do
	write_config "$i"
	sed -i '/^bootstrap/d' "$tmp/n$i/andnad.conf"
	[ "$i" = 6 ] && sed -i 's/^http_listen = .*/http_listen =/' \
	    "$tmp/n$i/andnad.conf"
	start_node "$i"
	wait_joined "$i"
done
sleep 2
on_idle=$(rss "${pid[n5]}")
off_idle=$(rss "${pid[n6]}")
py - "$net.5" "$hport" "$net.203" <<-'EOF' || fail "node 5: requests failed"
import http.client, sys, time
host, port, src = sys.argv[1], int(sys.argv[2]), sys.argv[3]
# 60 requests at 10 a second (the default rate), on fresh connections
for i in range(60):
    c = http.client.HTTPConnection(host, port, timeout=5,
        source_address=(src, 0))
    c.request("GET", ("/", "/status.json", "/metrics")[i % 3])
    r = c.getresponse()
    r.read()
    if r.status != 200:
        sys.exit("request %d: %d" % (i, r.status))
    c.close()
    time.sleep(0.1)
EOF
on_busy=$(rss "${pid[n5]}")
off_busy=$(rss "${pid[n6]}")
log "VmRSS: http on ${on_idle} kB idle, ${on_busy} kB after 60 requests;" \
    "http off ${off_idle} kB idle, ${off_busy} kB later"
# what the server adds is a few buffers and a bucket table: well under
# 4 MB, and 60 requests do not make it grow by more than 2 MB (under
# AddressSanitizer, whose quarantine keeps what is freed, the growth says
# nothing and is only shown)
[ $((on_idle - off_idle)) -lt 4096 ] ||
	fail "the HTTP server adds $((on_idle - off_idle)) kB idle"
grep -q __asan_init "$ANDNAD" || [ $((on_busy - on_idle)) -lt 2048 ] ||
	fail "60 requests grew node 5 by $((on_busy - on_idle)) kB"
# a clean stop after all that, with connections open: exit 0 (under the
# sanitizers, nothing leaked)
py - "$net.5" "$hport" "$net.206" <<-'EOF' &
import socket, sys, time
held = [socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5,
    source_address=(sys.argv[3], 0)) for i in range(3)]
held[0].sendall(b"GET /status.json HTTP/1.1\r\nHost: x\r\n")  # half a request
time.sleep(3)
EOF
pid[holder]=$!
sleep 0.5
kill -TERM "${pid[n5]}"
wait "${pid[n5]}"
st=$?
unset "pid[n5]"
[ "$st" = 0 ] || fail "node 5 stopped with status $st: $(tail -20 "$tmp/n5/log")"
echo "PASS: status page, status.json and /metrics on $N nodes"
