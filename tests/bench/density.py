#!/usr/bin/python3
"""density.py: the data side of bench_density.sh.

  density.py record PORTFILE OUT
      a stand-in for POST /ingest that answers 200 and appends every sample it gets
      (one JSON object a line) to OUT; smagent -i 1 pointed at it records real samples.
  density.py replay URL TOKENFILE REC SECONDS walk|loop
      posts SECONDS samples at 1 Hz ending now, in batches of 100 over one keep-alive
      connection, and prints "replay samples N seconds S". Each sample has the shape of
      the recorded ones and a recorded fraction of a second in its time.
      walk: every numeric field is a walk whose steps are drawn at random (seeded) from
      that field's recorded steps, in its recorded decimals, reflected at the recorded
      minimum and maximum (the cumulative counters keep rising).
      loop: the recorded samples themselves, forwards then backwards, over and over;
      exact repeats, which a store that compresses blocks with zstd (VictoriaMetrics)
      turns into almost nothing, so it flatters that store.
  density.py export DB OUTDIR
      reads the raw points smserver stored (tests/integration/smdb.py decodes them) and
      writes OUTDIR/points.tsv (series id, ms, value; sorted by series then time),
      OUTDIR/vm.jsonl (VictoriaMetrics /api/v1/import lines) and OUTDIR/prom.om
      (OpenMetrics for promtool); prints "export points N series M".
"""
import http.client
import json
import math
import os
import random
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

MAX_BODY = 64 << 20


