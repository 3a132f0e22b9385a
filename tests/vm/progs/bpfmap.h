/* A BPF map found by id and name, as root could find provgate's: what hardened mode must refuse.
 * Shared by the tampering programs (bpftamper, mmaprace). */
#ifndef BPFMAP_H
#define BPFMAP_H
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static long sys_bpf(int cmd, union bpf_attr *attr) { return syscall(SYS_bpf, cmd, attr, sizeof *attr); }

/* A descriptor of the first map named `name` (the kernel keeps BPF_OBJ_NAME_LEN - 1 characters of
 * a name); -1 when none was reached. Each map whose descriptor the kernel refused is printed with
 * the errno, so that a refusal shows in the output. */
static int map_by_name(const char *name) {
    union bpf_attr next = {0};
    while (sys_bpf(BPF_MAP_GET_NEXT_ID, &next) == 0) {
        next.start_id = next.next_id;
        union bpf_attr get = {0};
        get.map_id = next.next_id;
        int fd = sys_bpf(BPF_MAP_GET_FD_BY_ID, &get);
        if (fd < 0) {
            printf("map-%u-fd-errno=%d (%s)\n", next.next_id, errno, strerror(errno));
            continue;
        }
        struct bpf_map_info info = {0};
        union bpf_attr query = {0};
        query.info.bpf_fd = fd;
        query.info.info_len = sizeof info;
        query.info.info = (unsigned long)&info;
        if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &query) == 0 && !strncmp(info.name, name, BPF_OBJ_NAME_LEN - 1))
            return fd;
        close(fd);
    }
    return -1;
}
#endif
