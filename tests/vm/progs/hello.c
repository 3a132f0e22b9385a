/* A dynamically linked program: runs only if it, ld.so and libc are trusted. */
#include <stdio.h>
int main(void) { puts("hello from provgate test"); return 0; }
