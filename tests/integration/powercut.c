/* powercut.c: an LD_PRELOAD layer that keeps, beside a live directory, the image a power
 * cut would leave of it: only what was fsynced. Built by the test suite, used by
 * power_cut.sh.
 *
 * SM_POWERCUT_DIR names the live directory (its top-level regular files are modelled) and
 * SM_POWERCUT_SHADOW an empty or scratch directory outside it, where the durable image is
 * kept: shadow/data/ID holds the durable bytes of one file (one inode) and shadow/map lists
 * the durable names, one line "ID MODE NAME". The process sees the live files as usual.
 *
 * - At start the layer takes the live directory as durable: each regular file is copied to
 *   the shadow and the map lists them (what earlier processes left counts as synced).
 * - write, pwrite, writev, pwritev (and the 64 variants) record the range they wrote in
 *   the file's record; ftruncate, truncate and open with O_TRUNC record a size change
 *   (fallocate only grows a file, and a sync copies the live size).
 * - fsync or fdatasync of a file copies the ranges written since its last sync (and its
 *   size) from the live file to its durable copy: after a sync, the durable bytes of the
 *   whole file are the live bytes at the time of the sync.
 * - Every write and size change since a file's last sync is also logged, in order, in
 *   shadow/pending/ID (emptied by the sync), so that the cut may also keep some of them:
 *   a disk writes dirty pages back whenever it likes.
 * - Names are directory data: a new file, a rename or an unlink becomes durable only when
 *   the directory itself is fsynced (POSIX; SQLite does this after creating a WAL or a
 *   journal). fsync or fdatasync of the live directory rewrites the map from the
 *   directory's current entries. A name whose file was never synced points to an empty
 *   durable copy.
 * - unlink and rename over a name forget the inode the name held when it was its last
 *   link (and no descriptor is open on it), so a later file that reuses the inode number
 *   gets a new record.
 * - SM_POWERCUT_LIE=1: fsync and fdatasync succeed without making anything durable (a disk
 *   that acknowledges a flush it does not do); the test uses it to show it can fail.
 *
 * The cut itself is done by the test after SIGKILL: it replaces the live directory's
 * files with the map's names and their durable copies.
 *
 * Not modelled: writes through mmap (SQLite's -shm index, which it rebuilds from the WAL
 * at the first open after the last connection is gone), files in subdirectories, dup'd
 * descriptors (dup, fcntl F_DUPFD), O_TMPFILE and linkat, sendfile, splice and
 * copy_file_range into a file, hole punching, torn writes, overlapping writes landing out
 * of order, the drive's own cache, other processes. Files are matched by the absolute
 * path SM_POWERCUT_DIR gives (a relative one is made absolute at start), or relative to
 * a descriptor of the directory: another spelling of the path (a symbolic link, "..",
 * relative to the working directory) is not seen. Only the
 * process that loaded the layer first acts; a child after fork passes through. */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define PC_MAX_FD 4096
#define PC_MAX_FILES 4096

struct pc_file {
    int used;
    dev_t dev;
    ino_t ino;
    unsigned id;
    off_t lo, hi; /* bytes written since the last sync: [lo, hi) */
    off_t trunc;  /* smallest size set since the last sync, or -1 */
    int pend;     /* shadow/pending/ID, open for appending */
};

/* A record of shadow/pending/ID: a write of LEN bytes at OFF (the bytes follow), or with
 * LEN -1 a new size OFF; the file holds what was done since the last sync, in order. */
struct pc_pending {
    int64_t off, len;
};

static struct {
    int on;
    pid_t pid;
    int lie;
    char dir[PATH_MAX], shadow[PATH_MAX];
    size_t dirlen;
    unsigned next_id;
    int fd_file[PC_MAX_FD]; /* index in files + 1, -1 for the live directory, 0 untracked */
    struct pc_file files[PC_MAX_FILES];
    pthread_mutex_t mu;
} pc = {.mu = PTHREAD_MUTEX_INITIALIZER};

