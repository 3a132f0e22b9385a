# The attack suite, run inside the VM after the scenarios. Every attack is tried twice in the
# same boot: first where nothing stops it (no provgate, or for tampering a provgate without
# hardened mode), where it must work, so that "blocked" means something; then against provgate
# enforcing, where it must not. An attack worked when its payload printed PWNED: the payload
# is code nothing vouches for. Each result line names the attack and the phase.
. /lib.sh

# Victims and payloads padded to one size, so a payload can replace a victim in place.
PAD=65536
padded() { cat "$1" > "$2" && truncate -s $PAD "$2" && chmod 755 "$2"; }
padded $T/hello /tmp/v_hello
padded $T/speak_good.so /tmp/v_lib.so
padded $T/pwned /tmp/p_pwned
padded $T/speak_evil.so /tmp/p_lib.so
KERNEL_MAJOR=$(uname -r | cut -d. -f1)
for m in loop fuse dummy; do [ -f /lib/modules/$m.ko ] && [ $m != dummy ] && insmod /lib/modules/$m.ko 2>/dev/null; done

# Trusted: the shell, every library of the image, the test programs that are not payloads,
# the padded victims, runc, and the test kernel module. Nothing else.
"$PG" allow /bin/busybox /lib64/* /lib/x86_64-linux-gnu/* /usr/sbin/runc /tmp/v_hello /tmp/v_lib.so \
  /lib/modules/dummy.ko $T/hello $T/try_exec $T/libloop $T/mapwrite $T/mmaprace $T/maprun $T/looper $T/inject $T/wx $T/execstack \
  $T/memfd_sealed $T/bpftamper $T/modload $T/rawpatch $T/clone_into $T/fuse_serve $T/speak_good.so \
  > /tmp/allow-attacks.out 2>&1 || { cat /tmp/allow-attacks.out; result attacks_setup FAIL "provgate allow failed"; exit 0; }

pwned() { echo "$1" | grep -q PWNED; }
# CONFIG_PROC_MEM_FORCE_PTRACE (7.x here): the kernel refuses /proc/PID/mem writes itself.
kernel_refuses() { [ "$KERNEL_MAJOR" -ge 7 ] && echo "$1" | grep -q "write-mem-errno=5 "; }
digest_of() { "$PG" hash "$1" | cut -d' ' -f1 | sed 's/^sha256://'; }
reason_recorded() { # REASON [denials filter...]
  reason=$1; shift
  "$PG" denials --json "$@" | grep -q "\"$reason\""
}

# ------------------------------------------------------------------ the attacks
# Each try_NAME prints what happened; PWNED in it means the attack worked.

# 1. Bytes changed under a verdict without a change of ctime.
try_mmap_write_after_unmap() {
  cp /tmp/v_hello /tmp/victim && inscope /tmp/victim > /dev/null 2>&1
  inscope $T/mapwrite /tmp/p_pwned /tmp/victim
  inscope $T/try_exec /tmp/victim
}
try_mmap_write_while_mapped() {
  cp /tmp/v_hello /tmp/victim && inscope /tmp/victim > /dev/null 2>&1
  inscope $T/mapwrite /tmp/p_pwned /tmp/victim exec
}
# A library rewritten in place under a running process that maps it executable.
library_rewrite() { # how: pwrite|mmap|outside [DIR]
  lib=${2:-/tmp}/lib.so
  cp /tmp/v_lib.so "$lib"
  inscope $T/libloop "$lib" 12 > /tmp/libloop.out 2>&1 &
  loop=$!
  sleep 0.5
  case $1 in
    pwrite) inscope dd if=/tmp/p_lib.so of="$lib" conv=notrunc 2>&1 | grep -v records ;;
    mmap) inscope $T/mapwrite /tmp/p_lib.so "$lib" ;;
    outside) dd if=/tmp/p_lib.so of="$lib" conv=notrunc 2>&1 | grep -v records ;;
  esac
  wait $loop
  cat /tmp/libloop.out
}
try_library_rewritten_with_pwrite() { library_rewrite pwrite; }
try_library_rewritten_through_mapping() { library_rewrite mmap; }
try_library_rewritten_from_outside_scope() { library_rewrite outside; }
# A library rewritten while its executable mapping is being made: mmap asks the LSM, then waits
# for the address space's lock, then maps; a write opened in between finds the file checked
# but not mapped yet. The mapper keeps its own lock busy to widen that window, and its child
# writes; it gives up after 30 s. Each try that does not win prints GOOD.
try_library_rewritten_while_being_mapped() {
  cp /tmp/v_lib.so /tmp/racelib.so
  inscope $T/mmaprace /tmp/racelib.so /tmp/p_lib.so 30 | grep -v '^GOOD$'
}
# The same on an overlay, a container's root filesystem: overlayfs maps the upper layer's file
# in place of its own, and passes writes through to it.
OVL=/tmp/ovl-attacks
mkdir -p $OVL/lower $OVL/upper $OVL/work $OVL/merged
mount -t overlay overlay -o lowerdir=$OVL/lower,upperdir=$OVL/upper,workdir=$OVL/work $OVL/merged
try_overlay_library_rewritten_with_pwrite() { library_rewrite pwrite $OVL/merged; }
try_overlay_library_rewritten_through_mapping() { library_rewrite mmap $OVL/merged; }
# A shared writable mapping made, and its descriptor closed, before the library is loaded: the
# overlay's file is no longer open for writing, the upper layer's file still is.
try_overlay_library_mapped_writable_before_loading() {
  cp /tmp/v_lib.so $OVL/merged/lib.so
  inscope $T/mapwrite /tmp/p_lib.so $OVL/merged/lib.so then $T/libloop $OVL/merged/lib.so 12
}
# The clock set back so that a rewrite keeps the old ctime.
try_clock_set_back() {
  cp /tmp/v_hello /tmp/victim && inscope /tmp/victim > /dev/null 2>&1
  ctime=$(stat -c %Z /tmp/victim)
  date -s "@$ctime" > /dev/null
  dd if=/tmp/p_pwned of=/tmp/victim conv=notrunc 2> /dev/null
  date -s "@$((ctime + 60))" > /dev/null
  inscope $T/try_exec /tmp/victim
}
# A new filesystem on the device number of an unmounted one, same inode number, same ctime.
try_new_mount_reuses_device() {
  mkdir -p /tmp/reuse && mount -t tmpfs tmpfs /tmp/reuse
  cp /tmp/v_hello /tmp/reuse/victim && inscope /tmp/reuse/victim > /dev/null 2>&1
  ctime=$(stat -c %Z /tmp/reuse/victim)
  umount /tmp/reuse && mount -t tmpfs tmpfs /tmp/reuse
  date -s "@$ctime" > /dev/null
  cp /tmp/p_pwned /tmp/reuse/victim
  date -s "@$((ctime + 60))" > /dev/null
  inscope $T/try_exec /tmp/reuse/victim
  umount /tmp/reuse
}

# 2. Code injected into a running, allowed process.
# The target lives long enough for a slow (emulated, busy) machine to start the injector, and
# is stopped a second after the injection, once it has called the patched code ten more times.
# Its output file is emptied first, here: the background job's own redirection may come after
# this shell has read the previous run's pid from it.
inject_into_looper() { # mode
  : > /tmp/looper.out
  inscope $T/looper 600 > /tmp/looper.out 2>&1 &
  looper=$!
  i=0; while ! grep -q speak= /tmp/looper.out && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
  target=$(sed -n 's/^pid=\([0-9]*\) .*/\1/p' /tmp/looper.out)
  addr=$(sed -n 's/.*speak=0x//p' /tmp/looper.out)
  inscope $T/inject "$1" "$target" "$addr"
  sleep 1
  kill "$target" $looper 2> /dev/null
  wait $looper
  grep -v -e '^GOOD' -e '^pid=' /tmp/looper.out | head -n 3
}
try_ptrace_poketext() { inject_into_looper ptrace; }
try_proc_pid_mem_write() { inject_into_looper procmem; }
try_proc_self_mem_write() { inscope $T/inject selfmem; }
try_ptrace_traceme() { inscope $T/inject traceme; }

