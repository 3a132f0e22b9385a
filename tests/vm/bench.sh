# Exec cost with and without the programs attached (fork+exec of a trusted binary), and the same
# under Debian's fapolicyd, enforcing with a trust file of the same files (issue 15); then a
# library-heavy start (libstart maps 50 shared libraries) under each. TCG makes absolute times
# meaningless and noisy: conditions are interleaved over several rounds within one boot, and the
# medians are compared.
. /lib.sh
N=${BENCH_N:-200}
LIB_N=${BENCH_LIB_N:-100}
ROUNDS=${BENCH_ROUNDS:-5}
# The 50 libraries of libstart (the harness's BENCH_LIBRARIES), in the programs' folder.
LIBDIR=/opt/t/lib
LIBS=$(for i in $(seq 0 49); do echo "$LIBDIR/libbench$i.so"; done)
# What both tools trust, and nothing else: the programs run, the loader, libc, the shell.
TRUSTED="$T/noop $T/execbench $T/libstart /lib64/ld-linux-x86-64.so.2 /lib/x86_64-linux-gnu/libc.so.6 /bin/busybox $LIBS"
# shellcheck disable=SC2086
"$PG" allow $TRUSTED > /dev/null 2>&1
# fapolicyd's trust file (path, size, SHA-256), checked by content (integrity = sha256).
mkdir -p /etc/fapolicyd /var/lib/fapolicyd /run/fapolicyd /var/log
for f in $TRUSTED; do
  echo "$f $(stat -c %s "$f") $(sha256sum < "$f" | cut -d' ' -f1)"
done > /etc/fapolicyd/fapolicyd.trust
# fapolicyd logs to syslog once it is a daemon: its start-up errors land in this file.
syslogd -O /tmp/syslog
per_exec() { sed -n 's/.*per_exec_ns=//p'; }
median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# measure N PROGRAM: ns per fork+exec in the enforced cgroup; the benchmark stops if a run fails
# (a program denied would otherwise turn into a fast, empty figure).
measure() {
  m=$(inscope $T/execbench "$1" "$2" | per_exec)
  if [ -z "$m" ]; then echo "PROVGATE-BENCH-ERROR $2 failed to run ($3)" >&2; exit 1; fi
  echo "$m"
}
$T/execbench 20 $T/noop > /dev/null   # warm caches
$T/execbench 5 $T/libstart > /dev/null || { echo "PROVGATE-BENCH-ERROR libstart does not run"; exit 1; }
sysctl -w kernel.bpf_stats_enabled=1 > /dev/null
# Total run time (ns) of provgate's programs so far, from the daemon's view of the kernel stats.
bpf_ns() { sleep 1; "$PG" status --json | tr -d ' \n' | grep -o '"run_time_ns":[0-9]*' | cut -d: -f2 | awk '{ s += $1 } END { print s + 0 }'; }
# One program's run time (ns) or run count (FIELD run_time_ns or run_count) so far.
program_stat() { # PROGRAM FIELD
  "$PG" status --json | tr -d ' \n' | grep -o "\"program\":\"$1\",[^}]*" | grep -o "\"$2\":[0-9]*" | cut -d: -f2
}
# The libraries as a container sees its image's: through an overlay mounted over their folder.
# Each executable mapping of them goes through overlayfs, which puts its layer's file in the
# mapping (vma_set_file, where provgate judges the layer's filesystem).
mkdir -p /tmp/bench-ovl/upper /tmp/bench-ovl/work
overlay_libraries() { mount -t overlay overlay -o lowerdir=$LIBDIR,upperdir=/tmp/bench-ovl/upper,workdir=/tmp/bench-ovl/work $LIBDIR; }

