/* fuse_serve FILE MOUNTPOINT [THEN]: a FUSE filesystem, served by this process, holding one
 * executable file "bin" with FILE's bytes; after SIGUSR1, THEN's (of the same size). The server
 * decides what every reader sees, and when: nothing in the kernel sees the file change. */
#define FUSE_USE_VERSION 31
#include <errno.h>
#include <fcntl.h>
#include <fuse3/fuse.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
static char *contents[2];
static size_t length;
static volatile sig_atomic_t swapped;
static void swap(int sig) { (void)sig; swapped = contents[1] != NULL; }
static int fs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi) {
    (void)fi;
    memset(st, 0, sizeof *st);
    if (!strcmp(path, "/")) { st->st_mode = S_IFDIR | 0755; st->st_nlink = 2; return 0; }
    if (!strcmp(path, "/bin")) { st->st_mode = S_IFREG | 0755; st->st_nlink = 1; st->st_size = length; return 0; }
    return -ENOENT;
}
static int fs_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off, struct fuse_file_info *fi,
                      enum fuse_readdir_flags flags) {
    (void)off; (void)fi; (void)flags;
    if (strcmp(path, "/")) return -ENOENT;
    fill(buf, ".", NULL, 0, 0);
    fill(buf, "..", NULL, 0, 0);
    fill(buf, "bin", NULL, 0, 0);
    return 0;
}
static int fs_open(const char *path, struct fuse_file_info *fi) {
    if (strcmp(path, "/bin")) return -ENOENT;
    if ((fi->flags & O_ACCMODE) != O_RDONLY) return -EACCES;
    return 0;
}
static int fs_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
    (void)path; (void)fi;
    if ((size_t)off >= length) return 0;
    if (off + size > length) size = length - off;
    memcpy(buf, contents[swapped] + off, size);
    return size;
}
static const struct fuse_operations ops = { .getattr = fs_getattr, .readdir = fs_readdir, .open = fs_open, .read = fs_read };
static char *load(const char *name, size_t *size) {
    FILE *f = fopen(name, "rb");
    if (!f) { perror(name); exit(2); }
    fseek(f, 0, SEEK_END);
    *size = ftell(f);
    rewind(f);
    char *bytes = malloc(*size);
    if (fread(bytes, 1, *size, f) != *size) exit(2);
    fclose(f);
    return bytes;
}
int main(int argc, char **argv) {
    if (argc != 3 && argc != 4) return 2;
    contents[0] = load(argv[1], &length);
    if (argc == 4) {
        size_t then;
        contents[1] = load(argv[3], &then);
        if (then != length) { fprintf(stderr, "%s and %s differ in size\n", argv[1], argv[3]); return 2; }
    }
    signal(SIGUSR1, swap);
    char *fuse_argv[] = {argv[0], "-f", "-o", "allow_other", argv[2], NULL};
    return fuse_main(5, fuse_argv, &ops, NULL);
}
