#!/usr/bin/python3
"""promparse.py: a strict checker of the Prometheus text exposition format (0.0.4).

usage: promparse.py FILE [NAME ...]

Checks every line: HELP and TYPE comments (TYPE before the family's samples, at most
once per family, a known type), metric and label names, label values with only the
escapes \\\\, \\" and \\n, one value (a float, +Inf, -Inf or NaN) and an optional integer
timestamp, families not interleaved, no sample twice, histograms with cumulative
buckets ending at le="+Inf" equal to _count. Prints "NAME{labels} VALUE" for each NAME
asked for (every sample whose family name or sample name is NAME). Exit 0 when the
file is good, 1 with a message naming the line otherwise.
"""
import math
import re
import sys

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LNAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def die(n, msg):
    print("line %d: %s" % (n, msg), file=sys.stderr)
    sys.exit(1)


def parse_value(n, s):
    if s in ("+Inf", "Inf"):
        return math.inf
    if s == "-Inf":
        return -math.inf
    if s == "NaN":
        return math.nan
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", s):
        die(n, "bad value %r" % s)
    return float(s)


def parse_labels(n, s, i):
    """Parse {...} starting at s[i] == '{'; return (labels, index after '}')."""
    labels = []
    i += 1
    while True:
        if i < len(s) and s[i] == "}":
            return labels, i + 1
        m = LNAME.match(s, i)
        if not m:
            die(n, "bad label name at column %d" % i)
        name = m.group(0)
        i = m.end()
        if s[i:i + 2] != '="':
            die(n, "expected =\" after label %s" % name)
        i += 2
        v = []
        while True:
            if i >= len(s):
                die(n, "unterminated label value")
            c = s[i]
            if c == "\\":
                nxt = s[i + 1:i + 2]
                if nxt not in ("\\", '"', "n"):
                    die(n, "bad escape \\%s" % nxt)
                v.append("\n" if nxt == "n" else nxt)
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == "\n":
                die(n, "newline in label value")
            else:
                v.append(c)
                i += 1
        if name in [k for k, _ in labels]:
            die(n, "label %s twice" % name)
        labels.append((name, "".join(v)))
        if i < len(s) and s[i] == ",":
            i += 1
        elif i < len(s) and s[i] == "}":
            continue
        else:
            die(n, "expected , or } after label %s" % name)


def family_of(name, types):
    for suf in ("_bucket", "_sum", "_count"):
        if name.endswith(suf) and types.get(name[: -len(suf)]) in ("histogram", "summary"):
            return name[: -len(suf)]
    return name


def main():
    text = open(sys.argv[1], encoding="utf-8").read()
    want = set(sys.argv[2:])
    if text and not text.endswith("\n"):
        die(text.count("\n") + 1, "no newline at the end")
    types, helps, done, seen = {}, set(), set(), set()
    current = None
    hist = {}
    out = []
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if line == "":
            continue
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not NAME.fullmatch(name):
                    die(n, "bad metric name %r" % name)
                if parts[1] == "TYPE":
                    if len(parts) != 4 or parts[3] not in TYPES:
                        die(n, "bad TYPE line")
                    if name in types:
                        die(n, "second TYPE for %s" % name)
                    if name in done or name == current:
                        die(n, "TYPE for %s after its samples" % name)
                    types[name] = parts[3]
                else:
                    if name in helps:
                        die(n, "second HELP for %s" % name)
                    helps.add(name)
            continue
        m = NAME.match(line)
        if not m:
            die(n, "bad metric name")
        name = m.group(0)
        i = m.end()
        labels = []
        if i < len(line) and line[i] == "{":
            labels, i = parse_labels(n, line, i)
        rest = line[i:]
        if not rest.startswith(" "):
            die(n, "expected a space before the value")
        fields = rest.strip().split(" ")
        if len(fields) not in (1, 2):
            die(n, "expected a value and an optional timestamp")
        v = parse_value(n, fields[0])
        if len(fields) == 2 and not re.fullmatch(r"-?\d+", fields[1]):
            die(n, "bad timestamp")
        fam = family_of(name, types)
        if fam != current:
            if fam in done:
                die(n, "family %s interleaved with another" % fam)
            if current is not None:
                done.add(current)
            current = fam
        key = (name, tuple(sorted(labels)))
        if key in seen:
            die(n, "sample %s%s twice" % key)
        seen.add(key)
        t = types.get(fam, "untyped")
        if t == "counter" and (v < 0 or math.isnan(v)):
            die(n, "counter %s is %r" % (name, v))
        if t == "histogram":
            other = tuple(sorted((k, x) for k, x in labels if k != "le"))
            h = hist.setdefault((fam, other), {"buckets": [], "count": None})
            if name == fam + "_bucket":
                le = dict(labels).get("le")
                if le is None:
                    die(n, "bucket without le")
                h["buckets"].append((parse_value(n, le), v))
            elif name == fam + "_count":
                h["count"] = v
        if name in want or fam in want:
            lab = ",".join('%s="%s"' % kv for kv in labels)
            out.append("%s{%s} %s" % (name, lab, fields[0]))
    for (fam, _), h in hist.items():
        b = h["buckets"]
        if not b or b[-1][0] != math.inf:
            die(0, "histogram %s lacks le=\"+Inf\"" % fam)
        for (l1, c1), (l2, c2) in zip(b, b[1:]):
            if l2 <= l1 or c2 < c1:
                die(0, "histogram %s buckets not cumulative" % fam)
        if h["count"] is None or h["count"] != b[-1][1]:
            die(0, "histogram %s: _count differs from the +Inf bucket" % fam)
    for line in out:
        print(line)


main()