static int (*real_open)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pwritev)(int, const struct iovec *, int, off_t);
static ssize_t (*real_pwritev64)(int, const struct iovec *, int, off_t);
static int (*real_ftruncate)(int, off_t);
static int (*real_ftruncate64)(int, off_t);
static int (*real_truncate)(const char *, off_t);
static int (*real_fallocate)(int, int, off_t, off_t);
static int (*real_posix_fallocate)(int, off_t, off_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_close)(int);
static int (*real_unlink)(const char *);
static int (*real_unlinkat)(int, const char *, int);
static int (*real_rename)(const char *, const char *);
static int (*real_renameat)(int, const char *, int, const char *);
static int (*real_renameat2)(int, const char *, int, const char *, unsigned);

#define RESOLVE(name)                                                                              \
    do {                                                                                           \
        if (!real_##name)                                                                          \
            *(void **)&real_##name = dlsym(RTLD_NEXT, #name);                                      \
    } while (0)

static void
resolve_all(void)
{
    RESOLVE(open);
    RESOLVE(openat);
    RESOLVE(write);
    RESOLVE(pwrite);
    RESOLVE(pwrite64);
    RESOLVE(writev);
    RESOLVE(pwritev);
    RESOLVE(pwritev64);
    RESOLVE(ftruncate);
    RESOLVE(ftruncate64);
    RESOLVE(truncate);
    RESOLVE(fallocate);
    RESOLVE(posix_fallocate);
    RESOLVE(fsync);
    RESOLVE(fdatasync);
    RESOLVE(close);
    RESOLVE(unlink);
    RESOLVE(unlinkat);
    RESOLVE(rename);
    RESOLVE(renameat);
    RESOLVE(renameat2);
}

/* The layer cannot go on without its shadow: say why and stop the process. */
static void
pc_die(const char *what)
{
    char msg[PATH_MAX + 128];
    int n = snprintf(msg, sizeof msg, "powercut: %s: %s\n", what, strerror(errno));
    if (n > 0)
        (void)!real_write(2, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
    _exit(70);
}

static int
active(void)
{
    return pc.on && getpid() == pc.pid;
}

/* The file NAME in the live directory when PATH (relative to DIRFD) names one, else NULL. */
static const char *
live_name(int atfd, const char *path)
{
    if (!path)
        return NULL;
    const char *name = NULL;
    if (path[0] == '/') {
        if (strncmp(path, pc.dir, pc.dirlen) != 0 || path[pc.dirlen] != '/')
            return NULL;
        name = path + pc.dirlen + 1;
    } else if (atfd >= 0 && atfd < PC_MAX_FD && pc.fd_file[atfd] == -1) {
        name = path;
    } else {
        return NULL;
    }
    if (!*name || strchr(name, '/') || strchr(name, '\n') || !strcmp(name, ".") ||
        !strcmp(name, ".."))
        return NULL;
    return name;
}

static int
is_live_dir(int atfd, const char *path)
{
    if (path[0] != '/')
        return atfd >= 0 && atfd < PC_MAX_FD && pc.fd_file[atfd] == -1 && !strcmp(path, ".");
    return strncmp(path, pc.dir, pc.dirlen) == 0 &&
           (path[pc.dirlen] == 0 || (path[pc.dirlen] == '/' && path[pc.dirlen + 1] == 0));
}

static void
data_path(char *buf, size_t len, unsigned id)
{
    snprintf(buf, len, "%s/data/%u", pc.shadow, id);
}

/* The record of (dev, ino), made (with an empty durable copy) when there is none. Call
 * with pc.mu held. */
static struct pc_file *
file_get(dev_t dev, ino_t ino)
{
    struct pc_file *free_slot = NULL;
    for (int i = 0; i < PC_MAX_FILES; i++) {
        struct pc_file *f = &pc.files[i];
        if (f->used && f->dev == dev && f->ino == ino)
            return f;
        if (!f->used && !free_slot)
            free_slot = f;
    }
    if (!free_slot) {
        errno = ENFILE;
        pc_die("too many files");
    }
    struct pc_file *f = free_slot;
    *f = (struct pc_file){.used = 1, .dev = dev, .ino = ino, .id = ++pc.next_id, .trunc = -1};
    char p[PATH_MAX + 32];
    data_path(p, sizeof p, f->id);
    int fd = real_open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        pc_die(p);
    real_close(fd);
    snprintf(p, sizeof p, "%s/pending/%u", pc.shadow, f->id);
    f->pend = real_open(p, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    if (f->pend < 0)
        pc_die(p);
    return f;
}

static struct pc_file *
fd_rec(int fd)
{
    if (fd < 0 || fd >= PC_MAX_FD || pc.fd_file[fd] <= 0)
        return NULL;
    return &pc.files[pc.fd_file[fd] - 1];
}

/* Copy [lo, hi) of the file open on SRC to DST; returns 0 or -1. */
static int
copy_range(int src, int dst, off_t lo, off_t hi)
{
    char buf[65536];
    while (lo < hi) {
        size_t want = (size_t)(hi - lo) < sizeof buf ? (size_t)(hi - lo) : sizeof buf;
        ssize_t n = pread(src, buf, want, lo);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n == 0 ? 0 : -1;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = real_pwrite(dst, buf + off, (size_t)(n - off), lo + off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                return -1;
            off += w;
        }
        lo += n;
    }
    return 0;
}

/* After a successful sync of FD: its durable copy takes the live bytes written since the
 * last sync, and the live size. Call with pc.mu held. */
static void
sync_file(int fd, struct pc_file *f)
{
    char p[PATH_MAX + 32], self[64];
    struct stat sb;
    /* Read through /proc so that a write-only descriptor can be copied too. */
    snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
    int src = real_open(self, O_RDONLY | O_CLOEXEC);
    if (src < 0 || fstat(src, &sb) != 0)
        pc_die(self);
    data_path(p, sizeof p, f->id);
    int dst = real_open(p, O_WRONLY | O_CLOEXEC);
    if (dst < 0)
        pc_die(p);
    if (f->trunc >= 0 && real_ftruncate(dst, f->trunc) != 0)
        pc_die(p);
    if (f->hi > f->lo && copy_range(src, dst, f->lo, f->hi < sb.st_size ? f->hi : sb.st_size))
        pc_die(p);
    if (real_ftruncate(dst, sb.st_size) != 0)
        pc_die(p);
    real_close(dst);
    real_close(src);
    f->lo = f->hi = 0;
    f->trunc = -1;
    if (real_ftruncate(f->pend, 0) != 0)
        pc_die("pending");
}

/* Append to F's pending log what was just done (see struct pc_pending). Call with pc.mu
 * held. */
static void
log_pending(struct pc_file *f, off_t off, int64_t len, const struct iovec *iov, int cnt)
{
    struct pc_pending h = {.off = off, .len = len};
    if (real_write(f->pend, &h, sizeof h) != (ssize_t)sizeof h)
        pc_die("pending");
    for (int i = 0; i < cnt && len > 0; i++) {
        size_t n = iov[i].iov_len < (size_t)len ? iov[i].iov_len : (size_t)len;
        if (n && real_write(f->pend, iov[i].iov_base, n) != (ssize_t)n)
            pc_die("pending");
        len -= (int64_t)n;
    }
}

/* The durable names become the live directory's entries of now (after a sync of the
 * directory, or at start with COPY set: then every file's bytes are durable too). Call
 * with pc.mu held. */
static void
sync_dir(int copy)
{
    char tmp[PATH_MAX + 32], map[PATH_MAX + 32];
    snprintf(tmp, sizeof tmp, "%s/map.tmp", pc.shadow);
    snprintf(map, sizeof map, "%s/map", pc.shadow);
    DIR *d = opendir(pc.dir);
    if (!d)
        pc_die(pc.dir);
    FILE *out = fopen(tmp, "we");
    if (!out)
        pc_die(tmp);
    struct dirent *e;
    while ((e = readdir(d))) {
        struct stat sb;
        if (strchr(e->d_name, '\n') ||
            fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(sb.st_mode))
            continue;
        struct pc_file *f = file_get(sb.st_dev, sb.st_ino);
        if (copy) {
            int src = real_openat(dirfd(d), e->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
            char p[PATH_MAX + 32];
            data_path(p, sizeof p, f->id);
            int dst = real_open(p, O_WRONLY | O_TRUNC | O_CLOEXEC);
            if (src < 0 || dst < 0 || copy_range(src, dst, 0, sb.st_size) != 0)
                pc_die(e->d_name);
            real_close(src);
            real_close(dst);
        }
        fprintf(out, "%u %o %s\n", f->id, (unsigned)(sb.st_mode & 07777), e->d_name);
    }
    closedir(d);
    if (fclose(out) != 0 || real_rename(tmp, map) != 0)
        pc_die(map);
}

/* Remove the files of the shadow's directory PATH. */
static void
empty_dir(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        pc_die(path);
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            real_unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
}

__attribute__((constructor)) static void
pc_init(void)
{
    resolve_all();
    const char *dir = getenv("SM_POWERCUT_DIR"), *shadow = getenv("SM_POWERCUT_SHADOW");
    if (!dir || !*dir || !shadow || !*shadow)
        return;
    /* An absolute path is kept as given (the process names its files through it); a
     * relative one is made absolute. */
    if (dir[0] == '/' && strlen(dir) < sizeof pc.dir)
        memcpy(pc.dir, dir, strlen(dir) + 1);
    else if (!realpath(dir, pc.dir))
        pc_die(dir);
    for (size_t n = strlen(pc.dir); n > 1 && pc.dir[n - 1] == '/'; n--)
        pc.dir[n - 1] = 0;
    if (!realpath(shadow, pc.shadow))
        pc_die(shadow);
    pc.dirlen = strlen(pc.dir);
    const char *lie = getenv("SM_POWERCUT_LIE");
    pc.lie = lie && !strcmp(lie, "1");
    char p[PATH_MAX + 32];
    snprintf(p, sizeof p, "%s/data", pc.shadow);
    if (mkdir(p, 0700) != 0 && errno != EEXIST)
        pc_die(p);
    /* Old durable copies and logs are dropped: this start's image replaces them. */
    empty_dir(p);
    snprintf(p, sizeof p, "%s/pending", pc.shadow);
    if (mkdir(p, 0700) != 0 && errno != EEXIST)
        pc_die(p);
    empty_dir(p);
    pc.pid = getpid();
    pc.on = 1;
    pthread_mutex_lock(&pc.mu);
    sync_dir(1);
    pthread_mutex_unlock(&pc.mu);
}

static void
resized(struct pc_file *f, off_t len)
{
    if (!f)
        return;
    if (f->trunc < 0 || len < f->trunc)
        f->trunc = len;
    log_pending(f, len, -1, NULL, 0);
}

/* After an open of PATH (relative to ATFD) with FLAGS returned FD: track it if it is in
 * the live directory. */
static void
opened(int atfd, const char *path, int flags, int fd)
{
    if (fd < 0 || !active())
        return;
    struct stat sb;
    int live = is_live_dir(atfd, path) || live_name(atfd, path);
    if (fd >= PC_MAX_FD) {
        if (!live)
            return;
        errno = EMFILE;
        pc_die(path); /* untracked writes would make the image wrong */
    }
    pthread_mutex_lock(&pc.mu);
    if (is_live_dir(atfd, path)) {
        pc.fd_file[fd] = -1;
    } else if (live && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
        struct pc_file *f = file_get(sb.st_dev, sb.st_ino);
        pc.fd_file[fd] = (int)(f - pc.files) + 1;
        if (flags & O_TRUNC)
            resized(f, 0);
    } else {
        pc.fd_file[fd] = 0;
    }
    pthread_mutex_unlock(&pc.mu);
}

static void
wrote(int fd, off_t at, ssize_t n, const struct iovec *iov, int cnt)
{
    if (n <= 0 || !active())
        return;
    pthread_mutex_lock(&pc.mu);
    struct pc_file *f = fd_rec(fd);
    if (f) {
        if (at < 0)
            at = lseek(fd, 0, SEEK_CUR) - n; /* write(2): the offset after, less what it wrote */
        if (f->hi <= f->lo) {
            f->lo = at;
            f->hi = at + n;
        } else {
            f->lo = at < f->lo ? at : f->lo;
            f->hi = at + n > f->hi ? at + n : f->hi;
        }
        log_pending(f, at, n, iov, cnt);
    }
    pthread_mutex_unlock(&pc.mu);
}

/* Before unlink or rename over PATH: the file it names when that is the last link of a
 * tracked file, in *SB; returns 1 then. */
static int
dropping(int atfd, const char *path, struct stat *sb)
{
    return active() && live_name(atfd, path) && fstatat(atfd, path, sb, AT_SYMLINK_NOFOLLOW) == 0 &&
           S_ISREG(sb->st_mode) && sb->st_nlink == 1;
}

/* After the unlink or rename that DROP (dropping's answer) foresaw returned RC: forget the
 * inode unless a descriptor still uses its record, so that a file that reuses the inode
 * number gets a new record (the durable copy stays, for the names that still point to
 * it). */
static int
dropped(int drop, const struct stat *sb, int rc)
{
    if (!drop || rc != 0)
        return rc;
    pthread_mutex_lock(&pc.mu);
    for (int i = 0; i < PC_MAX_FILES; i++)
        if (pc.files[i].used && pc.files[i].dev == sb->st_dev && pc.files[i].ino == sb->st_ino) {
            for (int fd = 0; fd < PC_MAX_FD; fd++)
                if (pc.fd_file[fd] == i + 1)
                    goto keep;
            real_close(pc.files[i].pend);
            pc.files[i].used = 0;
        }
keep:
    pthread_mutex_unlock(&pc.mu);
    return rc;
}

static int
synced(int fd, int rc)
{
    if (rc != 0 || !active() || pc.lie)
        return rc;
    pthread_mutex_lock(&pc.mu);
    if (fd >= 0 && fd < PC_MAX_FD && pc.fd_file[fd] == -1) {
        sync_dir(0);
    } else {
        struct pc_file *f = fd_rec(fd);
        if (f)
            sync_file(fd, f);
    }
    pthread_mutex_unlock(&pc.mu);
    return rc;
}

/* ------------------------------------------------------------------ the interposed calls */

static mode_t
open_mode(int flags, va_list ap)
{
    return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

int
open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = open_mode(flags, ap);
    va_end(ap);
    RESOLVE(open);
    int fd = real_open(path, flags, mode);
    opened(AT_FDCWD, path, flags, fd);
    return fd;
}

int
open64(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = open_mode(flags, ap);
    va_end(ap);
    RESOLVE(open);
    int fd = real_open(path, flags, mode);
    opened(AT_FDCWD, path, flags, fd);
    return fd;
}

int
openat(int atfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = open_mode(flags, ap);
    va_end(ap);
    RESOLVE(openat);
    int fd = real_openat(atfd, path, flags, mode);
    opened(atfd, path, flags, fd);
    return fd;
}

int
openat64(int atfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = open_mode(flags, ap);
    va_end(ap);
    RESOLVE(openat);
    int fd = real_openat(atfd, path, flags, mode);
    opened(atfd, path, flags, fd);
    return fd;
}

int
creat(const char *path, mode_t mode)
{
    return open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
}

int
creat64(const char *path, mode_t mode)
{
    return open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
}

ssize_t
write(int fd, const void *buf, size_t n)
{
    RESOLVE(write);
    ssize_t r = real_write(fd, buf, n);
    wrote(fd, -1, r, &(struct iovec){(void *)buf, n}, 1);
    return r;
}

ssize_t
pwrite(int fd, const void *buf, size_t n, off_t at)
{
    RESOLVE(pwrite);
    ssize_t r = real_pwrite(fd, buf, n, at);
    wrote(fd, at, r, &(struct iovec){(void *)buf, n}, 1);
    return r;
}

ssize_t
pwrite64(int fd, const void *buf, size_t n, off_t at)
{
    RESOLVE(pwrite64);
    ssize_t r = real_pwrite64(fd, buf, n, at);
    wrote(fd, at, r, &(struct iovec){(void *)buf, n}, 1);
    return r;
}

ssize_t
writev(int fd, const struct iovec *iov, int cnt)
{
    RESOLVE(writev);
    ssize_t r = real_writev(fd, iov, cnt);
    wrote(fd, -1, r, iov, cnt);
    return r;
}

ssize_t
pwritev(int fd, const struct iovec *iov, int cnt, off_t at)
{
    RESOLVE(pwritev);
    ssize_t r = real_pwritev(fd, iov, cnt, at);
    wrote(fd, at, r, iov, cnt);
    return r;
}

ssize_t
pwritev64(int fd, const struct iovec *iov, int cnt, off_t at)
{
    RESOLVE(pwritev64);
    ssize_t r = real_pwritev64(fd, iov, cnt, at);
    wrote(fd, at, r, iov, cnt);
    return r;
}

static int
truncated(int fd, off_t len, int rc)
{
    if (rc == 0 && active()) {
        pthread_mutex_lock(&pc.mu);
        resized(fd_rec(fd), len);
        pthread_mutex_unlock(&pc.mu);
    }
    return rc;
}

int
ftruncate(int fd, off_t len)
{
    RESOLVE(ftruncate);
    return truncated(fd, len, real_ftruncate(fd, len));
}

int
ftruncate64(int fd, off_t len)
{
    RESOLVE(ftruncate64);
    return truncated(fd, len, real_ftruncate64(fd, len));
}

int
truncate(const char *path, off_t len)
{
    RESOLVE(truncate);
    int rc = real_truncate(path, len);
    struct stat sb;
    if (rc == 0 && active() && live_name(AT_FDCWD, path) && stat(path, &sb) == 0) {
        pthread_mutex_lock(&pc.mu);
        resized(file_get(sb.st_dev, sb.st_ino), len);
        pthread_mutex_unlock(&pc.mu);
    }
    return rc;
}

/* fallocate and posix_fallocate only grow a file (punching holes is not modelled): the
 * sync copies the live size. */
int
fallocate(int fd, int mode, off_t at, off_t len)
{
    RESOLVE(fallocate);
    return real_fallocate(fd, mode, at, len);
}

int
posix_fallocate(int fd, off_t at, off_t len)
{
    RESOLVE(posix_fallocate);
    return real_posix_fallocate(fd, at, len);
}

int
fsync(int fd)
{
    RESOLVE(fsync);
    return synced(fd, real_fsync(fd));
}

int
fdatasync(int fd)
{
    RESOLVE(fdatasync);
    return synced(fd, real_fdatasync(fd));
}

int
close(int fd)
{
    RESOLVE(close);
    if (active() && fd >= 0 && fd < PC_MAX_FD) {
        pthread_mutex_lock(&pc.mu);
        pc.fd_file[fd] = 0;
        int rc = real_close(fd);
        pthread_mutex_unlock(&pc.mu);
        return rc;
    }
    return real_close(fd);
}

int
unlink(const char *path)
{
    RESOLVE(unlink);
    struct stat sb;
    int drop = dropping(AT_FDCWD, path, &sb);
    return dropped(drop, &sb, real_unlink(path));
}

int
unlinkat(int atfd, const char *path, int flags)
{
    RESOLVE(unlinkat);
    struct stat sb;
    int drop = !(flags & AT_REMOVEDIR) && dropping(atfd, path, &sb);
    return dropped(drop, &sb, real_unlinkat(atfd, path, flags));
}

int
rename(const char *from, const char *to)
{
    RESOLVE(rename);
    struct stat sb;
    int drop = dropping(AT_FDCWD, to, &sb);
    return dropped(drop, &sb, real_rename(from, to));
}

int
renameat(int fromfd, const char *from, int tofd, const char *to)
{
    RESOLVE(renameat);
    struct stat sb;
    int drop = dropping(tofd, to, &sb);
    return dropped(drop, &sb, real_renameat(fromfd, from, tofd, to));
}

int
renameat2(int fromfd, const char *from, int tofd, const char *to, unsigned flags)
{
    RESOLVE(renameat2);
    struct stat sb;
    int drop = dropping(tofd, to, &sb);
    return dropped(drop, &sb, real_renameat2(fromfd, from, tofd, to, flags));
}
