/* bpftamper allow-digest HEX | allow-pinned PIN HEX: what root could do to provgate's kernel
 * objects with bpf(2): put a digest on the kernel's allowlist, the map found by id or through
 * its pin. Prints what the kernel answered. (LSM links cannot be detached by id on these
 * kernels: BPF_LINK_DETACH answers EOPNOTSUPP; their pins are what keeps them.) */
#include "bpfmap.h"
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
static int parse_digest(const char *hex, unsigned char out[32]) {
    if (strlen(hex) != 64) return -1;
    for (int i = 0; i < 32; i++) if (sscanf(hex + 2 * i, "%2hhx", &out[i]) != 1) return -1;
    return 0;
}
static int insert(int fd, const unsigned char digest[32]) {
    unsigned int one = 1;
    union bpf_attr attr = {0};
    attr.map_fd = fd;
    attr.key = (unsigned long)digest;
    attr.value = (unsigned long)&one;
    if (sys_bpf(BPF_MAP_UPDATE_ELEM, &attr) != 0) { printf("update-errno=%d (%s)\n", errno, strerror(errno)); return 1; }
    puts("digest-inserted");
    return 0;
}
int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    unsigned char digest[32];
    if (argc == 3 && !strcmp(argv[1], "allow-digest") && parse_digest(argv[2], digest) == 0) {
        int fd = map_by_name("ALLOWED");
        if (fd >= 0) return insert(fd, digest);
        puts("no-allowed-map-reached");
        return 1;
    }
    if (argc == 4 && !strcmp(argv[1], "allow-pinned") && parse_digest(argv[3], digest) == 0) {
        union bpf_attr attr = {0};
        attr.pathname = (unsigned long)argv[2];
        int fd = sys_bpf(BPF_OBJ_GET, &attr);
        if (fd < 0) { printf("obj-get-errno=%d (%s)\n", errno, strerror(errno)); return 1; }
        return insert(fd, digest);
    }
    return 2;
}
