#!/bin/sh
# bench_density.sh: bytes per stored point of smserver (raw points sealed in chunks,
# open rows, rollups and the rest reported apart), of the chunk codec alone
# (smserver/chunk.c) and, on the same points, of VictoriaMetrics and a Prometheus TSDB;
# ingest points/s and the p50 of -24h and -7d history queries for smserver and
# VictoriaMetrics.
#
# The data: smagent -i 1 on this machine records SM_DENSITY_RECORD seconds (default 90)
# of real samples into a stand-in for /ingest (density.py record); density.py replay
# then posts a day of 1 Hz samples (SM_DENSITY_SECONDS, default 86400) ending now
# through the real POST /ingest of a real smserver. SM_DENSITY_REPLAY=walk (default):
# each field walks with steps drawn from its own recorded steps, in its recorded
# decimals and range; =loop: the recorded samples over and over (exact repeats, which
# VictoriaMetrics' zstd blocks reduce to almost nothing: it flatters VictoriaMetrics). The points smserver stored are read
# back from its database and given, unchanged, to the codec, VictoriaMetrics (import API)
# and promtool (OpenMetrics backfill). SM_BENCH_QUICK=1: 15 s recorded, one hour replayed.
#
# Without victoria-metrics or promtool (Debian packages victoria-metrics, prometheus;
# ./bootstrap check installs them) it says so and prints the others' figures.
# SM_DENSITY_KEEP=DIR keeps the recorded samples (rec.jsonl), the points (points.tsv) and
# smserver's database (statusmonitor.db);
# SM_DENSITY_REC=FILE replays such a rec.jsonl instead of recording (two builds, same data:
# top_builddir=OTHER_BUILD names the other build's binaries).
# With PostgreSQL's server installed (Debian postgresql), the same replay goes into an
# smserver on a private cluster (tests/integration/pg_lib.sh) too, sealed there by its
# rollup step: bytes per point by table beside SQLite's (SM_DENSITY_PG=0 skips it).
set -eu
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
if [ "${SM_BENCH_QUICK:-0}" = 1 ]; then
    RECORD=${SM_DENSITY_RECORD:-15}
    SECONDS_=${SM_DENSITY_SECONDS:-3600}
else
    RECORD=${SM_DENSITY_RECORD:-90}
    SECONDS_=${SM_DENSITY_SECONDS:-86400}
fi
QUERIES=${SM_DENSITY_QUERIES:-21}
REPLAY=${SM_DENSITY_REPLAY:-walk}
SMSERVER=$top_builddir/smserver/smserver
SMAGENT=$top_builddir/smagent/smagent
CHUNK=$top_builddir/tests/bench/bench_chunk
PY="python3 $top_srcdir/tests/bench/density.py"
T=$(mktemp -d "${TMPDIR:-/tmp}/smdensity.XXXXXX")
PIDS=
cleanup() {
    for p in $PIDS; do kill -KILL "$p" 2>/dev/null || true; done
    for h in ${PG_HOOKS:-}; do "$h" || true; done
    # SM_DENSITY_KEEP=DIR keeps the recorded samples and the stored points there.
    if [ -n "${SM_DENSITY_KEEP:-}" ]; then
        mkdir -p "$SM_DENSITY_KEEP" && cp "$T/rec.jsonl" "$T/points.tsv" "$T/state/statusmonitor.db" \
            "$SM_DENSITY_KEEP/" 2>/dev/null || true
    fi
    rm -rf "$T"
}
trap cleanup EXIT INT TERM
say() { printf 'density: %s\n' "$*"; }

