/* client_password.c: the password for login, from a file, the environment or the
 * terminal (client_password, client.h). */
#include "config.h"

#include "client_password.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "xmalloc.h"

#define CLIENT_PASSWORD_MAX 1024 /* longest password read */

/* Read one line from fd into buf (at most cap - 1 bytes); -1 when too long or on error. */
static ssize_t
read_line(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    for (;;) {
        char ch;
        ssize_t r = read(fd, &ch, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || ch == '\n')
            break;
        if (n + 1 >= cap)
            return -1;
        buf[n++] = ch;
    }
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    return (ssize_t)n;
}

/* The terminal while the password is read with echo off, for the signal handler. */
static volatile sig_atomic_t prompt_fd = -1;
static struct termios prompt_saved;

/* SIGINT/SIGTERM/SIGHUP at the prompt: echo back on, then die of the signal as usual. */
static void
prompt_signal(int sig)
{
    if (prompt_fd >= 0)
        (void)tcsetattr(prompt_fd, TCSAFLUSH, &prompt_saved);
    signal(sig, SIG_DFL);
    raise(sig);
}

char *
client_password(const char *file, const char *user, char **cause)
{
    char buf[CLIENT_PASSWORD_MAX + 1];
    char *pw = NULL;
    if (file) {
        int fd = open(file, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            *cause = sm_xasprintf("--password-file: %s: %s", file, strerror(errno));
            return NULL;
        }
        ssize_t n = read_line(fd, buf, sizeof buf);
        close(fd);
        if (n <= 0)
            *cause = sm_xasprintf("--password-file: %s: %s", file,
                                  n == 0 ? "empty" : "first line longer than 1024 bytes");
        else
            pw = sm_xstrdup(buf);
        explicit_bzero(buf, sizeof buf);
        return pw;
    }
    const char *env = getenv("SMTOP_PASSWORD");
    if (env && env[0]) {
        if (strlen(env) > CLIENT_PASSWORD_MAX) {
            *cause = sm_xstrdup("SMTOP_PASSWORD: longer than 1024 bytes");
            return NULL;
        }
        return sm_xstrdup(env);
    }
    int tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    struct termios old, quiet;
    if (tty < 0 || tcgetattr(tty, &old) != 0) {
        if (tty >= 0)
            close(tty);
        *cause = sm_xstrdup("no terminal to ask for the password on; use --password-file or "
                            "SMTOP_PASSWORD");
        return NULL;
    }
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
    quiet.c_lflag |= ICANON;
    char *prompt = sm_xasprintf("Password for %s: ", user);
    ssize_t n = -1;
    struct sigaction sa, old_int, old_term, old_hup;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = prompt_signal;
    sigemptyset(&sa.sa_mask);
    prompt_saved = old;
    prompt_fd = tty;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGHUP, &sa, &old_hup);
    if (write(tty, prompt, strlen(prompt)) >= 0 && tcsetattr(tty, TCSAFLUSH, &quiet) == 0) {
        n = read_line(tty, buf, sizeof buf);
        (void)tcsetattr(tty, TCSAFLUSH, &old);
        if (write(tty, "\n", 1) < 0)
            n = -1;
    }
    prompt_fd = -1;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    free(prompt);
    close(tty);
    if (n <= 0)
        *cause = sm_xstrdup(n == 0 ? "empty password" : "cannot read the password");
    else
        pw = sm_xstrdup(buf);
    explicit_bzero(buf, sizeof buf);
    return pw;
}
