#!/bin/sh
# pg_password.sh: PostgreSQL refuses smserver's password (issue 21). The private cluster
# (pg_lib.sh) asks for scram-sha-256 from role smpw and md5 from role smmd5 (pg_hba.conf);
# the test's own role keeps trust over the socket to look inside.
#  - At start, no password, a wrong one (in PGPASSFILE, in the string as password=, in a
#    URI), a URI or string libpq cannot parse: exit 1 with a message naming the user and
#    database and "password authentication failed" (or what is wrong), the password in no
#    output, no SQLite file made, nothing written to the database.
#  - The right password through PGPASSFILE (0600): ingest and history round trip; md5 too.
#  - The password changes while smserver runs (ALTER ROLE, the sessions ended): ingest 503
#    with Retry-After, /health degraded, one clear log line per connection, the agent
#    spools; PGPASSFILE updated: smserver connects again without a restart, the spool
#    drains, every acknowledged sample stored once.
#  - smserver migrate --to with a refused password: exit 1, a clear message, nothing written.
# No password ever appears in a log, stderr, /health or /metrics.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"
. "$(dirname "$0")/pg_lib.sh"
need curl
pg_start
PW1='Right-pw-5f3a9'
PW2='Changed-pw-77c1'
BAD='Wrong-pw-0d2e4'
MD5PW='Md5-pw-a81b'
psql -XAtq -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE smpw LOGIN PASSWORD '$PW1'" -c "CREATE DATABASE pwdb OWNER smpw" \
    -c "CREATE DATABASE pwdb2 OWNER smpw" \
    -c "SET password_encryption = 'md5'" -c "CREATE ROLE smmd5 LOGIN PASSWORD '$MD5PW'" \
    -c "CREATE DATABASE md5db OWNER smmd5" >/dev/null || fail "roles and databases"
printf 'local all smtest trust\nlocal all smmd5 md5\nlocal all all scram-sha-256\n' >"$T/hba"
pg_as sh -c "cat >'$PG_DATA/pg_hba.conf'" <"$T/hba"
psql -XAtq -c "SELECT pg_reload_conf()" >/dev/null
[ "$(psql -XAtq -c "SELECT rolpassword LIKE 'SCRAM-SHA-256%' FROM pg_authid WHERE rolname = 'smpw'")" = t ] &&
    [ "$(psql -XAtq -c "SELECT rolpassword LIKE 'md5%' FROM pg_authid WHERE rolname = 'smmd5'")" = t ] ||
    fail "the roles' passwords are not scram-sha-256 and md5"
# The rules are in force: no password, no session.
! PGPASSFILE=/nonexistent psql -XAtq -w -U smpw -d pwdb -c 'SELECT 1' >/dev/null 2>&1 ||
    fail "the cluster let smpw in without a password"

