#!/bin/sh
# agent_unit.sh: share/systemd/smagent.service is a valid unit and its systemd-analyze
# security exposure is at most 2.0 (skipped where systemd-analyze is missing).
. "$(dirname "$0")/lib.sh"
need systemd-analyze
sed -e "s|@SBINDIR@|$top_builddir/smagent|g" "$top_srcdir/share/systemd/smagent.service.in" \
    >"$T/smagent.service"
systemd-analyze verify --man=no "$T/smagent.service" >"$T/verify" 2>&1 ||
    fail "systemd-analyze verify: $(cat "$T/verify")"
systemd-analyze security --offline=true "$T/smagent.service" >"$T/security" 2>&1 ||
    fail "systemd-analyze security: $(tail -n 5 "$T/security")"
level=$(sed -n 's/.*Overall exposure level for smagent.service: \([0-9.]*\).*/\1/p' "$T/security")
[ -n "$level" ] || fail "no exposure level in: $(tail -n 3 "$T/security")"
awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }' || fail "exposure $level, want <= 2.0"
grep -q '^Type=notify' "$T/smagent.service" || fail "not Type=notify"
grep -q '^ProcSubset=pid' "$T/smagent.service" && fail "ProcSubset=pid hides /proc/stat from the collector"
pass "smagent.service verifies; exposure $level"
