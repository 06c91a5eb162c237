#!/bin/sh
# server_cli.sh: smserver's command line: options, admin sub-commands, files and their
# modes, the listening line, and a clean SIGTERM shutdown.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"

# exits CODE CMD...: CMD exits with CODE.
exits() {
    want=$1
    shift
    rc=0
    "$@" >"$T/out" 2>"$T/err" </dev/null || rc=$?
    [ $rc -eq "$want" ] || fail "'$*' exited $rc, expected $want: $(cat "$T/err")"
}

exits 0 "$SMSERVER" --help
for opt in --listen --state-dir --db --www --config --port-file --log-level --version; do
    grep -q -- "$opt" "$T/out" || fail "--help does not mention $opt"
done
exits 0 "$SMSERVER" --version
grep -q "^smserver [0-9]" "$T/out" || fail "--version printed $(cat "$T/out")"
exits 2 "$SMSERVER" --bogus
exits 2 "$SMSERVER" extra-argument
exits 2 "$SMSERVER" --listen nonsense
exits 2 "$SMSERVER" --listen 127.0.0.1:70000
exits 2 "$SMSERVER" --log-level loud
exits 1 "$SMSERVER" --config "$T/missing.conf" --state-dir "$T/x"
exits 2 "$SMSERVER" user
exits 2 "$SMSERVER" user frobnicate
exits 2 "$SMSERVER" agent add --state-dir "$SM_STATE" web1
pass "options and usage errors"

# Admin sub-commands.
printf 'short\n' >"$T/pw"
rc=0
"$SMSERVER" user add alice --state-dir "$SM_STATE" <"$T/pw" 2>"$T/err" || rc=$?
[ $rc -eq 2 ] || fail "short password: exit $rc"
grep -q 'at least 8' "$T/err" || fail "short password message: $(cat "$T/err")"
printf 'alice password\n' >"$T/pw"
"$SMSERVER" user add alice --state-dir "$SM_STATE" <"$T/pw" >"$T/out" || fail "user add failed"
grep -q '"username":"alice"' "$T/out" || fail "user add printed $(cat "$T/out")"
rc=0
"$SMSERVER" user add alice --state-dir "$SM_STATE" <"$T/pw" >/dev/null 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "duplicate user: exit $rc"
exits 2 "$SMSERVER" user add 'bad name' --state-dir "$SM_STATE"
exits 0 "$SMSERVER" user list --state-dir "$SM_STATE"
grep -q ' alice ' "$T/out" || fail "user list: $(cat "$T/out")"
exits 0 "$SMSERVER" agent add --user alice web1 --db "$SM_STATE/statusmonitor.db"
grep -Eq '^\{"id":1,"name":"web1","token":"[A-Za-z0-9_-]{43}"\}$' "$T/out" ||
    fail "agent add printed $(cat "$T/out")"
TOKEN=$(sed 's/.*"token":"\([^"]*\)".*/\1/' "$T/out")
exits 1 "$SMSERVER" agent add --user nobody web2 --state-dir "$SM_STATE"
exits 0 "$SMSERVER" agent list --user alice --state-dir "$SM_STATE"
grep -q ' web1 ' "$T/out" || fail "agent list: $(cat "$T/out")"
exits 0 "$SMSERVER" agent list --state-dir "$SM_STATE"
grep -q ' web1 ' "$T/out" || fail "agent list (all): $(cat "$T/out")"
pass "admin sub-commands"

# The server: files private, port file, listening line, the CLI's agent token works.
rc=0
SECRET_KEY=too-short "$SMSERVER" --listen 127.0.0.1:0 --state-dir "$SM_STATE" 2>"$T/err" || rc=$?
[ $rc -eq 1 ] || fail "a short SECRET_KEY: exit $rc"
grep -q 'SECRET_KEY' "$T/err" || fail "a short SECRET_KEY: $(cat "$T/err")"
start_server
grep -q "listening on http://127.0.0.1:$PORT\$" "$SM_LOG" || fail "no listening line: $(cat "$SM_LOG")"
[ "$(stat -c %a "$SM_STATE")" = 700 ] || fail "state dir is $(stat -c %a "$SM_STATE")"
# On PostgreSQL the state directory holds the secret only.
files="statusmonitor.db statusmonitor.db-wal secret.key"
! on_pg || files=secret.key
for f in $files; do
    [ "$(stat -c %a "$SM_STATE/$f")" = 600 ] || fail "$f is $(stat -c %a "$SM_STATE/$f")"
