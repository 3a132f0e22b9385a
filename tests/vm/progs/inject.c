/* inject ptrace|procmem PID ADDR: write the shellcode over another process's code at ADDR,
 * by PTRACE_POKETEXT or through /proc/PID/mem. traceme: a child asks to be traced and its
 * parent writes the shellcode over the child's code. selfmem: a process writes its own code
 * through /proc/self/mem. Each prints what the kernel answered; the shellcode prints PWNED. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>
#include "shellcode.h"
__attribute__((noinline, aligned(64))) static void speak(void) { puts("GOOD"); fflush(stdout); }
static int poke(pid_t pid, unsigned long addr) {
    for (size_t i = 0; i < sizeof shellcode; i += sizeof(long)) {
        long word = 0;
        memcpy(&word, shellcode + i, sizeof shellcode - i < sizeof word ? sizeof shellcode - i : sizeof word);
        if (ptrace(PTRACE_POKETEXT, pid, (void *)(addr + i), (void *)word) != 0) return -1;
    }
    return 0;
}
static int write_mem(const char *mem, unsigned long addr) {
    int fd = open(mem, O_RDWR);
    if (fd < 0) { printf("open-mem-errno=%d (%s)\n", errno, strerror(errno)); return -1; }
    ssize_t n = pwrite(fd, shellcode, sizeof shellcode, (off_t)addr);
    if (n != (ssize_t)sizeof shellcode) { printf("write-mem-errno=%d (%s)\n", errno, strerror(errno)); return -1; }
    close(fd);
    return 0;
}
int main(int argc, char **argv) {
    if (argc < 2) return 2;
    setvbuf(stdout, NULL, _IONBF, 0);
    if (!strcmp(argv[1], "ptrace") && argc == 4) {
        pid_t pid = atoi(argv[2]);
        unsigned long addr = strtoul(argv[3], NULL, 16);
        if (ptrace(PTRACE_ATTACH, pid, NULL, NULL) != 0) { printf("attach-errno=%d (%s)\n", errno, strerror(errno)); return 1; }
        waitpid(pid, NULL, 0);
        if (poke(pid, addr) != 0) printf("poke-errno=%d (%s)\n", errno, strerror(errno));
        ptrace(PTRACE_DETACH, pid, NULL, NULL);
        return 0;
    }
    if (!strcmp(argv[1], "procmem") && argc == 4) {
        char mem[64];
        snprintf(mem, sizeof mem, "/proc/%s/mem", argv[2]);
        return write_mem(mem, strtoul(argv[3], NULL, 16)) ? 1 : 0;
    }
    if (!strcmp(argv[1], "selfmem")) {
        if (write_mem("/proc/self/mem", (unsigned long)speak) == 0) speak();
        else speak();
        return 0;
    }
    if (!strcmp(argv[1], "traceme")) {
        pid_t pid = fork();
        if (pid == 0) {
            if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0) printf("traceme-errno=%d (%s)\n", errno, strerror(errno));
            raise(SIGSTOP);
            speak();
            _exit(0);
        }
        int status;
        /* WUNTRACED: an untraced child stopping itself is reported too. */
        waitpid(pid, &status, WUNTRACED);
        if (poke(pid, (unsigned long)speak) != 0) printf("poke-errno=%d (%s)\n", errno, strerror(errno));
        ptrace(PTRACE_CONT, pid, NULL, NULL);
        kill(pid, SIGCONT);
        waitpid(pid, &status, 0);
        return 0;
    }
    return 2;
}
