/* memfd_exec FILE: copy FILE into a memfd and execute it, both with fexecve and with
 * execveat(AT_EMPTY_PATH); report each errno. Fileless exec must be denied. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
extern char **environ;
static int attempt(int fd, int use_execveat) {
    pid_t pid = fork();
    if (pid == 0) {
        char *args[] = {"memfd-child", NULL};
        if (use_execveat) syscall(SYS_execveat, fd, "", args, environ, AT_EMPTY_PATH);
        else fexecve(fd, args, environ);
        printf("%s-errno=%d (%s)\n", use_execveat ? "execveat" : "fexecve", errno, strerror(errno));
        fflush(stdout);
        _exit(126);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}
int main(int argc, char **argv) {
    if (argc != 2) return 2;
    int src = open(argv[1], O_RDONLY);
    int fd = memfd_create("provgate-test", 0);
    if (src < 0 || fd < 0) { perror("open/memfd_create"); return 2; }
    char buf[65536];
    ssize_t n;
    while ((n = read(src, buf, sizeof buf)) > 0) if (write(fd, buf, n) != n) return 2;
    int a = attempt(fd, 0), b = attempt(fd, 1);
    printf("fexecve-status=%d execveat-status=%d\n", a, b);
    return (a == 0 || b == 0) ? 0 : 1;
}
