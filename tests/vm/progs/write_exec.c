/* write_exec SRC DST [ARGS...]: copy SRC to a new file DST, close it, and exec it at once.
 * The first exec of a file written a moment earlier must see the daemon's verdict. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc < 3) return 2;
    int in = open(argv[1], O_RDONLY);
    int out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0755);
    if (in < 0 || out < 0) { perror("open"); return 2; }
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0) if (write(out, buf, n) != n) return 2;
    close(in);
    close(out);
    execv(argv[2], argv + 2);
    printf("exec-errno=%d (%s)\n", errno, strerror(errno));
    return 126;
}
