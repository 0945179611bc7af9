#!/bin/bash
# DNS cookies and the amplification cap (DESIGN.md section 6), against
# one andnad on loopback, with the name an attacker would register: one
# letter, 16 IPv6 addresses, and an SRV set of 16 IPv6 targets.
#
#  - dig +nocookie (and without EDNS) gets TC and no records over UDP;
#  - dig with its cookie (the default) gets TC with a server cookie, then
#    the whole set over TCP (kdig, without a cookie by default, too);
#    sending that server cookie back, dig and kdig get the whole set over
#    UDP, without TC; a forged one gets TC;
#  - dnsmasq (and unbound when installed) with the node as the server of
#    the zone hand their clients the whole set: they retry over TCP;
#  - a bounded loop of cookie-less queries (A, AAAA, ANY, SRV, TXT;
#    without EDNS and with sizes 512 to 65535) measures the worst answer
#    to query ratio, printed and held to the cap of 4;
#  - andna status counts the capped answers and the cookies.
#
# Only 127.0.0.0/8 addresses are used (a random /24 per run); the node has
# no upstream and reads no resolv.conf; dig is always given @127.x; every
# loop is bounded; every process started here is killed on exit.
set -u

srcdir=${top_srcdir:-.}
# shellcheck source-path=SCRIPTDIR/.. source=tests/lib.sh
. "$srcdir/tests/lib.sh" cookie
CAP=4 # DNS_AMP_MAX in node/dns/dns_cookie.h
fail_more() { tail_logs "$tmp/dnsmasq.log" "$tmp/unbound.log"; }

need dig kdig dnsmasq
need_python
need_built
py -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))' "$net.1" 2>/dev/null || skip "cannot bind $net.1"

# dig at the node: q ARGS...; sets $out.
q() {
	out=$(dig @"$net.1" -p "$dport" +tries=1 +time=3 "$@" 2>&1)
}

# no health probes: the records' addresses are not on loopback
start_lone_node "dns_probe = no"

six=""
srv=""
for k in $(seq 1 16); do
	six="$six fd00::b:$(printf %x "$k")"
	srv="$srv fd00::5:$(printf %x "$k")"
done
# shellcheck disable=SC2086 # one address per word
cli 1 register s $six --service 5060 --proto udp $srv ||
	fail "register s: $out"
log "one node on $net.1 (DNS $dport); s.ntk has 16 AAAA and 16 SRV targets"

# ---- without a cookie: TC and nothing else ----
q +nocookie +ignore s.ntk AAAA
has "flags: qr aa tc"
has "ANSWER: 0,"
hasnt "COOKIE"
q +noedns +ignore s.ntk AAAA
has "flags: qr aa tc"
has "ANSWER: 0,"
q +nocookie s.ntk AAAA # dig retries over TCP: whole there
has "Truncated, retrying in TCP mode"
has "ANSWER: 16,"