# 3. Anonymous-equivalent code (run with anonymous executable memory denied).
# userfaultfd supplies the pages a file mapping misses: a hole in a tmpfs file.
truncate -s 4096 /tmp/hole
try_file_mapping_writable_and_executable() { inscope $T/wx rwx /tmp/v_hello; }
try_file_mapping_written_then_executable() { inscope $T/wx rw-rx /tmp/v_hello; }
try_file_mapping_executable_made_writable() { inscope $T/wx rx-rwx /tmp/v_hello; }
try_copy_on_write_pages_made_executable() { inscope $T/wx rx-rw-rx /tmp/v_hello; }
try_read_implies_exec_heap() { inscope $T/wx rie-brk; }
try_read_implies_exec_mapping() { inscope $T/wx rie-anon; }
try_executable_stack() { inscope $T/execstack; }
try_userfaultfd_fills_code() { inscope $T/wx uffd /tmp/hole; }
# The vDSO: executable memory without a file, which the kernel lets a process make writable.
try_vdso_made_writable() { inscope $T/wx vdso; }
try_vdso_written_then_executable() { inscope $T/wx vdso-rw-rx; }

# 4. Filesystems whose bytes the kernel does not vouch for.
try_fuse_served_code() {
  mkdir -p /tmp/fuse
  $T/fuse_serve /tmp/p_pwned /tmp/fuse > /tmp/fuse.log 2>&1 &
  fuse=$!
  wait_for 10 test -f /tmp/fuse/bin || cat /tmp/fuse.log
  inscope $T/try_exec /tmp/fuse/bin
  stop_fuse
}
stop_fuse() { umount -l /tmp/fuse; kill $fuse 2>/dev/null; wait $fuse; }
# An overlay whose lower layer is FUSE: the overlay's own filesystem is trusted, the layer's
# server decides the bytes. It serves allowed bytes while they are checked and run once, then
# other bytes (SIGUSR1): nothing writes the file, so nothing makes its digest stale. Mounted
# here by root outside the scope; in a container, a user namespace with /dev/fuse mounts both.
# Each attack has a directory of its own, so that its refusal is found by its path.
fuse_layer() { # DIR FILE THEN [nested]: serve FILE, then THEN, as bin in DIR/merged
  dir=$1
  mkdir -p /tmp/fuse $dir/upper $dir/work $dir/merged $dir/upper2 $dir/work2 $dir/nested
  $T/fuse_serve "$2" /tmp/fuse "$3" > /tmp/fuse.log 2>&1 &
  fuse=$!
  wait_for 10 test -f /tmp/fuse/bin || cat /tmp/fuse.log
  mount -t overlay overlay -o lowerdir=/tmp/fuse,upperdir=$dir/upper,workdir=$dir/work $dir/merged
  # An overlay over that overlay: each level puts its layer's file in the mapping.
  [ "${4:-}" = nested ] && mount -t overlay overlay \
    -o lowerdir=$dir/merged,upperdir=$dir/upper2,workdir=$dir/work2 $dir/nested
}
stop_fuse_layer() { umount $dir/nested 2>/dev/null; umount $dir/merged; stop_fuse; rm -rf $dir; }
fuse_layer_swap() { # COMMAND...: run once, swap the bytes, run again
  inscope "$@" 2>&1 | head -n 1
  kill -USR1 $fuse
  inscope "$@"
}
try_fuse_layer_swaps_program() {
  fuse_layer /tmp/fl-program /tmp/v_hello /tmp/p_pwned
  fuse_layer_swap $T/try_exec /tmp/fl-program/merged/bin
  stop_fuse_layer
}
try_fuse_layer_swaps_library() {
  fuse_layer /tmp/fl-library /tmp/v_lib.so /tmp/p_lib.so
  fuse_layer_swap $T/libloop /tmp/fl-library/merged/bin 1
  stop_fuse_layer
}
# Mapped readable, then made executable: no executable mmap, so no layer put in one; mprotect's
# check sees the mapping's file, which is the layer's.
try_fuse_layer_made_executable() {
  fuse_layer /tmp/fl-mprotect /tmp/v_lib.so /tmp/p_lib.so
  fuse_layer_swap $T/maprun /tmp/fl-mprotect/merged/bin mprotect
  stop_fuse_layer
}
try_fuse_layer_under_nested_overlay() {
  fuse_layer /tmp/fl-nested /tmp/v_hello /tmp/p_pwned nested
  fuse_layer_swap $T/try_exec /tmp/fl-nested/nested/bin
  stop_fuse_layer
}

