#!/bin/sh
# fleet.sh: smtop --server in a private tmux against a real smserver with a real smagent
# (web1) and a scripted agent (db1, a full disk): the fleet view, sorting, the / filter,
# Enter to the host view with history graphs, help, resize to 40x12, NO_COLOR, problem
# highlighting, a server restart (reconnecting, then live), an offline agent, the password
# prompt.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/server_lib.sh"
need tmux
SOCK=smtop-fleet-$$
TM="tmux -L $SOCK -f /dev/null"
_kill_tmux() { $TM kill-server 2>/dev/null || true; }
at_exit _kill_tmux

start_server
register alice alice-password-1
login alice alice-password-1
# agent NAME: create an agent, keep its token in $T/NAME.agent, print its id.
agent() {
    req POST /agents -H "Authorization: Bearer $ACCESS" -H 'Content-Type: application/json' \
        -d "{\"name\":\"$1\"}"
    expect 200
    field token >"$T/$1.agent"
    field id
}
WEB=$(agent web1)
DB=$(agent db1)
# post NAME FILE: ingest FILE as agent NAME.
post() {
    curl -s -o /dev/null -H "X-Agent-Token: $(cat "$T/$1.agent")" \
        -H 'Content-Type: application/json' --data-binary @"$2" "$URL/ingest"
}
# db1: a quiet machine with a full root filesystem (a problem host).
db_sample() {
    cat >"$T/db.json" <<EOF
{"host": {"hostname": "db1", "os": "Debian GNU/Linux 12", "kernel": "6.1.0", "arch": "x86_64",
          "cpu_model": "test", "cores": 4, "boot_time": 1732400000, "agent_version": "0.1.0"},
 "samples": [{"timestamp": $(($(date +%s) - 1800)), "seq": 0,
   "cpu": {"usage_percent": 50.0, "per_core_usage": [50.0, 50.0, 50.0, 50.0]}},
  {"timestamp": $(date +%s).5, "seq": 1,
   "cpu": {"usage_percent": 12.5, "per_core_usage": [10.0, 15.0, 5.0, 20.0], "load_avg": [0.5, 0.4, 0.3]},
   "memory": {"total": 8000000000, "available": 6000000000, "used": 2000000000, "used_percent": 25.0},
   "disk": {"partitions": [{"device": "/dev/vda1", "mountpoint": "/", "fstype": "ext4",
            "total": 100, "used": 95, "free": 5, "percent": 95.0}]},
   "network": {"bytes_sent": 0, "bytes_recv": 0}}]}
EOF
    post db1 "$T/db.json"
}
db_sample
# web1: the real agent, one sample every half second until the test ends.
(while :; do
    "$SMAGENT" --once >"$T/web.json.tmp" 2>/dev/null && mv "$T/web.json.tmp" "$T/web.json" &&
        post web1 "$T/web.json" || true # the server is away for a while in step 7
    sleep 0.5
done) &
FEEDER=$!
_kill_feeder() { kill "$FEEDER" 2>/dev/null || true; }
at_exit _kill_feeder

printf 'alice-password-1\n' >"$T/pw"
mkdir -p "$T/xdg"
# run [ENV...]: smtop --server in a fresh 100x30 tmux session.
# A second run replaces the first in the same pane (the tmux server stays up).
run() {
    cmd="env XDG_STATE_HOME=$T/xdg LANG=C.UTF-8 $* $SMTOP --server $URL --user alice --password-file $T/pw -d 0.5; echo smtop-exit=\$? >$T/exit; sleep 60"
    if $TM has-session -t smtop 2>/dev/null; then
        $TM respawn-pane -k -t smtop "$cmd"
    else
        $TM new-session -d -s smtop -x 100 -y 30 "$cmd"
    fi
}
cap() { $TM capture-pane -p -t smtop; }
capc() { $TM capture-pane -p -e -t smtop; }
# screen PATTERN: wait until the screen matches PATTERN (grep -E), up to 20 s.
screen() {
    i=0
    until cap | grep -q -E -- "$1"; do
        i=$((i + 1))
        [ $i -le 200 ] || { cap >&2; fail "screen never showed '$1'"; }
        sleep 0.1
    done
}
keys() { $TM send-keys -t smtop "$@"; }

# 1. The fleet view: both agents, header, counts; db1's full disk stands out in red.
run
screen "2 agents, 2 online  live"
screen "^NAME"
screen "^db1 +online +12\.5 .* 0\.50 +25\.0 +95\.0 "
screen "^web1 +online "
line=$(capc | grep "db1")
printf '%s' "$line" | grep -q "95\.0" || fail "db1 line: $line"
printf '%s' "$line" | grep -q "31m" || fail "db1's full disk is not red: $line"
pass "fleet view lists both agents with figures; a full disk is red"

# 2. Sort: N sorts by name (db1 first), again for descending (web1 first); D by disk.
keys N
screen "^NAME▼"
cap | grep -E "^(db1|web1) " | head -1 | grep -q "^web1" || fail "name descending: $(cap)"
keys N
screen "^NAME▲"
cap | grep -E "^(db1|web1) " | head -1 | grep -q "^db1" || fail "name ascending: $(cap)"
keys D
screen "DISK%▼"
cap | grep -E "^(db1|web1) " | head -1 | grep -q "^db1" || fail "disk descending: $(cap)"
# When no agent sends a temperature or a GPU (this machine has no hwmon, no GPU): no
# TEMP or GPU% column, and > steps from DISK% to RX/s over them.
if ! grep -Eq '"(sensors|gpus)"' "$T/web.json"; then
    cap | grep -E "^NAME" | grep -Eq "TEMP|GPU%" &&
        fail "TEMP or GPU% shown with no agent having them: $(cap)"
    keys '>'
    screen "RX/s▼"
    keys '<'
    screen "DISK%▼"