# ---- dig with its client cookie: TC with a server cookie, then whole
# over TCP; with the server cookie sent back, whole over UDP ----
q +ignore s.ntk AAAA
has "flags: qr aa tc"
has "COOKIE: [0-9a-f]{48} \(good\)"
ck=$(sed -n 's/^; COOKIE: \([0-9a-f]\{48\}\) (good)$/\1/p' <<<"$out")
[ ${#ck} = 48 ] || fail "no server cookie in: $out"
q s.ntk AAAA
has "Truncated, retrying in TCP mode"
has "ANSWER: 16,"
q +ignore +cookie="$ck" s.ntk AAAA
hasnt "flags: [a-z ]*tc"
hasnt "Truncated"
has "ANSWER: 16,"
has "COOKIE: $ck \(good\)"
has "MSG SIZE +rcvd: [0-9]+$"
for k in $(seq 1 16); do
	has "AAAA[[:space:]]+fd00::b:$(printf %x "$k")\$"
done
q +ignore +cookie="$ck" _5060._udp.s.ntk SRV
hasnt "flags: [a-z ]*tc"
has "ANSWER: 16,"
out=$(kdig @"$net.1" -p "$dport" +retry=0 +time=3 +notcp +cookie="$ck" \
    s.ntk AAAA 2>&1)
has "Flags: qr aa rd; QUERY: 1; ANSWER: 16;"
hasnt "truncated"
# kdig without a cookie (its default) follows TC to TCP
out=$(kdig @"$net.1" -p "$dport" +retry=0 +time=3 s.ntk AAAA 2>&1)
has "truncated reply from .*retrying over TCP"
has "ANSWER: 16;"
# a forged server cookie (the last octet of the hash changed)
forged=${ck:0:46}$(printf %02x $(((0x${ck:46:2} + 1) % 256)))
q +ignore +cookie="$forged" s.ntk AAAA
has "flags: qr aa tc"
has "ANSWER: 0,"
log "dig/kdig: TC without a cookie or with a forged one; whole over UDP with the server cookie"

# ---- resolvers that use the node for the zone retry over TCP ----
start_dnsmasq "server=/ntk/$net.1#$dport"
for _ in $(seq 1 30); do
	out=$(dig @"$net.250" -p "$uport" +tries=1 +time=2 s.ntk AAAA 2>&1)
	grep -q "ANSWER: 16," <<<"$out" && break
	sleep 0.2
done
has "ANSWER: 16,"
log "dnsmasq with the node as server of ntk: all 16 addresses"
if command -v unbound >/dev/null; then
	cat >"$tmp/unbound.conf" <<-EOF
	server:
	  interface: $net.251
	  port: $uport
	  do-daemonize: no
	  username: ""
	  chroot: ""
	  directory: "$tmp"
	  pidfile: ""
	  use-syslog: no
	  logfile: "$tmp/unbound.log"
	  do-not-query-localhost: no
	  access-control: 127.0.0.0/8 allow
	  module-config: "iterator"
	  local-zone: "ntk." nodefault
	stub-zone:
	  name: "ntk"
	  stub-addr: $net.1@$dport
	EOF
	unbound -c "$tmp/unbound.conf" -d >"$tmp/unbound.out" 2>&1 &
	pid[unbound]=$!
	for _ in $(seq 1 30); do
		out=$(dig @"$net.251" -p "$uport" +tries=1 +time=2 \
		    s.ntk AAAA 2>&1)
		grep -q "ANSWER: 16," <<<"$out" && break
		sleep 0.2
	done
	has "ANSWER: 16,"
	log "unbound with the node as stub zone: all 16 addresses"
else
	log "no unbound installed: its part left out"
fi

# ---- the worst amplification of a cookie-less source ----
cli 1 status
before=$out
py - "$net.1" "$dport" "$CAP" "$ck" <<-'EOF' || fail "amplification"
import os, socket, struct, sys
host, port, cap = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
cookie = bytes.fromhex(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect((host, port))
s.settimeout(2)
def query(name, qtype, edns, opt=b""):
    q = struct.pack(">HHHHHH", 0x77, 0x0100, 1, 0, 0, 1 if edns else 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\x00" + struct.pack(">HH", qtype, 1)
    if edns:
        q += b"\x00" + struct.pack(">HHIH", 41, edns, 0, len(opt)) + opt
    return q
def ratio(q):
    s.send(q)
    a = s.recv(65535)
    return len(a) / len(q), len(a), len(q)
worst = (0, 0, 0, "")
proven = (0, 0, 0, "")
cc = os.urandom(8)
for name in ("s.ntk", "_5060._udp.s.ntk"):
    for qtype, tname in ((1, "A"), (28, "AAAA"), (255, "ANY"),
                         (33, "SRV"), (16, "TXT")):
        for edns in (0, 512, 1232, 4096, 65535):
            r = ratio(query(name, qtype, edns))
            what = "%s %s EDNS %s" % (name, tname, edns or "off")
            worst = max(worst, r + (what,))
        r = ratio(query(name, qtype, 1232, struct.pack(">HH", 10, 8) + cc))
        worst = max(worst, r + ("%s %s client cookie" % (name, tname),))
        opt = struct.pack(">HH", 10, len(cookie)) + cookie
        r = ratio(query(name, qtype, 1232, opt))
        proven = max(proven, r + ("%s %s" % (name, tname),))
print("worst answer/query without a valid cookie: %.2f (%d/%d octets, %s); "
      "cap %d" % (worst + (cap,)))
print("with the server cookie: %.2f (%d/%d octets, %s)" % proven)
if worst[0] > cap:
    sys.exit("over the cap")
if proven[0] <= 2 * cap:
    sys.exit("the whole answers are small: the cap was not tested")
EOF
cli 1 status
py - "$before" "$out" <<-'EOF' || fail "DNS counters: $out"
import json, sys
b, a = (json.loads(x)["dns"] for x in sys.argv[1:3])
d = {k: a[k] - b[k] for k in ("capped", "cookie_valid", "cookie_invalid",
                              "truncated")}
# 2 names x 5 types: the AAAA, ANY and SRV ones are over the cap
if not (d["capped"] >= 6 and d["cookie_valid"] == 10 and
        d["cookie_invalid"] == 0 and d["truncated"] >= d["capped"]):
    sys.exit("counters moved by %r" % d)
if a["cookie_invalid"] < 1:
    sys.exit("the forged cookie was not counted")
EOF
out=$("$ANDNA" --control "$tmp/n1/control" status 2>&1)
has "truncated \(TC; [1-9][0-9]* by the amplification cap\)"
has "^DNS cookies: +[1-9][0-9]* valid, [1-9][0-9]* not valid"
log "andna status: capped answers and cookies counted"

stop_nodes 1
log "PASS"
exit 0