# 5. Kernel modules (hardened).
module() { # finit|init FILE: load, report, unload
  inscope $T/modload "$1" "$2"
  if grep -q '^dummy ' /proc/modules; then echo PWNED; rmmod dummy; fi
}
cat /lib/modules/dummy.ko > /tmp/unknown_dummy.ko && echo provgate-unknown >> /tmp/unknown_dummy.ko
try_module_from_unknown_file() { module finit /tmp/unknown_dummy.ko; }
try_module_from_memory() { module init /lib/modules/dummy.ko; }

# 6. Tampering by root in scope (hardened). The payload is the unknown pwned program.
try_bpf_allow_digest_by_id() { inscope $T/bpftamper allow-digest "$(digest_of $T/pwned)"; inscope $T/try_exec $T/pwned; }
try_bpf_allow_digest_by_pin() {
  inscope $T/bpftamper allow-pinned /sys/fs/bpf/provgate/ALLOWED "$(digest_of $T/pwned)"
  inscope $T/try_exec $T/pwned
}
# The kernel side's record of a mapping's check, deleted before the mapping is seen: the race
# of library_rewritten_while_being_mapped, unwatched.
try_pending_mapping_forgotten() {
  cp /tmp/v_lib.so /tmp/racelib.so
  inscope $T/mmaprace /tmp/racelib.so /tmp/p_lib.so 30 64 forget | grep -v '^GOOD$'
}
try_cgroup_escape_procs() { inscope sh -c "echo \$\$ > /sys/fs/cgroup/cgroup.procs && exec $T/try_exec $T/pwned"; }
try_cgroup_escape_clone3() { inscope $T/clone_into /sys/fs/cgroup $T/try_exec $T/pwned; }
# A dead daemon's links are released by a kernel worker after an RCU grace period: wait for it.
gone() { ! [ -d "/proc/$1" ] || grep -q '^State:.*Z' "/proc/$1/status"; }
try_kill_daemon_from_scope() {
  inscope kill -9 "$DAEMON"
  wait_for 10 gone "$DAEMON" && sleep 3
  inscope $T/try_exec $T/pwned
}
try_remove_pins_after_kill() {
  kill -9 "$DAEMON"; wait "$DAEMON" 2>/dev/null; sleep 1
  inscope sh -c 'rm -f /sys/fs/bpf/provgate/link_* 2>&1' && sleep 3
  inscope $T/try_exec $T/pwned
}
try_raw_block_device_write() {
  dd if=/dev/zero of=/tmp/disk.img bs=1M count=8 2> /dev/null
  dev=$(losetup -f) && losetup "$dev" /tmp/disk.img && mke2fs "$dev" > /dev/null 2>&1
  mkdir -p /tmp/disk && mount "$dev" /tmp/disk
  cp /tmp/v_hello /tmp/disk/victim && sync && inscope /tmp/disk/victim > /dev/null 2>&1
  # Keep the inode in memory (its verdict with it) while the page cache is dropped.
  sleep 30 < /tmp/disk/victim &
  holder=$!
  inscope $T/rawpatch "$dev" /tmp/v_hello /tmp/p_pwned
  echo 1 > /proc/sys/vm/drop_caches
  inscope $T/try_exec /tmp/disk/victim
  kill $holder; umount /tmp/disk; losetup -d "$dev"
}
try_daemon_ld_preload() { LD_PRELOAD=/tmp/evil_preload.so inscope $T/hello; }
# provgate's own commands from the scope: trusting a payload by writing the store. Each try has
# a payload of its own: what one trusts stays trusted for the rest of the boot.
try_allow_from_scope() {
  payload=/tmp/pwned-$(cat /proc/sys/kernel/random/uuid)
  unknown_copy $T/pwned "$payload" "$payload"
  inscope "$PG" allow "$payload" 2>&1; sleep 1
  inscope $T/try_exec "$payload"
}
# Impersonation: the daemon's API socket replaced.
try_replace_api_socket() {
  inscope rm -f /run/provgate/api.sock
  [ -e /run/provgate/api.sock ] || echo "PWNED: the API socket is gone; anything may take its place"
}

