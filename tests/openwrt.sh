#!/bin/bash
# The OpenWrt package's scripts, without OpenWrt: openwrt/andna/files/
# andna.init runs under a stand-in rc.common and procd (tests/openwrt/
# rc.common records every procd_* call) and a stand-in uci
# (tests/openwrt/uci, on a state file seeded from the package's
# /etc/config/andna and a dhcp config with one server of its own), under
# busybox ash as on a router when busybox is here, else sh.  Start writes
# andnad.conf from the UCI section (options, lists, a changed option),
# hands procd andnad with --foreground, respawn and the user andna, and
# sends .ntk from dnsmasq to the node's DNS front (one server entry and
# a rebind exception, once however often it starts); the real andnad
# accepts the andnad.conf written; enabled 0 and dnsmasq 0 are obeyed;
# unhook, which the package's prerm runs, takes the entries out and
# leaves the dhcp config's own.  shellcheck passes the init script, the
# prerm and the stand-ins.  Needs no root; only 127.0.0.0/8 is used.
set -u
srcdir=${top_srcdir:-.}
# shellcheck source-path=SCRIPTDIR/.. source=tests/lib.sh
. "$srcdir/tests/lib.sh" openwrt
need_built
need awk

pkg=$srcdir/openwrt/andna
stubs=$srcdir/tests/openwrt
ROOT=$tmp/root
export ROOT
export UCI_STATE=$tmp/uci.state UCI_LOG=$tmp/uci.log PROCD_LOG=$tmp/procd.log
mkdir -p "$ROOT/etc/init.d" "$tmp/bin"
cp "$stubs/uci" "$tmp/bin/uci"
# the router's chown knows the user andna; this host's need not
cat >"$tmp/bin/chown" <<'EOF'
#!/bin/sh
echo "chown $*" >>"$ROOT/chown.log"
EOF
cat >"$ROOT/etc/init.d/dnsmasq" <<'EOF'
#!/bin/sh
echo "dnsmasq $*" >>"$ROOT/dnsmasq.log"
EOF
chmod +x "$tmp/bin/uci" "$tmp/bin/chown" "$ROOT/etc/init.d/dnsmasq"
PATH=$tmp/bin:$PATH
export PATH

if command -v busybox >/dev/null; then
	ash="busybox ash"
else
	ash="sh"
fi
log "init script under $ash"

# init ACTION: the init script, as /etc/init.d/andna ACTION would run it
init() {
	: >"$PROCD_LOG"
	$ash "$stubs/rc.common" "$pkg/files/andna.init" "$1" >"$tmp/init.out" 2>&1 ||
		fail "andna.init $1 failed: $(cat "$tmp/init.out")"
}

# ---- shellcheck -------------------------------------------------------------
if command -v shellcheck >/dev/null; then
	# the prerm as the package holds it: make's $$ is the shell's $
	sed -n '/^define Package\/andna\/prerm/,/^endef/p' "$pkg/Makefile" |
	    sed -e '1d' -e '$d' -e 's/\$\$/$/g' >"$tmp/prerm"
	grep -q '/etc/init.d/andna unhook' "$tmp/prerm" ||
		fail "the package's prerm does not unhook dnsmasq"
	out=$(shellcheck "$pkg/files/andna.init" "$tmp/prerm" "$stubs/uci" \
	    "$stubs/rc.common" 2>&1) || fail "shellcheck: $out"
else
	log "no shellcheck here: not run"
fi

# ---- the package's configuration, on a router with a dhcp config -----------
grep -q "^[[:space:]]*option data_dir '/etc/andna'" "$pkg/files/andna.config" ||
	fail "the node's data is not kept in /etc/andna"
grep -qx '/etc/andna/' "$pkg/files/andna.upgrade" ||
	fail "sysupgrade would not keep /etc/andna"
grep -q 'files/andna.upgrade [$](1)/lib/upgrade/keep.d/andna' "$pkg/Makefile" ||
	fail "the package does not install its sysupgrade list"
uci import andna <"$pkg/files/andna.config"
uci import dhcp <<'EOF'
config dnsmasq
	option domain 'lan'
	list server '/mesh/10.0.0.1'

config dhcp 'lan'
	option interface 'lan'
EOF
# as a user would: data and socket where the test may write, two peers
uci set "andna.main.data_dir=$tmp/data"
uci set "andna.main.control=$tmp/run/control"
uci add_list andna.main.bootstrap=10.0.0.1:7269
uci add_list "andna.main.bootstrap=[fd00::1]:7269"
: >"$UCI_LOG"

init start
conf=$ROOT/var/etc/andna/andnad.conf
[ -f "$conf" ] || fail "start wrote no andnad.conf"
cat >"$tmp/want.conf" <<EOF
# written by /etc/init.d/andna from /etc/config/andna: edit that
data_dir = $tmp/data
control = $tmp/run/control
listen = 0.0.0.0:7269
listen = [::]:7269
dns_listen = 127.0.0.1:5335
dns_suffix = ntk
bootstrap = 10.0.0.1:7269
bootstrap = [fd00::1]:7269
EOF
diff -u "$tmp/want.conf" "$conf" >"$tmp/diff" ||
	fail "andnad.conf is not what /etc/config/andna says: $(cat "$tmp/diff")"
[ "$(stat -c %a "$tmp/data" 2>/dev/null)" = 700 ] ||
	fail "start did not make the data directory 0700"
