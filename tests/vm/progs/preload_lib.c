/* A library whose constructor announces that it was loaded. */
#include <stdio.h>
__attribute__((constructor)) static void announce(void) { puts("PRELOADED"); fflush(stdout); }
int provgate_test_symbol(void) { return 42; }
