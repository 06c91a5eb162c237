/* tls.h: smserver's certificate and key checks, made before libwebsockets is given the
 * files (at the start and again before a SIGHUP reload), so that a bad pair is refused
 * with a clear message instead of libwebsockets' generic failure. */
#ifndef SM_SMSERVER_TLS_H
#define SM_SMSERVER_TLS_H

/* Check the PEM certificate cert and private key key: the key file is a regular file
 * that neither group nor others may read or write, both files parse, the certificate
 * (the first one in cert) is valid now and matches the key. 0 if all holds; otherwise
 * -1 and *cause (free it) says which file and what is wrong. */
int tls_check(const char *cert, const char *key, char **cause);

#endif
