#!/bin/sh
# page_tls.sh: the web page in headless Chromium over HTTPS and WSS (page_tls.js) against
# a real smserver started with a certificate made here by openssl.
. "$(dirname "$0")/../integration/lib.sh"
. "$top_srcdir/tests/integration/server_lib.sh"
. "$top_srcdir/tests/integration/tls_lib.sh"
need openssl
CHROMIUM=${CHROMIUM:-}
for c in /usr/bin/chromium /usr/bin/chromium-browser; do
    [ -z "$CHROMIUM" ] && [ -x "$c" ] && CHROMIUM=$c
done
[ -n "$CHROMIUM" ] || skip "chromium is not installed (apt-get install chromium)"
command -v node >/dev/null 2>&1 || skip "node is not installed (apt-get install nodejs)"
. "$top_srcdir/tests/web/playwright.sh"
need_playwright

make_tls "$T"
CURL_CA_BUNDLE=$T/ca.pem
export CURL_CA_BUNDLE
start_server --www "$top_srcdir/share/www" --tls-cert "$T/srv.pem" --tls-key "$T/srv.key"
URL=https://127.0.0.1:$PORT
rc=0
NODE_PATH=$NODE_MODS SM_URL=$URL SM_CHROMIUM=$CHROMIUM SM_TMP=$T SMAGENT=$SMAGENT \
    node "$top_srcdir/tests/web/page_tls.js" || rc=$?
if [ $rc -ne 0 ]; then
    tail -n 30 "$SM_LOG" >&2
    fail "the page test over HTTPS failed"
fi
stop_server
pass "web page over HTTPS and WSS"
