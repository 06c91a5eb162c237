/* tls.c: the certificate and key checks of tls.h, with OpenSSL (the library
 * libwebsockets serves TLS with). */
#include "config.h"

#include "tls.h"

#include <errno.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "xmalloc.h"

/* OpenSSL's reason for the last failure, or what, when it kept none. */
static const char *
ssl_reason(const char *what)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    return r ? r : what;
}

/* t as "Mon DD HH:MM:SS YYYY GMT" in buf. */
static const char *
asn1_time_str(const ASN1_TIME *t, char *buf, size_t size)
{
    BIO *b = BIO_new(BIO_s_mem());
    int n = b && ASN1_TIME_print(b, t) ? BIO_read(b, buf, (int)size - 1) : 0;
    buf[n > 0 ? n : 0] = '\0';
    BIO_free(b);
    return buf[0] ? buf : "an unreadable date";
}

/* An encrypted key is refused, not asked about on the terminal. */
static int
no_passphrase(char *buf, int size, int rwflag, void *arg)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)arg;
    return -1;
}

static int
check_key_mode(const char *key, char **cause)
{
    struct stat st;
    if (stat(key, &st) != 0) {
        *cause = sm_xasprintf("tls_key: %s: %s", key, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        *cause = sm_xasprintf("tls_key: %s: not a regular file", key);
        return -1;
    }
    if (st.st_mode & 077) {
        *cause = sm_xasprintf("tls_key: %s: group or others have access (mode %04o); "
                              "the key must be private: chmod 600 it",
                              key, (unsigned)(st.st_mode & 07777));
        return -1;
    }
    return 0;
}

int
tls_check(const char *cert, const char *key, char **cause)
{
    X509 *x = NULL;
    EVP_PKEY *pk = NULL;
    BIO *b = NULL;
    int ret = -1;
    char when[64];
    *cause = NULL;
    ERR_clear_error();
    if (check_key_mode(key, cause) != 0)
        return -1;
    if (!(b = BIO_new_file(cert, "r"))) {
        *cause = sm_xasprintf("tls_cert: %s: %s", cert, strerror(errno));
        goto out;
    }
    if (!(x = PEM_read_bio_X509(b, NULL, no_passphrase, NULL))) {
        *cause =
            sm_xasprintf("tls_cert: %s: no PEM certificate (%s)", cert, ssl_reason("unreadable"));
        goto out;
    }
    BIO_free(b);
    if (X509_cmp_current_time(X509_get0_notAfter(x)) <= 0) {
        *cause = sm_xasprintf("tls_cert: %s: expired on %s", cert,
                              asn1_time_str(X509_get0_notAfter(x), when, sizeof when));
        b = NULL;
        goto out;
    }
    if (X509_cmp_current_time(X509_get0_notBefore(x)) >= 0) {
        *cause = sm_xasprintf("tls_cert: %s: not valid before %s", cert,
                              asn1_time_str(X509_get0_notBefore(x), when, sizeof when));
        b = NULL;
        goto out;
    }
    if (!(b = BIO_new_file(key, "r"))) {
        *cause = sm_xasprintf("tls_key: %s: %s", key, strerror(errno));
        goto out;
    }
    if (!(pk = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL))) {
        *cause = sm_xasprintf("tls_key: %s: no PEM private key without a passphrase (%s)", key,
                              ssl_reason("unreadable"));
        goto out;
    }
    if (X509_check_private_key(x, pk) != 1) {
        *cause = sm_xasprintf("tls_key: %s: does not match the certificate %s", key, cert);
        goto out;
    }
    ret = 0;
out:
    BIO_free(b);
    X509_free(x);
    EVP_PKEY_free(pk);
    ERR_clear_error();
    return ret;
}
