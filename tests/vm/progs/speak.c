/* A library with one function, built twice: as the trusted library (prints GOOD) and as the
 * attacker's replacement (-DEVIL, prints PWNED). Both are padded to one size by the tests. */
#include <stdio.h>
#ifdef EVIL
#define WORD "PWNED"
#else
#define WORD "GOOD"
#endif
void speak(void) { puts(WORD); fflush(stdout); }

/* The same word from code that needs nothing of the dynamic loader: no relocation, no data
 * outside the function (the word is built on the stack, written with a raw system call). For a
 * caller that maps the library's bytes itself and calls into them (mmaprace), where speak()'s
 * call through the PLT would find no resolved address. */
long speak_raw(void) {
    char word[] = WORD "\n";
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(1L), "D"(1L), "S"(word), "d"(sizeof word - 1)
                     : "rcx", "r11", "memory");
    return ret;
}
