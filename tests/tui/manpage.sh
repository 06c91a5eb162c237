#!/bin/sh
# manpage.sh: smtop(1) and the program agree: every --help option and every key binding
# (smtop --list-keys, the table the help view shows) is in the page, and the reverse;
# mandoc -Tlint finds nothing but references to pages this machine lacks.
. "$(dirname "$0")/../integration/lib.sh"
need mandoc
PY=/usr/bin/python3
[ -x "$PY" ] || skip "/usr/bin/python3 is missing"
PAGE=$top_srcdir/man/smtop.1.in

"$SMTOP" --help >"$T/help" || fail "smtop --help exited $?"
"$SMTOP" --list-keys >"$T/keys" || fail "smtop --list-keys exited $?"
[ -s "$T/keys" ] || fail "smtop --list-keys printed nothing"

"$PY" - "$T/help" "$T/keys" "$PAGE" <<'PYEOF' || fail "the page and the program disagree"
import re, sys
help_text = open(sys.argv[1]).read()
keys_text = open(sys.argv[2]).read()
page = open(sys.argv[3]).read().splitlines()
bad = []

# Options: --help lines that start with an option, both spellings.
opts_help = set()
for line in help_text.splitlines():
    m = re.match(r"^\s+(-\w)?(?:,\s+)?(--[a-z][a-z-]*)?", line)
    if m and (m.group(1) or m.group(2)):
        opts_help.update(o for o in m.groups() if o)
opts_page = set()
for line in page:
    if line.startswith(".It Fl "):
        # ".It Fl d , -delay Ar seconds": Fl marks every argument up to the next macro.
        args = re.split(r"\s(?:Ar|Op|Ic)\s", line[len(".It Fl "):] + " ")[0]
        for tok in args.split(","):
            if tok.strip():
                opts_page.add("-" + tok.strip())
for o in sorted(opts_help - opts_page):
    bad.append("option %s is in --help but not in the page" % o)
for o in sorted(opts_page - opts_help):
    bad.append("option %s is in the page but not in --help" % o)

# Keys: (key, view) from --list-keys; from the page's KEYS section, by subsection.
keys_prog = set()
for line in keys_text.splitlines():
    k, view, _ = line.split("\t", 2)
    keys_prog.add((k, view))
sections = {"Everywhere": "*", "Host view": "host", "History view": "history",
            "Help view": "help", "Fleet view": "fleet", "Process panel": "processes",
            "Services view": "services"}
keys_page, cur, in_keys = set(), None, False
for line in page:
    if line.startswith(".Sh "):
        in_keys = line == ".Sh KEYS"
        continue
    if not in_keys:
        continue
    if line.startswith(".Ss "):
        name = line[4:].strip()
        if name not in sections:
            bad.append("unknown KEYS subsection %r" % name)
        cur = sections.get(name)
    elif line.startswith(".It "):
        for k in re.findall(r"Ic (\S+)", line):
            keys_page.add((k.replace("\\&", ""), cur))
for k, v in sorted(keys_prog - keys_page):
    bad.append("key %s (%s) is bound but not in the page" % (k, v))
for k, v in sorted(keys_page - keys_prog):
    bad.append("key %s (%s) is in the page but not bound" % (k, v))
if not opts_help or not keys_prog:
    bad.append("nothing parsed")
for b in bad:
    print(b, file=sys.stderr)
sys.exit(1 if bad else 0)
PYEOF
pass "every option and key is in smtop(1), and the reverse"

mandoc -Tlint "$PAGE" >"$T/lint" 2>&1 || true
grep -v -e 'referenced manual not found' -e 'mandoc.db' "$T/lint" >"$T/lint.real" || true
[ ! -s "$T/lint.real" ] || fail "mandoc -Tlint: $(cat "$T/lint.real")"
pass "mandoc -Tlint is clean"
