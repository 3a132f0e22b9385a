/* A library with one function, built twice: as the trusted library (prints GOOD) and as the
 * attacker's replacement (-DEVIL, prints PWNED). Both are padded to one size by the tests. */
#include <stdio.h>
#ifdef EVIL
#define WORD "PWNED"
#else
#define WORD "GOOD"
#endif
void speak(void) { puts(WORD); fflush(stdout); }
