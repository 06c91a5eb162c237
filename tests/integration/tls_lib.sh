# tls_lib.sh: make_tls DIR: a private CA (DIR/ca.pem, DIR/ca.key) and a certificate for
# 127.0.0.1 signed by it (DIR/srv.pem, DIR/srv.key), for the https responders of the
# agent tests and benchmark (sourced, not run; needs openssl).
make_tls() {
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=test-ca \
        -keyout "$1/ca.key" -out "$1/ca.pem" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 \
        -keyout "$1/srv.key" -out "$1/srv.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1\n' >"$1/ext"
    openssl x509 -req -in "$1/srv.csr" -CA "$1/ca.pem" -CAkey "$1/ca.key" -CAcreateserial \
        -days 2 -extfile "$1/ext" -out "$1/srv.pem" 2>/dev/null
}