# ------------------------------------------------------------------ phase 1: nothing stops them
cp $T/evil_preload.so /tmp/evil_preload.so
works() { # NAME [NOTE]
  out=$(try_$1 2>&1)
  if pwned "$out"; then result "$1_works_without_provgate" PASS
  elif kernel_refuses "$out"; then result "$1_works_without_provgate" PASS "refused by the kernel itself: $out"
  else result "$1_works_without_provgate" FAIL "$out"; fi
}
for a in mmap_write_after_unmap mmap_write_while_mapped library_rewritten_with_pwrite \
    library_rewritten_through_mapping library_rewritten_from_outside_scope \
    library_rewritten_while_being_mapped overlay_library_rewritten_with_pwrite \
    overlay_library_rewritten_through_mapping \
    overlay_library_mapped_writable_before_loading clock_set_back \
    new_mount_reuses_device ptrace_poketext proc_pid_mem_write proc_self_mem_write ptrace_traceme \
    file_mapping_writable_and_executable file_mapping_written_then_executable \
    file_mapping_executable_made_writable copy_on_write_pages_made_executable read_implies_exec_heap \
    read_implies_exec_mapping executable_stack userfaultfd_fills_code vdso_made_writable \
    vdso_written_then_executable fuse_served_code fuse_layer_swaps_program fuse_layer_swaps_library \
    fuse_layer_made_executable fuse_layer_under_nested_overlay module_from_unknown_file module_from_memory daemon_ld_preload; do
  works $a