wait_file() { # FILE LOG: wait up to 10 s for FILE to be non-empty
    i=0
    while [ ! -s "$1" ]; do
        i=$((i + 1))
        [ $i -lt 200 ] || { cat "$2" >&2; exit 1; }
        sleep 0.05
    done
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# p50 of the request times (seconds, one a line) on stdin, in milliseconds.
p50_ms() { sort -n | awk '{ a[NR] = $1 } END { if (NR) printf "%.1f", a[int((NR + 1) / 2)] * 1000 }'; }

dbytes() { du -sb "$1" 2>/dev/null | cut -f1; }

#---------------------------------------------------------------- record real samples
if [ -n "${SM_DENSITY_REC:-}" ]; then
    # A recording kept by an earlier run (SM_DENSITY_KEEP): two builds compared on the
    # same samples.
    [ -s "$SM_DENSITY_REC" ] || { say "SM_DENSITY_REC: $SM_DENSITY_REC is missing or empty"; exit 1; }
    cp "$SM_DENSITY_REC" "$T/rec.jsonl"
    say "using the recorded samples in $SM_DENSITY_REC"
else
    say "recording $RECORD s of this machine's samples (smagent -i 1)"
    $PY record "$T/rec.port" "$T/rec.jsonl" 2>"$T/rec.log" &
    PIDS="$PIDS $!"
    wait_file "$T/rec.port" "$T/rec.log"
    printf 'bench-token\n' >"$T/rec.token"
    "$SMAGENT" --server "http://127.0.0.1:$(cat "$T/rec.port")" --token-file "$T/rec.token" \
        --interval 1 --spool "$T/spool" --foreground --log-level error 2>"$T/agent.log" &
    APID=$!
    PIDS="$PIDS $APID"
    sleep "$RECORD"
    # A loaded machine may start the agent late: give it up to 30 s more for two samples.
    i=0
    while [ "$(wc -l <"$T/rec.jsonl" 2>/dev/null || echo 0)" -lt 2 ] && [ $i -lt 30 ]; do
        i=$((i + 1))
        sleep 1
    done
    kill -TERM "$APID" 2>/dev/null || true
    wait "$APID" 2>/dev/null || true
    nrec=$(wc -l <"$T/rec.jsonl")
    [ "$nrec" -ge 2 ] || { say "recorded only $nrec samples"; cat "$T/agent.log" >&2; exit 1; }
fi
nrec=$(wc -l <"$T/rec.jsonl")

#---------------------------------------------------------------- smserver
printf 'bench password\n' | "$SMSERVER" user add bench --state-dir "$T/state" >/dev/null 2>&1
"$SMSERVER" agent add --user bench density --state-dir "$T/state" 2>/dev/null |
    sed 's/.*"token":"\([^"]*\)".*/\1/' >"$T/token"
"$SMSERVER" --listen 127.0.0.1:0 --state-dir "$T/state" --port-file "$T/port" \
    --log-level warn 2>"$T/server.log" &
SPID=$!
PIDS="$PIDS $SPID"
wait_file "$T/port" "$T/server.log"
URL=http://127.0.0.1:$(cat "$T/port")
say "replaying $SECONDS_ s of 1 Hz samples ($REPLAY, from $nrec recorded) into smserver"
$PY replay "$URL" "$T/token" "$T/rec.jsonl" "$SECONDS_" "$REPLAY" >"$T/replay"
ingest_s=$(sed -n 's/^replay samples [0-9]* seconds //p' "$T/replay")
DB=$T/state/statusmonitor.db
# Rollups are computed behind ingest: wait (up to 120 s) until no minute is dirty.
i=0
while [ "$(sqlite3 "$DB" 'SELECT count(*) FROM rollup_dirty' 2>/dev/null || echo 1)" != 0 ]; do
    i=$((i + 1))
    [ $i -lt 1200 ] || { say "rollups still dirty after 120 s"; break; }
    sleep 0.1
done
rollup_wait=$(awk -v i=$i 'BEGIN { printf "%.1f", i / 10 }')
# Then until every closed window is sealed into chunks (history_seal, up to 300 s): only
# the newest window's samples stay rows.
i=0
open_sql="SELECT count(*) FROM samples WHERE ts < (SELECT max(ts) FROM samples) / 7200000 * 7200000"
while [ "$(sqlite3 "$DB" "$open_sql" 2>/dev/null || echo 1)" != 0 ]; do
    i=$((i + 1))
    [ $i -lt 3000 ] || { say "windows still unsealed after 300 s"; break; }
    sleep 0.1
done
seal_wait=$(awk -v i=$i 'BEGIN { printf "%.1f", i / 10 }')

# The -24h history of cpu.usage (the original /history/{id}/cpu endpoint), QUERIES times.
ACCESS=$(curl -sf -X POST "$URL/token" -H 'Content-Type: application/json' \
    -d '{"username":"bench","password":"bench password"}' |
    sed 's/.*"access_token":"\([^"]*\)".*/\1/')
AID=$(curl -sf "$URL/agents" -H "Authorization: Bearer $ACCESS" | sed 's/^\[{"id":\([0-9]*\).*/\1/')
# The same for -7d (the data holds a day: the week's query reads the hour tier).
for range in 24h 7d; do
    q=0
    : >"$T/sm.times.$range"
    while [ $q -lt "$QUERIES" ]; do
        curl -sf -o "$T/sm.reply.$range" -w '%{time_total}\n' -H "Authorization: Bearer $ACCESS" \
            "$URL/history/$AID/series?name=cpu.usage&start=-$range&points=500" >>"$T/sm.times.$range"
        q=$((q + 1))
    done
done
sm_buckets=$(python3 -c 'import json,sys; r = json.load(open(sys.argv[1])); print("%d buckets from the %s tier" % (len(r["data"]), r["tier"]))' \
    "$T/sm.reply.24h" 2>/dev/null || echo '?')
sm_buckets7=$(python3 -c 'import json,sys; r = json.load(open(sys.argv[1])); print("%d buckets from the %s tier" % (len(r["data"]), r["tier"]))' \
    "$T/sm.reply.7d" 2>/dev/null || echo '?')
sm_p50=$(p50_ms <"$T/sm.times.24h")
sm_p50_7=$(p50_ms <"$T/sm.times.7d")
kill -TERM "$SPID"
wait "$SPID" || true

# Sizes: the file (after the server's clean stop), and by table with SQLite's dbstat.
sqlite3 "$DB" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
db_bytes=$(stat -c %s "$DB")
sqlite3 -separator ' ' "$DB" 'SELECT name, sum(pgsize) FROM dbstat GROUP BY name' >"$T/dbstat"
$PY export "$DB" "$T" >"$T/export"
npoints=$(sed -n 's/^export points \([0-9]*\) series.*/\1/p' "$T/export")
nseries=$(sed -n 's/^export points [0-9]* series \([0-9]*\)/\1/p' "$T/export")
[ "${npoints:-0}" -gt 0 ] || { say "no points stored"; cat "$T/server.log" >&2; exit 1; }
say "$SECONDS_ samples, $nseries series, $npoints points"
# Every table and index apart, largest first, so the "rest" below can be told apart.
sort -k2,2nr "$T/dbstat" | awk -v n="$npoints" '$2 > 0 { printf "%s%s %.3f", sep, $1, $2 / n; sep = ", " } END { printf "\n" }' |
    sed 's/^/smserver: bytes\/point by table and index: /'
free_bytes=$(sqlite3 "$DB" 'SELECT (SELECT freelist_count FROM pragma_freelist_count) * (SELECT page_size FROM pragma_page_size)')
nsnap=$(sqlite3 "$DB" 'SELECT count(*) FROM proc_snapshots' 2>/dev/null || echo 0)
# The index part of the tables that store points: their b-trees' interior pages, and
# the chunks' own index (a rowid table with UNIQUE(series_id, t0)).
index_bytes=$(sqlite3 "$DB" "SELECT (SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE pagetype = 'internal'
    AND (name IN ('chunks', 'chunk_samples', 'samples', 'series') OR name LIKE 'rollup%'))
    + (SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name IN ('sqlite_autoindex_chunks_1', 'sqlite_autoindex_series_1'))")
# Process snapshots (issue 20's per-minute process lists) are not points: bytes/point
# counts everything that stores points (chunks, open rows, rollups, series, their
# indexes, free pages, pointer maps) and the snapshot table is printed apart, with the
# whole file's total beside it so nothing is hidden.
awk -v n="$npoints" -v total="$db_bytes" -v s="$ingest_s" -v w="$rollup_wait" -v sw="$seal_wait" \
    -v fr="$free_bytes" -v ns="$nsnap" -v ix="$index_bytes" -v out="$T/sm.bpp" '
    { all += $2 }
    /^proc_snapshots|^sqlite_autoindex_proc_snapshots/ { snap += $2; next }
    /^rollup_/ { roll += $2; next }
    $1 == "chunks" { ch += $2; next }
    $1 == "sqlite_autoindex_chunks_1" { chx += $2; next }
    $1 == "chunk_samples" { ct += $2; next }
    $1 == "samples" || $1 == "sqlite_autoindex_samples_1" { raw += $2; next }
    $1 == "series" || $1 == "sqlite_autoindex_series_1" { ser += $2; next }
    { other += $2 }
    END {
        pm = total - all - fr
        pts = total - snap
        printf "smserver: %.2f bytes/point (file %d bytes less the process snapshots): chunks %.3f, chunk index %.3f, sample times %.3f, open rows %.3f, rollups %.3f, series %.3f, other tables %.3f, free pages %.3f, pointer maps %.3f; of all those, index (interior pages and the chunk and series indexes) %.3f\n", pts / n, total, ch / n, chx / n, ct / n, raw / n, roll / n, ser / n, other / n, fr / n, pm / n, ix / n
        printf "smserver: process snapshots apart (not points): %d of them, %d bytes a snapshot with their indexes, %.2f MiB a day for an agent; the whole file is %.2f bytes/point with them\n", ns, ns ? snap / ns : 0, ns ? snap / ns * 1440 / 1048576 : 0, total / n
        printf "smserver: ingest %d points/s (%.1f s through POST /ingest, then rollups done %.1f s and chunks sealed %.1f s later)\n", n / s, s, w, sw
        printf "%.3f\n", pts / n >out
    }' "$T/dbstat" | tee "$T/sm.figures"
sm_bpp=$(cat "$T/sm.bpp")
sm_pps=$(awk -v n="$npoints" -v s="$ingest_s" 'BEGIN { printf "%d", n / s }')
say "smserver: -24h query of cpu.usage ($sm_buckets) p50 $sm_p50 ms over $QUERIES"
say "smserver: -7d query of cpu.usage ($sm_buckets7) p50 $sm_p50_7 ms over $QUERIES"

#---------------------------------------------------------------- the chunk codec
"$CHUNK" "$T/points.tsv" 3600 7200 21600 >"$T/chunk"
awk '{ printf "chunk codec: %.3f bytes/point in %d-hour windows, %.3f of them timestamps (%d chunks, %d of them integer-delta; encode %d ns, decode %d ns a point)\n", $11, $3 / 3600, $19, $7, $13, $15, $17 }' "$T/chunk"
chunk_bpp=$(awk '$3 == 7200 { print $11 }' "$T/chunk")
# An estimate for the store's layout: the series of one agent share their sample times,
# so a chunk of all of them could keep one column of timestamps instead of one a series
# (the timestamps-only figure includes one bit a point for the constant value).
awk -v s="$nseries" '$3 == 7200 { t = $19 - 0.125; printf "chunk codec: about %.2f bytes/point if the %d series of the agent shared one timestamp column (an estimate: values %.2f + timestamps %.3f)\n", $11 - t + t / s, s, $11 - t, t / s }' "$T/chunk"

#---------------------------------------------------------------- VictoriaMetrics
vm_bpp=
if command -v victoria-metrics >/dev/null 2>&1; then
    VMPORT=$(free_port)
    victoria-metrics -storageDataPath "$T/vm" -httpListenAddr "127.0.0.1:$VMPORT" \
        -retentionPeriod 10y -search.latencyOffset 0s -loggerLevel ERROR >"$T/vm.log" 2>&1 &
    VPID=$!
    PIDS="$PIDS $VPID"
    i=0
    until curl -sf "http://127.0.0.1:$VMPORT/health" >/dev/null 2>&1; do
        i=$((i + 1))
        [ $i -lt 200 ] || { cat "$T/vm.log" >&2; exit 1; }
        sleep 0.05
    done
    vm_s=$(curl -sf -o /dev/null -w '%{time_total}' -X POST --data-binary "@$T/vm.jsonl" \
        "http://127.0.0.1:$VMPORT/api/v1/import")
    curl -sf "http://127.0.0.1:$VMPORT/internal/force_flush" >/dev/null
    # Ingest is asynchronous in VictoriaMetrics: wait until every point is searchable.
    end_s=$(date +%s)
    i=0
    while :; do
        got=$(curl -sf "http://127.0.0.1:$VMPORT/api/v1/query" \
            --data-urlencode "query=sum(count_over_time({agent=\"bench\"}[$((SECONDS_ + 600))s]))" \
            --data-urlencode "time=$end_s" | sed -n 's/.*"value":\[[0-9.]*,"\([0-9]*\)"\].*/\1/p')
        [ "${got:-0}" -lt "$npoints" ] || break
        i=$((i + 1))
        [ $i -lt 100 ] || { say "VictoriaMetrics: only ${got:-0} of $npoints points searchable"; break; }
        sleep 0.1
    done
    for span in 86400 604800; do
        step=$((span / 500))
        q=0
        : >"$T/vm.times.$span"
        while [ $q -lt "$QUERIES" ]; do
            now=$(date +%s)
            curl -sf -o "$T/vm.reply" -w '%{time_total}\n' "http://127.0.0.1:$VMPORT/api/v1/query_range" \
                --data-urlencode 'query=avg_over_time(cpu_usage{agent="bench"}['"$step"'s])' \
                --data-urlencode "start=$((now - span))" --data-urlencode "end=$now" \
                --data-urlencode "step=$step" >>"$T/vm.times.$span"
            q=$((q + 1))
        done
    done
    step=$((86400 / 500))
    vm_p50=$(p50_ms <"$T/vm.times.86400")
    vm_p50_7=$(p50_ms <"$T/vm.times.604800")
    # Measured once it has stopped: a flush alone leaves recent parts in memory, a
    # clean stop writes everything.
    kill -TERM "$VPID"
    wait "$VPID" 2>/dev/null || true
    vm_data=$(dbytes "$T/vm/data")
    vm_index=$(dbytes "$T/vm/indexdb")
    vm_total=$(dbytes "$T/vm")
    # Compared: data and indexdb (the rest of the directory is caches and metadata that
    # do not grow with the points).
    vm_bpp=$(awk -v n="$npoints" -v d="$vm_data" -v x="$vm_index" 'BEGIN { printf "%.3f", (d + x) / n }')
    awk -v n="$npoints" -v t="$vm_total" -v d="$vm_data" -v x="$vm_index" -v s="$vm_s" 'BEGIN {
        printf "VictoriaMetrics: %.2f bytes/point (data and indexdb after a forced flush and a clean stop): data %.2f, indexdb %.2f; whole directory %d bytes\n", (d + x) / n, d / n, x / n, t
        printf "VictoriaMetrics: ingest %d points/s (%.1f s through /api/v1/import)\n", n / s, s }'
    say "VictoriaMetrics: -24h query_range of cpu_usage (step ${step}s) p50 $vm_p50 ms over $QUERIES"
    say "VictoriaMetrics: -7d query_range of cpu_usage (step $((604800 / 500))s) p50 $vm_p50_7 ms over $QUERIES"