CONN="host=$PG_SOCK port=5432 user=smpw dbname=pwdb"
# tables DB: how many tables of ours database DB holds (0: nothing was written).
tables() { psql -XAtq -d "$1" -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"; }
# nopw FILE...: no password of this test in the files.
nopw() {
    for f in "$@"; do
        for p in "$PW1" "$PW2" "$BAD" "$MD5PW" wr0ng; do
            ! grep -q -- "$p" "$f" || fail "a password is in $f: $(grep -- "$p" "$f")"
        done
    done
}
printf '*:*:*:smpw:%s\n' "$BAD" >"$T/pgpass.bad"
chmod 600 "$T/pgpass.bad"

# refused WANT PGPASSFILE DB: smserver on DB exits 1 at start, saying WANT (a grep -E
# pattern), no password in what it says, no SQLite file, nothing in pwdb.
refused() {
    rm -rf "$T/st0"
    rc=0
    PGPASSFILE=$2 "$SMSERVER" --listen 127.0.0.1:0 --state-dir "$T/st0" --db "$3" \
        >"$T/start.log" 2>&1 || rc=$?
    [ $rc = 1 ] || fail "$1: exit $rc: $(cat "$T/start.log")"
    grep -Eq -- "$1" "$T/start.log" || fail "no clear message ($1): $(cat "$T/start.log")"
    nopw "$T/start.log"
    [ -z "$(find "$T/st0" -name '*.db*')" ] || fail "$1: a SQLite file was made: $(ls "$T/st0")"
    [ "$(tables pwdb)" = 0 ] || fail "$1: something was written to pwdb"
    echo "    $(grep -m1 postgresql "$T/start.log")"
}
USER_DB='cannot connect as user smpw to database pwdb: .*'
refused "${USER_DB}no password supplied \(no password found: put it in the file PGPASSFILE" \
    /nonexistent "$CONN"
refused "${USER_DB}password authentication failed for user \"smpw\"" "$T/pgpass.bad" "$CONN"
refused "${USER_DB}password authentication failed for user \"smpw\"" /nonexistent \
    "$CONN password=$BAD"
refused "${USER_DB}password authentication failed for user \"smpw\"" /nonexistent \
    "$CONN password='$BAD'"
refused "${USER_DB}password authentication failed for user \"smpw\"" /nonexistent \
    "postgresql://smpw:$BAD@/pwdb?host=$PG_SOCK"
refused "${USER_DB}password authentication failed for user \"smpw\"" /nonexistent \
    "postgresql://smpw@/pwdb?host=$PG_SOCK&password=$BAD"
# Strings libpq cannot parse: it echoes the bad part, the password is masked.
refused 'cannot connect: invalid percent-encoded token: "\*\*\*"' /nonexistent \
    "postgresql://smpw:$BAD%zz@/pwdb?host=$PG_SOCK"
refused 'cannot connect: .*IPv6 host address in URI: "postgresql://smpw:\*\*\*@\[::1/pwdb"' \
    /nonexistent "postgresql://smpw:$BAD@[::1/pwdb"
refused 'cannot connect: missing "=" after "dbname"' /nonexistent "$CONN password=$BAD dbname"
refused 'cannot connect: unterminated quoted string' /nonexistent "$CONN password='wr0ng"
refused 'cannot connect as user smmd5 to database md5db: .*password authentication failed for user "smmd5"' \
    /nonexistent "host=$PG_SOCK user=smmd5 dbname=md5db password=$BAD"
pass "refused at start (no password, wrong in PGPASSFILE, password=, URI, md5; strings libpq cannot parse): exit 1, user and database named, no password shown, nothing written"

# The right password through PGPASSFILE (0600).
printf '*:*:*:smpw:%s\n*:*:md5db:smmd5:%s\n' "$PW1" "$MD5PW" >"$T/pgpass"
chmod 600 "$T/pgpass"
export PGPASSFILE="$T/pgpass"
PG_CONNINFO="host=$PG_SOCK port=5432 user=smmd5 dbname=md5db"
start_inst m
URL=http://127.0.0.1:$m_PORT
req GET /health
expect 200 '"status":"ok"'
kill -TERM "$m_PID"
wait "$m_PID" || fail "the md5 instance exited $? after SIGTERM"
PG_CONNINFO=$CONN
start_inst a
URL=http://127.0.0.1:$a_PORT
register pat 'password test password 1'
login pat 'password test password 1'
AUTH="Authorization: Bearer $ACCESS"
add_agent "$AUTH" loop
ID1=$AGENT_ID
printf '%s\n' "$AGENT_TOKEN" >"$T/loop.tok"
add_agent "$AUTH" agent
ID2=$AGENT_ID
printf '%s\n' "$AGENT_TOKEN" >"$T/agent.tok"
chmod 600 "$T/loop.tok" "$T/agent.tok"
BASE=$(($(date +%s) - 3600))
# post I: the loop agent's sample at BASE + I s, cpu I % 100; CODE, $T/body, $T/headers.
post() {
    printf '{"timestamp": %d, "cpu": {"usage_percent": %d}}' $((BASE + $1)) $(($1 % 100)) >"$T/s.json"
    req POST /ingest -m 30 -H "X-Agent-Token: $(cat "$T/loop.tok")" \
        -H 'Content-Type: application/json' --data-binary @"$T/s.json"
    [ "$CODE" != 200 ] || echo "$1" >>"$T/acked"
}
: >"$T/acked"
for i in 0 1 2 3 4; do
    post $i
    expect 200
done
req GET "/history/$ID1/cpu?start=$BASE&stop=$((BASE + 5))&points=5" -H "$AUTH"
expect 200
[ "$(body '[float(d["value"]) for d in j["data"]]')" = "[0.0, 1.0, 2.0, 3.0, 4.0]" ] ||
    fail "history of the posted samples: $(cat "$T/body")"
[ "$(psql -XAtq -d pwdb -c "SELECT count(*) FROM samples")" = 5 ] || fail "samples in pwdb"
pass "the right password through PGPASSFILE: scram-sha-256 and md5 start, ingest and history round trip"

"$SMAGENT" --server "$URL" --token-file "$T/agent.tok" --interval 1 --spool "$T/spool" \
    --spool-max 1M --log-level debug >"$T/agent.log" 2>&1 &
AGENT_PID=$!
_kill_agent() { kill -KILL "$AGENT_PID" 2>/dev/null || true; }
at_exit _kill_agent
sent() { [ "$(psql -XAtq -d pwdb -c "SELECT count(*) FROM samples WHERE agent_id = $ID2")" -ge 2 ]; }
WAIT_TRIES=300 wait_for "the agent's samples" sent

# The password changes; the sessions end (a restart of PostgreSQL, a pooler, an
# administrator): every connection of smserver must be made again, with the old password.
psql -XAtq -c "ALTER ROLE smpw PASSWORD '$PW2'" >/dev/null
psql -XAtq -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'smpw'" >/dev/null
n=5
: >"$T/refusals"
for k in 1 2 3 4 5 6; do
    post $n
    n=$((n + 1))
    [ "$CODE" = 503 ] || fail "ingest with the password refused: $CODE $(cat "$T/body")"
    grep -qi '^retry-after: [1-9]' "$T/headers" || fail "503 without Retry-After: $(cat "$T/headers")"
    cat "$T/body" >>"$T/refusals"
    echo >>"$T/refusals"
    sleep 0.3
done
grep -q 'storage unavailable: the database cannot be reached' "$T/refusals" || fail "the 503s do not say the database: $(cat "$T/refusals")"
req GET /health
expect 503 '"db":"unavailable"'
grep -q '"ingest":"refused: database unavailable"\|"ingest":"ok"' "$T/body" || fail "/health: $(cat "$T/body")"
cp "$T/body" "$T/health.json"
spooled() { c=$(grep -c "spooled the sample of" "$T/agent.log") || :; [ "${c:-0}" -ge 2 ]; }
WAIT_TRIES=300 wait_for "the agent to spool" spooled
LINE='cannot connect as user smpw to database pwdb: .*password authentication failed for user "smpw"'
grep -Eq "$LINE" "$T/a/log" || fail "no clear log line: $(tail -5 "$T/a/log")"
lines=$(grep -Ec "$LINE" "$T/a/log")
[ "$lines" -le 12 ] || fail "the refusal logged $lines times (once per connection expected)"
pass "password changed: ingest 503 with Retry-After ($(head -1 "$T/refusals")), /health $(cat "$T/health.json"), the agent spools; logged $lines times: $(grep -Em1 "$LINE" "$T/a/log" | cut -c1-160)"

# The operator puts the new password in the file: smserver takes it at its next connection.
printf '*:*:*:smpw:%s\n*:*:md5db:smmd5:%s\n' "$PW2" "$MD5PW" >"$T/pgpass"
ok=0
i=0
while [ $ok -lt 3 ]; do
    i=$((i + 1))
    [ $i -lt 200 ] || fail "ingest did not resume with the new password: $CODE $(cat "$T/body")"
    post $n
    n=$((n + 1))
    case $CODE in
    200) ok=$((ok + 1)) ;;
    503) grep -qi '^retry-after: [1-9]' "$T/headers" || fail "503 without Retry-After" ;;
    *) fail "ingest after the new password: $CODE $(cat "$T/body")" ;;
    esac
    sleep 0.1
