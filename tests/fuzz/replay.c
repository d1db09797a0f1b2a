/*
 * A main() for the fuzz target where libFuzzer is not available (gcc, a
 * build for valgrind, mingw-w64 for Windows): runs each file named on the
 * command line, or every file of each directory named, once, as libFuzzer
 * would run a corpus.  An input that fails is named on stderr.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input running now, named when it fails (the target aborts). */
static const char *volatile current;

static void on_abort(int sig) {
    (void)sig;
    if (current != NULL)
        fprintf(stderr, "replay: the failing input: %s\n", current);
    fflush(stderr);
}

static int run_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return 1;
    }
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 4096;
            uint8_t *b = realloc(buf, cap);
            if (b == NULL) {
                fclose(f);
                free(buf);
                return 1;
            }
            buf = b;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        if (n == 0)
            break;
        len += n;
    }
    fclose(f);
    current = path;
    LLVMFuzzerTestOneInput(buf, len);
    current = NULL;
    free(buf);
    return 0;
}

int main(int argc, char **argv) {
    int runs = 0, errors = 0;
    LLVMFuzzerInitialize(&argc, &argv);
    signal(SIGABRT, on_abort);
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            errors++;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            errors += run_file(argv[i]);
            runs++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        if (d == NULL) {
            perror(argv[i]);
            errors++;
            continue;
        }
        for (struct dirent *e; (e = readdir(d)) != NULL;) {
            if (e->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
            errors += run_file(path);
            runs++;
        }
        closedir(d);
    }
    printf("replay: %d inputs, %d errors\n", runs, errors);
    return errors ? 1 : 0;
}
