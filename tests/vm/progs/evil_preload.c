/* An unknown library that announces itself: loaded into a process, its constructor runs. */
#include <stdio.h>
__attribute__((constructor)) static void announce(void) { puts("PWNED"); fflush(stdout); }
