/* libstart: a library-heavy start. Linked against libbench0.so .. libbench49.so (one function
 * each, built by the harness, found in /opt/t/lib by its run path), so every exec maps 50 shared
 * libraries besides libc: the workload where a per-file check at open or map time adds up. */
#define EACH(F) \
    F(0) F(1) F(2) F(3) F(4) F(5) F(6) F(7) F(8) F(9) F(10) F(11) F(12) F(13) F(14) F(15) F(16) \
    F(17) F(18) F(19) F(20) F(21) F(22) F(23) F(24) F(25) F(26) F(27) F(28) F(29) F(30) F(31) \
    F(32) F(33) F(34) F(35) F(36) F(37) F(38) F(39) F(40) F(41) F(42) F(43) F(44) F(45) F(46) \
    F(47) F(48) F(49)
#define DECLARE(n) int bench##n(void);
#define CALL(n) sum += bench##n();
EACH(DECLARE)
int main(void) {
    int sum = 0;
    /* Calling each function keeps every library needed (DT_NEEDED) even under --as-needed. */
    EACH(CALL)
    return sum == 49 * 50 / 2 ? 0 : 1;
}
