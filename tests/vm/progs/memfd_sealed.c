/* memfd_sealed sealed|unsealed FILE: what runc 1.1 does to protect /proc/self/exe: copy FILE
 * into a memfd, seal it against writes, growing and shrinking (or not), and execute it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
extern char **environ;
int main(int argc, char **argv) {
    if (argc != 3) return 2;
    int sealed = !strcmp(argv[1], "sealed");
    int src = open(argv[2], O_RDONLY);
    int fd = memfd_create("runc_cloned:/proc/self/exe", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (src < 0 || fd < 0) { perror("open/memfd_create"); return 2; }
    char buf[65536];
    ssize_t n;
    while ((n = read(src, buf, sizeof buf)) > 0) if (write(fd, buf, n) != n) return 2;
    if (sealed && fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) != 0) {
        printf("seal-errno=%d (%s)\n", errno, strerror(errno));
        return 1;
    }
    char *args[] = {"memfd-child", NULL};
    fexecve(fd, args, environ);
    printf("fexecve-errno=%d (%s)\n", errno, strerror(errno));
    return 1;
}
