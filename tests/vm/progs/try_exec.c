/* try_exec PATH [ARGS...]: execv and report errno, so a test can tell EPERM from other failures. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: try_exec PATH [ARGS...]\n"); return 2; }
    execv(argv[1], argv + 1);
    printf("exec-errno=%d (%s)\n", errno, strerror(errno));
    return 126;
}
