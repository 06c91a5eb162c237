#!/bin/sh
# fleet_malformed.sh: smtop --server against a fake server that sends a malformed live
# stream (not JSON, bad fields, too deep, a binary frame, unknown types): every bad
# message is reported as an error, the good data still shows, nothing crashes - in the
# client (client_probe), in batch mode, and on screen in a private tmux.
. "$(dirname "$0")/../integration/lib.sh"
need tmux
PY=/usr/bin/python3
[ -x "$PY" ] || skip "/usr/bin/python3 is missing"
PROBE=$top_builddir/tests/integration/client_probe
"$PY" "$top_srcdir/tests/integration/fake_smserver.py" "$T/port" 2>"$T/fake.log" &
FAKE=$!
_kill_fake() { kill "$FAKE" 2>/dev/null || true; }
at_exit _kill_fake
i=0
until [ -s "$T/port" ]; do
    i=$((i + 1)); [ $i -le 200 ] || fail "the fake server did not start: $(cat "$T/fake.log")"; sleep 0.1
done
URL=http://127.0.0.1:$(cat "$T/port")
printf 'secret\n' >"$T/pw"
export XDG_STATE_HOME="$T/xdg"

# 1. The client: an error event per bad message, then the good sample after them.
"$PROBE" --server "$URL" --user u --password-file "$T/pw" --exit-after sample:1 --seconds 20 \
    >"$T/probe" 2>&1 || fail "probe exited $?: $(cat "$T/probe")"
for want in "^agent 2 good online with-sample" "^error stream: bad message: invalid JSON" \
    "^error agent 2: bad sample: cpu.usage_percent" "^error stream: bad message: nesting deeper" \
    "^error agent 2: bad sample: timestamp" "^error stream: bad message: NUL byte" \
    "^alert 2 firing" "^error stream: unknown message type or no agent_id: surprise" \
    "^sample 2 43.0"; do
    grep -q -E "$want" "$T/probe" || fail "probe output lacks '$want': $(cat "$T/probe")"
done
pass "every malformed message is an error event; the good sample after them arrives"

# 2. Batch mode prints the good agent.
"$SMTOP" --server "$URL" --user u -b -n 1 >"$T/batch" 2>"$T/batch.err" ||
    fail "smtop -b exited $?: $(cat "$T/batch.err")"
grep -q -E "^!?good +online +4[23]\.0 " "$T/batch" || fail "batch: $(cat "$T/batch")"
pass "batch mode against the malformed stream"

# 3. The dashboard shows the good agent and the last error, and quits cleanly.
SOCK=smtop-bad-$$
TM="tmux -L $SOCK -f /dev/null"
_kill_tmux() { $TM kill-server 2>/dev/null || true; }
at_exit _kill_tmux
$TM new-session -d -s s -x 100 -y 30 \
    "env XDG_STATE_HOME=$T/xdg LANG=C.UTF-8 $SMTOP --server $URL --user u -d 0.5; echo smtop-exit=\$? >$T/exit; sleep 60"
i=0
until $TM capture-pane -p -t s | grep -q -E "^!good +online +43\.0 "; do
    i=$((i + 1)); [ $i -le 200 ] || fail "screen: $($TM capture-pane -p -t s)"; sleep 0.1
done
$TM capture-pane -p -t s | grep -q "unknown message type or no agent_id: surprise" ||
    fail "no error line: $($TM capture-pane -p -t s)"
# The alert with a bad rule id was dropped; the other is shown with its escape defused.
$TM capture-pane -p -t s | grep -q -E "ALERTS  1 firing, 0 pending" ||
    fail "no alerts strip: $($TM capture-pane -p -t s)"
$TM capture-pane -p -t s | grep -q -E "critical firing +evil\?\[31mnamexxx" ||
    fail "alert line: $($TM capture-pane -p -t s)"
$TM send-keys -t s q
i=0
until [ -s "$T/exit" ]; do
    i=$((i + 1)); [ $i -le 200 ] || fail "q did not quit"; sleep 0.1
done
grep -q "smtop-exit=0" "$T/exit" || fail "smtop: $(cat "$T/exit")"
pass "the dashboard shows the good agent, its alert and the error, and quits with 0"
