/* The conformance suite: its cases (cases.h), each run on the backend
 * POLLEROS_BACKEND names. */
#include "harness.h"

static const t_case t_cases[] = {
#define PO_CASE(name) T_CASE(name)
#include "cases.h"
#undef PO_CASE
};

int main(int argc, char **argv) {
    return t_main(argc, argv, t_backend(), t_cases,
                  sizeof t_cases / sizeof t_cases[0]);
}
