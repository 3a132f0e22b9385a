/* wx MODE [FILE]: ways to run bytes nothing vouches for as anonymous-equivalent memory.
 * Each copies the shellcode (prints PWNED) somewhere and calls it, or reports the errno that
 * stopped it.
 *   rwx FILE         private mapping of FILE, readable, writable and executable at once
 *   rw-rx FILE       private mapping written, then made executable
 *   rx-rwx FILE      executable private mapping made writable too
 *   rx-rw-rx FILE    executable mapping made writable (not executable), written, executable again
 *   rie-brk          personality(READ_IMPLIES_EXEC), then code on the heap grown with sbrk
 *   rie-anon         personality(READ_IMPLIES_EXEC), then code in a PROT_READ|PROT_WRITE mapping
 *   uffd FILE        userfaultfd fills the pages of an executable private mapping of FILE
 *   vdso             the vDSO (executable, and may be made writable for debuggers) made writable
 *   vdso-rw-rx       the vDSO made writable but not executable, written, executable again
 *   jit              legitimate JIT: anonymous RWX memory (allowed unless anonymous exec is denied)
 *   jit-mprotect     legitimate JIT: anonymous RW memory made RX */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "shellcode.h"
#define FAIL(what) do { printf("%s-errno=%d (%s)\n", what, errno, strerror(errno)); return 1; } while (0)
static int run(void *code) {
    /* The compiler must not drop the copies: it cannot see that the memory is executed. */
    __asm__ volatile("" : : "r"(code) : "memory");
    ((void (*)(void))code)();
    return 0;
}
static void *map_file(const char *path, int prot) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return MAP_FAILED;
    void *p = mmap(NULL, 4096, prot, MAP_PRIVATE, fd, 0);
    close(fd);
    return p;
}
static long page;
static int uffd;
static void *fault_handler(void *arg) {
    (void)arg;
    struct pollfd pfd = { .fd = uffd, .events = POLLIN };
    struct uffd_msg msg;
    static char src[4096] __attribute__((aligned(4096)));
    memcpy(src, shellcode, sizeof shellcode);
    if (poll(&pfd, 1, 5000) <= 0 || read(uffd, &msg, sizeof msg) != sizeof msg) return NULL;
    struct uffdio_copy copy = { .dst = msg.arg.pagefault.address & ~(page - 1), .src = (unsigned long)src, .len = page };
    if (ioctl(uffd, UFFDIO_COPY, &copy) != 0) printf("uffd-copy-errno=%d (%s)\n", errno, strerror(errno));
    return NULL;
}
int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    page = sysconf(_SC_PAGESIZE);
    if (argc < 2) return 2;
    const char *mode = argv[1], *file = argc > 2 ? argv[2] : "";
    if (!strcmp(mode, "rwx")) {
        char *p = map_file(file, PROT_READ | PROT_WRITE | PROT_EXEC);
        if (p == MAP_FAILED) FAIL("mmap");
        memcpy(p, shellcode, sizeof shellcode);
        return run(p);
    }
    if (!strcmp(mode, "rw-rx")) {
        char *p = map_file(file, PROT_READ | PROT_WRITE);
        if (p == MAP_FAILED) FAIL("mmap");
        memcpy(p, shellcode, sizeof shellcode);
        if (mprotect(p, page, PROT_READ | PROT_EXEC) != 0) FAIL("mprotect");
        return run(p);
    }
    if (!strcmp(mode, "rx-rwx")) {
        char *p = map_file(file, PROT_READ | PROT_EXEC);
        if (p == MAP_FAILED) FAIL("mmap");
        if (mprotect(p, page, PROT_READ | PROT_WRITE | PROT_EXEC) != 0) FAIL("mprotect");
        memcpy(p, shellcode, sizeof shellcode);
        return run(p);
    }
    if (!strcmp(mode, "rx-rw-rx")) {
        char *p = map_file(file, PROT_READ | PROT_EXEC);
        if (p == MAP_FAILED) FAIL("mmap");
        if (mprotect(p, page, PROT_READ | PROT_WRITE) != 0) FAIL("mprotect-rw");
        memcpy(p, shellcode, sizeof shellcode);
        if (mprotect(p, page, PROT_READ | PROT_EXEC) != 0) FAIL("mprotect-rx");
        return run(p);
    }
    if (!strcmp(mode, "rie-brk") || !strcmp(mode, "rie-anon")) {
        if (personality(READ_IMPLIES_EXEC) == -1) FAIL("personality");
        char *p;
        if (!strcmp(mode, "rie-brk")) {
            /* Heap pages the kernel gives after the personality change are executable. */
            char *end = sbrk(0);
            char *aligned = (char *)(((unsigned long)end + page - 1) & ~(page - 1));
            if (sbrk(aligned - end + page) == (void *)-1) FAIL("sbrk");
            p = aligned;
        } else {
            p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (p == MAP_FAILED) FAIL("mmap");
        }
        memcpy(p, shellcode, sizeof shellcode);
        return run(p);
    }
    if (!strcmp(mode, "uffd")) {
        uffd = syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
        if (uffd < 0) FAIL("userfaultfd");
        struct uffdio_api api = { .api = UFFD_API };
        if (ioctl(uffd, UFFDIO_API, &api) != 0) FAIL("uffdio-api");
        char *p = map_file(file, PROT_READ | PROT_EXEC);
        if (p == MAP_FAILED) FAIL("mmap");
        struct uffdio_register reg = { .range = { .start = (unsigned long)p, .len = page }, .mode = UFFDIO_REGISTER_MODE_MISSING };
        if (ioctl(uffd, UFFDIO_REGISTER, &reg) != 0) FAIL("uffdio-register");
        pthread_t t;
        pthread_create(&t, NULL, fault_handler, NULL);
        return run(p);
    }
    if (!strcmp(mode, "vdso") || !strcmp(mode, "vdso-rw-rx")) {
        /* The whole vDSO: the kernel refuses to split it (EINVAL). */
        unsigned long start = 0, end = 0;
        char line[256];
        FILE *maps = fopen("/proc/self/maps", "r");
        while (maps && fgets(line, sizeof line, maps))
            if (strstr(line, "[vdso]")) sscanf(line, "%lx-%lx", &start, &end);
        if (!start || start != getauxval(AT_SYSINFO_EHDR)) FAIL("no-vdso");
        char *p = (char *)start;
        size_t len = end - start;
        if (!strcmp(mode, "vdso")) {
            if (mprotect(p, len, PROT_READ | PROT_WRITE | PROT_EXEC) != 0) FAIL("mprotect");
            memcpy(p, shellcode, sizeof shellcode);
        } else {
            if (mprotect(p, len, PROT_READ | PROT_WRITE) != 0) FAIL("mprotect-rw");
            memcpy(p, shellcode, sizeof shellcode);
            if (mprotect(p, len, PROT_READ | PROT_EXEC) != 0) FAIL("mprotect-rx");
        }
        return run(p);
    }
    if (!strcmp(mode, "jit") || !strcmp(mode, "jit-mprotect")) {
        int rwx = !strcmp(mode, "jit");
        unsigned char *p = mmap(NULL, page, PROT_READ | PROT_WRITE | (rwx ? PROT_EXEC : 0), MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) FAIL("mmap");
        p[0] = 0xc3; /* ret */
        if (!rwx && mprotect(p, page, PROT_READ | PROT_EXEC) != 0) FAIL("mprotect");
        ((void (*)(void))p)();
        puts("jit-ok");
        return 0;
    }
    return 2;
}