fi
pass "sorting by name both ways and by disk; no TEMP or GPU% column without them"

# 3. Filter: / web Enter shows only web1; Esc clears.
keys / w e b Enter
screen "^Filter: web$"
cap | grep -q "^db1 " && fail "filter left db1: $(cap)"
keys Escape
i=0
until cap | grep -q "^db1 "; do
    i=$((i + 1)); [ $i -le 200 ] || fail "Esc did not clear the filter: $(cap)"; sleep 0.1
done
pass "/ filters by name; Esc clears"

# 4. Enter opens the host view of the selected agent (db1 is first by disk): facts and
# filesystems; g shows the history view with the server's rollups; Esc goes back up.
keys Home Enter
screen "^db1  Debian GNU/Linux 12"
screen "^/ +/dev/vda1 +ext4 .* 95\.0"
keys g
screen "cpu\.usage +last 5m, live"
screen "min 12\.5% +avg 12\.5% +max 12\.5%"
# The hour holds a sample from 30 minutes ago that only the server's history has.
keys 2
screen "cpu\.usage +last 1h, live"
screen "min 12\.5% +avg 31\.2% +max 50\.0%"
# Back in time by half the range: the server is asked for that window (the sample of 30
# minutes ago is then the newest point shown).
keys Left
screen "cpu\.usage +last 1h, ending 30:00 ago"
screen "min 50\.0% +avg 50\.0% +max 50\.0%"
if cap | grep -q "history of"; then fail "history error: $(cap)"; fi
keys End
screen "cpu\.usage +last 1h, live"
keys Escape
screen "^db1  Debian GNU/Linux 12"
keys Escape
screen "^NAME"
pass "Enter opens the host view; g the history from the server, scrolled back; Esc goes back up"

# 5. Help lists the fleet keys; Esc goes back.
keys '?'
screen "smtop keys"
keys End
screen "filter agents by name"
keys Escape
screen "^NAME"
pass "help lists the fleet keys"

# 6. Resize down to 40x12 and back: the table fits, nothing past the edge.
$TM resize-window -t smtop -x 40 -y 12
screen "^db1 "
cap | "$PY" -c 'import sys; sys.exit(any(len(l.rstrip("\n")) > 40 for l in sys.stdin))' ||
    fail "lines wider than 40: $(cap)"
cap | grep -q "^NAME" || fail "no header at 40x12: $(cap)"
$TM resize-window -t smtop -x 100 -y 30
screen "TX/s"
pass "resize to 40x12 and back"

# 7. The server goes away: the screen says so with a countdown; it comes back: live.
stop_server
screen "reconnecting in [0-9]+s"
start_server --listen "127.0.0.1:$PORT"
screen "live$"
# After the restart db1 (not sending) is offline, with its last-seen time; web1 is online.
screen "^db1 +offline "
screen "^web1 +online "
line=$(capc | grep "db1")
printf '%s' "$line" | grep -q "31m" || fail "offline db1 is not red: $line"
keys N
screen "^NAME▲"
keys Home Enter
screen "^db1  OFFLINE, last seen [0-9:]+ ago"
keys Escape
screen "^NAME"
pass "server restart: reconnecting, then live; an offline agent is shown offline"

# 8. q quits with 0.
keys q
i=0
until [ -s "$T/exit" ]; do
    i=$((i + 1)); [ $i -le 200 ] || fail "q did not quit"; sleep 0.1
done
grep -q "smtop-exit=0" "$T/exit" || fail "exit: $(cat "$T/exit")"
pass "q quits with exit 0"

# 9. NO_COLOR: no colour sequences, problems still stand out (bold).
rm -f "$T/exit"
run NO_COLOR=1
screen "^db1 "
line=$(capc | grep "db1")
printf '%s' "$line" | grep -q "3[0-7]m" && fail "NO_COLOR still coloured: $line"
printf '%s' "$line" | grep -q "1m" || fail "NO_COLOR problem not bold: $line"
pass "NO_COLOR: no colour, problems in bold"
keys q

# 10. No stored session and no password source: the password is asked on the terminal
# with echo off, before the screen is taken; Ctrl-C at the prompt leaves echo on.
# prompt_run DIR: smtop with a fresh state directory $T/DIR and no password source.
prompt_run() {
    $TM respawn-pane -k -t smtop "trap '' INT; env XDG_STATE_HOME=$T/$1 LANG=C.UTF-8 $SMTOP --server $URL --user alice -d 0.5; echo smtop-exit=\$?; stty -a | tr ' ' '\\n' | grep -x -e echo -e -echo; sleep 60"
}
prompt_run xdg2
screen "^Password for alice:"
keys -l alice-password-1
keys Enter
screen "2 agents, [0-9] online"
cap | grep -q "alice-password-1" && fail "the password was echoed: $(cap)"
keys q
screen "^smtop-exit=0"
prompt_run xdg3
screen "^Password for alice:"
keys C-c
screen "smtop-exit=130"
screen "^echo$"
pass "password prompt with echo off; Ctrl-C at the prompt restores echo"
stop_server
