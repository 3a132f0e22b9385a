/* clone_into CGROUP_DIR PROGRAM: start PROGRAM in another cgroup with clone3(CLONE_INTO_CGROUP),
 * without writing any cgroup.procs file. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc < 3) return 2;
    int cg = open(argv[1], O_RDONLY | O_DIRECTORY);
    if (cg < 0) { perror(argv[1]); return 2; }
    struct clone_args args = {0};
    args.flags = CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = cg;
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid < 0) { printf("clone3-errno=%d (%s)\n", errno, strerror(errno)); return 1; }
    if (pid == 0) { execv(argv[2], argv + 2); _exit(126); }
    waitpid(pid, NULL, 0);
    return 0;
}
