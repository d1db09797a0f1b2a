/*
 * refuse_uring ERRNO COMMAND [ARG...]: runs COMMAND with io_uring refused
 * the way real systems refuse it.  A seccomp filter answers io_uring_setup,
 * io_uring_enter and io_uring_register with ERRNO: EPERM is what the
 * default profiles of Docker, containerd and Kubernetes answer, ENOSYS what
 * a kernel without io_uring answers.  The filter is inherited by every
 * process COMMAND starts, so a whole ctest run can be put under it.
 *
 * Exits 2 on a usage error, 1 when the filter cannot be installed or does
 * not take, 127 when COMMAND cannot be run; else COMMAND's status.
 */
#define _GNU_SOURCE /* syscall() */

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The filter's syscall numbers are this ABI's: a call made through another
 * one (a 32-bit program run from here) has other numbers, so it is killed
 * rather than let through unrefused. */
#if defined(__x86_64__)
#define RU_ARCH AUDIT_ARCH_X86_64
#elif defined(__i386__)
#define RU_ARCH AUDIT_ARCH_I386
#elif defined(__aarch64__)
#define RU_ARCH AUDIT_ARCH_AARCH64
#elif defined(__arm__)
#define RU_ARCH AUDIT_ARCH_ARM
#elif defined(__riscv) && __riscv_xlen == 64
#define RU_ARCH AUDIT_ARCH_RISCV64
#elif defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)
#define RU_ARCH AUDIT_ARCH_PPC64LE
#elif defined(__s390x__)
#define RU_ARCH AUDIT_ARCH_S390X
#else
#error "unknown architecture: add its AUDIT_ARCH_ value"
#endif

/* x86-64's x32 calls share the audit arch and set this bit in the number:
 * compared without it, both ABIs' calls are refused. */
#ifdef __x86_64__
#define RU_NR_MASK (~0x40000000u)
#else
#define RU_NR_MASK (~0u)
#endif

static const struct {
    const char *name;
    int value;
} ru_errnos[] = {
    {"EPERM", EPERM},   /* seccomp profiles; the sysctl, for most users */
    {"EACCES", EACCES}, /* the sysctl, outside io_uring_group */
    {"ENOSYS", ENOSYS}, /* a kernel built without io_uring, or before 5.1 */
    {"EINVAL", EINVAL}, /* a kernel that refuses a setup flag */
};

static int ru_install(int err) {
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, RU_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_STMT(BPF_ALU | BPF_AND | BPF_K, RU_NR_MASK),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup & RU_NR_MASK, 3,
                 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_enter & RU_NR_MASK, 2,
                 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_register & RU_NR_MASK,
                 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K,
                 SECCOMP_RET_ERRNO | ((unsigned)err & SECCOMP_RET_DATA)),
    };
    struct sock_fprog prog = {sizeof code / sizeof code[0], code};
    /* Without it an unprivileged process may not install a filter. */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        perror("refuse_uring: PR_SET_NO_NEW_PRIVS");
        return -1;
    }
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
        perror("refuse_uring: PR_SET_SECCOMP");
        return -1;
    }
    /* Arguments the kernel would reject with EFAULT or EINVAL: a filter
     * that did not take is seen without creating a ring. */
    errno = 0;
    if (syscall(__NR_io_uring_setup, 0, NULL) != -1 || errno != err) {
        fprintf(stderr, "refuse_uring: io_uring_setup was not refused\n");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv) {
    int err = 0;
    for (size_t i = 0; argc > 1 && i < sizeof ru_errnos / sizeof ru_errnos[0];
         i++)
        if (strcmp(argv[1], ru_errnos[i].name) == 0)
            err = ru_errnos[i].value;
    if (argc < 3 || err == 0) {
        fprintf(stderr, "usage: refuse_uring EPERM|EACCES|ENOSYS|EINVAL "
                        "COMMAND [ARG...]\n");
        return 2;
    }
    if (ru_install(err) != 0)
        return 1;
    execvp(argv[2], argv + 2);
    fprintf(stderr, "refuse_uring: %s: %s\n", argv[2], strerror(errno));
    return 127;
}
