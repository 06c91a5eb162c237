# playwright.sh: sourced by the browser tests (after tests/integration/lib.sh). need_playwright
# sets NODE_MODS to a node_modules that holds playwright-core: tests/web/node_modules from
# `npm ci` (./bootstrap check runs it) in the source tree or, when that is read-only
# (distcheck) or a fresh copy (CI's sanitizer build), in the build tree. When none has it,
# it runs `npm ci` once, under a lock: page.sh and page_tls.sh may start at the same time.

find_pw() {
    for d in "$top_srcdir/tests/web/node_modules" "$top_builddir/tests/web/node_modules"; do
        [ -f "$d/playwright-core/package.json" ] && { echo "$d"; return 0; }
    done
    return 1
}

need_playwright() {
    NODE_MODS=$(find_pw) && return 0
    command -v npm >/dev/null 2>&1 || fail "playwright-core is missing and npm is not installed"
    command -v flock >/dev/null 2>&1 || fail "flock is not installed (apt-get install util-linux)"
    mkdir -p "$top_builddir/tests/web"
    [ "$top_builddir" = "$top_srcdir" ] || cp "$top_srcdir/tests/web/package.json" \
        "$top_srcdir/tests/web/package-lock.json" "$top_builddir/tests/web/"
    (cd "$top_builddir/tests/web" && flock .npm-ci.lock sh -c \
        '[ -f node_modules/playwright-core/package.json ] ||
            npm ci --prefer-offline --no-audit --no-fund') >"$T/npm.log" 2>&1 ||
        { cat "$T/npm.log" >&2; fail "npm ci in tests/web failed (run ./bootstrap check)"; }
    NODE_MODS=$(find_pw) || fail "playwright-core is still missing after npm ci"
}
