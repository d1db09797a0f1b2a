/*
 * The conformance suite's runner: `po_conformance CASE` runs one case (CTest
 * runs each as its own test, once per backend), `po_conformance --list`
 * names them all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static const struct {
    const char *name;
    void (*run)(void);
} t_cases[] = {
#define PO_CASE(name) {#name, case_##name},
#include "cases.h"
#undef PO_CASE
};

int main(int argc, char **argv) {
    size_t n = sizeof t_cases / sizeof t_cases[0];
    if (argc != 2) {
        fprintf(stderr, "usage: %s CASE | --list\n", argv[0]);
        return 2;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(argv[1], "--list") == 0) {
            puts(t_cases[i].name);
        } else if (strcmp(argv[1], t_cases[i].name) == 0) {
            t_cases[i].run();
            printf("PASS [%s] %s\n", t_backend(), t_cases[i].name);
            return 0;
        }
    }
    if (strcmp(argv[1], "--list") == 0)
        return 0;
    fprintf(stderr, "no case named %s\n", argv[1]);
    return 2;
}
