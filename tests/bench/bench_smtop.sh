#!/bin/sh
# bench_smtop.sh: CPU cost of smtop beside top (and htop when installed), measured in the
# same run on the same machine, printed as ratios (target: smtop <= 0.5x htop).
#  1. batch: CPU seconds of `smtop -b -n N -d 0.1` and `top -b -n N -d 0.1`;
#  2. interactive: smtop -d 1 (its host view lists every process, with command lines)
#     and top -d 1, htop -d 10 and btop at 1000 ms (when installed) side by side, each in
#     its own 120x40 tmux pane, for SECONDS; CPU seconds per minute of each from /proc.
# Usage: bench_smtop.sh [SECONDS] (default 30)
set -eu
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
DUR=${1:-30}
N=${SMTOP_BENCH_FRAMES:-100}
SMTOP=$top_builddir/smtop/smtop
PY=/usr/bin/python3
T=$(mktemp -d "${TMPDIR:-/tmp}/smbench.XXXXXX")
SOCK=smtop-bench-$$
cleanup() { tmux -L "$SOCK" kill-server 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT INT TERM
command -v top >/dev/null || { echo "bench_smtop: top is not installed; skipped"; exit 0; }

# CPU seconds (user + system) of one command, from getrusage of the child.
cpu_of() {
    "$PY" -c '
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%.3f" % (r.ru_utime + r.ru_stime))' "$@"
}
s_b=$(cpu_of "$SMTOP" -b -n "$N" -d 0.1)
t_b=$(cpu_of env LC_ALL=C top -b -n "$N" -d 0.1)
"$PY" -c 'import sys; s,t,n=float(sys.argv[1]),float(sys.argv[2]),int(sys.argv[3])
print("bench_smtop: batch, %d frames at 0.1 s: smtop %.3f s CPU (%.2f ms/frame), top %.3f s (%.2f ms/frame), ratio %.2fx top" % (n, s, 1000*s/n, t, 1000*t/n, s/t if t > 0 else float("nan")))' "$s_b" "$t_b" "$N"

# Interactive: one tmux server, a window per program, all refreshing every second.
command -v tmux >/dev/null || { echo "bench_smtop: tmux is not installed; interactive part skipped"; exit 0; }
unset TMUX
tmux -L "$SOCK" -f /dev/null new-session -d -s bench -x 120 -y 40 \
    "env LANG=C.UTF-8 $SMTOP -d 1"
tmux -L "$SOCK" new-window -d -t bench "env LC_ALL=C top -d 1"
names="smtop top"
if command -v htop >/dev/null; then
    tmux -L "$SOCK" new-window -d -t bench "env HOME=$T htop -d 10"
    names="$names htop"
fi
if command -v btop >/dev/null; then
    # btop refreshes every 2 s unless told otherwise; its own config file, in $T.
    mkdir -p "$T/btop/btop"
    echo 'update_ms = 1000' >"$T/btop/btop/btop.conf"
    tmux -L "$SOCK" new-window -d -t bench "env LANG=C.UTF-8 XDG_CONFIG_HOME=$T/btop btop --utf-force"
    names="$names btop"
fi
sleep 2 # let each start up; start-up cost is not what this measures
echo "bench_smtop: $(ls /proc | grep -c '^[0-9]') processes on the machine (smtop lists them all)"
pids=$(tmux -L "$SOCK" list-panes -s -t bench -F '#{pane_pid}' | tr '\n' ' ')
"$PY" - "$DUR" "$names" $pids <<'PYEOF'
import os, sys, time
dur = float(sys.argv[1]); names = sys.argv[2].split(); pids = [int(p) for p in sys.argv[3:]]
tick = os.sysconf("SC_CLK_TCK")
def cpu(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / tick
start = [cpu(p) for p in pids]
t0 = time.monotonic()
time.sleep(dur)
el = time.monotonic() - t0
per_min = [(cpu(p) - s) * 60 / el for p, s in zip(pids, start)]
res = dict(zip(names, per_min))
line = "bench_smtop: interactive at 1 s refresh, 120x40 tmux pane, %.0f s: " % el
line += ", ".join("%s %.3f CPU s/min" % (n, v) for n, v in res.items())
base = res.get("htop", res["top"])
bname = "htop" if "htop" in res else "top"
ratio = res["smtop"] / base if base > 0 else float("nan")
line += "; smtop/%s %.2fx" % (bname, ratio)
print(line)
PYEOF
