/* libloop LIB N: dlopen LIB and call its speak() N times, 200 ms apart. A library rewritten in
 * place under a running process changes what it runs next. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc != 3) return 2;
    void *h = dlopen(argv[1], RTLD_NOW);
    if (!h) { printf("dlopen-failed: %s\n", dlerror()); return 1; }
    void (*speak)(void) = (void (*)(void))dlsym(h, "speak");
    if (!speak) return 1;
    for (int i = 0; i < atoi(argv[2]); i++) { speak(); usleep(200000); }
    return 0;
}
