/* The attacker's program: unknown to provgate. Prints PWNED when it runs. */
#include <stdio.h>
int main(void) { puts("PWNED"); return 0; }
