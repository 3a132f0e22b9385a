/* modload finit|init FILE: load a kernel module from a file (finit_module) or from memory
 * (init_module). Prints what the kernel answered. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc != 3) return 2;
    int fd = open(argv[2], O_RDONLY);
    if (fd < 0) { perror(argv[2]); return 2; }
    long rc;
    if (!strcmp(argv[1], "finit")) {
        rc = syscall(SYS_finit_module, fd, "", 0);
    } else {
        struct stat st;
        fstat(fd, &st);
        char *image = malloc(st.st_size);
        if (read(fd, image, st.st_size) != st.st_size) return 2;
        rc = syscall(SYS_init_module, image, (unsigned long)st.st_size, "");
    }
    if (rc != 0) { printf("%s-errno=%d (%s)\n", argv[1], errno, strerror(errno)); return 1; }
    printf("%s-loaded\n", argv[1]);
    return 0;
}