# fapolicyd forks into the background; it is ready once its fanotify descriptor holds the mount
# marks (fdinfo lists them), which it places after loading the trust database.
FAPOLICYD=""
start_fapolicyd() {
  rm -rf /var/lib/fapolicyd/* /run/fapolicyd.pid
  /usr/sbin/fapolicyd || { echo "fapolicyd failed to start:"; cat /tmp/syslog; return 1; }
  i=0
  while [ $i -lt 300 ]; do
    FAPOLICYD=$(cat /run/fapolicyd.pid 2>/dev/null)
    if [ -n "$FAPOLICYD" ] && grep -q 'fanotify mnt_id' /proc/"$FAPOLICYD"/fdinfo/* 2>/dev/null; then return 0; fi
    sleep 0.2
    i=$((i + 1))
  done
  echo "fapolicyd did not place its marks in 60 s:"; cat /tmp/syslog
  return 1
}
# The daemon's CPU time so far (user and system, all its threads), in clock ticks of 10 ms: the
# work it does for the execs, the counterpart of provgate's programs' run time. A lower bound of
# its cost: the kernel's queueing of each event and the waiting process's switches are not in it.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$FAPOLICYD/stat"; }
stop_fapolicyd() {
  kill -TERM "$FAPOLICYD"
  i=0
  while [ -d "/proc/$FAPOLICYD" ] && ! grep -q '^State:.*Z' "/proc/$FAPOLICYD/status" 2>/dev/null && [ $i -lt 150 ]; do
    sleep 0.2
    i=$((i + 1))
  done
}

base=""; inside=""; outside=""; bpf=""; fapo=""
lbase=""; linside=""; lbpf=""; lfapo=""; fcpu=""; lfcpu=""; lobpf=""; olayer=""
r=1
while [ $r -le $ROUNDS ]; do
  b=$(measure "$N" $T/noop baseline) || exit 1
  lb=$(measure "$LIB_N" $T/libstart baseline) || exit 1

  start_daemon --mode enforce --cgroup "$CG" || exit 1
  before=$(bpf_ns)
  in_scope=$(measure "$N" $T/noop provgate) || exit 1
  after=$(bpf_ns)
  p=$(( (after - before) / N ))
  lin=$(measure "$LIB_N" $T/libstart provgate) || exit 1
  lafter=$(bpf_ns)
  lp=$(( (lafter - after) / LIB_N ))
  overlay_libraries || exit 1
  t0=$(program_stat provgate_layer_mapped run_time_ns); n0=$(program_stat provgate_layer_mapped run_count)
  measure "$LIB_N" $T/libstart provgate-overlay > /dev/null || { umount $LIBDIR; exit 1; }
  oafter=$(bpf_ns)
  t1=$(program_stat provgate_layer_mapped run_time_ns); n1=$(program_stat provgate_layer_mapped run_count)
  umount $LIBDIR
  lop=$(( (oafter - lafter) / LIB_N ))
  ol=$(( (t1 - t0) / (n1 - n0 > 0 ? n1 - n0 : 1) ))
  o=$($T/execbench "$N" $T/noop | per_exec)
  stop_daemon

  start_fapolicyd || exit 1
  if [ $r -eq 1 ]; then
    # Enforcing, not merely running: an unknown copy of a trusted program is refused.
    unknown_copy $T/noop $T/fapolicyd_unknown fapolicyd
    if $T/fapolicyd_unknown 2> /dev/null; then
      echo "PROVGATE-BENCH-ERROR fapolicyd let an untrusted program run"; stop_fapolicyd; exit 1
    fi
  fi
  c0=$(cpu_ticks)
  f=$(measure "$N" $T/noop fapolicyd) || { stop_fapolicyd; exit 1; }
  c1=$(cpu_ticks)
  lf=$(measure "$LIB_N" $T/libstart fapolicyd) || { stop_fapolicyd; exit 1; }
  c2=$(cpu_ticks)
  stop_fapolicyd
  fc=$(( (c1 - c0) * 10000000 / N )); lfc=$(( (c2 - c1) * 10000000 / LIB_N ))
  [ $r -eq "$ROUNDS" ] && { echo "fapolicyd's report at its last exit:"; cat /var/log/fapolicyd-access.log /run/fapolicyd.state 2>/dev/null; }

  echo "PROVGATE-BENCH-ROUND $r baseline_ns=$b in_scope_ns=$in_scope outside_scope_ns=$o fapolicyd_ns=$f bpf_ns_per_exec=$p" \
    "fapolicyd_cpu_ns_per_exec=$fc lib_baseline_ns=$lb lib_in_scope_ns=$lin lib_fapolicyd_ns=$lf lib_bpf_ns_per_exec=$lp" \
    "lib_fapolicyd_cpu_ns_per_exec=$lfc lib_overlay_bpf_ns_per_exec=$lop layer_check_ns=$ol"
  base="$base $b"; inside="$inside $in_scope"; outside="$outside $o"; bpf="$bpf $p"; fapo="$fapo $f"
  lbase="$lbase $lb"; linside="$linside $lin"; lbpf="$lbpf $lp"; lfapo="$lfapo $lf"; fcpu="$fcpu $fc"; lfcpu="$lfcpu $lfc"
  lobpf="$lobpf $lop"; olayer="$olayer $ol"
  r=$((r + 1))
done
echo "PROVGATE-BENCH n=$N lib_n=$LIB_N rounds=$ROUNDS baseline_ns=$(echo $base | median) in_scope_ns=$(echo $inside | median)" \
  "outside_scope_ns=$(echo $outside | median) fapolicyd_ns=$(echo $fapo | median) bpf_ns_per_exec=$(echo $bpf | median)" \
  "lib_baseline_ns=$(echo $lbase | median) lib_in_scope_ns=$(echo $linside | median) lib_fapolicyd_ns=$(echo $lfapo | median)" \
  "lib_bpf_ns_per_exec=$(echo $lbpf | median) fapolicyd_cpu_ns_per_exec=$(echo $fcpu | median)" \
  "lib_fapolicyd_cpu_ns_per_exec=$(echo $lfcpu | median) lib_overlay_bpf_ns_per_exec=$(echo $lobpf | median)" \
  "layer_check_ns=$(echo $olayer | median)"
