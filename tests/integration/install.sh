#!/bin/sh
# install.sh: `make install DESTDIR=...` lays the suite out as issue 10 and
# docs/DESIGN.md section 1 say (programs, man pages, web page, example
# configurations, systemd units inside the prefix), every example configuration is accepted by its program with every key set to
# its documented default, and `make uninstall` removes every file install put there.
. "$(dirname "$0")/lib.sh"
need make
D=$T/dest
# A make of its own, not a part of the make running the tests (no jobserver, no -w).
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
# mvar NAME: the value of a make variable of the configured tree (bindir, mandir ...).
mvar() { printf 'sm-print:\n\t@echo $(%s)\n' "$1" | make -s --no-print-directory -C "$top_builddir" -f Makefile -f - sm-print; }
make -s -C "$top_builddir" install DESTDIR="$D" >"$T/log" 2>&1 ||
    fail "make install: $(tail -n 20 "$T/log")"
bindir=$(mvar bindir) sbindir=$(mvar sbindir) mandir=$(mvar mandir) docdir=$(mvar docdir)
pkgdatadir=$(mvar pkgdatadir) sysconfdir=$(mvar sysconfdir) unitdir=$(mvar systemdsystemunitdir)
for f in "$bindir/smtop" "$sbindir/smagent" "$sbindir/smserver"; do
    [ -x "$D$f" ] || fail "make install did not install $f (executable)"
done
for f in "$mandir/man1/smtop.1" "$mandir/man7/statusmonitor.7" "$mandir/man8/smagent.8" \
    "$mandir/man8/smserver.8" "$docdir/examples/smserver.conf" "$docdir/examples/smagent.conf" \
    "$pkgdatadir/www/index.html"; do
    [ -f "$D$f" ] || fail "make install did not install $f"
done
# Installed pages carry the configured paths, not placeholders.
! grep -l '@[A-Z]*@' "$D$mandir"/man*/* || fail "a man page has a placeholder"
grep -q "$sysconfdir/statusmonitor/smserver.conf" "$D$mandir/man8/smserver.8" ||
    fail "smserver.8 does not name the configured sysconfdir"
if [ -n "$unitdir" ]; then
    [ -f "$D$unitdir/smserver.service" ] || fail "smserver.service not installed in $unitdir"
    grep -q "^ExecStart=$sbindir/smserver" "$D$unitdir/smserver.service" ||
        fail "smserver.service does not start the installed smserver"
    [ -f "$D$unitdir/smagent.service" ] || fail "smagent.service not installed in $unitdir"
    grep -q "^ExecStart=$sbindir/smagent" "$D$unitdir/smagent.service" ||
        fail "smagent.service does not start the installed smagent"
fi
pass "install lays out programs, pages, web page, examples and units"

# Every documented key, uncommented with its default value, is a key smserver knows.
sed -n 's/^#\([a-z_]* = .*\)/\1/p' "$D$docdir/examples/smserver.conf" \
    >"$T/smserver.conf"
[ "$(wc -l <"$T/smserver.conf")" -ge 9 ] || fail "smserver.conf documents too few keys"
# Point the paths at the test directory; the other keys keep their documented defaults.
sed -i -e "s|^state_dir = .*|state_dir = $T/state|" -e "s|^db = .*|db = $T/state/x.db|" \
    -e "s|^www = .*|www = $top_srcdir/share/www|" -e "s|^listen = .*|listen = 127.0.0.1:0|" \
    "$T/smserver.conf"
"$SMSERVER" --config "$T/smserver.conf" --port-file "$T/port" 2>"$T/err" &
pid=$!
i=0
while [ ! -s "$T/port" ] && kill -0 $pid 2>/dev/null && [ $i -lt 200 ]; do
    sleep 0.1
    i=$((i + 1))
done
[ -s "$T/port" ] || { kill $pid 2>/dev/null; fail "smserver refused its example config: $(cat "$T/err")"; }
kill -TERM $pid
wait $pid || fail "smserver did not exit 0 on SIGTERM"
pass "smserver accepts every key of its example configuration"

# The same for smagent: every documented key, paths pointed here, a server that is away.
sed -n 's/^#\([a-z_]* = .*\)/\1/p' "$D$docdir/examples/smagent.conf" >"$T/smagent.conf"
[ "$(wc -l <"$T/smagent.conf")" -ge 7 ] || fail "smagent.conf documents too few keys"
printf 'install-test-token\n' >"$T/token"
chmod 600 "$T/token"
: >"$T/ca.pem"
sed -i -e "s|^server = .*|server = http://127.0.0.1:9|" -e "s|^token_file = .*|token_file = $T/token|" \
    -e "s|^spool = .*|spool = $T/spool|" -e "s|^ca_file = .*|ca_file = $T/ca.pem|" "$T/smagent.conf"
"$SMAGENT" --config "$T/smagent.conf" 2>"$T/agent.err" &
pid=$!
i=0
until grep -q "sending to http://127.0.0.1:9/ingest" "$T/agent.err" 2>/dev/null; do
    kill -0 $pid 2>/dev/null || fail "smagent refused its example config: $(cat "$T/agent.err")"
    i=$((i + 1))
    [ $i -lt 200 ] || { kill $pid; fail "smagent did not start: $(cat "$T/agent.err")"; }
    sleep 0.1
done
kill -TERM $pid
wait $pid || fail "smagent did not exit 0 on SIGTERM"
pass "smagent accepts every key of its example configuration"

make -s -C "$top_builddir" uninstall DESTDIR="$D" >"$T/log" 2>&1 ||
    fail "make uninstall: $(tail -n 20 "$T/log")"
left=$(find "$D" -type f | sed "s|^$D||")
[ -z "$left" ] || fail "make uninstall left: $left"
pass "make uninstall removes every file"