done
CASE="CLI agent token" req POST /ingest -H "X-Agent-Token: $TOKEN" -d '{"cpu":{"percent":5}}'
CASE="CLI agent token" expect 200 '"stored":1'
# Without --www (and nothing installed), the page comes from the source tree.
CASE="default www" req GET /
CASE="default www" expect 200 StatusMonitor
pass "server start"

start=$(date +%s)
stop_server
[ $(($(date +%s) - start)) -le 5 ] || fail "SIGTERM took more than 5 s"
grep -q "shutting down" "$SM_LOG" || fail "no shutdown line"
# The same secret is used after a restart: the old access tokens stay valid.
cp "$SM_STATE/secret.key" "$T/key1"
start_server
cmp -s "$SM_STATE/secret.key" "$T/key1" || fail "secret.key changed across restarts"
kill -INT "$SM_PID"
rc=0
wait "$SM_PID" || rc=$?
SM_PID=
[ $rc -eq 0 ] || fail "SIGINT: exit $rc"
pass "shutdown"

# A configuration file fills what the command line leaves unset; unknown keys are errors.
mkdir -p "$T/www2"
printf '<p>from the config file</p>\n' >"$T/www2/index.html"
printf '# smserver.conf\nwww = "%s"\nlog_level = debug\n' "$T/www2" >"$T/smserver.conf"
start_server --config "$T/smserver.conf"
CASE="www from config" req GET /
CASE="www from config" expect 200 'from the config file'
stop_server
printf 'listen = 127.0.0.1:0\nbogus = 1\n' >"$T/bad.conf"
exits 1 "$SMSERVER" --config "$T/bad.conf" --state-dir "$SM_STATE"
grep -q 'bogus' "$T/err" || fail "bad config message: $(cat "$T/err")"
pass "configuration file"

# "database" is another name for "db": either one picks the database, both is an error.
printf 'database = %s\n' "$T/by-name.db" >"$T/database.conf"
start_server --config "$T/database.conf"
CASE="database from config" req GET /health
CASE="database from config" expect 200
stop_server
# (On PostgreSQL the suite's wrapper gives --db, which comes before the file.)
on_pg || [ -s "$T/by-name.db" ] || fail "database = did not choose the database file"
printf 'db = %s\ndatabase = %s\n' "$T/a.db" "$T/b.db" >"$T/both.conf"
exits 1 "$SMSERVER" --config "$T/both.conf" --state-dir "$SM_STATE"
grep -q 'db and database are the same setting' "$T/err" || fail "both set: $(cat "$T/err")"
[ ! -e "$T/a.db" ] && [ ! -e "$T/b.db" ] || fail "a database was made when both were set"
pass "database = (another name for db)"

# A PostgreSQL address that accepts connections and never answers: libpq alone would
# wait for ever; smserver's default connect timeout (5 s) ends the start with a clear
# error. timeout(1) at 60 s marks a hang.
"$PY" -c '
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
open(sys.argv[1], "w").write("%d\n" % s.getsockname()[1])
time.sleep(120)' "$T/mute.port" &
MUTE_PID=$!
_kill_mute() { kill "$MUTE_PID" 2>/dev/null || true; }
at_exit _kill_mute
wait_for "the mute listener" test -s "$T/mute.port"
rc=0
env -u PGCONNECT_TIMEOUT timeout 60 "$SMSERVER" --listen 127.0.0.1:0 --state-dir "$SM_STATE" \
    --db "host=127.0.0.1 port=$(cat "$T/mute.port") user=nobody dbname=none" >"$T/err" 2>&1 || rc=$?
[ $rc -ne 124 ] || fail "smserver waited 60 s for a PostgreSQL that never answers"
[ $rc -eq 1 ] && grep -q 'postgresql: cannot connect.*timeout expired' "$T/err" ||
    fail "a PostgreSQL that never answers: exit $rc: $(cat "$T/err")"
pass "a PostgreSQL that never answers: the start ends after the connect timeout"
