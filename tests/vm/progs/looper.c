/* looper N: prints its pid and the address of its speak() function, then calls it N times,
 * 100 ms apart. The target of code injection from another process. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
__attribute__((noinline, aligned(64))) void speak(void) { puts("GOOD"); fflush(stdout); }
int main(int argc, char **argv) {
    printf("pid=%d speak=%p\n", (int)getpid(), (void *)speak);
    fflush(stdout);
    for (int i = 0; i < (argc > 1 ? atoi(argv[1]) : 50); i++) { speak(); usleep(100000); }
    return 0;
}
