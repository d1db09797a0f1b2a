/*
 * A main() for the fuzz target where libFuzzer is not available (gcc, a
 * build for valgrind, mingw-w64 for Windows): runs each file named on the
 * command line, or every file of each directory named, once, as libFuzzer
 * would run a corpus.  An input that fails is named on stderr.
 *
 * With POLLEROS_FUZZ_MUTATE_SECONDS=N it then goes on for N seconds with
 * inputs made from those: a few random byte changes, insertions, deletions
 * and splices of another input each (POLLEROS_FUZZ_SEED fixes the
 * sequence).  No coverage guides it, but every input is valid (a missing
 * byte reads as 0), so it explores around the corpus where libFuzzer cannot
 * run.  A failing input is written to replay-failure.bin.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input running now, named when it fails (the target aborts); a
 * mutated one is written out. */
static const char *volatile current;
static const uint8_t *volatile current_data;
static volatile size_t current_len;

static void on_abort(int sig) {
    (void)sig;
    if (current != NULL)
        fprintf(stderr, "replay: the failing input: %s\n", current);
    if (current_data != NULL) {
        FILE *f = fopen("replay-failure.bin", "wb");
        if (f != NULL) {
            fwrite((const void *)current_data, 1, current_len, f);
            fclose(f);
        }
        fprintf(stderr, "replay: the failing input: replay-failure.bin\n");
    }
    fflush(stderr);
}

/* The inputs read, kept for the mutation mode. */
typedef struct input {
    uint8_t *data;
    size_t len;
} input;
static input *kept;
static size_t nkept, capkept;
static int keep_inputs;

static void keep(uint8_t *data, size_t len) {
    if (nkept == capkept) {
        capkept = capkept ? capkept * 2 : 256;
        input *k = realloc(kept, capkept * sizeof *k);
        if (k == NULL)
            abort();
        kept = k;
    }
    kept[nkept++] = (input){data, len};
}

static uint64_t rng_state;
static uint64_t rng(void) { /* xorshift64 */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

enum { MUTANT_MAX = 4096 };

/* A kept input with 1 to 8 random changes, into buf; returns its length. */
static size_t mutate(uint8_t *buf) {
    const input *base = &kept[rng() % nkept];
    size_t len = base->len < MUTANT_MAX ? base->len : MUTANT_MAX;
    memcpy(buf, base->data, len);
    for (int k = 1 + (int)(rng() % 8); k > 0; k--) {
        size_t at = len ? (size_t)(rng() % len) : 0;
        switch (rng() % 4) {
        case 0: /* a byte changed */
            if (len)
                buf[at] = (uint8_t)rng();
            break;
        case 1: /* a byte inserted */
            if (len < MUTANT_MAX) {
                memmove(buf + at + 1, buf + at, len - at);
                buf[at] = (uint8_t)rng();
                len++;
            }
            break;
        case 2: /* a byte removed */
            if (len) {
                memmove(buf + at, buf + at + 1, len - at - 1);
                len--;
            }
            break;
        default: { /* a piece of another input over this one's tail */
            const input *o = &kept[rng() % nkept];
            if (o->len == 0)
                break;
            size_t from = (size_t)(rng() % o->len);
            size_t n = 1 + (size_t)(rng() % (o->len - from));
            if (at + n > MUTANT_MAX)
                n = MUTANT_MAX - at;
            memcpy(buf + at, o->data + from, n);
            if (at + n > len)
                len = at + n;
        }
        }
    }
    return len;
}

static long mutate_for(long seconds) {
    static uint8_t buf[MUTANT_MAX];
    const char *env = getenv("POLLEROS_FUZZ_SEED");
    unsigned long long seed =
        env ? strtoull(env, NULL, 10) : (unsigned long long)time(NULL);
    rng_state = seed * 2 + 1; /* never 0 */
    printf("replay: mutating for %ld s, POLLEROS_FUZZ_SEED=%llu\n", seconds,
           seed);
    fflush(stdout);
    time_t end = time(NULL) + seconds;
    long runs = 0;
    while (nkept > 0 && time(NULL) < end) {
        for (int i = 0; i < 64; i++, runs++) {
            size_t len = mutate(buf);
            current_len = len;
            current_data = buf;
            LLVMFuzzerTestOneInput(buf, len);
            current_data = NULL;
        }
    }
    return runs;
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
    if (keep_inputs)
        keep(buf, len);
    else
        free(buf);
    return 0;
}

int main(int argc, char **argv) {
    int runs = 0, errors = 0;
    const char *mutate_env = getenv("POLLEROS_FUZZ_MUTATE_SECONDS");
    long mutate_secs = mutate_env ? strtol(mutate_env, NULL, 10) : 0;
    keep_inputs = mutate_secs > 0;
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
    if (mutate_secs > 0 && errors == 0) {
        long mutants = mutate_for(mutate_secs);
        printf("replay: %ld mutated inputs in %ld s, no failure\n", mutants,
               mutate_secs);
    }
    for (size_t i = 0; i < nkept; i++)
        free(kept[i].data);
    free(kept);
    return errors ? 1 : 0;
}
