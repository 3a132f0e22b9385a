/* The cheapest dynamically linked program, for exec benchmarks. */
int main(void) { return 0; }