done
grep -q "postgresql: connected again as user smpw to database pwdb" "$T/a/log" ||
    fail "no log line for the connection made again"
WAIT_TRIES=600 wait_for "the spool to drain" spool_empty "$T/spool"
sleep 1.5
kill -TERM "$AGENT_PID"
wait "$AGENT_PID" || fail "smagent exited $? after SIGTERM"
req GET /health
expect 200 '"status":"ok"'
req GET /metrics
expect 200
cp "$T/body" "$T/metrics.txt"
psql -XAtq -d pwdb -c "SELECT ts FROM samples WHERE agent_id = $ID1" >"$T/stored1"
sed -n 's/.*spooled the sample of \([0-9.]*\).*/\1/p' "$T/agent.log" >"$T/spooled"
psql -XAtq -d pwdb -c "SELECT ts FROM samples WHERE agent_id = $ID2" >"$T/stored2"
"$PY" - "$BASE" "$T/acked" "$T/stored1" "$T/spooled" "$T/stored2" <<'PY' >"$T/count.txt" || { cat "$T/count.txt" >&2; fail "acknowledged samples lost or doubled"; }
import sys
base = int(sys.argv[1]) * 1000
acked = {base + int(x) * 1000 for x in open(sys.argv[2]).read().split()}
stored = [int(x) for x in open(sys.argv[3]).read().split()]
spooled = {round(float(x) * 1000) for x in open(sys.argv[4]).read().split()}
stored2 = [int(x) for x in open(sys.argv[5]).read().split()]
s2 = set(stored2)
lost = sorted(acked - set(stored))
lost2 = [t for t in spooled if not {t - 1, t, t + 1} & s2]
print("loop: %d acknowledged, %d stored, %d lost, %d doubled; agent: %d spooled, %d stored, %d lost, %d doubled" %
      (len(acked), len(stored), len(lost), len(stored) - len(set(stored)),
       len(spooled), len(stored2), len(lost2), len(stored2) - len(s2)))
