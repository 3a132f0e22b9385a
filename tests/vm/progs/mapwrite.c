/* mapwrite SRC DST [exec | then CMD ARGS...]: overwrite DST in place through a shared writable
 * mapping with the bytes of SRC (up to DST's size). Writes through a mapping do not change a
 * tmpfs file's ctime. With "exec", DST is run by the dynamic loader (which maps it, where execve
 * would refuse a file open for writing with ETXTBSY) while the writable mapping still exists.
 * With "then", the mapping is made and DST's descriptor closed first, CMD is started (it loads
 * DST, still unchanged), and DST is overwritten a second later, while CMD runs it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc < 3) return 2;
    int src = open(argv[1], O_RDONLY), dst = open(argv[2], O_RDWR);
    if (src < 0 || dst < 0) { printf("open-errno=%d (%s)\n", errno, strerror(errno)); return 1; }
    struct stat st;
    fstat(dst, &st);
    char *map = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, dst, 0);
    if (map == MAP_FAILED) { printf("mmap-errno=%d\n", errno); return 1; }
    close(dst);
    pid_t later = -1;
    if (argc > 4 && !strcmp(argv[3], "then")) {
        later = fork();
        if (later == 0) {
            execv(argv[4], argv + 4);
            printf("exec-errno=%d (%s)\n", errno, strerror(errno));
            _exit(126);
        }
        sleep(1);
    }
    ssize_t n, at = 0;
    while (at < st.st_size && (n = read(src, map + at, st.st_size - at)) > 0) at += n;
    if (later > 0) {
        waitpid(later, NULL, 0);
    } else if (argc > 3) {
        pid_t pid = fork();
        if (pid == 0) {
            execl("/lib64/ld-linux-x86-64.so.2", "ld.so", argv[2], (char *)NULL);
            printf("exec-errno=%d (%s)\n", errno, strerror(errno));
            _exit(126);
        }
        waitpid(pid, NULL, 0);
    }
    munmap(map, st.st_size);
    printf("mapwrite-ok %zd\n", at);
    return 0;
}