else
    say "victoria-metrics is not installed (Debian package victoria-metrics): no VictoriaMetrics figures"
fi

#---------------------------------------------------------------- Prometheus TSDB
prom_bpp=
if command -v promtool >/dev/null 2>&1; then
    if promtool tsdb create-blocks-from openmetrics "$T/prom.om" "$T/prom" >"$T/prom.log" 2>&1; then
        prom_total=$(dbytes "$T/prom")
        prom_chunks=$(find "$T/prom" -path '*/chunks/*' -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
        prom_bpp=$(awk -v n="$npoints" -v t="$prom_total" 'BEGIN { printf "%.3f", t / n }')
        awk -v n="$npoints" -v t="$prom_total" -v c="$prom_chunks" 'BEGIN {
            printf "Prometheus TSDB: %.2f bytes/point (blocks %d bytes): chunks %.2f, index and meta %.2f\n", t / n, t, c / n, (t - c) / n }'
    else
        say "promtool failed:"
        tail -n 5 "$T/prom.log"
    fi
else
    say "promtool is not installed (Debian package prometheus): no Prometheus figures"
fi

#---------------------------------------------------------------- summary
if [ -n "$vm_bpp" ]; then
    awk -v sm="$sm_bpp" -v ch="$chunk_bpp" -v vm="$vm_bpp" -v pr="$prom_bpp" -v smq="$sm_p50" \
        -v vmq="$vm_p50" -v smq7="$sm_p50_7" -v vmq7="$vm_p50_7" -v sp="$sm_pps" -v vp="$(awk -v n="$npoints" -v s="$vm_s" 'BEGIN { printf "%d", n / s }')" 'BEGIN {
        printf "density: bytes/point vs VictoriaMetrics: smserver %.2fx, chunk codec (2 h) %.2fx", sm / vm, ch / vm
        if (pr != "") printf ", Prometheus %.2fx", pr / vm
        printf " (goal: smserver <= 1.00x; smserver %.2f bytes/point, goal <= 2.0)\n", sm
        printf "density: ingest points/s smserver/VictoriaMetrics %.2f; query p50 smserver/VictoriaMetrics: -24h %.2f, -7d %.2f (goal <= 2)\n", sp / vp, smq / vmq, smq7 / vmq7 }'