def record(portfile, out):
    fh = open(out, 'a')

    class Handler(BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def log_message(self, *args):
            pass

        def do_POST(self):
            length = int(self.headers.get('Content-Length', '0'))
            if length < 0 or length > MAX_BODY:
                self.send_error(413)
                return
            body = json.loads(self.rfile.read(length))
            samples = body.get('samples', [body])
            for s in samples:
                if 'host' in body and 'host' not in s:
                    s['host'] = body['host']
                fh.write(json.dumps(s, separators=(',', ':')) + '\n')
            fh.flush()
            reply = b'{"status":"ok"}'
            self.send_response(200)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

    srv = HTTPServer(('127.0.0.1', 0), Handler)
    with open(portfile + '.tmp', 'w') as f:
        f.write(str(srv.server_address[1]))
    os.rename(portfile + '.tmp', portfile)
    srv.serve_forever()


def leaves(o, path=()):
    """(path, number) of every numeric field of a sample but its time and sequence."""
    if isinstance(o, dict):
        for k, v in o.items():
            if path or k not in ('timestamp', 'seq', 'host'):
                yield from leaves(v, path + (k,))
    elif isinstance(o, list):
        for i, v in enumerate(o):
            yield from leaves(v, path + (i,))
    elif isinstance(o, (int, float)) and not isinstance(o, bool):
        yield path, o


def getp(o, path):
    for p in path:
        o = o[p]
    return o


def setp(o, path, v):
    for p in path[:-1]:
        o = o[p]
    o[path[-1]] = v


def decimals(v):
    r = repr(float(v))
    if 'e' in r or 'n' in r:
        return 6
    return min(6, len(r.split('.')[1].rstrip('0')))


# The sample's cumulative counters (DESIGN section 3); every other field is a gauge.
COUNTERS = {'bytes_sent', 'bytes_recv', 'packets_sent', 'packets_recv', 'errin', 'errout',
            'dropin', 'dropout', 'rx_bytes', 'tx_bytes'}


class Walk:
    """One field: a walk whose steps are drawn from the recorded steps, in the
    recorded decimals, kept within the recorded range (counters keep rising)."""

    def __init__(self, name, values):
        self.is_int = all(isinstance(v, int) for v in values)
        self.k = 0 if self.is_int else max(decimals(v) for v in values)
        m = [round(v * 10 ** self.k) for v in values]
        self.steps = [b - a for a, b in zip(m, m[1:])] or [0]
        self.counter = name in COUNTERS and all(d >= 0 for d in self.steps)
        self.lo, self.hi, self.m = min(m), max(m), m[0]

    def next(self, rng):
        m = self.m + rng.choice(self.steps)
        if not self.counter:
            if m > self.hi:
                m = 2 * self.hi - m
            if m < self.lo:
                m = 2 * self.lo - m
            m = min(self.hi, max(self.lo, m))
        self.m = m
        return m if self.is_int else m / 10 ** self.k


def day(recs, seconds, mode, start):
    """The samples of the day, as JSON texts."""
    rng = random.Random(22)
    fracs = [float(s['timestamp']) % 1.0 for s in recs]
    if mode == 'loop':
        n = len(recs)
        loop = list(range(n)) + list(range(n - 2, 0, -1))
        for i in range(seconds):
            j = loop[i % len(loop)]
            s = dict(recs[j])
            s.pop('host', None)
            s['timestamp'] = round(start + i + fracs[j], 3)
            s['seq'] = i
            yield json.dumps(s, separators=(',', ':'))
        return
    walks = []
    for path, _ in leaves(recs[0]):
        try:
            walks.append((path, Walk(path[-1], [getp(r, path) for r in recs])))
        except (KeyError, IndexError, TypeError):
            pass
    template = dict(recs[0])
    template.pop('host', None)
    text = json.dumps(template)
    for i in range(seconds):
        s = json.loads(text)
        for path, w in walks:
            setp(s, path, w.next(rng))
        s['timestamp'] = round(start + i + rng.choice(fracs), 3)
        s['seq'] = i
        yield json.dumps(s, separators=(',', ':'))


def replay(url, tokenfile, rec, seconds, mode):
    with open(tokenfile) as f:
        token = f.read().strip()
    recs = [json.loads(line) for line in open(rec) if line.strip()]
    if not recs:
        sys.exit('density.py: no recorded samples in ' + rec)
    host = json.dumps(recs[0].get('host'), separators=(',', ':'))
    u = urllib.parse.urlsplit(url)
    start = math.floor(time.time()) - seconds
    bodies, batch = [], []
    for s in day(recs, seconds, mode, start):
        batch.append(s)
        if len(batch) == 100:
            bodies.append(('{"host":%s,"samples":[%s]}' % (host, ','.join(batch))).encode())
            batch = []
    if batch:
        bodies.append(('{"host":%s,"samples":[%s]}' % (host, ','.join(batch))).encode())
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
    t0 = time.monotonic()
    for body in bodies:
        conn.request('POST', '/ingest', body, {'Content-Type': 'application/json',
                                                'X-Agent-Token': token})
        r = conn.getresponse()
        reply = r.read()
        if r.status != 200:
            sys.exit('density.py: /ingest answered %d: %s' % (r.status, reply[:300].decode(
                'utf-8', 'replace')))
    dt = time.monotonic() - t0
    print('replay samples %d seconds %.3f' % (seconds, dt))


def prom_name(name):
    return name.replace('.', '_')


def export(db, outdir):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    '..', 'integration'))
    import smdb
    c = smdb.connect(db)
    series = {}
    for sid, name, labels in c.execute('SELECT id, name, labels FROM series'):
        lab = {}
        for kv in labels.split(',') if labels else []:
            k, _, v = kv.partition('=')
            lab[k] = v
        series[sid] = (name, lab)
    rows = c.execute('SELECT series_id, ts, value FROM raw_points ORDER BY series_id, ts')
    n = 0
    per = {}
    with open(os.path.join(outdir, 'points.tsv'), 'w') as tsv:
        for sid, ts, v in rows:
            tsv.write('%d\t%d\t%r\n' % (sid, ts, v))
            per.setdefault(sid, []).append((ts, v))
            n += 1
    with open(os.path.join(outdir, 'vm.jsonl'), 'w') as vm:
        for sid, pts in per.items():
            name, lab = series[sid]
            metric = {'__name__': prom_name(name), 'agent': 'bench'}
            metric.update(lab)
            vm.write(json.dumps({'metric': metric, 'values': [v for _, v in pts],
                                 'timestamps': [t for t, _ in pts]}) + '\n')
    # OpenMetrics: one metric family at a time, samples in time order.
    fams = {}
    for sid, (name, lab) in series.items():
        if sid in per:
            fams.setdefault(prom_name(name), []).append(sid)
    with open(os.path.join(outdir, 'prom.om'), 'w') as om:
        for fam, sids in sorted(fams.items()):
            om.write('# TYPE %s gauge\n' % fam)
            for sid in sids:
                _, lab = series[sid]
                ls = ','.join(['agent="bench"'] + ['%s="%s"' % (k, v) for k, v in
                                                   sorted(lab.items())])
                for ts, v in per[sid]:
                    om.write('%s{%s} %r %d.%03d\n' % (fam, ls, v, ts // 1000, ts % 1000))
        om.write('# EOF\n')
    print('export points %d series %d' % (n, len(per)))


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ''
    if cmd == 'record' and len(sys.argv) == 4:
        record(sys.argv[2], sys.argv[3])
    elif cmd == 'replay' and len(sys.argv) == 7 and sys.argv[6] in ('walk', 'loop'):
        replay(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6])
    elif cmd == 'export' and len(sys.argv) == 4:
        export(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)


if __name__ == '__main__':
    main()
