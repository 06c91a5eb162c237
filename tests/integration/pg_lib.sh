# pg_lib.sh: a private PostgreSQL cluster for one test (sourced after lib.sh, not run).
# pg_start initdbs a cluster in $T/pg and starts it listening on a Unix socket in that
# directory only (no TCP port, no system service); the cluster is stopped and removed
# when the test exits (lib.sh's trap removes $T). After pg_start, PG_CONNINFO is a libpq
# connection string for the database "smtest", and PGHOST/PGPORT/PGDATABASE let psql in.
#
# PostgreSQL refuses to run as root. When the test runs as root (CI), the cluster runs
# as SM_PG_USER (default nobody) with $T/pg owned by it; the socket directory is
# world-reachable and the cluster trusts local connections, which is safe only because
# the directory is private to this test and removed with it.
# Skips (77) when no PostgreSQL server binaries are installed.
#
# Before pg_start, a test may set PG_DATA_AT (the data directory, e.g. on a file system of
# its own; default $T/pg/data) and PG_INITDB_ARGS (more initdb options, e.g. -X DIR to keep
# the WAL elsewhere). pg_ctl_start starts the cluster again after a stop.

pg_find_bin() {
    PG_BIN=
    for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && PG_BIN=$d
    done
    [ -n "$PG_BIN" ] || skip "no PostgreSQL server (apt-get install postgresql)"
}

# pg_as CMD...: run CMD as the cluster's owner (as is, when not root).
pg_as() {
    if [ "$(id -u)" = 0 ]; then
        setpriv --reuid="$PG_UID" --regid="$PG_GID" --clear-groups -- "$@"
    else
        "$@"
    fi
}

_pg_stop() {
    [ -n "${PG_DATA:-}" ] && [ -f "$PG_DATA/postmaster.pid" ] || return 0
    pg_as "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w stop >/dev/null 2>&1 || true
}

# pg_ctl_start: start the cluster of pg_start (again), waiting until it takes connections.
# No TCP at all, the socket in the private directory, and small settings for a shared
# machine. fsync stays on: the tests check durability claims.
pg_ctl_start() {
    pg_as "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_DIR/server.log" -w -t 60 \
        -o "-c listen_addresses='' -c unix_socket_directories='$PG_SOCK' -c port=5432 -c unix_socket_permissions=0777 -c max_connections=30 -c shared_buffers=16MB" \
        start >/dev/null
}

pg_start() {
    pg_find_bin
    PG_DIR=$T/pg
    PG_DATA=${PG_DATA_AT:-$PG_DIR/data}
    PG_SOCK=$PG_DIR/sock
    mkdir -p "$PG_DIR" "$PG_SOCK"
    if [ "$(id -u)" = 0 ]; then
        need setpriv
        u=${SM_PG_USER:-nobody}
        PG_UID=$(id -u "$u") || skip "no user $u to run PostgreSQL as"
        PG_GID=$(id -g "$u")
        # The owner must reach its directory: $T is mode 0700 and root's.
        chmod 0711 "$T"
        chown -R "$PG_UID:$PG_GID" "$PG_DIR"
        [ ! -d "$PG_DATA" ] || chown "$PG_UID:$PG_GID" "$PG_DATA"
    fi
    # The socket directory is where clients connect; the cluster itself creates the
    # socket. The test (root or not) reaches it: 0755 directory, 0777 socket.
    chmod 0755 "$PG_SOCK"
    at_exit _pg_stop
    # shellcheck disable=SC2086
    pg_as "$PG_BIN/initdb" -D "$PG_DATA" -U smtest -A trust -E UTF8 --no-locale ${PG_INITDB_ARGS:-} \
        >"$PG_DIR/initdb.log" 2>&1 || {
        cat "$PG_DIR/initdb.log" >&2
        fail "initdb failed"
    }
    pg_ctl_start || {
        cat "$PG_DIR/server.log" >&2
        fail "pg_ctl start failed"
    }
    PGHOST=$PG_SOCK
    PGPORT=5432
    PGUSER=smtest
    export PGHOST PGPORT PGUSER
    "$PG_BIN/createdb" -h "$PG_SOCK" -U smtest smtest || fail "createdb failed"
    PGDATABASE=smtest
    export PGDATABASE
    PG_CONNINFO=$(pg_db_conninfo smtest)
    # For tests/integration/smserver_pg, which runs in a process of its own.
    export PG_BIN PG_DIR PG_SOCK
}

