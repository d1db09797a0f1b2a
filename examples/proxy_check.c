/*
 * polleros-proxy-check: runs polleros-proxy through one case and checks
 * what came out the other end, byte for byte, and the proxy's counters.
 *
 * usage: polleros-proxy-check PROXY BACKEND CASE [ARGS] [-- PROXY-OPTIONS]
 *
 *   relay SERVER CLIENT CONNS MESSAGES SIZE
 *             polleros-echo-client through the proxy to
 *             polleros-echo-server: the client verifies every byte, and
 *             every byte counted in is counted out; with --threads N,
 *             every loop ran sessions
 *   halfclose each peer shuts down its sending half first in turn, and
 *             the other still answers through the proxy
 *   reset     a peer resets with bytes in flight: everything the proxy
 *             read from it reaches the other peer, intact, then EOF
 *   reset_held
 *             the same, but the peer resets while the proxy holds some of
 *             its bytes (8 MiB sent, the other peer not reading): they
 *             too reach it
 *   balance   with --threads N, sessions opened one after the other and
 *             held: the loops run as many each, give or take one
 *   refused   nothing listens upstream: the client is closed
 *   timeout   the upstream's backlog is full, so its connect never
 *             completes: the client is closed after --connect-timeout
 *   emfile    with a low RLIMIT_NOFILE, more clients than descriptors:
 *             every client is served in the end, the listener parks
 *             without spinning (a bound on the proxy's wake-ups)
 *
 * The proxy runs as a child with --listen 127.0.0.1:0, told the backend,
 * and stopped with SIGTERM: it must exit 0 within five seconds.  Exits 0
 * when every check holds, 77 when the backend is not available here, 1
 * otherwise.  POSIX only.
 */
#define _POSIX_C_SOURCE 200809L
#define _DARWIN_C_SOURCE /* mkdtemp(), which macOS hides from strict POSIX */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "echo_common.h"

#define PROG "polleros-proxy-check"
#define IO_MS 5000 /* the longest any single step may take */

static bool g_failed;
static char g_dir[256];

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond))                                                           \
            ex_fail(&g_failed, PROG, __VA_ARGS__);                             \
    } while (0)

/* ------------------------------------------------------------------------ */
/* Child processes                                                          */

typedef struct child {
    pid_t pid;
    char out[300]; /* its standard output, a file */
    uint16_t port;
} child;

/* Starts argv[0] with its output in the file `name` of the temporary
 * directory, and with at most `nofile` descriptors when not 0. */
