#!/bin/sh
# page.sh: the web page in headless Chromium against a real smserver: register, log in,
# agents (token once, regenerate, delete with confirmation), live charts from the
# stream, alerts (channel secret once, a rule firing on the fleet view, history, edit,
# delete), per-core view and history, per-device charts, history ranges, logout revokes,
# CSP, weight, keyboard, phone.
# The browser part is page.js (playwright-core from npm, installed by ./bootstrap check).
. "$(dirname "$0")/../integration/lib.sh"
. "$top_srcdir/tests/integration/server_lib.sh"

CHROMIUM=${CHROMIUM:-}
for c in /usr/bin/chromium /usr/bin/chromium-browser; do
    [ -z "$CHROMIUM" ] && [ -x "$c" ] && CHROMIUM=$c
done
[ -n "$CHROMIUM" ] || skip "chromium is not installed (apt-get install chromium)"
command -v node >/dev/null 2>&1 || skip "node is not installed (apt-get install nodejs)"

. "$top_srcdir/tests/web/playwright.sh"
need_playwright

# Short access tokens, so the page has to refresh during the test.
ACCESS_TOKEN_EXPIRE_MINUTES=1
export ACCESS_TOKEN_EXPIRE_MINUTES
# The page's test notification goes to a closed port on loopback (nothing leaves this
# machine), so loopback is allowed for alert channels here.
printf 'webhook_allow_private = 127.0.0.1/32\n' >"$T/smserver.conf"
start_server --www "$top_srcdir/share/www" --config "$T/smserver.conf"

ART=${SM_ARTIFACTS:-$top_builddir/tests/web}
mkdir -p "$ART"
rc=0
NODE_PATH=$NODE_MODS SM_URL=$URL SM_CHROMIUM=$CHROMIUM SM_TMP=$T SM_ART=$ART \
    SMAGENT=$SMAGENT SM_PY=$PY SM_POST_SAMPLES=$top_srcdir/tests/integration/post_samples.py \
    node "$top_srcdir/tests/web/page.js" || rc=$?
if [ $rc -ne 0 ]; then
    tail -n 30 "$SM_LOG" >&2
    fail "the page test failed (screenshots in $ART)"
fi
stop_server
pass "web page"
