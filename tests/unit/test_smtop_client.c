/* test_smtop_client.c: the parts of smtop/client.c that need no server: server URLs
 * (accepted and refused), the reconnect backoff, the refresh token's file name, and the
 * password sources (file, environment, no terminal). */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smtop/client.h"
#include "tap.h"

static const struct {
    const char *url;
    int ok;
    const char *cause; /* part of the message when refused */
} urls[] = {
    {"http://127.0.0.1:8001", 1, NULL},
    {"http://monitor", 1, NULL},
    {"https://monitor.example.com/", 1, NULL},
    {"http://monitor:8001/statusmonitor/", 1, NULL},
    {"http://[::1]:8001", 1, NULL},
    {"ftp://monitor", 0, "must start with http:// or https://"},
    {"monitor:8001", 0, "must start with http:// or https://"},
    {"http://", 0, "no host name"},
    {"http://:8001", 0, "no host name"},
    {"http://monitor:0", 0, "port must be"},
    {"http://monitor:65536", 0, "port must be"},
    {"http://monitor:80x", 0, "port must be"},
    {"http://monitor:", 0, "port must be"},
    {"http://user:pw@monitor", 0, "port must be"},
    {"http://user@monitor", 0, "user info"},
    {"http://monitor/?token=x", 0, "user info, query and fragment"},
    {"http://monitor#x", 0, "user info, query and fragment"},
    {"http://[::1", 0, "unterminated"},
};

int
main(void)
{
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        struct client_options o = {.url = urls[i].url, .user = "alice", .state_dir = "/nowhere"};
        struct client *c = NULL;
        char *cause = NULL;
        enum sm_rc rc = client_new(&o, &c, &cause);
        if (urls[i].ok)
            ok(rc == SM_OK && c != NULL, "accepted: %s", urls[i].url);
        else
            ok(rc == SM_EINVAL && c == NULL && cause && strstr(cause, urls[i].cause),
               "refused: %s (%s)", urls[i].url, cause ? cause : "no cause");
        free(cause);
        client_free(c);
    }
    {
        char *long_url = malloc(600);
        memcpy(long_url, "http://", 7);
        memset(long_url + 7, 'a', 592);
        long_url[599] = '\0';
        struct client_options o = {.url = long_url, .user = "alice", .state_dir = "/nowhere"};
        struct client *c = NULL;
        char *cause = NULL;
        ok(client_new(&o, &c, &cause) == SM_EINVAL && cause && strstr(cause, "512"),
           "a URL over 512 characters is refused");
        free(cause);
        free(long_url);
        struct client_options nou = {.url = "http://x", .user = "", .state_dir = "/nowhere"};
        ok(client_new(&nou, &c, &cause) == SM_EINVAL && strstr(cause, "--user"),
           "an empty user name is refused");
        free(cause);
    }

    /* Backoff: doubles from the base up to the cap, scaled into [0.5, 1]. */
    ok(client_backoff(0, 0.5, 30, 1.0) == 0.5, "first delay is the base");
    ok(client_backoff(0, 0.5, 30, 0.0) == 0.25, "jitter takes off at most half");
    ok(client_backoff(3, 0.5, 30, 1.0) == 4.0, "doubles per attempt");
    ok(client_backoff(10, 0.5, 30, 1.0) == 30.0, "capped");
    ok(client_backoff(4000000000u, 0.5, 30, 0.5) == 22.5, "a huge attempt count stays capped");
    int spread = 0;
    for (unsigned n = 0; n < 20; n++) {
        double lo = client_backoff(n, 0.5, 30, 0), hi = client_backoff(n, 0.5, 30, 1);
        spread += lo > 0 && hi <= 30 && lo * 2 == hi;
    }
    ok(spread == 20, "every delay lies in [d/2, d] with d <= cap");

    /* Token file: one per user and server, named safely. */
    struct client_options to = {.url = "http://mon:8001/a b", .user = "al/ice", .state_dir = "/s"};
    char *p = client_token_path(&to);
    ok(p && strcmp(p, "/s/al_ice@http___mon_8001_a_b.refresh") == 0, "token path %s", p);
    free(p);
    setenv("XDG_STATE_HOME", "/xdg", 1);
    struct client_options tx = {.url = "http://m", .user = "bob"};
    p = client_token_path(&tx);
    ok(p && strcmp(p, "/xdg/statusmonitor/bob@http___m.refresh") == 0, "XDG_STATE_HOME: %s", p);
    free(p);
    unsetenv("XDG_STATE_HOME");
    setenv("HOME", "/home/bob", 1);
    p = client_token_path(&tx);
    ok(p && strcmp(p, "/home/bob/.local/state/statusmonitor/bob@http___m.refresh") == 0,
       "default under HOME: %s", p);
    free(p);

    /* Passwords: the first line of a file; empty and overlong files and a missing file
     * are refused with a message; then SMTOP_PASSWORD; no terminal is an error. */
    char dir[] = "/tmp/smtop-client-test.XXXXXX";
    if (mkdtemp(dir) == NULL)
        return 1;
    char path[64];
    snprintf(path, sizeof path, "%s/pw", dir);
    FILE *f = fopen(path, "w");
    fputs("s3cret pass\r\nsecond line\n", f);
    fclose(f);
    char *cause = NULL;
    char *pw = client_password(path, "alice", &cause);
    ok(pw && strcmp(pw, "s3cret pass") == 0, "first line of the file, without CR LF");
    free(pw);
    f = fopen(path, "w");
    fclose(f);
    pw = client_password(path, "alice", &cause);
    ok(pw == NULL && cause && strstr(cause, "empty"), "empty file: %s", cause);
    free(cause);
    f = fopen(path, "w");
    for (int i = 0; i < 1100; i++)
        fputc('x', f);
    fclose(f);
    cause = NULL;
    pw = client_password(path, "alice", &cause);
    ok(pw == NULL && cause && strstr(cause, "longer than 1024"), "overlong line: %s", cause);
    free(cause);
    unlink(path);
    cause = NULL;
    pw = client_password(path, "alice", &cause);
    ok(pw == NULL && cause && strstr(cause, "--password-file"), "missing file: %s", cause);
    free(cause);
    rmdir(dir);
    setenv("SMTOP_PASSWORD", "from-env", 1);
    pw = client_password(NULL, "alice", &cause);
    ok(pw && strcmp(pw, "from-env") == 0, "SMTOP_PASSWORD");
    free(pw);
    unsetenv("SMTOP_PASSWORD");
    return tap_done();
}
