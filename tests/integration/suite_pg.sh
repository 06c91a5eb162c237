#!/bin/sh
# suite_pg.sh: the server integration tests again, unchanged, on PostgreSQL: each test of
# PG_SUITE runs with SM_TEST_BACKEND=postgresql, so that server_lib.sh starts a private
# cluster for it (pg_lib.sh, one per test script, kept across the smserver restarts
# inside it) and every smserver of the test stores there (smserver_pg). A test that
# fails fails this one; one that skips is reported (a tool it needs is missing). Each
# test must leave no SQLite database behind: that would mean it ran on SQLite after all.
# SM_PG_SUITE="a.sh b.sh" runs only those.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"
pg_find_bin
PG_SUITE="
server_auth.sh server_agents.sh server_ingest.sh server_http.sh server_cli.sh
server_canary.sh server_durability.sh server_pipeline.sh http_edges.sh pipeline_hostile.sh
stream.sh history.sh metrics.sh alerts.sh alerts_cli.sh webhook_ssrf.sh depth.sh
procs_history.sh bad_input.sh agent_service.sh agent_crash.sh agent_spool_cap.sh
tls_server.sh smtop_client.sh tls_smtop.sh fault_spool.sh ingest_regress.sh
proxy_forwarded.sh psutil_ingest.sh smtop_client_expiry.sh fault_sigstop.sh
"

# SQLite-only, with the reason:
#   history_chunks.sh   sealed chunks are SQLite's layout (PostgreSQL keeps a row per sample
#                       in day partitions: there are no chunks to seal or decode)
#   fault_db_locked.sh  holds SQLite's write lock from another process
#   fault_wal.sh        damages the tail of the SQLite WAL file
#   fault_disk_full.sh  fills a tmpfs holding the SQLite file (the cluster's files are not
#                       in the state directory)
#   power_cut.sh        keeps only what was fsynced to the SQLite file (an LD_PRELOAD layer)
#   fault_kill.sh, fault_libs.sh  start smserver from python, not through server_lib.sh
#   channel_check_slow.sh  runs in a user namespace (unshare -r) where the cluster cannot
#                       be given a non-root owner, and PostgreSQL refuses to run as root
#   pg_*.sh, store_pg*.sh  on PostgreSQL already
#   agent_dns.sh        unshare -r too, as channel_check_slow.sh
# smtop_client_expiry.sh (76 s on PostgreSQL) and fault_sigstop.sh (36 s) are the
# slowest of the list.
# Known failing on PostgreSQL: none.

D=$top_srcdir/tests/integration
export SM_TEST_BACKEND=postgresql SM_PG_SUITE_LEAKS="$T/leaks"
: >"$SM_PG_SUITE_LEAKS"
failed= skipped= n=0
for t in ${SM_PG_SUITE:-$PG_SUITE}; do
    start=$(date +%s)
    rc=0
    sh "$D/$t" >"$T/${t%.sh}.log" 2>&1 </dev/null || rc=$?
    took=$(($(date +%s) - start))
    case $rc in
    0) echo "ok: $t on PostgreSQL (${took} s)" ;;
    77)
        echo "skip: $t on PostgreSQL: $(grep SKIP "$T/${t%.sh}.log" | tail -1)"
        skipped="$skipped $t"
        ;;
    *)
        echo "FAIL: $t on PostgreSQL, exit $rc (${took} s); its output:" >&2
        sed 's/^/    /' "$T/${t%.sh}.log" | tail -40 >&2
        failed="$failed $t"
        ;;
    esac
    n=$((n + 1))
done
if [ -s "$SM_PG_SUITE_LEAKS" ]; then
    echo "FAIL: these tests made a SQLite database on the PostgreSQL run:" >&2
    cat "$SM_PG_SUITE_LEAKS" >&2
    failed="$failed (SQLite files)"
fi
[ -z "$failed" ] || fail "on PostgreSQL:$failed"
[ -z "$skipped" ] || echo "skipped on PostgreSQL:$skipped"
pass "$n server integration tests on PostgreSQL"
