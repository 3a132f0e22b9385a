/* runas UID PROGRAM [ARGS...]: drop to an unprivileged user (group UID too, no supplementary
 * groups) and exec PROGRAM. */
#define _GNU_SOURCE
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc < 3) return 2;
    uid_t id = (uid_t)atoi(argv[1]);
    if (setgroups(0, NULL) != 0 || setresgid(id, id, id) != 0 || setresuid(id, id, id) != 0) { perror("runas"); return 2; }
    execv(argv[2], argv + 2);
    perror(argv[2]);
    return 126;
}
