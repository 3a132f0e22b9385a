/* maprun LIB HOW: maps LIB itself, as a loader would, and calls its speak_raw(), which says what
 * the library's bytes say (GOOD; PWNED for a payload). HOW is how the code becomes executable:
 *   exec      mmap(PROT_READ | PROT_EXEC) at once
 *   mprotect  mmap(PROT_READ), then mprotect(PROT_READ | PROT_EXEC): no executable mmap to check
 * The offset of speak_raw() is read from LIB's bytes as read(2) returns them now. */
#include "elfcode.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    int exec_at_once = !strcmp(argv[2], "exec");
    if (!exec_at_once && strcmp(argv[2], "mprotect")) return 2;
    size_t size;
    unsigned char *bytes = slurp(argv[1], &size);
    long offset = bytes ? code_offset(bytes, size, "speak_raw") : -1;
    if (offset < 0) { printf("maprun: no speak_raw in %s\n", argv[1]); return 2; }
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) { perror(argv[1]); return 2; }
    unsigned char *code = mmap(NULL, size, PROT_READ | (exec_at_once ? PROT_EXEC : 0), MAP_PRIVATE, fd, 0);
    if (code == MAP_FAILED) { printf("mmap-errno=%d\n", errno); return 1; }
    if (!exec_at_once && mprotect(code, size, PROT_READ | PROT_EXEC)) {
        printf("mprotect-errno=%d\n", errno);
        return 1;
    }
    ((long (*)(void))(code + offset))();
    return 0;
}
