# server_lib.sh: start a private smserver and talk to it with curl (sourced after lib.sh).
need curl python3
# The distribution's python starts in a fraction of a pyenv shim's time.
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
json() { "$PY" -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"; }

# SM_TEST_BACKEND=postgresql (tests/integration/suite_pg.sh): the same test on a private
# PostgreSQL cluster (pg_lib.sh), one per test, every smserver of the test on it through
# smserver_pg, each state directory's database a database of the cluster.
SM_BACKEND=${SM_TEST_BACKEND:-sqlite}
case $SM_BACKEND in
sqlite) ;;
postgresql)
    . "$top_srcdir/tests/integration/pg_lib.sh"
    [ -n "${PG_CONNINFO:-}" ] || pg_start
    SM_REAL_SMSERVER=$SMSERVER
    SMSERVER=$top_srcdir/tests/integration/smserver_pg
    SM_TEST_ROOT=$T
    export SM_REAL_SMSERVER SM_TEST_ROOT
    at_exit _pg_no_sqlite
    ;;
*) fail "SM_TEST_BACKEND=$SM_BACKEND: expected sqlite or postgresql" ;;
esac
# On PostgreSQL a SQLite database left in $T means a server that ran on SQLite after all:
# suite_pg.sh counts it as a failure (the test's own status is settled by then).
_pg_no_sqlite() {
    _f=$(find "$T" \( -name '*.db' -o -name '*.db-wal' \) -print 2>/dev/null | head -3)
    [ -z "$_f" ] || echo "$0: $_f" >>"${SM_PG_SUITE_LEAKS:-/dev/stderr}"
}
# on_pg: whether this run stores in PostgreSQL.
on_pg() { [ "$SM_BACKEND" = postgresql ]; }

SM_STATE=$T/state
SM_LOG=$T/server.log
SM_PID=

# start_server [ARGS...]: a fresh server on 127.0.0.1 port 0; sets PORT and URL.
start_server() {
    rm -f "$T/port"
    "$SMSERVER" --listen 127.0.0.1:0 --state-dir "$SM_STATE" --port-file "$T/port" "$@" \
        >>"$SM_LOG" 2>&1 &
    SM_PID=$!
    i=0
    while [ ! -s "$T/port" ]; do
        kill -0 "$SM_PID" 2>/dev/null || { cat "$SM_LOG" >&2; fail "smserver did not start"; }
        i=$((i + 1))
        [ $i -lt 200 ] || fail "smserver did not write its port file"
        sleep 0.05
    done
    PORT=$(cat "$T/port")
    URL=http://127.0.0.1:$PORT
}

# stop_server: SIGTERM, and it must exit 0.
stop_server() {
    [ -n "$SM_PID" ] || return 0
    kill -TERM "$SM_PID"
    rc=0
    wait "$SM_PID" || rc=$?
    SM_PID=
    [ $rc -eq 0 ] || fail "smserver exited $rc after SIGTERM"
}

_kill_server() { [ -z "$SM_PID" ] || kill -KILL "$SM_PID" 2>/dev/null || true; }
at_exit _kill_server

# req METHOD PATH [CURL-ARGS...]: sets CODE; the body is in $T/body, headers in $T/headers.
req() {
    m=$1 p=$2
    shift 2
    CODE=$(curl -s -o "$T/body" -D "$T/headers" -w '%{http_code}' -X "$m" "$@" "$URL$p") || CODE=000
}

# expect CODE [TEXT]: the last reply had status CODE (and its body contains TEXT).
expect() {
    [ "$CODE" = "$1" ] || fail "${CASE:-request}: expected $1, got $CODE: $(cat "$T/body")"
    if [ $# -gt 1 ]; then
        grep -qF -- "$2" "$T/body" || fail "${CASE:-request}: body lacks '$2': $(cat "$T/body")"
    fi
}

# body EXPR: a value from the last JSON reply ('j'), with python.
body() { json "$T/body" "$1"; }
# field NAME: a top-level string or number of the last (compact JSON) reply, without python.
field() {
    _v=$(sed -n -e "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" -e "t" \
        -e "s/.*\"$1\":\([-0-9.e]*\).*/\1/p" "$T/body")
    printf '%s\n' "$_v"
}

# register NAME PASSWORD; login NAME PASSWORD (sets ACCESS and REFRESH).
register() {
    req POST /register -H 'Content-Type: application/json' \
        -d "{\"username\":\"$1\",\"password\":\"$2\"}"
    expect 200
}
login() {
    req POST /token -d "username=$1&password=$2"
    expect 200
    ACCESS=$(field access_token)
    REFRESH=$(field refresh_token)
}

# add_agent AUTH-HEADER NAME: create an agent through the API; sets AGENT_ID and
# AGENT_TOKEN.
add_agent() {
    req POST /agents -H "$1" -H 'Content-Type: application/json' -d "{\"name\":\"$2\"}"
    expect 200
    AGENT_ID=$(field id)
    AGENT_TOKEN=$(field token)
}

# add_agents AUTH-HEADER N: agents host1..hostN; sets ID1..IDN and writes each token to
# $T/agentK.tok (mode 0600).
add_agents() {
    _n=1
    while [ $_n -le "$2" ]; do
        add_agent "$1" "host$_n"
        eval "ID$_n=$AGENT_ID"
        printf '%s\n' "$AGENT_TOKEN" >"$T/agent$_n.tok"
        chmod 600 "$T/agent$_n.tok"
        _n=$((_n + 1))
    done
}

# post_once TOKEN: post one sample of this machine (smagent --once) as the agent whose
# token is TOKEN; prints the HTTP status.
post_once() {
    "$SMAGENT" --once >"$T/once.json" || fail "smagent --once failed"
    curl -s -o /dev/null -w '%{http_code}' -H "X-Agent-Token: $1" \
        -H 'Content-Type: application/json' --data-binary @"$T/once.json" "$URL/ingest"
}

# sql QUERY [PG-QUERY]: run a query on the server's database (that of $SM_STATE) and print
# the rows, columns separated by '|': on SQLite with python's sqlite3, the raw points
# packed in the samples there as a table raw_points(series_id, ts, value) (smdb.py); on
# PostgreSQL with psql, raw_points a view of the samples' arrays. PG-QUERY, when given, is
# the query in PostgreSQL's dialect where the two differ.
sql() {
    if on_pg; then
        psql -XAtq -v ON_ERROR_STOP=1 -d "$(pg_db_conninfo "$(pg_db_name "$SM_STATE/statusmonitor.db")")" \
            -c "CREATE TEMP VIEW raw_points AS SELECT u.series_id, s.ts, u.value FROM samples s, unnest(s.sids, s.vals) AS u(series_id, value)" \
            -c "CREATE TEMP VIEW raw_samples AS SELECT agent_id, ts FROM samples" \
            -c "${2:-$1}"
    else
        "$PY" "$top_srcdir/tests/integration/smdb.py" "$SM_STATE/statusmonitor.db" "$1"
    fi
}