done

# Tampering needs a provgate to tamper with: without hardened mode, each works.
tampering_works() { # NAME [daemon flags]
  name=$1; shift
  if start_daemon --mode enforce --cgroup "$CG" --no-hardened "$@"; then
    out=$(try_$name 2>&1)
    if pwned "$out"; then result "${name}_works_without_hardening" PASS
    else result "${name}_works_without_hardening" FAIL "$out"; fi
    stop_daemon > /dev/null 2>&1
  else result "${name}_works_without_hardening" FAIL "daemon did not start"; fi
  rm -rf /sys/fs/bpf/provgate
}
for a in bpf_allow_digest_by_id pending_mapping_forgotten cgroup_escape_procs cgroup_escape_clone3 \
    kill_daemon_from_scope raw_block_device_write allow_from_scope replace_api_socket; do
  tampering_works $a
done
tampering_works bpf_allow_digest_by_pin --keep-on-exit
tampering_works remove_pins_after_kill --keep-on-exit

# ------------------------------------------------------------------ phase 2: provgate enforcing
blocked() { # NAME REASON [PATH...]: with PATHs, the reason recorded for one of those files
  name=$1 reason=$2; shift 2
  out=$(try_$name 2>&1)
  if ! pwned "$out" && wait_for 10 recorded_for "$reason" "$@"; then result "${name}_blocked" PASS
  elif kernel_refuses "$out"; then result "${name}_blocked" PASS "refused by the kernel itself: $out"
  else result "${name}_blocked" FAIL "$out | reasons: $("$PG" denials --json | grep -A3 reasons | tr -d ' \n')"; fi
}
recorded_for() { # REASON [PATH...]
  reason=$1; shift
  [ $# -eq 0 ] && { reason_recorded "$reason"; return; }
  for file in "$@"; do reason_recorded "$reason" --path "$file" && return 0; done
  return 1
}
# The daemon started with an unknown library preloaded trusts nothing of it.
env LD_PRELOAD=/tmp/evil_preload.so "$PG" run --mode enforce --cgroup "$CG" >> /tmp/daemon.log 2>&1 &
DAEMON=$!
if "$PG" status --wait 90 > /tmp/status.out 2>&1; then
  blocked daemon_ld_preload unknown-file
  stop_daemon
else result daemon_ld_preload_blocked FAIL "daemon did not start: $(cat /tmp/status.out)"; fi

if start_daemon --mode enforce --cgroup "$CG" --deny-anon-exec; then
  blocked mmap_write_after_unmap unknown-file
  blocked mmap_write_while_mapped open-for-writing
  blocked library_rewritten_with_pwrite write-to-code-in-use
  blocked library_rewritten_through_mapping write-to-code-in-use
  blocked library_rewritten_from_outside_scope write-to-code-in-use
  blocked library_rewritten_while_being_mapped write-during-mapping
  blocked overlay_library_rewritten_with_pwrite write-to-code-in-use
  blocked overlay_library_rewritten_through_mapping write-to-code-in-use
  blocked overlay_library_mapped_writable_before_loading open-for-writing
  blocked clock_set_back unknown-file
  blocked new_mount_reuses_device unknown-file
  blocked ptrace_poketext code-injection
  blocked proc_pid_mem_write code-injection
  blocked proc_self_mem_write code-injection
  blocked ptrace_traceme code-injection
  blocked file_mapping_writable_and_executable writable-and-executable
  blocked file_mapping_written_then_executable modified-private-mapping
  blocked file_mapping_executable_made_writable writable-and-executable
  blocked copy_on_write_pages_made_executable writable-and-executable
  blocked read_implies_exec_heap read-implies-exec
  blocked read_implies_exec_mapping read-implies-exec
  blocked executable_stack executable-stack
  blocked userfaultfd_fills_code userfaultfd
  blocked vdso_made_writable writable-and-executable
  blocked vdso_written_then_executable writable-and-executable
  blocked fuse_served_code untrusted-filesystem
  blocked fuse_layer_swaps_program untrusted-filesystem /tmp/fl-program/merged/bin
  blocked fuse_layer_swaps_library untrusted-filesystem /tmp/fl-library/merged/bin
  blocked fuse_layer_under_nested_overlay untrusted-filesystem /tmp/fl-nested/nested/bin
  # mprotect names the layer's file: under the overlay's name on 6.1, the name in the layer (a
  # mount private to overlayfs) since 6.8.
  blocked fuse_layer_made_executable untrusted-filesystem /tmp/fl-mprotect/merged/bin /bin
  blocked module_from_unknown_file unknown-file
  blocked module_from_memory kernel-code-from-memory
  blocked bpf_allow_digest_by_id tampering
  blocked bpf_allow_digest_by_pin tampering
  blocked pending_mapping_forgotten tampering
  blocked cgroup_escape_procs scope-escape
  blocked cgroup_escape_clone3 scope-escape
  blocked kill_daemon_from_scope tampering
  blocked raw_block_device_write raw-device-write
  blocked allow_from_scope tampering
  blocked replace_api_socket tampering
  # The daemon is SIGKILLed from outside the scope: the pinned programs go on enforcing, and
  # the pins cannot be removed from inside the scope.
  blocked remove_pins_after_kill tampering
  # A process that takes the dead daemon's pid is not the daemon.
  pid=$DAEMON
  echo $((pid - 1)) > /proc/sys/kernel/ns_last_pid
  out=$(inscope $T/try_exec $T/pwned 2>&1)
  if ! pwned "$out" && echo "$out" | grep -q "exec-errno=1 "; then result pid_reuse_after_kill_blocked PASS
  else result pid_reuse_after_kill_blocked FAIL "$out"; fi
  # A new daemon takes over the pinned programs.
  stop_daemon > /dev/null 2>&1
else result attacks_daemon_started FAIL "$(cat /tmp/status.out)"; fi
rm -rf /sys/fs/bpf/provgate

# SIGKILL without hardened mode or --keep-on-exit: the links die with the daemon and nothing is
# enforced any more (fail open, as documented).
if start_daemon --mode enforce --cgroup "$CG" --no-hardened; then
  kill -9 "$DAEMON"; wait "$DAEMON" 2>/dev/null; sleep 3
  out=$(inscope $T/try_exec $T/pwned 2>&1)
  if pwned "$out"; then result sigkill_without_hardening_fails_open PASS
  else result sigkill_without_hardening_fails_open FAIL "$out"; fi
else result sigkill_without_hardening_fails_open FAIL "daemon did not start"; fi

# ------------------------------------------------------------------ must work under enforcement
if start_daemon --mode enforce --cgroup "$CG"; then
  jit=$(inscope $T/wx jit 2>&1); jitm=$(inscope $T/wx jit-mprotect 2>&1)
  if [ "$jit" = "jit-ok" ] && [ "$jitm" = "jit-ok" ]; then result jit_runs PASS
  else result jit_runs FAIL "rwx=[$jit] mprotect=[$jitm]"; fi

  # A container's first start: an overlay whose lower layer holds the image's own loader, libc
  # and a dynamically linked program (all allowed content), entered with chroot.
  mkdir -p /tmp/img/lower/bin /tmp/img/lower/lib64 /tmp/img/lower/lib/x86_64-linux-gnu /tmp/img/upper /tmp/img/work /tmp/img/root
  cp $T/hello /tmp/img/lower/bin/hello
  cp /lib64/ld-linux-x86-64.so.2 /tmp/img/lower/lib64/
  cp /lib/x86_64-linux-gnu/libc.so.6 /tmp/img/lower/lib/x86_64-linux-gnu/
  mount -t overlay overlay -o lowerdir=/tmp/img/lower,upperdir=/tmp/img/upper,workdir=/tmp/img/work /tmp/img/root
  first=$(inscope chroot /tmp/img/root /bin/hello 2>&1)
  umount /tmp/img/root
  if [ "$first" = "hello from provgate test" ]; then result container_first_start PASS
  else result container_first_start FAIL "$first"; fi

  sealed=$(inscope $T/memfd_sealed sealed $T/hello 2>&1)
  unsealed=$(inscope $T/memfd_sealed unsealed $T/hello 2>&1)
  unknown=$(inscope $T/memfd_sealed sealed $T/pwned 2>&1)
  if [ "$sealed" = "hello from provgate test" ] && echo "$unsealed" | grep -q "fexecve-errno=1 " \
      && echo "$unknown" | grep -q "fexecve-errno=1 " && reason_recorded unsealed-memfd; then
    result sealed_memfd_runs PASS
  else result sealed_memfd_runs FAIL "sealed=[$sealed] unsealed=[$unsealed] unknown=[$unknown]"; fi

  loaded=$(inscope $T/modload finit /lib/modules/dummy.ko 2>&1)
  if [ "$loaded" = "finit-loaded" ]; then result allowed_module_loads PASS; rmmod dummy
  else result allowed_module_loads FAIL "$loaded"; fi
  stop_daemon
else result jit_runs FAIL "daemon did not start"; fi

# FUSE trusted by configuration: allowed content runs, unknown content still does not.
if start_daemon --mode enforce --cgroup "$CG" --trust-filesystem fuse; then
  mkdir -p /tmp/fuse
  $T/fuse_serve /tmp/v_hello /tmp/fuse > /tmp/fuse.log 2>&1 &
  fuse=$!
  wait_for 10 test -f /tmp/fuse/bin
  good=$(inscope /tmp/fuse/bin 2>&1)
  stop_fuse
  $T/fuse_serve /tmp/p_pwned /tmp/fuse > /tmp/fuse.log 2>&1 &
  fuse=$!
  wait_for 10 test -f /tmp/fuse/bin
  bad=$(inscope $T/try_exec /tmp/fuse/bin 2>&1)
  stop_fuse
  # Under an overlay, the trusted layer's allowed bytes run too.
  fuse_layer /tmp/fl-trusted /tmp/v_hello /tmp/v_hello
  layered=$(inscope /tmp/fl-trusted/merged/bin 2>&1)
  stop_fuse_layer
  if [ "$good" = "hello from provgate test" ] && echo "$bad" | grep -q "exec-errno=1 " \
      && [ "$layered" = "hello from provgate test" ]; then
    result fuse_trusted_by_configuration PASS
  else result fuse_trusted_by_configuration FAIL "good=[$good] bad=[$bad] layered=[$layered]"; fi
  stop_daemon
else result fuse_trusted_by_configuration FAIL "daemon did not start"; fi

# Audit: code on an overlay's FUSE layer runs, and is reported as it would be denied.
if start_daemon --mode audit --cgroup "$CG"; then
  fuse_layer /tmp/fl-audit /tmp/v_hello /tmp/v_hello
  audited=$(inscope /tmp/fl-audit/merged/bin 2>&1)
  stop_fuse_layer
  if [ "$audited" = "hello from provgate test" ] \
      && wait_for 10 reason_recorded untrusted-filesystem --path /tmp/fl-audit/merged/bin --mode audit; then
    result fuse_layer_audited PASS
  else result fuse_layer_audited FAIL "audited=[$audited] $("$PG" denials --path /tmp/fl-audit/merged/bin 2>&1)"; fi
  stop_daemon
else result fuse_layer_audited FAIL "daemon did not start"; fi

# ------------------------------------------------------------------ a real container runtime
# Debian's runc runs a container under host-wide, hardened enforcement. The container's files
# are trusted from the image's SBOM; runc clones itself into a sealed memfd before it runs the
# container (the memfd holds runc's own, allowed, bytes). The entrypoint is dynamically linked
# and runs at its first start; a binary written inside the container at run time is denied.
B=/tmp/bundle
mkdir -p $B/rootfs/bin $B/rootfs/lib64 $B/rootfs/lib/x86_64-linux-gnu $B/rootfs/tmp
unknown_copy $T/hello $B/rootfs/bin/app image
cp /bin/busybox $B/rootfs/bin/busybox
for tool in sh cat chmod echo; do ln -sf busybox $B/rootfs/bin/$tool; done
cp /lib64/ld-linux-x86-64.so.2 $B/rootfs/lib64/
cp /lib/x86_64-linux-gnu/libc.so.6 $B/rootfs/lib/x86_64-linux-gnu/
"$PG" sbom generate $B/rootfs --format spdx-json --name image -o /tmp/image.spdx.json > /dev/null
(cd $B && runc spec)
sed -i 's/"terminal": true/"terminal": false/; s/"readonly": true/"readonly": false/' $B/config.json
cp $B/config.json /tmp/config.template
container() { # ARGS-JSON: run a container with these process args from a workload cgroup
  sed "s|^\([[:space:]]*\)\"sh\"\$|\1$1|" /tmp/config.template > $B/config.json
  sh -c "echo \$\$ > /sys/fs/cgroup/workload/cgroup.procs && exec runc --root /tmp/runc-state run --no-pivot --bundle $B ctr-\$\$" 2>&1
}
mkdir -p /sys/fs/cgroup/workload
enter_admin
if start_daemon --mode enforce --admin-cgroup "$ADMIN"; then
  registered=$("$PG" register --sbom /tmp/image.spdx.json --unsigned --reason "container image" 2>&1)
  first=$(container '"/bin/app"')
  written=$(container '"/bin/sh", "-c", "cat /bin/app > /tmp/x; echo written >> /tmp/x; chmod +x /tmp/x; /tmp/x"')
  if [ "$first" = "hello from provgate test" ]; then result runc_container_first_start PASS
  else result runc_container_first_start FAIL "first=[$first] register=[$registered] $(tail -n 5 /tmp/daemon.log)"; fi
  if echo "$written" | grep -qi "permission denied\|not permitted" && ! echo "$written" | grep -q "hello from" \
      && has_event denied exec /tmp/x > /tmp/ev.out; then
    result runc_container_written_binary_denied PASS
  else result runc_container_written_binary_denied FAIL "written=[$written] $(cat /tmp/ev.out)"; fi
  stop_daemon
else
  result runc_container_first_start FAIL "daemon did not start"
  result runc_container_written_binary_denied FAIL "daemon did not start"
fi
leave_admin
