/* dltest LIB: dlopen a shared library and report the result. */
#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char **argv) {
    if (argc != 2) return 2;
    void *h = dlopen(argv[1], RTLD_NOW);
    if (!h) { printf("dlopen-failed: %s\n", dlerror()); return 1; }
    puts("dlopen-ok");
    return 0;
}