fi

#---------------------------------------------------------------- smserver on PostgreSQL
# The same recording replayed into an smserver whose database is a private PostgreSQL
# cluster; each table counted with its TOAST and indexes, after a VACUUM (what autovacuum
# does in a running server: the pages of sealed rows are free again, and an emptied day
# partition is given back).
if [ "${SM_DENSITY_PG:-1}" = 1 ] && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    # What pg_lib.sh asks of its caller (tests/integration/lib.sh), in this script's terms.
    fail() { say "$*"; exit 1; }
    skip() { say "$*"; exit 0; }
    need() { for t in "$@"; do command -v "$t" >/dev/null 2>&1 || skip "$t is not installed"; done; }
    PG_HOOKS=
    at_exit() { PG_HOOKS="$PG_HOOKS $1"; }
    . "$top_srcdir/tests/integration/pg_lib.sh"
    pg_start
    PS=$T/pgstate
    mkdir -p "$PS"
    printf 'bench password\n' | "$SMSERVER" user add bench --state-dir "$PS" --db "$PG_CONNINFO" >/dev/null
    "$SMSERVER" agent add --user bench density --state-dir "$PS" --db "$PG_CONNINFO" |
        sed 's/.*"token":"\([^"]*\)".*/\1/' >"$T/pgtoken"
    "$SMSERVER" --listen 127.0.0.1:0 --state-dir "$PS" --db "$PG_CONNINFO" --port-file "$T/pgport" \
        --log-level warn 2>"$T/pgserver.log" &
    PGSPID=$!
    PIDS="$PIDS $PGSPID"
    wait_file "$T/pgport" "$T/pgserver.log"
    say "replaying the same $SECONDS_ s into smserver on PostgreSQL"
    $PY replay "http://127.0.0.1:$(cat "$T/pgport")" "$T/pgtoken" "$T/rec.jsonl" "$SECONDS_" "$REPLAY" >"$T/pgreplay"
    pg_ingest_s=$(sed -n 's/^replay samples [0-9]* seconds //p' "$T/pgreplay")
    # Rolled up, then every closed window sealed (up to 600 s in all).
    i=0
    while [ "$(psql -XAtq -c "SELECT (SELECT count(*) FROM rollup_dirty) + (SELECT count(*) FROM samples
            WHERE ts < (SELECT max(ts) FROM samples) / 7200000 * 7200000)" 2>/dev/null || echo 1)" != 0 ]; do
        i=$((i + 1))
        [ $i -lt 6000 ] || { say "PostgreSQL: windows still unsealed after 600 s"; break; }
        sleep 0.1
    done
    pg_seal_wait=$(awk -v i=$i 'BEGIN { printf "%.1f", i / 10 }')
    kill -TERM "$PGSPID"
    wait "$PGSPID" || true
    psql -XAtq -c 'VACUUM' -c 'CREATE EXTENSION IF NOT EXISTS pgstattuple' >/dev/null
    psql -XAtq -F ' ' >"$T/pgsizes" <<'EOF'
