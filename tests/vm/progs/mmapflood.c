/* mmapflood FILE N: map FILE executable N times (unmapping each time), to flood the event
 * ring buffer in audit mode. Prints how many mappings succeeded. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc != 3) return 2;
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) { perror("open"); return 2; }
    int n = atoi(argv[2]), ok = 0;
    for (int i = 0; i < n; i++) {
        void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
        if (p != MAP_FAILED) { ok++; munmap(p, 4096); }
    }
    printf("mapped=%d\n", ok);
    return 0;
}
