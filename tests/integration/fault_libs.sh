#!/bin/sh
# fault_libs.sh: allocation failures inside libwebsockets (lws_set_allocator) and libcurl
# (curl_global_init_mem), the Nth allocation failing for every N over one full request
# of each kind: an ingest, a login and a WebSocket subscription (libwebsockets), a
# webhook delivery and a channel's address check (libcurl in smserver), and an agent's
# post over https (libcurl in smagent). fault_libs.py does the work
# and says what each run must show; under --enable-sanitizers each run's clean exit is
# also LeakSanitizer's verdict.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tls_lib.sh"
need python3 curl openssl
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import websockets' 2>/dev/null ||
    skip "/usr/bin/python3 with python3-websockets is not installed"
mkdir "$T/tls"
make_tls "$T/tls"
/usr/bin/python3 "$top_srcdir/tests/integration/fault_libs.py" "$SMSERVER" "$SMAGENT" \
    "$top_srcdir" "$T" || fail "allocation failures inside the libraries"
pass "allocation failures inside libwebsockets and libcurl"
