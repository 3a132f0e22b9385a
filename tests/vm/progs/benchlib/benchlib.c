/* One of the 50 shared libraries libstart links against (built with -DBENCH_LIB=0..49 by the
 * harness as libbench<N>.so): a single function, so that the cost measured is mapping and
 * relocating the library, not running it. Not a program: kept out of tests/vm/progs itself. */
#define NAME2(n) bench##n
#define NAME(n) NAME2(n)
int NAME(BENCH_LIB)(void) { return BENCH_LIB; }