grep -qx "chown andna:andna $tmp/data $tmp/run" "$ROOT/chown.log" ||
	fail "start did not give the data and socket directories to andna: $(cat "$ROOT/chown.log")"

# procd: one instance, andnad in the foreground on that file, respawned,
# as andna, restarted when /etc/config/andna changes
cat >"$tmp/want.procd" <<EOF
open_instance 
set_param command /usr/sbin/andnad --config $ROOT/var/etc/andna/andnad.conf --foreground
set_param user andna
set_param respawn 3600 5 5
set_param stderr 1
set_param file /etc/config/andna
close_instance
reload_trigger andna
EOF
diff -u "$tmp/want.procd" "$PROCD_LOG" >"$tmp/diff" ||
	fail "procd was not given what it needs: $(cat "$tmp/diff")"

# dnsmasq sends .ntk to the node, once, and keeps its own server
servers=$(uci get 'dhcp.@dnsmasq[0].server')
[ "$servers" = "/mesh/10.0.0.1 /ntk/127.0.0.1#5335" ] ||
	fail "dnsmasq's servers after start: $servers"
[ "$(uci get 'dhcp.@dnsmasq[0].rebind_domain')" = ntk ] ||
	fail "no rebind exception for ntk in dnsmasq"
grep -qx "commit dhcp" "$UCI_LOG" || fail "the dhcp config was not committed"
[ "$(cat "$ROOT/dnsmasq.log")" = "dnsmasq restart" ] ||
	fail "dnsmasq was not restarted once: $(cat "$ROOT/dnsmasq.log")"
init start
[ "$(uci get 'dhcp.@dnsmasq[0].server')" = "/mesh/10.0.0.1 /ntk/127.0.0.1#5335" ] ||
	fail "a second start changed dnsmasq's servers: $(uci get 'dhcp.@dnsmasq[0].server')"
[ "$(wc -l <"$ROOT/dnsmasq.log")" = 1 ] || fail "a second start restarted dnsmasq"
log "start: andnad.conf, procd instance and dnsmasq hookup as expected"

# ---- the real andnad takes the file --------------------------------------------
# the file as written, but for the addresses: this test's loopback ones
"$ANDNAD" --config "$conf" --listen "$net.1:$port" --dns-listen "$net.1:$dport" \
    --http-listen "" \
    --advertise "$net.1:$port" --bootstrap "$net.2:$port" \
    --foreground >"$tmp/andnad.log" 2>&1 &
pid[n1]=$!
for _ in $(seq 1 100); do
	[ -S "$tmp/run/control" ] && break
	kill -0 "${pid[n1]}" 2>/dev/null ||
		fail "andnad refused the andnad.conf written: $(cat "$tmp/andnad.log")"
	sleep 0.1
done
[ -S "$tmp/run/control" ] || fail "andnad made no control socket: $(cat "$tmp/andnad.log")"
for _ in $(seq 1 50); do
	[ -s "$tmp/data/node.key" ] && break
	sleep 0.1
done
[ -s "$tmp/data/node.key" ] || fail "andnad keeps no node key in the UCI data_dir"
kill "${pid[n1]}"
wait "${pid[n1]}" 2>/dev/null
unset 'pid[n1]'
log "andnad runs from the andnad.conf written"

# ---- enabled 0, dnsmasq 0 -----------------------------------------------------
uci set andna.main.enabled=0
init start
[ -s "$PROCD_LOG" ] && grep -q open_instance "$PROCD_LOG" &&
	fail "enabled 0 still started andnad"
uci set andna.main.enabled=1
uci set andna.main.dnsmasq=0
init unhook
[ "$(uci get 'dhcp.@dnsmasq[0].server')" = /mesh/10.0.0.1 ] ||
	fail "unhook left dnsmasq's servers at $(uci get 'dhcp.@dnsmasq[0].server')"
init start
grep -q open_instance "$PROCD_LOG" || fail "enabled 1 did not start andnad"
[ "$(uci get 'dhcp.@dnsmasq[0].server')" = /mesh/10.0.0.1 ] ||
	fail "dnsmasq 0 still hooked dnsmasq"
grep -q "^dnsmasq\|^enabled" "$conf" && fail "init-only options went into andnad.conf"

# ---- uninstall: the prerm's unhook ---------------------------------------------
uci set andna.main.dnsmasq=1
uci add_list andna.main.dns_suffix=mesh2
init hook
[ "$(uci get 'dhcp.@dnsmasq[0].server')" = \
    "/mesh/10.0.0.1 /ntk/127.0.0.1#5335 /mesh2/127.0.0.1#5335" ] ||
	fail "hook with two suffixes: $(uci get 'dhcp.@dnsmasq[0].server')"
: >"$ROOT/dnsmasq.log"
init unhook
[ "$(uci get 'dhcp.@dnsmasq[0].server')" = /mesh/10.0.0.1 ] ||
	fail "unhook left $(uci get 'dhcp.@dnsmasq[0].server')"
uci -q get 'dhcp.@dnsmasq[0].rebind_domain' >/dev/null &&
	fail "unhook left the rebind exceptions: $(uci get 'dhcp.@dnsmasq[0].rebind_domain')"
[ "$(cat "$ROOT/dnsmasq.log")" = "dnsmasq restart" ] ||
	fail "unhook did not restart dnsmasq once"
log "unhook takes the hookup out and keeps dnsmasq's own server"
echo "PASS: the OpenWrt init script, UCI translation and dnsmasq hookup"
exit 0
