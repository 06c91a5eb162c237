# tls_lib.sh: make_tls DIR: a private CA (DIR/ca.pem, DIR/ca.key) and a certificate for
# 127.0.0.1 and localhost signed by it (DIR/srv.pem, DIR/srv.key, key mode 0600), for
# the https servers of the tests and benchmarks (sourced, not run; needs openssl).
make_tls() {
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=test-ca \
        -keyout "$1/ca.key" -out "$1/ca.pem" 2>/dev/null
    make_cert "$1" srv 127.0.0.1 'IP:127.0.0.1,DNS:localhost' 2
}
# make_cert DIR NAME CN SAN DAYS: DIR/NAME.pem and DIR/NAME.key (0600), signed by DIR's
# CA, for subjectAltName SAN, valid DAYS days (-1: expired since yesterday).
make_cert() {
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$3" \
        -keyout "$1/$2.key" -out "$1/$2.csr" 2>/dev/null
    chmod 600 "$1/$2.key"
    printf 'subjectAltName=%s\n' "$4" >"$1/$2.ext"
    openssl x509 -req -in "$1/$2.csr" -CA "$1/ca.pem" -CAkey "$1/ca.key" -CAcreateserial \
        -days "$5" -extfile "$1/$2.ext" -out "$1/$2.pem" 2>/dev/null
}
