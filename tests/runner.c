/* The shared test runner (runner.h). */
#include "runner.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* CTest's SKIP_RETURN_CODE. */
enum { T_SKIPPED = 77 };

static const char *t_label = "";
static int t_child;

int t_main(int argc, char **argv, const char *label, const t_case *cases,
           size_t n) {
    t_label = label;
    if (argc != 2) {
        fprintf(stderr, "usage: %s CASE | --list\n", argv[0]);
        return 2;
    }
    if (strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < n; i++)
            puts(cases[i].name);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        if (strcmp(argv[1], cases[i].name) == 0) {
            cases[i].run();
            printf("PASS [%s] %s\n", t_label, cases[i].name);
            return 0;
        }
    fprintf(stderr, "no case named %s\n", argv[1]);
    return 2;
}

void po_fail(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "FAIL %s:%d [%s]: ", file, line, t_label);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    if (t_child)
        _Exit(1);
    exit(1);
}

void t_in_child(void) { t_child = 1; }

void po_skip(const char *why) {
    printf("SKIP [%s]: %s\n", t_label, why);
    fflush(stdout);
    exit(T_SKIPPED);
}
