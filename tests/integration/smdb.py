"""smdb.py: read smserver's database in tests, raw points included.

Raw points are packed one row per sample: samples(agent_id, ts, data) where data is a
point blob (smserver/history.h); closed windows are sealed into compressed chunks,
chunks(series_id, t0, t1, n, data) (smserver/chunk.h). connect() opens the database and
adds a temporary table raw_points(series_id, ts, value), one row per point of both,
decoded here independently of the server's C decoders; a malformed blob or a damaged
chunk raises ValueError, so a test that reads it fails. It adds raw_samples(agent_id, ts)
too: every stored sample, a row or sealed (chunk_samples).

    python3 smdb.py DB QUERY    prints the rows, columns separated by '|'
    python3 smdb.py to-v1 DB    rewrites every other sample row's blob (by agent and
                                time) in version 1, as an smserver before version 2
                                wrote it, with the same points: a database with both
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


_POW10 = [0, 1, 10, 100, 1e3, 1e4, 1e5, 1e6]


def decode(blob):
    """The (series id, value) pairs of a point blob (version 1 or 2), checked."""
    if blob is None or len(blob) < 2 or blob[0] not in (1, 2):
        raise ValueError('bad blob header')
    version = blob[0]
    n, pos = _varint(blob, 1)
    out, sid = [], 0
    for _ in range(n):
        d, pos = _varint(blob, pos)
        kind = 0
        if version == 2:
            d, kind = divmod(d, 8)
        if d == 0:
            raise ValueError('series ids must increase')
        sid += d
        if sid >= 1 << 63:
            raise ValueError('bad pair')
        if kind == 0:
            if pos + 8 > len(blob):
                raise ValueError('bad pair')
            (v,) = struct.unpack_from('<d', blob, pos)
            pos += 8
        else:
            u, pos = _varint(blob, pos)
            m = (u >> 1) ^ -(u & 1)
            if abs(m) >= 1 << 53:
                raise ValueError('decimal over 2^53')
            v = float(m) / _POW10[kind]
        if not math.isfinite(v):
            raise ValueError('non-finite value')
        out.append((sid, v))
    if pos != len(blob):
        raise ValueError('trailing bytes')
    return out


def _put_varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append(v & 0x7f | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def encode_v1(pairs):
    """A version 1 point blob of the pairs (series ids increasing): an older smserver's."""
    out, prev = bytearray([1]) + _put_varint(len(pairs)), 0
    for sid, v in pairs:
        out += _put_varint(sid - prev) + struct.pack('<d', v)
        prev = sid
    return bytes(out)


def to_v1(path):
    """Rewrite every other sample row of the database at path in version 1; returns
    (rewritten, rows)."""
    db = sqlite3.connect(path)
    rows = db.execute('SELECT agent_id, ts, data FROM samples ORDER BY agent_id, ts').fetchall()
    done = 0
    for i, (agent, ts, data) in enumerate(rows):
        if i % 2 == 0:
            old = encode_v1(decode(data))
            if decode(old) != decode(data):
                raise ValueError('version 1 rewrite changed a point')
            db.execute('UPDATE samples SET data = ? WHERE agent_id = ? AND ts = ?', (old, agent, ts))
            done += 1
    db.commit()
    db.close()
    return done, len(rows)


class _Bits:
    def __init__(self, buf, bit):
        self.buf, self.bit = buf, bit

    def get(self, n):
        if n > len(self.buf) * 8 - self.bit:
            raise ValueError('chunk truncated')
        r = 0
        for _ in range(n):
            byte = self.buf[self.bit >> 3]
            r = r << 1 | ((byte >> (7 - (self.bit & 7))) & 1)
            self.bit += 1
        return r


def _unzigzag(u):
    return (u >> 1) ^ -(u & 1)


_TS_WIDTHS = (0, 4, 8, 12, 20, 64)
_T_MAX = 1 << 53


def _chunk_varint(buf, pos, maxv):
    r = shift = 0
    while shift < 63:
        if pos >= len(buf):
            raise ValueError('chunk varint truncated')
        b = buf[pos]
        pos += 1
        r |= (b & 0x7f) << shift
        if b < 0x80:
            if (b == 0 and shift > 0) or r > maxv:
                raise ValueError('bad chunk varint')
            return r, pos
        shift += 7
    raise ValueError('chunk varint too long')


