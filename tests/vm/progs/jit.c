/* jit: write a `ret` into anonymous memory, make it executable, call it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
int main(void) {
    unsigned char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { printf("mmap-errno=%d\n", errno); return 1; }
    p[0] = 0xc3; /* ret */
    if (mprotect(p, 4096, PROT_READ | PROT_EXEC) != 0) {
        printf("jit-mprotect-errno=%d (%s)\n", errno, strerror(errno));
        return 1;
    }
    ((void (*)(void))p)();
    puts("jit-ok");
    return 0;
}
