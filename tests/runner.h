/*
 * The runner every test program shares (the conformance suite, the fault
 * program, the wepoll bridge's suite).  A program builds its case table from
 * its X-macro list and hands it to t_main(): `PROGRAM CASE` runs one case
 * (CTest runs each as its own test), `PROGRAM --list` names them all.  A
 * failed check prints where and why and exits 1; a case that does not apply
 * calls po_skip(), which exits with CTest's SKIP_RETURN_CODE, 77.
 *
 * It needs nothing but the C library, so that a suite linked without
 * polleros (the bridge's) can use it from any directory.
 */
#ifndef POLLEROS_TEST_RUNNER_H
#define POLLEROS_TEST_RUNNER_H

#include <stddef.h>

typedef struct t_case {
    const char *name;
    void (*run)(void);
} t_case;

/* An entry of a case table for `void case_<name>(void)`. */
#define T_CASE(name) {#name, case_##name},

/* Runs the case argv[1] names, or lists them; `label` goes in brackets on
 * every PASS, SKIP and FAIL line (the backend under test, "bridge"). */
int t_main(int argc, char **argv, const char *label, const t_case *cases,
           size_t n);

_Noreturn void po_fail(const char *file, int line, const char *fmt, ...);
/* The calling process is a child the case forked: from now on a failed
 * check ends it with _Exit(1), so that the parent's exit handlers and
 * buffered output do not run a second time; the parent reads the status. */
void t_in_child(void);
_Noreturn void po_skip(const char *why);

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond))                                                           \
            po_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);                   \
    } while (0)
#define CHECK_EQ(a, b)                                                         \
    do {                                                                       \
        long long a_ = (long long)(a), b_ = (long long)(b);                    \
        if (a_ != b_)                                                          \
            po_fail(__FILE__, __LINE__, "%s == %lld, expected %s == %lld", #a, \
                    a_, #b, b_);                                               \
    } while (0)

#endif
