#!/bin/sh
# manpages.sh: every man page is clean under mandoc -Tlint, and for smagent(8) and
# smserver(8) every option of --help is in the page and every option in the page is in
# --help. (smtop(1) has its own check with its keys: tests/tui/manpage.sh.)
. "$(dirname "$0")/lib.sh"
need mandoc
for page in smtop.1 statusmonitor.7 smagent.8 smserver.8; do
    f=$top_builddir/man/$page
    [ -f "$f" ] || fail "man/$page was not built"
    mandoc -Tlint -Wwarning "$f" >"$T/lint" 2>&1 || fail "$page: mandoc -Tlint: $(cat "$T/lint")"
    ! grep -q '@[A-Z]*@' "$f" || fail "$page: a path was not filled in"
done
pass "mandoc -Tlint is clean and paths are filled in"

for prog in smagent smserver; do
    page=$top_builddir/man/$prog.8
    "$top_builddir/$prog/$prog" --help | grep -oE -- '--[a-z][a-z-]*' | sort -u >"$T/help"
    # Long options in the page: ".Fl -name" (also after ", " in ".It Fl s , -name").
    grep -oE -- '(Fl|, ) ?-[a-z][a-z-]*' "$page" | grep -oE -- '-[a-z][a-z-]*$' |
        sed 's/^/-/' | sort -u >"$T/page"
    [ "$(wc -l <"$T/help")" -ge 8 ] || fail "$prog: too few options in --help"
    missing=$(comm -23 "$T/help" "$T/page" | tr '\n' ' ')
    [ -z "$missing" ] || fail "$prog(8) lacks: $missing"
    extra=$(comm -13 "$T/help" "$T/page" | tr '\n' ' ')
    [ -z "$extra" ] || fail "$prog(8) documents options --help does not have: $extra"
done
pass "smagent(8) and smserver(8) match --help both ways"