static bool spawn(child *c, const char *name, char *const argv[],
                  rlim_t nofile) {
    snprintf(c->out, sizeof c->out, "%s/%s.out", g_dir, name);
    fflush(NULL);
    c->pid = fork();
    if (c->pid < 0)
        return false;
    if (c->pid == 0) {
        int fd = open(c->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || dup2(fd, 1) < 0)
            _exit(126);
        close(fd);
        struct rlimit rl = {nofile, nofile};
        if (nofile != 0 && setrlimit(RLIMIT_NOFILE, &rl) != 0)
            _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    return true;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Waits for the child to exit, up to ms; its status, or -1 (still
 * running). */
static int reap(child *c, long ms) {
    for (long t = 0; c->pid > 0; t += 10) {
        int st;
        pid_t r = waitpid(c->pid, &st, WNOHANG);
        if (r == c->pid) {
            c->pid = 0;
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        if (t >= ms)
            return -1;
        sleep_ms(10);
    }
    return -1;
}

/* A server's port, once it wrote its port file; 0 if it exited first
 * (*status then says how) or never wrote it. */
static uint16_t await_port(child *c, const char *file, int *status) {
    for (int t = 0; t < IO_MS; t += 10) {
        FILE *f = fopen(file, "r");
        unsigned port = 0;
        if (f != NULL) {
            int got = fscanf(f, "%u", &port);
            fclose(f);
            if (got == 1 && port > 0 && port < 65536)
                return (uint16_t)port;
        }
        if ((*status = reap(c, 0)) >= 0)
            return 0;
        sleep_ms(10);
    }
    *status = 1;
    return 0;
}

/* Stops a server with SIGTERM; its exit status (-1: it did not stop). */
static int stop(child *c) {
    if (c->pid <= 0)
        return -1;
    kill(c->pid, SIGTERM);
    int st = reap(c, IO_MS);
    if (st < 0) {
        kill(c->pid, SIGKILL);
        reap(c, IO_MS);
    }
    return st;
}

/* The proxy, listening.  Returns 0, or the exit status to end with. */
static int start_proxy(child *px, const char *path, const char *backend,
                       uint16_t upstream, char **opts, int nopts,
                       rlim_t nofile) {
    char up[32], port_file[300];
    snprintf(up, sizeof up, "127.0.0.1:%u", (unsigned)upstream);
    snprintf(port_file, sizeof port_file, "%s/proxy.port", g_dir);
    char *argv[64] = {(char *)path, "--listen",  "127.0.0.1:0",   "--upstream",
                      up,           "--backend", (char *)backend, "--port-file",
                      port_file};
    int n = 9;
    for (int i = 0; i < nopts && n < 63; i++)
        argv[n++] = opts[i];
    argv[n] = NULL;
    if (!spawn(px, "proxy", argv, nofile))
        return 1;
    int status = 0;
    px->port = await_port(px, port_file, &status);
    if (px->port != 0)
        return 0;
    if (status == EX_UNAVAILABLE)
        printf("%s: backend %s not available here, skipped\n", PROG, backend);
    else
        fprintf(stderr, "%s: the proxy did not start (%d)\n", PROG, status);
    return status == EX_UNAVAILABLE ? EX_UNAVAILABLE : 1;
}

/* The proxy's counters: "name=value" on its "totals" line, or on its
 * "loop K" line; false when the line or the name is missing. */
static bool counter(const child *px, const char *line, const char *name,
                    uint64_t *out) {
    FILE *f = fopen(px->out, "r");
    char buf[1024], key[64], head[64];
    bool found = false;
    snprintf(head, sizeof head, "polleros-proxy: %s ", line);
    snprintf(key, sizeof key, " %s=", name);
    while (f != NULL && !found && fgets(buf, sizeof buf, f) != NULL) {
        const char *k = strstr(buf, key);
        if (strncmp(buf, head, strlen(head)) == 0 && k != NULL) {
            *out = strtoull(k + strlen(key), NULL, 10);
            found = true;
        }
    }
    if (f != NULL)
        fclose(f);
    return found;
}

static uint64_t total(const child *px, const char *name) {
    uint64_t v = UINT64_MAX;
    CHECK(counter(px, "totals", name, &v), "no %s in the proxy's totals", name);
    return v;
}

/* Stops the proxy: it must exit 0. */
static void stop_proxy(child *px) {
    int st = stop(px);
    CHECK(st == 0, "the proxy did not stop cleanly on SIGTERM (%d)", st);
}

/* ------------------------------------------------------------------------ */
/* Sockets, blocking, each step bounded by IO_MS                            */

static bool await(int fd, short ev, int ms) {
    struct pollfd p = {fd, ev, 0};
    return poll(&p, 1, ms) == 1;
}

static void set_blocking(int fd, bool on) {
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, on ? fl & ~O_NONBLOCK : fl | O_NONBLOCK);
}

static int dial(uint16_t port) {
    int fd = echo_tcp_socket();
    if (fd < 0)
        return -1;
    int err = echo_connect_loopback(fd, port);
    if ((err != 0 && !echo_in_progress(err)) || !await(fd, POLLOUT, IO_MS) ||
        echo_so_error(fd) != 0) {
        close(fd);
        return -1;
    }
    set_blocking(fd, true);
    return fd;
}

static int take(int listener, int ms) {
    if (!await(listener, POLLIN, ms))
        return -1;
    int fd = echo_accept(listener);
    if (fd >= 0)
        set_blocking(fd, true);
    return fd;
}

static void send_all(int fd, const void *buf, size_t n) {
    const char *p = buf;
    while (n > 0 && await(fd, POLLOUT, IO_MS)) {
        ssize_t k = send(fd, p, n, 0);
        if (k <= 0)
            break;
        p += k;
        n -= (size_t)k;
    }
    CHECK(n == 0, "could not send %zu bytes", n);
}

/* Reads until EOF; *n bytes into buf (cap at most).  Returns 0 on EOF, the
 * error of a failed read, or ETIMEDOUT. */
static int read_to_eof(int fd, unsigned char *buf, size_t cap, size_t *n) {
    *n = 0;
    for (;;) {
        if (!await(fd, POLLIN, IO_MS))
            return ETIMEDOUT;
        unsigned char scratch[4096];
        unsigned char *to = buf ? buf + *n : scratch;
        size_t room = buf ? cap - *n : sizeof scratch;
        if (room == 0)
            return EFBIG;
        ssize_t k = recv(fd, to, room, 0);
        if (k == 0)
            return 0;
        if (k < 0)
            return errno;
        *n += (size_t)k;
    }
}

/* Closes with a reset rather than a FIN. */
static void abort_close(int fd) {
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

static unsigned char pattern(uint32_t seed, size_t i) {
    return (unsigned char)echo_mix32(seed ^ (uint32_t)i * 2654435761u);
}

/* ------------------------------------------------------------------------ */
/* The cases                                                                */

typedef struct run {
    const char *proxy, *backend;
    char **args; /* the case's own arguments */
    int nargs;
    char **opts; /* for the proxy */
    int nopts;
} run;

/* The proxy's --threads, 1 when not given; false when it is not a number
 * the checks can follow. */
static bool proxy_threads(const run *r, uint64_t *threads) {
    *threads = 1;
    for (int i = 0; i + 1 < r->nopts; i++)
        if (strcmp(r->opts[i], "--threads") == 0 &&
            !echo_parse_u64("--threads", r->opts[i + 1], 1, 64, threads))
            return false;
    return true;
}

/* Sessions each of the proxy's loops ran (its "loop K" line at exit). */
static uint64_t loop_sessions(const child *px, uint64_t k) {
    char line[32];
    uint64_t n = 0;
    snprintf(line, sizeof line, "loop %llu", (unsigned long long)k);
    CHECK(counter(px, line, "sessions", &n), "no line for loop %llu",
          (unsigned long long)k);
    return n;
}

static int case_relay(const run *r) {
    uint64_t conns, messages, size, threads;
    if (r->nargs != 5 ||
        !echo_parse_u64("CONNS", r->args[2], 1, 100000, &conns) ||
        !echo_parse_u64("MESSAGES", r->args[3], 1, 100000, &messages) ||
        !echo_parse_u64("SIZE", r->args[4], 1, 1 << 24, &size) ||
        !proxy_threads(r, &threads))
        return 2;
    char port_file[300];
    snprintf(port_file, sizeof port_file, "%s/echo.port", g_dir);
    char *sv[] = {r->args[0], "--port-file", port_file, NULL};
    child echo = {0}, px = {0}, cl = {0};
    int st;
    if (!spawn(&echo, "echo", sv, 0) ||
        (echo.port = await_port(&echo, port_file, &st)) == 0) {
        fprintf(stderr, "%s: the echo server did not start\n", PROG);
        stop(&echo);
        return 1;
    }
    int rc =
        start_proxy(&px, r->proxy, r->backend, echo.port, r->opts, r->nopts, 0);
    if (rc == 0) {
        char port[16];
        snprintf(port, sizeof port, "%u", (unsigned)px.port);
        char *cv[] = {r->args[1], "--port",     port,       "--conns",
                      r->args[2], "--messages", r->args[3], "--size",
                      r->args[4], "--timeout",  "30",       NULL};
        CHECK(spawn(&cl, "client", cv, 0), "cannot start the client");
        st = reap(&cl, 60000);
        CHECK(st == 0, "the client failed (%d): see %s", st, cl.out);
        stop_proxy(&px);
        uint64_t bytes = conns * messages * size;
        static const char *const dirs[] = {"client_in", "upstream_out",
                                           "upstream_in", "client_out"};
        for (int i = 0; i < 4; i++)
            CHECK(total(&px, dirs[i]) == bytes, "%s: %llu bytes, not %llu",
                  dirs[i], (unsigned long long)total(&px, dirs[i]),
                  (unsigned long long)bytes);
        CHECK(total(&px, "sessions") == conns, "not %llu sessions",
              (unsigned long long)conns);
        for (uint64_t t = 0; threads > 1 && t < threads; t++)
            CHECK(loop_sessions(&px, t) > 0, "loop %llu ran no session",
                  (unsigned long long)t);
    }
    stop(&cl);
    stop(&echo);
    return rc;
}

/* One session's two ends: the client's, and the upstream's as accepted. */
static bool pair_open(const child *px, int up_listener, int *c, int *u) {
    *c = dial(px->port);
    *u = *c >= 0 ? take(up_listener, IO_MS) : -1;
    CHECK(*u >= 0, "no session through the proxy");
    return *u >= 0;
}

/* `first` sends and shuts down; `second` reads it to EOF, then answers
 * and shuts down; `first` reads the answer to EOF. */
static void half_close_turn(int first, int second) {
    static const char ask[] = "a request, then EOF";
    static const char ans[] = "an answer after the EOF";
    unsigned char buf[64];
    size_t n;
    send_all(first, ask, sizeof ask);
    CHECK(shutdown(first, SHUT_WR) == 0, "shutdown: %s", strerror(errno));
    CHECK(read_to_eof(second, buf, sizeof buf, &n) == 0 && n == sizeof ask &&
              memcmp(buf, ask, n) == 0,
          "the request did not come whole, then EOF");
    send_all(second, ans, sizeof ans);
    CHECK(shutdown(second, SHUT_WR) == 0, "shutdown: %s", strerror(errno));
    CHECK(read_to_eof(first, buf, sizeof buf, &n) == 0 && n == sizeof ans &&
              memcmp(buf, ans, n) == 0,
          "the answer did not come whole, then EOF");
}

static int case_halfclose(const run *r, int up, uint16_t up_port) {
    child px = {0};
    int rc =
        start_proxy(&px, r->proxy, r->backend, up_port, r->opts, r->nopts, 0);
    if (rc != 0)
        return rc;
    for (int turn = 0; turn < 2; turn++) {
        int c, u;
        if (!pair_open(&px, up, &c, &u))
            break;
        if (turn == 0)
            half_close_turn(c, u);
        else
            half_close_turn(u, c);
        close(c);
        close(u);
    }
    sleep_ms(100); /* the proxy sees both EOFs and closes */
    stop_proxy(&px);
    CHECK(total(&px, "sessions") == 2 && total(&px, "closed") == 2 &&
              total(&px, "resets") == 0,
          "not 2 sessions closed without a reset");
    return 0;
}

/* Bytes sent before a reset in the reset_held case: more than a loopback
 * path holds (Linux lets a send buffer grow to 4 MiB), less than the
 * --buffer the case gives the proxy. */
#define RESET_HELD ((size_t)8 << 20)

/* Sends a pattern from `from` to `to` (which does not read), `held` bytes,
 * or with held 0 until every buffer on the way is full; then resets
 * `from`.  `to` must then read a prefix of the pattern, intact, and EOF.
 * Returns the bytes `to` read. */
static size_t reset_turn(int from, int to, uint32_t seed, size_t held) {
    size_t sent = 0;
    set_blocking(from, false);
    while (held == 0 || sent < held) {
        unsigned char buf[4096];
        size_t len =
            held == 0 || held - sent > sizeof buf ? sizeof buf : held - sent;
        for (size_t i = 0; i < len; i++)
            buf[i] = pattern(seed, sent + i);
        ssize_t k = send(from, buf, len, 0);
        if (k > 0) {
            sent += (size_t)k;
            continue;
        }
        if (!echo_would_block(errno) ||
            !await(from, POLLOUT, held == 0 ? 200 : IO_MS))
            break; /* every buffer on the way is full */
    }
    CHECK(held == 0 || sent == held, "sent %zu of %zu bytes", sent, held);
    /* The proxy takes in what `to` leaves in the way, then meets the reset
     * while it still holds those bytes. */
    if (held != 0)
        sleep_ms(200);
    abort_close(from);
    if (held != 0)
        sleep_ms(200);
    size_t cap = sent + 1, n; /* room to see a byte too many */
    unsigned char *got = malloc(cap);
    int err = got ? read_to_eof(to, got, cap, &n) : ENOMEM;
    CHECK(err == 0, "after the reset: %s, not EOF", strerror(err));
    for (size_t i = 0; err == 0 && i < n; i++)
        if (got[i] != pattern(seed, i)) {
            CHECK(false, "byte %zu of %zu differs", i, n);
            break;
        }
    CHECK(n > 0, "nothing of the %zu bytes came through", sent);
    free(got);
    close(to);
    return n;
}

/* With held 0 the proxy's buffer is full when the reset comes, and it
 * reads the reset only once that buffer drained.  With held bytes (more
 * than the reader's receive buffer and the proxy's send buffer take, less
 * than --buffer) the proxy holds the rest when it reads the reset: they
 * must still be delivered. */
static int case_reset(const run *r, int up, uint16_t up_port, size_t held) {
    child px = {0};
    int rc =
        start_proxy(&px, r->proxy, r->backend, up_port, r->opts, r->nopts, 0);
    if (rc != 0)
        return rc;
    int c, u;
    size_t down = 0, upw = 0;
    if (pair_open(&px, up, &c, &u))
        down = reset_turn(u, c, 1, held);
    if (pair_open(&px, up, &c, &u))
        upw = reset_turn(c, u, 2, held);
    sleep_ms(100);
    stop_proxy(&px);
    CHECK(total(&px, "upstream_in") == down && total(&px, "client_out") == down,
          "upstream reset: read %llu, delivered %llu, the client got %zu",
          (unsigned long long)total(&px, "upstream_in"),
          (unsigned long long)total(&px, "client_out"), down);
    CHECK(total(&px, "client_in") == upw && total(&px, "upstream_out") == upw,
          "client reset: read %llu, delivered %llu, upstream got %zu",
          (unsigned long long)total(&px, "client_in"),
          (unsigned long long)total(&px, "upstream_out"), upw);
    CHECK(total(&px, "resets") >= 2 && total(&px, "closed") == 2,
          "not 2 sessions closed on resets");
    return 0;
}

enum { BALANCE_SESSIONS = 200 };

/* Each session is through (the upstream accepted it) before the next
 * client connects, so every placement sees the loads the ones before it
 * left: the loops must end within one session of each other, where the
 * kernel's hash alone would leave them a dozen apart. */
static int case_balance(const run *r, int up, uint16_t up_port) {
    uint64_t threads;
    if (!proxy_threads(r, &threads) || threads < 2)
        return 2;
    child px = {0};
    int rc =
        start_proxy(&px, r->proxy, r->backend, up_port, r->opts, r->nopts, 0);
    if (rc != 0)
        return rc;
    int c[BALANCE_SESSIONS], u[BALANCE_SESSIONS], n = 0;
    while (n < BALANCE_SESSIONS && pair_open(&px, up, &c[n], &u[n]))
        n++;
    CHECK(n == BALANCE_SESSIONS, "%d of %d sessions", n, BALANCE_SESSIONS);
    while (n > 0) {
        n--;
        close(c[n]);
        close(u[n]);
    }
    stop_proxy(&px);
    uint64_t least = UINT64_MAX, most = 0;
    for (uint64_t t = 0; t < threads; t++) {
        uint64_t k = loop_sessions(&px, t);
        least = k < least ? k : least;
        most = k > most ? k : most;
    }
    CHECK(total(&px, "sessions") == BALANCE_SESSIONS && most - least <= 1,
          "%llu sessions, loops ran %llu to %llu each",
          (unsigned long long)total(&px, "sessions"), (unsigned long long)least,
          (unsigned long long)most);
    printf("%s: %llu loops ran %llu to %llu sessions each\n", PROG,
           (unsigned long long)threads, (unsigned long long)least,
           (unsigned long long)most);
    return 0;
}

/* The client must be closed by the proxy within max_ms; returns when. */
static double closed_within(uint16_t port, double max_s) {
    int c = dial(port);
    CHECK(c >= 0, "cannot connect to the proxy");
    if (c < 0)
        return -1;
    double t0 = echo_now();
    send_all(c, "x", 1);
    size_t n;
    int err = read_to_eof(c, NULL, 0, &n);
    double took = echo_now() - t0;
    CHECK(err == 0 || err == ECONNRESET, "the client was not closed: %s",
          strerror(err));
    CHECK(n == 0 && took <= max_s, "%zu bytes, closed after %.3f s", n, took);
    close(c);
    return took;
}

static int case_refused(const run *r) {
    uint16_t port;
    int bound = echo_tcp_bound(&port); /* nobody listens on it */
    child px = {0};
    int rc = bound < 0 ? 1
                       : start_proxy(&px, r->proxy, r->backend, port, r->opts,
                                     r->nopts, 0);
    if (rc == 0) {
        closed_within(px.port, 2.0);
        sleep_ms(50);
        stop_proxy(&px);
        CHECK(total(&px, "refused") == 1 && total(&px, "closed") == 1,
              "not 1 refused connect");
    }
    if (bound >= 0)
        close(bound);
    return rc;
}

static int case_timeout(const run *r) {
    /* A listener that never accepts, its backlog filled: the kernel drops
     * the SYNs that follow, so a connect neither completes nor fails. */
    uint16_t port;
    int l = echo_tcp_listen(0, 0, &port), fill[16], nfill = 0;
    child px = {0};
    while (l >= 0 && nfill < 16) {
        int fd = echo_tcp_socket();
        int err = fd < 0 ? EMFILE : echo_connect_loopback(fd, port);
        if (fd < 0)
            break;
        fill[nfill++] = fd;
        if (err != 0 && (!await(fd, POLLOUT, 500) || echo_so_error(fd) != 0))
            break; /* this one hangs: the backlog is full */
    }
    int rc = l < 0 || nfill == 16 ? 1
                                  : start_proxy(&px, r->proxy, r->backend, port,
                                                r->opts, r->nopts, 0);
    if (rc == 0) {
        double took = closed_within(px.port, 3.0);
        CHECK(took >= 0.2, "closed after %.3f s, before the timeout", took);
        sleep_ms(50);
        stop_proxy(&px);
        CHECK(total(&px, "timeouts") == 1 && total(&px, "closed") == 1,
              "not 1 timed-out connect");
    }
    while (nfill > 0)
        close(fill[--nfill]);
    if (l >= 0)
        close(l);
    return rc;
}

enum { EMFILE_CLIENTS = 30, EMFILE_NOFILE = 40, EMFILE_MAX_WAITS = 2000 };

static int case_emfile(const run *r, int up, uint16_t up_port) {
    child px = {0};
    int rc = start_proxy(&px, r->proxy, r->backend, up_port, r->opts, r->nopts,
                         EMFILE_NOFILE);
    if (rc != 0)
        return rc;
    int c[EMFILE_CLIENTS], served = 0, rounds = 0;
    for (int i = 0; i < EMFILE_CLIENTS; i++) {
        c[i] = dial(px.port); /* the backlog takes them all */
        CHECK(c[i] >= 0, "cannot connect client %d", i);
        if (c[i] >= 0)
            send_all(c[i], &(unsigned char){(unsigned char)i}, 1);
    }
    /* Rounds: take every session that comes through, hold them a while
     * (the proxy is out of descriptors meanwhile), then end them all. */
    while (served < EMFILE_CLIENTS && rounds++ < 20 && !g_failed) {
        int u[EMFILE_CLIENTS], nu = 0;
        for (int fd; (fd = take(up, nu == 0 ? IO_MS : 300)) >= 0;)
            u[nu++] = fd;
        CHECK(nu > 0, "no session came through (%d served)", served);
        CHECK(nu < EMFILE_CLIENTS, "all %d at once: RLIMIT_NOFILE not low", nu);
        sleep_ms(300);
        for (int k = 0; k < nu; k++) {
            unsigned char b = 0xff;
            CHECK(recv(u[k], &b, 1, 0) == 1 && b < EMFILE_CLIENTS && c[b] >= 0,
                  "a session without its client's byte");
            if (b < EMFILE_CLIENTS && c[b] >= 0) {
                close(c[b]);
                c[b] = -1;
            }
            close(u[k]);
        }
        served += nu;
    }
    CHECK(served == EMFILE_CLIENTS, "%d of %d clients served", served,
          EMFILE_CLIENTS);
    stop_proxy(&px);
    uint64_t waits = total(&px, "waits");
    CHECK(total(&px, "parks") >= 1, "the listener never parked");
    CHECK(waits <= EMFILE_MAX_WAITS, "%llu wake-ups: the loop spun",
          (unsigned long long)waits);
    printf("%s: %d clients in %d rounds, %llu parks, %llu wake-ups\n", PROG,
           served, rounds, (unsigned long long)total(&px, "parks"),
           (unsigned long long)waits);
    for (int i = 0; i < EMFILE_CLIENTS; i++)
        if (c[i] >= 0)
            close(c[i]);
    return 0;
}

static int run_case(const char *name, const run *r) {
    if (strcmp(name, "relay") == 0)
        return case_relay(r);
    if (strcmp(name, "refused") == 0)
        return case_refused(r);
    if (strcmp(name, "timeout") == 0)
        return case_timeout(r);
    uint16_t port;
    int up = echo_tcp_listen(0, 64, &port), rc = 2;
    if (up < 0)
        return 1;
    if (strcmp(name, "halfclose") == 0)
        rc = case_halfclose(r, up, port);
    else if (strcmp(name, "reset") == 0)
        rc = case_reset(r, up, port, 0);
    else if (strcmp(name, "reset_held") == 0)
        rc = case_reset(r, up, port, RESET_HELD);
    else if (strcmp(name, "emfile") == 0)
        rc = case_emfile(r, up, port);
    else if (strcmp(name, "balance") == 0)
        rc = case_balance(r, up, port);
    close(up);
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s PROXY BACKEND CASE [ARGS] [-- OPTIONS]\n",
                PROG);
        return 2;
    }
    run r = {argv[1], argv[2], argv + 4, 0, NULL, 0};
    while (4 + r.nargs < argc && strcmp(argv[4 + r.nargs], "--") != 0)
        r.nargs++;
    if (4 + r.nargs < argc) {
        r.opts = argv + 5 + r.nargs;
        r.nopts = argc - 5 - r.nargs;
    }
    echo_net_start();
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/polleros-proxy-check.XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(g_dir) == NULL) {
        perror(g_dir);
        return 1;
    }
    double t0 = echo_now();
    int rc = run_case(argv[3], &r);
    if (rc == 0 && g_failed)
        rc = 1;
    if (rc == 0)
        printf("%s: %s: passed in %.2f s\n", PROG, argv[3], echo_now() - t0);
    else if (rc != EX_UNAVAILABLE)
        fprintf(stderr, "%s: %s: failed; the outputs are in %s\n", PROG,
                argv[3], g_dir);
    if (rc == 0 || rc == EX_UNAVAILABLE) { /* else kept for a look */
        char path[400];
        static const char *const files[] = {
            "proxy.out", "proxy.port", "echo.out", "echo.port", "client.out"};
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
            snprintf(path, sizeof path, "%s/%s", g_dir, files[i]);
            remove(path);
        }
        rmdir(g_dir);
    }
    return rc;
}
