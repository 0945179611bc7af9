#!/bin/bash
# No host can hold all the TCP slots of a node's DNS front (DESIGN.md
# section 6; issue 18), through real sockets against andnad:
#
# one host ($net.10) opens 300 TCP connections to the front and keeps them
# as a slow-loris would: a partial length prefix, then one byte of a query
# every 2 s, opening a new connection for each one the node closes.
# Meanwhile another host ($net.11) asks a query over a new TCP connection
# every 300 ms.  Checked: every one of its queries is answered NOERROR with
# the registered address, each within a second; the first host never holds
# more than its share (32 connections), the node turned the rest away
# (andna status), and a connection that only trickles bytes is closed once
# the idle timeout (10 s) has passed since it opened.
#
# Loopback only (a random 127.x.y.0/24), no upstream, bounded loops (the
# load runs 13 s), every process started here killed on exit.
set -u

srcdir=${top_srcdir:-.}
# shellcheck source-path=SCRIPTDIR/.. source=tests/lib.sh
. "$srcdir/tests/lib.sh" dns-tcp-slots
need_python
need_built

# no health probes: the record's address is not on loopback
start_lone_node "dns_probe = no"
cli 1 register web 10.1.0.1 || fail "register web: $out"
log "one node on $net.1 (DNS $dport), web.ntk registered"

out=$(py - "$net.1" "$dport" "$net.10" "$net.11" 2>&1 <<-'EOF'
import json, select, socket, struct, sys, threading, time
from dnswire import answer, query

server = (sys.argv[1], int(sys.argv[2]))
slow_src, good_src = sys.argv[3], sys.argv[4]
N, RUN, TRICKLE = 300, 13.0, 2.0

end = time.monotonic() + RUN
slow = {"opened": 0, "held_max": 0, "aged_out": [], "oldest_open": 0.0}
lock = threading.Lock()

def slow_loris():
    q = query(1, "web.ntk")
    msg = struct.pack(">H", len(q)) + q
    conns = {}  # socket -> [opened at, bytes sent, accepted (lived 1 s)]

    def open_one():
        s = socket.socket()
        s.bind((slow_src, 0))
        s.settimeout(2)
        try:
            s.connect(server)
            s.send(msg[:1])  # half the length prefix
        except OSError:
            s.close()
            return
        s.setblocking(False)
        conns[s] = [time.monotonic(), 1, False]
        slow["opened"] += 1

    for _ in range(N):
        open_one()
    next_byte = time.monotonic() + TRICKLE
    while time.monotonic() < end:
        ready, _, _ = select.select(list(conns), [], [], 0.1)
        now = time.monotonic()
        for s in ready:
            try:
                gone = s.recv(100) == b""
            except OSError:
                gone = True
            if gone:
                t, _, accepted = conns.pop(s)
                s.close()
                if accepted:
                    slow["aged_out"].append(now - t)
        for s, c in conns.items():
            c[2] = c[2] or now - c[0] > 1.0
        with lock:
            held = sum(1 for c in conns.values() if c[2])
            slow["held_max"] = max(slow["held_max"], held)
        if now >= next_byte:
            next_byte = now + TRICKLE
            for s, c in conns.items():
                if c[1] < len(msg) - 1:  # never the last byte
                    try:
                        s.send(msg[c[1]:c[1] + 1], socket.MSG_NOSIGNAL)
                        c[1] += 1
                    except OSError:
                        pass
            while len(conns) < N and time.monotonic() < end:
                open_one()
    now = time.monotonic()
    slow["oldest_open"] = max((now - c[0] for c in conns.values()),
                              default=0.0)
    for s in conns:
        s.close()

th = threading.Thread(target=slow_loris)
th.start()
time.sleep(1.5)  # the first host holds what it can
good = {"asked": 0, "ok": 0, "bad": [], "lat": []}
qid = 100
while time.monotonic() < end - 0.5:
    qid += 1
    q = query(qid, "web.ntk")
    good["asked"] += 1
    t0 = time.monotonic()
    try:
        s = socket.socket()
        s.bind((good_src, 0))
        s.settimeout(3)
        s.connect(server)
        s.sendall(struct.pack(">H", len(q)) + q)
        buf = b""
        while len(buf) < 2 or len(buf) < 2 + struct.unpack(">H", buf[:2])[0]:
            chunk = s.recv(4096)
            if not chunk:
                raise OSError("closed by the node")
            buf += chunk
        s.close()
        aid, rcode, addrs = answer(buf[2:])
        if aid != qid or rcode != 0 or addrs != ["10.1.0.1"]:
            raise OSError("answer rcode %d %r" % (rcode, addrs))
        good["ok"] += 1
        good["lat"].append(time.monotonic() - t0)
    except OSError as e:
        good["bad"].append(str(e))
    time.sleep(0.3)
th.join()
lat = sorted(good.pop("lat")) or [0.0]
good["lat_median_ms"] = round(1000 * lat[len(lat) // 2], 2)
good["lat_max_ms"] = round(1000 * lat[-1], 2)
slow["aged_out_n"] = len(slow["aged_out"])
slow["aged_out"] = [round(x, 1) for x in sorted(slow["aged_out"])[:3]]
slow["oldest_open"] = round(slow["oldest_open"], 1)
good["failed"] = len(good["bad"])
good["bad"] = good["bad"][:3]
print(json.dumps({"slow": slow, "good": good}))
EOF
) || fail "the load script failed: $out"
log "$out"
py - "$out" <<-'EOF' || fail "TCP slots: $out"
import json, sys
d = json.loads(sys.argv[1])
s, g = d["slow"], d["good"]
problems = []
if g["asked"] < 20 or g["ok"] != g["asked"]:
    problems.append("second host: %d of %d answered (%s)" %
                    (g["ok"], g["asked"], g["bad"]))
if g["lat_max_ms"] > 1000:
    problems.append("second host waited %d ms" % g["lat_max_ms"])
if s["opened"] < 300 or not 1 <= s["held_max"] <= 32:
    problems.append("first host opened %d, held %d at once (share: 32)" %
                    (s["opened"], s["held_max"]))
# the connections held since the start are closed at the idle timeout
# (10 s after they opened, bytes trickled or not), none lives longer
if s["aged_out_n"] < 1 or not 9.5 <= s["aged_out"][0] <= 12 or \
        s["oldest_open"] > 12:
    problems.append("trickling connections closed after %r s, oldest "
                    "still open %s s" % (s["aged_out"], s["oldest_open"]))
sys.exit("; ".join(problems) if problems else 0)
EOF
cli 1 status
check 'd["dns"]["tcp_rejected"] >= 268 and d["dns"]["tcp_queries"] >= 20'
stop_nodes 1
log "300 slow TCP connections from $net.10: it held at most 32, $net.11 answered throughout: ok"
log "PASS"
exit 0
