/* Built with an executable stack (-z execstack): copies the shellcode into a stack buffer and
 * calls it. */
#include <stdio.h>
#include <string.h>
#include "shellcode.h"
int main(void) {
    unsigned char code[64];
    setvbuf(stdout, NULL, _IONBF, 0);
    memcpy(code, shellcode, sizeof shellcode);
    /* The compiler must not drop the copy: it cannot see that the buffer is executed. */
    __asm__ volatile("" : : "r"(code) : "memory");
    ((void (*)(void))code)();
    puts("stack code returned");
    return 0;
}