def decode_chunk(buf):
    """The (ts, value) points of a chunk (smserver/chunk.h, version 1), checked."""
    if buf is None or len(buf) < 4 or buf[0] != 1:
        raise ValueError('bad chunk header')
    enc = buf[1]
    venc = enc & 0x0f
    if enc & ~0x3f or venc > 10 or (enc & 0x20 and venc == 0):
        raise ValueError('bad chunk encoding')
    count, pos = _chunk_varint(buf, 2, 65536)
    t, pos = _chunk_varint(buf, pos, _T_MAX)
    base = 0
    step = 1
    if enc & 0x10:
        base, pos = _chunk_varint(buf, pos, _T_MAX)
    if enc & 0x20:
        step, pos = _chunk_varint(buf, pos, 1 << 54)
    if count == 0 or (enc & 0x10 and base == 0) or (enc & 0x20 and step < 2):
        raise ValueError('bad chunk header')
    bits = _Bits(buf, pos * 8)
    out = []
    delta = m = vbits = lead = sig = width = 0
    for i in range(count):
        if i > 0:
            k = 0
            while k < len(_TS_WIDTHS) - 1 and bits.get(1):
                k += 1
            d = _unzigzag(bits.get(_TS_WIDTHS[k]))
            delta = (base or delta) + d
            t += delta
            if delta <= 0 or t > _T_MAX:
                raise ValueError('chunk times must increase')
        if venc >= 1:
            d = 0
            if bits.get(1):
                if bits.get(1):
                    w = bits.get(6)
                    width = w or 64
                elif width == 0:
                    raise ValueError('no width yet')
                d = _unzigzag(bits.get(width))
            m += d * step if i > 0 else d
            if abs(m) > 1 << 53:
                raise ValueError('chunk integer out of range')
            v = m / 10.0 ** (venc - 1)
        else:
            if i == 0:
                vbits = bits.get(64)
            elif bits.get(1):
                if bits.get(1):
                    lead = bits.get(5)
                    sig = bits.get(6) or 64
                    if lead + sig > 64:
                        raise ValueError('bad xor window')
                elif sig == 0:
                    raise ValueError('no window yet')
                vbits ^= bits.get(sig) << (64 - lead - sig)
            (v,) = struct.unpack('<d', struct.pack('<Q', vbits))
        out.append((t, v))
    used = (bits.bit + 7) // 8
    pad = used * 8 - bits.bit
    if used != len(buf) or (pad and buf[-1] & ((1 << pad) - 1)):
        raise ValueError('chunk has trailing bits')
    return out


def connect(path):
    db = sqlite3.connect(path)
    db.execute('CREATE TEMP TABLE raw_points(series_id INTEGER, ts INTEGER, value REAL)')
    rows = db.execute('SELECT ts, data FROM samples').fetchall()
    db.executemany('INSERT INTO temp.raw_points VALUES (?, ?, ?)',
                   [(sid, ts, v) for ts, data in rows for sid, v in decode(data)])
    db.execute('CREATE TEMP TABLE raw_samples(agent_id INTEGER, ts INTEGER)')
    db.execute('INSERT INTO temp.raw_samples SELECT agent_id, ts FROM samples')
    has_chunks = db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'chunks'").fetchone()[0]
    if has_chunks:
        for agent, n, data in db.execute('SELECT agent_id, n, data FROM chunk_samples').fetchall():
            pts = decode_chunk(data)
            if len(pts) != n:
                raise ValueError('sample times count %d, header %d' % (n, len(pts)))
            db.executemany('INSERT INTO temp.raw_samples VALUES (?, ?)', [(agent, t) for t, _ in pts])
        # ix = 1: the chunk's times are positions in its window's sample times.
        times = {}
        for agent, t0, data in db.execute('SELECT agent_id, t0, data FROM chunk_samples'):
            times.setdefault((agent, t0 // 7200000), []).append([t for t, _ in decode_chunk(data)])
        for sid, agent, t0, n, ix, data in db.execute(
                'SELECT c.series_id, s.agent_id, c.t0, c.n, c.ix, c.data FROM chunks c'
                ' JOIN series s ON s.id = c.series_id').fetchall():
            pts = decode_chunk(data)
            if len(pts) != n:
                raise ValueError('chunk count %d, header %d' % (n, len(pts)))
            if ix:
                w = times.get((agent, t0 // 7200000), [])
                if len(w) != 1 or any(i >= len(w[0]) for i, _ in pts):
                    raise ValueError('chunk positions without their sample times')
                pts = [(w[0][i], v) for i, v in pts]
            db.executemany('INSERT INTO temp.raw_points VALUES (?, ?, ?)',
                           [(sid, t, v) for t, v in pts])
    return db


if __name__ == '__main__':
    if sys.argv[1] == 'to-v1':
        print('to-v1: %d of %d sample rows rewritten in version 1' % to_v1(sys.argv[2]))
        sys.exit(0)
    c = connect(sys.argv[1])
    print('\n'.join('|'.join(str(x) for x in r) for r in c.execute(sys.argv[2])))
