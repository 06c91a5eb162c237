/* client_token.h: the refresh token file (STATE/statusmonitor/USER@URL.refresh, 0600,
 * replaced atomically, locked while rotated) and the access token's lifetime. The
 * file's path comes from client_token_path() (client.h). No I/O but the file's. */
#ifndef SM_SMTOP_CLIENT_TOKEN_H
#define SM_SMTOP_CLIENT_TOKEN_H

#include "rc.h"

/* Read the stored refresh token (allocated, to be wiped), or NULL when there is none
 * (or it is unusable). path NULL: not kept. */
char *token_read(const char *path);
/* Replace the stored refresh token atomically (write a 0600 temporary, fsync, rename).
 * SM_OK, or SM_EIO (logged). path NULL: nothing to do. */
enum sm_rc token_write(const char *path, const char *token) SM_MUST_CHECK;
/* Hold an exclusive lock on PATH.lock so that two smtops never rotate the same refresh
 * token at once: the descriptor, -1 when not kept, -2 (nonblock only) when another
 * smtop holds it. */
int token_lock(const char *path, int nonblock);
/* Release a token_lock (any value it returned). */
void token_unlock(int fd);
/* Seconds until the access token jwt expires, bounded by the server's expires_in. */
double token_lifetime(const char *jwt, double expires_in);

#endif
