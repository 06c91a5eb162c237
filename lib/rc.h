/* rc.h: the one error enum shared by every program, and its mappings. */
#ifndef SM_LIB_RC_H
#define SM_LIB_RC_H

#define SM_MUST_CHECK __attribute__((warn_unused_result))

enum sm_rc {
    SM_OK = 0,
    SM_EIO,       /* a read, write or system call failed */
    SM_EPARSE,    /* input is malformed */
    SM_EINVAL,    /* input is well formed but a value is out of range */
    SM_ETOOBIG,   /* input exceeds a cap */
    SM_ENOTFOUND, /* no such object (or not the caller's) */
    SM_EAUTH,     /* missing or bad credentials */
    SM_EFORBIDDEN,
    SM_ECONFLICT, /* already exists */
    SM_EBUSY,     /* try again later (rate limit, database locked) */
    SM_EUNAVAIL,  /* a resource is not available (database unreachable, no cpufreq) */
    SM_ENOMEM,
    SM_EINTERNAL,
    SM_EFULL, /* the database's disk is full (SQLITE_FULL, PostgreSQL's disk_full) */
    SM_RC_COUNT
};

/* Short English name of rc, for messages. Never NULL. */
const char *sm_rc_str(enum sm_rc rc);

/* HTTP status that rc maps to (200 for SM_OK). */
int sm_rc_http(enum sm_rc rc);

/* Process exit code that rc maps to (0 for SM_OK, sysexits-style otherwise). */
int sm_rc_exit(enum sm_rc rc);

#endif
