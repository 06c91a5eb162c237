#!/bin/sh
# depth_view.sh: local mode's temperature, pressure and GPU meters in the host view, and
# the services/containers view (F7, on the function bar), from the fixture /sys of
# tests/fixtures/depth (hwmon, amdgpu, a cgroup v2 tree with Docker, Podman, LXC,
# containerd and systemd services); pressure from this machine's /proc when it has PSI.
. "$(dirname "$0")/lib.sh"
SYS=$top_srcdir/tests/fixtures/depth/t0/sys
[ -d "$SYS/fs/cgroup" ] || fail "fixture $SYS missing"

start_shell 160 40 LANG=C.UTF-8 LC_ALL=C.UTF-8
run_smtop -d 0.5 --sys-root "$SYS"
wait_for '^Temp  \['
s=$(screen)
echo "$s" | grep -Eq '^Temp  \[.*46°C x86_pkg_temp' || fail "the hottest fixture sensor is not the meter"
echo "$s" | grep -Eq '^GPU0  \[.*37% 1\.0G/8\.0G 52°C' || fail "the fixture GPU's meter is missing"
echo "$s" | grep -Eq '^GPU1  \[' || fail "the second fixture GPU is missing"
if [ -r /proc/pressure/cpu ]; then
    echo "$s" | grep -Eq '^PSI +cpu [0-9.]+%  memory [0-9.]+%  io [0-9.]+%' ||
        fail "no pressure line on a kernel with PSI"
fi
echo "$s" | grep -q 'F7Services' || fail "the function bar has no F7Services"
pass "temperature, pressure and GPU meters in the host view"

keys F7
wait_for 'Services and containers +13 groups, busiest first'
s=$(screen)
for want in '^aaaaaaaaaaaa +docker .* 256M .* 12 system\.slice/docker-a' '^mybox +lxc ' \
    '^docker\.service +service ' '^c{12} +podman ' '^e{12} +containerd ' '^cron\.service +service '; do
    echo "$s" | grep -Eq -- "$want" || { echo "$s" >&2; fail "services view lacks /$want/"; }
done
# Busiest first: memory decides between groups using no CPU in a single read.
first=$(echo "$s" | sed -n '3p' | awk '{print $1}')
[ "$first" = aaaaaaaaaaaa ] || fail "the biggest group is not first (got $first)"
keys Down End Home
keys Escape
wait_for '^Temp  \['
pass "F7 opens the services and containers view, Esc goes back"
keys q
wait_for '^EXITED:0'
[ ! -s "$T/stderr" ] || fail "smtop wrote to stderr: $(cat "$T/stderr")"
