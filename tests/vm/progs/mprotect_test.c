/* mprotect_test FILE: map a file readable, then try to make it executable. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc != 2) return 2;
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) { perror("open"); return 2; }
    void *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) { printf("mmap-errno=%d\n", errno); return 1; }
    if (mprotect(p, 4096, PROT_READ | PROT_EXEC) != 0) {
        printf("mprotect-errno=%d (%s)\n", errno, strerror(errno));
        return 1;
    }
    puts("mprotect-ok");
    return 0;
}