sys.exit(1 if lost or lost2 or len(stored) != len(set(stored)) or len(stored2) != len(s2) or len(spooled) < 2 else 0)
PY
pass "new password in PGPASSFILE: connected again without a restart; $(cat "$T/count.txt")"

# smserver migrate into pwdb2 with a refused password: exit 1, clear, nothing written.
mkdir -p "$T/sq"
printf 'pw-123456\n' | "$SMSERVER" user add mig --state-dir "$T/sq" >/dev/null 2>&1 ||
    fail "a SQLite database to migrate"
before=$(cksum <"$T/sq/statusmonitor.db")
for pf in "$T/pgpass.bad" /nonexistent; do
    rc=0
    PGPASSFILE=$pf "$SMSERVER" migrate --from "$T/sq/statusmonitor.db" \
        --to "host=$PG_SOCK port=5432 user=smpw dbname=pwdb2" >"$T/mig.out" 2>"$T/mig.err" || rc=$?
    [ $rc = 1 ] || fail "migrate with a refused password: exit $rc: $(cat "$T/mig.err")"
    grep -Eq 'migrate: postgresql: cannot connect as user smpw to database pwdb2: .*(password authentication failed for user "smpw"|no password supplied)' \
        "$T/mig.err" || fail "migrate: no clear message: $(cat "$T/mig.err")"
    [ ! -s "$T/mig.out" ] || fail "migrate printed progress: $(cat "$T/mig.out")"
    nopw "$T/mig.err"
done
rc=0
"$SMSERVER" migrate --from "$T/sq/statusmonitor.db" \
    --to "postgresql://smpw:$BAD@/pwdb2?host=$PG_SOCK" >"$T/mig.out" 2>"$T/mig.err" || rc=$?
[ $rc = 1 ] && grep -q 'password authentication failed for user "smpw"' "$T/mig.err" ||
    fail "migrate, password in the URI: exit $rc: $(cat "$T/mig.err")"
nopw "$T/mig.err"
[ "$(tables pwdb2)" = 0 ] || fail "migrate wrote to pwdb2 with a refused password"
[ "$(cksum <"$T/sq/statusmonitor.db")" = "$before" ] || fail "migrate changed the SQLite file"
pass "migrate --to with a refused password: exit 1, $(head -1 "$T/mig.err" | cut -c1-120)..., nothing written"

stop_inst() { kill -TERM "$a_PID"; wait "$a_PID" || fail "smserver exited $? after SIGTERM"; }
stop_inst
nopw "$T/a/log" "$T/m/log" "$T/health.json" "$T/metrics.txt" "$T/refusals"
pass "no password in the logs, /health or /metrics"
