/* client_token.c: the refresh token file and the access token's lifetime (see
 * client_token.h). */
#include "config.h"

#include "client_token.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"
#include "client_impl.h"
#include "clock.h"
#include "json.h"
#include "log.h"
#include "xmalloc.h"

/* Make dir and its missing parents; the ones made here are 0700. */
static int
mkdir_p(const char *dir)
{
    char *d = sm_xstrdup(dir);
    int rc = 0;
    for (char *p = d + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char save = *p;
        *p = '\0';
        if (mkdir(d, 0700) != 0 && errno != EEXIST) {
            rc = -1;
            break;
        }
        *p = save;
        if (save == '\0')
            break;
    }
    free(d);
    return rc;
}

char *
client_token_path(const struct client_options *opt)
{
    char *dir;
    if (opt->state_dir) {
        dir = sm_xstrdup(opt->state_dir);
    } else {
        const char *xdg = getenv("XDG_STATE_HOME");
        const char *home = getenv("HOME");
        if (xdg && xdg[0] == '/') {
            dir = sm_xasprintf("%s/statusmonitor", xdg);
        } else {
            if (home == NULL || home[0] != '/') {
                struct passwd *pw = getpwuid(getuid());
                home = pw ? pw->pw_dir : NULL;
            }
            if (home == NULL)
                return NULL;
            dir = sm_xasprintf("%s/.local/state/statusmonitor", home);
        }
    }
    /* USER@URL with anything but [A-Za-z0-9.-] turned into '_'. */
    char *name = sm_xasprintf("%s@%s", opt->user, opt->url);
    for (char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '-' || *p == '@'))
            *p = '_';
    char *path = sm_xasprintf("%s/%s.refresh", dir, name);
    free(dir);
    free(name);
    return path;
}

/* The directory part of path (allocated). */
static char *
dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return sm_xstrndup(path, slash && slash != path ? (size_t)(slash - path) : 1);
}

/* Read the stored refresh token, or NULL when there is none (or it is unusable). */
char *
token_read(const char *path)
{
    if (path == NULL)
        return NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return NULL;
    struct stat st;
    char buf[CLIENT_TOKEN_MAX + 2];
    ssize_t n = -1;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == getuid()) {
        if (st.st_mode & 077) {
            sm_log(SM_LOG_WARN, "%s: readable by others; tightened to 0600", path);
            if (fchmod(fd, 0600) != 0)
                sm_log(SM_LOG_WARN, "%s: chmod: %s", path, strerror(errno));
        }
        n = read(fd, buf, sizeof buf - 1);
    }
    close(fd);
    if (n <= 0 || (size_t)n > CLIENT_TOKEN_MAX) {
        explicit_bzero(buf, sizeof buf);
        return NULL;
    }
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    char *t = buf[0] ? sm_xstrdup(buf) : NULL;
    explicit_bzero(buf, sizeof buf);
    return t;
}

/* Replace the stored refresh token atomically (write a 0600 temporary, fsync, rename). */
enum sm_rc
token_write(const char *path, const char *token)
{
    if (path == NULL)
        return SM_OK;
    char *dir = dir_of(path);
    char *tmp = sm_xasprintf("%s.tmp%ld", path, (long)getpid());
    enum sm_rc rc = SM_EIO;
    int fd = -1;
    if (mkdir_p(dir) != 0) {
        sm_log(SM_LOG_WARN, "%s: cannot create: %s", dir, strerror(errno));
        goto out;
    }
    (void)chmod(dir, 0700);
    unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        goto fail;
    size_t len = strlen(token);
    if (write(fd, token, len) != (ssize_t)len || write(fd, "\n", 1) != 1 || fsync(fd) != 0)
        goto fail;
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0)
        goto fail;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    rc = SM_OK;
    goto out;
fail:
    sm_log(SM_LOG_WARN, "%s: cannot store the refresh token: %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    unlink(tmp);
out:
    free(dir);
    free(tmp);
    return rc;
}

/* Hold an exclusive lock on PATH.lock so that two smtops never rotate the same refresh
 * token at once (a reused refresh token revokes its whole family). -1 when not kept.
 * nonblock (inside the loop, which must not wait on another process): -2 when another
 * smtop holds the lock. */
int
token_lock(const char *path, int nonblock)
{
    if (path == NULL)
        return -1;
    char *dir = dir_of(path);
    int ok = mkdir_p(dir) == 0;
    if (ok)
        (void)chmod(dir, 0700);
    free(dir);
    if (!ok)
        return -1;
    char *lp = sm_xasprintf("%s.lock", path);
    int fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    free(lp);
    if (fd >= 0 && flock(fd, LOCK_EX | (nonblock ? LOCK_NB : 0)) != 0) {
        int busy = errno == EWOULDBLOCK;
        close(fd);
        fd = busy ? -2 : -1;
    }
    return fd;
}

void
token_unlock(int fd)
{
    if (fd >= 0)
        close(fd); /* releases the flock */
}

/* Seconds until the access token expires: the JWT's exp against our clock, bounded by
 * the server's expires_in (which does not depend on the clocks agreeing). */
double
token_lifetime(const char *jwt, double expires_in)
{
    double life = expires_in > 0 ? expires_in : 0;
    const char *dot1 = strchr(jwt, '.');
    const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    if (dot2 == NULL || dot2 - dot1 - 1 > 2048)
        return life > 0 ? life : 60;
    /* base64url payload -> JSON. */
    size_t n = (size_t)(dot2 - dot1 - 1);
    char *out = sm_xmalloc(n + 1);
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0, bad = 0;
    for (const char *p = dot1 + 1; p < dot2; p++) {
        int v;
        if (*p >= 'A' && *p <= 'Z')
            v = *p - 'A';
        else if (*p >= 'a' && *p <= 'z')
            v = *p - 'a' + 26;
        else if (*p >= '0' && *p <= '9')
            v = *p - '0' + 52;
        else if (*p == '-')
            v = 62;
        else if (*p == '_')
            v = 63;
        else if (*p == '=')
            break;
        else {
            bad = 1;
            break;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    cJSON *pj = NULL;
    char *cause = NULL;
    if (!bad && sm_json_parse(out, o, 4, &pj, &cause) == SM_OK) {
        const cJSON *exp = cJSON_GetObjectItemCaseSensitive(pj, "exp");
        if (cJSON_IsNumber(exp)) {
            double left = exp->valuedouble - sm_wall_now();
            if (left > 0 && (life <= 0 || left < life))
                life = left;
        }
    }
    free(cause);
    cJSON_Delete(pj);
    free(out);
    return life > 0 ? life : 60;
}
