/* A library's bytes read whole, and where one of its functions' code lies in the file: for the
 * programs that map a library themselves and call into it (mmaprace, maprun). */
#ifndef ELFCODE_H
#define ELFCODE_H
#include <elf.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static unsigned char *slurp(const char *path, size_t *size) {
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) return NULL;
    unsigned char *bytes = malloc(st.st_size);
    size_t at = 0;
    ssize_t n;
    while (at < (size_t)st.st_size && (n = read(fd, bytes + at, st.st_size - at)) > 0) at += n;
    close(fd);
    *size = at;
    return bytes;
}

/* The file offset of a dynamic symbol's code: its address, placed by the loadable segment that
 * holds it (the mapper maps the file as it is, not segment by segment as ld.so would). */
static long code_offset(const unsigned char *elf, size_t size, const char *name) {
    const Elf64_Ehdr *eh = (const void *)elf;
    if (size < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
        eh->e_shoff + eh->e_shnum * sizeof(Elf64_Shdr) > size ||
        eh->e_phoff + eh->e_phnum * sizeof(Elf64_Phdr) > size)
        return -1;
    const Elf64_Shdr *sh = (const void *)(elf + eh->e_shoff);
    const Elf64_Phdr *ph = (const void *)(elf + eh->e_phoff);
    for (int i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != SHT_DYNSYM || sh[i].sh_link >= eh->e_shnum) continue;
        const Elf64_Sym *sym = (const void *)(elf + sh[i].sh_offset);
        const char *names = (const char *)elf + sh[sh[i].sh_link].sh_offset;
        for (size_t j = 0; j < sh[i].sh_size / sizeof *sym; j++) {
            if (strcmp(names + sym[j].st_name, name)) continue;
            for (int k = 0; k < eh->e_phnum; k++)
                if (ph[k].p_type == PT_LOAD && sym[j].st_value >= ph[k].p_vaddr &&
                    sym[j].st_value < ph[k].p_vaddr + ph[k].p_filesz)
                    return sym[j].st_value - ph[k].p_vaddr + ph[k].p_offset;
        }
    }
    return -1;
}

#endif
