/* thread.h over the Windows API. */
#include "thread.h"

#include <windows.h>

#include <stdlib.h>

struct thr {
    HANDLE h;
    void (*fn)(void *);
    void *arg;
};

static DWORD WINAPI thr_main(LPVOID p) {
    thr *t = p;
    t->fn(t->arg);
    return 0;
}

thr *thr_start(void (*fn)(void *arg), void *arg) {
    thr *t = malloc(sizeof *t);
    if (t == NULL)
        return NULL;
    t->fn = fn;
    t->arg = arg;
    t->h = CreateThread(NULL, 0, thr_main, t, 0, NULL);
    if (t->h == NULL) {
        free(t);
        return NULL;
    }
    return t;
}

void thr_join(thr *t) {
    WaitForSingleObject(t->h, INFINITE);
    CloseHandle(t->h);
    free(t);
}

void thr_yield(void) { SwitchToThread(); }