# pg_db_name PATH: the database of this cluster that stands for the SQLite file PATH
# (SM_TEST_BACKEND=postgresql): a name made of PATH below $T, so that each state
# directory of a test keeps a database of its own, as it would keep its own file.
pg_db_name() {
    case $1 in /*) _p=$1 ;; *) _p=$PWD/$1 ;; esac
    _p=${_p#"$SM_TEST_ROOT"/}
    _n=db_$(printf '%s' "$_p" | tr -c 'A-Za-z0-9' '_' | tr 'A-Z' 'a-z')
    # PostgreSQL's names stop at 63 bytes: a long path keeps its end and a checksum.
    [ ${#_n} -le 63 ] || _n=db_$(printf '%s' "$_p" | cksum | cut -d' ' -f1)_$(printf '%s' "$_n" | tail -c 40)
    printf '%s\n' "$_n"
}

# pg_db_ensure NAME: create database NAME in the cluster unless it is there already.
pg_db_ensure() {
    [ ! -e "$PG_DIR/dbs/$1" ] || return 0
    mkdir -p "$PG_DIR/dbs"
    # Two smservers of one state directory may start together: the loser's "already
    # exists" is no error, a database still missing after it is.
    "$PG_BIN/createdb" -h "$PG_SOCK" -p 5432 -U smtest "$1" 2>"$PG_DIR/dbs/$1.err" ||
        [ "$(psql -XAtq -h "$PG_SOCK" -p 5432 -U smtest -d smtest \
            -c "SELECT count(*) FROM pg_database WHERE datname = '$1'")" = 1 ] || {
        cat "$PG_DIR/dbs/$1.err" >&2
        return 1
    }
    : >"$PG_DIR/dbs/$1"
}

# pg_each_stored N MIN: agents ID1..IDN (add_agents) each have at least MIN samples in
# the cluster's database.
pg_each_stored() {
    _k=1
    while [ $_k -le "$1" ]; do
        eval "_id=\$ID$_k"
        [ "$(psql -XAtq -c "SELECT count(*) FROM samples WHERE agent_id = $_id")" -ge "$2" ] || return 1
        _k=$((_k + 1))
    done
}

# pg_loop_stored ID BASE LOOP: every sample that the curl loop of pg_outage.sh and
# pg_disk_full.sh had acknowledged (the lines "i code ..." of file LOOP with code 200, each
# the sample of time BASE + i s) is stored once as agent ID's, and nothing twice; prints
# what it found into $T/loop.txt, and fails the test otherwise.
pg_loop_stored() {
    psql -XAtq -c "SELECT ts FROM samples WHERE agent_id = $1" >"$T/loop.stored"
    awk '$2 == 200 { print $1 }' "$3" >"$T/loop.acked"
    "$PY" - "$T/loop.acked" "$T/loop.stored" "$2" <<'PY' >"$T/loop.txt" || { cat "$T/loop.txt" >&2; fail "the loop's acknowledged samples"; }
import sys
base = int(sys.argv[3])
acked = {base * 1000 + int(i) * 1000 for i in open(sys.argv[1]).read().split()}
stored = [int(x) for x in open(sys.argv[2]).read().split()]
lost = sorted(acked - set(stored))
print("curl loop: %d acknowledged, %d stored, %d lost, %d duplicated" %
      (len(acked), len(stored), len(lost), len(stored) - len(set(stored))))
sys.exit(1 if lost or len(stored) != len(set(stored)) else 0)
PY
}

# pg_spool_stored N MIN: agent N of add_agents (ID<N>), whose smagent logged to
# $T/agent<N>.log, spooled at least MIN samples and each is stored once (within the
# millisecond the log's three decimals give), nothing twice; appends what it found to
# $T/agents.txt, and fails the test otherwise.
pg_spool_stored() {
    eval "_id=\$ID$1"
    sed -n 's/.*spooled the sample of \([0-9.]*\).*/\1/p' "$T/agent$1.log" >"$T/spooled$1"
    psql -XAtq -c "SELECT ts FROM samples WHERE agent_id = $_id" >"$T/stored$1"
    "$PY" - "$T/spooled$1" "$T/stored$1" "$1" "$2" <<'PY' >>"$T/agents.txt" || { cat "$T/agents.txt" >&2; fail "agent $1 lost samples"; }
import sys
spooled = {round(float(x) * 1000) for x in open(sys.argv[1]).read().split()}
stored = [int(x) for x in open(sys.argv[2]).read().split()]
s = set(stored)
lost = sorted(t for t in spooled if not {t - 1, t, t + 1} & s)
print("agent %s: %d spooled, %d stored, %d lost, %d duplicated" %
      (sys.argv[3], len(spooled), len(stored), len(lost), len(stored) - len(s)))
sys.exit(1 if lost or len(stored) != len(s) or len(spooled) < int(sys.argv[4]) else 0)
PY
}

# pg_db_conninfo NAME: the libpq string of database NAME in this cluster.
pg_db_conninfo() { printf 'host=%s port=5432 user=smtest dbname=%s\n' "$PG_SOCK" "$1"; }

# start_inst NAME [OPTION...]: an smserver on the cluster, its state and log in
# $T/NAME, with the options given; sets NAME_PID and NAME_PORT. It listens on
# $PG_LISTEN when set (a fixed address, for an instance restarted behind a balancer),
# else on a free port. Every instance signs
# tokens with the same key: the first one's, copied before the others start.
start_inst() {
    n=$1
    shift
    : "${PG_FIRST_INST:=$n}"
    mkdir -p "$T/$n"
    rm -f "$T/$n/port"
    if [ -f "$T/$PG_FIRST_INST/state/secret.key" ] && [ ! -f "$T/$n/state/secret.key" ]; then
        mkdir -m 0700 -p "$T/$n/state"
        cp -p "$T/$PG_FIRST_INST/state/secret.key" "$T/$n/state/secret.key"
    fi
    "$SMSERVER" --listen "${PG_LISTEN:-127.0.0.1:0}" --state-dir "$T/$n/state" --db "$PG_CONNINFO" \
        --port-file "$T/$n/port" --log-level info "$@" >>"$T/$n/log" 2>&1 &
    eval "${n}_PID=$!"
    i=0
    while [ ! -s "$T/$n/port" ]; do
        kill -0 "$(eval echo \$${n}_PID)" 2>/dev/null || { cat "$T/$n/log" >&2; fail "instance $n did not start"; }
        i=$((i + 1))
        [ $i -lt 400 ] || fail "instance $n wrote no port file"
        sleep 0.05
    done
    eval "${n}_PORT=$(cat "$T/$n/port")"
}