SELECT 'points', (SELECT coalesce(sum(n), 0) FROM chunks) + (SELECT coalesce(sum(cardinality(sids)), 0) FROM samples);
SELECT 'chunks', pg_total_relation_size('chunks');
SELECT 'chunk_samples', pg_total_relation_size('chunk_samples');
SELECT 'samples', sum(pg_total_relation_size(relid)) FROM pg_partition_tree('samples');
SELECT 'rollups', pg_total_relation_size('rollup_1m') + pg_total_relation_size('rollup_1h');
SELECT 'series', pg_total_relation_size('series');
SELECT 'snapshots', pg_total_relation_size('proc_snapshots');
SELECT 'database', pg_database_size(current_database());
SELECT 'empty', pg_database_size('template1');
SELECT 'chunk_index', pg_indexes_size('chunks') + pg_indexes_size('chunk_samples');
SELECT 'rows', coalesce(sum(s.tuple_len), 0), coalesce(sum(s.free_space + s.dead_tuple_len), 0)
    FROM pg_partition_tree('samples') p CROSS JOIN LATERAL pgstattuple(p.relid) s WHERE p.isleaf;
EOF
    awk -v sq="$sm_bpp" -v s="$pg_ingest_s" -v w="$pg_seal_wait" '
        { v[$1] = $2; f[$1] = $3 }
        END {
            n = v["points"]
            if (n <= 0) { print "smserver on PostgreSQL: no points stored"; exit 1 }
            pts = v["chunks"] + v["chunk_samples"] + v["samples"] + v["rollups"] + v["series"]
            printf "smserver on PostgreSQL: %.2f bytes/point (the tables that store points, with their TOAST and indexes): chunks %.3f, sample times %.3f, open rows %.3f, rollups %.3f, series %.3f; of those, the chunk tables\047 indexes %.3f\n", pts / n, v["chunks"] / n, v["chunk_samples"] / n, v["samples"] / n, v["rollups"] / n, v["series"] / n, v["chunk_index"] / n
            printf "smserver on PostgreSQL: of the open rows, the rows themselves %.3f and free space %.3f (pages of sealed rows, which the partition'"'"'s later rows reuse; a day partition is given back whole once sealed)\n", v["rows"] / n, f["rows"] / n
            printf "smserver on PostgreSQL: the whole database %.2f bytes/point (%d bytes; an empty database is %d of it; process snapshots %d)\n", v["database"] / n, v["database"], v["empty"], v["snapshots"]
            printf "smserver on PostgreSQL: ingest %d points/s (%.1f s through POST /ingest; rolled up and sealed %.1f s later)\n", n / s, s, w
            printf "density: bytes/point PostgreSQL/SQLite %.2f (%.2f against %.2f)\n", pts / n / sq, pts / n, sq
        }' "$T/pgsizes"
else
    say "PostgreSQL is not installed (Debian package postgresql), or SM_DENSITY_PG=0: no PostgreSQL figures"
fi
