#include "echo_common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool echo_parse_u64(const char *opt, const char *arg, uint64_t min,
                    uint64_t max, uint64_t *out) {
    if (arg == NULL) {
        fprintf(stderr, "%s needs a value\n", opt);
        return false;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(arg, &end, 10);
    /* strtoull accepts "-1" and wraps it: refuse any sign explicitly. */
    if (errno != 0 || end == arg || *end != '\0' || arg[0] == '-' ||
        arg[0] == '+' || v < min || v > max) {
        fprintf(stderr, "%s: '%s' is not a number in [%llu, %llu]\n", opt, arg,
                (unsigned long long)min, (unsigned long long)max);
        return false;
    }
    *out = v;
    return true;
}

bool echo_parse_backend(const char *arg, po_backend_kind *out) {
    static const struct {
        const char *name;
        po_backend_kind kind;
    } names[] = {{"default", PO_BACKEND_DEFAULT}, {"epoll", PO_BACKEND_EPOLL},
                 {"poll", PO_BACKEND_POLL},       {"kqueue", PO_BACKEND_KQUEUE},
                 {"wepoll", PO_BACKEND_WEPOLL},   {"uring", PO_BACKEND_URING}};
    for (size_t i = 0; arg != NULL && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(arg, names[i].name) == 0) {
            *out = names[i].kind;
            return true;
        }
    fprintf(stderr,
            "--backend: '%s' is not one of epoll, poll, kqueue, "
            "wepoll, uring, default\n",
            arg ? arg : "");
    return false;
}

int ex_create_status(int err) { return err == PO_ENOTSUP ? EX_UNAVAILABLE : 1; }

void ex_fail(bool *failed, const char *prog, const char *fmt, ...) {
    if (*failed)
        return;
    *failed = true;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: error: ", prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

uint32_t echo_mix32(uint32_t x) {
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}

bool echo_write_port_file(const char *path, uint16_t port) {
    size_t n = strlen(path) + sizeof ".tmp";
    char *tmp = malloc(n);
    if (tmp == NULL)
        return false;
    snprintf(tmp, n, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb"); /* "\n" alone, on Windows too */
    bool ok = f != NULL && fprintf(f, "%u\n", (unsigned)port) > 0;
    if (f != NULL && fclose(f) != 0)
        ok = false;
    if (ok && rename(tmp, path) != 0)
        ok = false;
    if (!ok) {
        perror(path);
        remove(tmp);
    }
    free(tmp);
    return ok;
}
