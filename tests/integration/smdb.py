"""smdb.py: read smserver's database in tests, raw points included.

Raw points are packed one row per sample: samples(agent_id, ts, data) where data is a
point blob (smserver/history.h). connect() opens the database and adds a temporary table
raw_points(series_id, ts, value), one row per point, decoded here independently of the
server's C decoder; a malformed blob raises ValueError, so a test that reads it fails.

    python3 smdb.py DB QUERY    prints the rows, columns separated by '|'
"""
import math
import sqlite3
import struct
import sys


def _varint(blob, pos):
    value = shift = 0
    for i in range(10):
        if pos >= len(blob):
            raise ValueError('truncated varint')
        b = blob[pos]
        pos += 1
        value |= (b & 0x7f) << shift
        shift += 7
        if b < 0x80:
            if b == 0 and i > 0:
                raise ValueError('redundant varint byte')
            return value, pos
    raise ValueError('varint over 10 bytes')


def decode(blob):
    """The (series id, value) pairs of a point blob, checked."""
    if blob is None or len(blob) < 2 or blob[0] != 1:
        raise ValueError('bad blob header')
    n, pos = _varint(blob, 1)
    out, sid = [], 0
    for _ in range(n):
        d, pos = _varint(blob, pos)
        if d == 0:
            raise ValueError('series ids must increase')
        sid += d
        if sid >= 1 << 63 or pos + 8 > len(blob):
            raise ValueError('bad pair')
        (v,) = struct.unpack_from('<d', blob, pos)
        if not math.isfinite(v):
            raise ValueError('non-finite value')
        pos += 8
        out.append((sid, v))
    if pos != len(blob):
        raise ValueError('trailing bytes')
    return out


def connect(path):
    db = sqlite3.connect(path)
    db.execute('CREATE TEMP TABLE raw_points(series_id INTEGER, ts INTEGER, value REAL)')
    rows = db.execute('SELECT ts, data FROM samples').fetchall()
    db.executemany('INSERT INTO temp.raw_points VALUES (?, ?, ?)',
                   [(sid, ts, v) for ts, data in rows for sid, v in decode(data)])
    return db


if __name__ == '__main__':
    c = connect(sys.argv[1])
    print('\n'.join('|'.join(str(x) for x in r) for r in c.execute(sys.argv[2])))
