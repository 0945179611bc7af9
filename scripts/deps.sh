#!/bin/sh
# Installs the Debian 12 packages that building, testing and the demo need.
# Safe to run again: apt-get skips what is already there.  Packages named as
# arguments are installed too (benchmarks name the servers they compare).
set -eu
PKGS="build-essential autoconf automake pkg-config libsodium-dev libevent-dev
liblmdb-dev libmsgpack-dev libcmocka-dev clang libclang-rt-14-dev
bind9-dnsutils knot-dnsutils dnsmasq-base iproute2 python3 faketime
python3-prometheus-client chromium fonts-dejavu-core
curl iptables debhelper debootstrap lintian shellcheck busybox
systemd-container babeld libnetfilter-queue-dev $*"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
