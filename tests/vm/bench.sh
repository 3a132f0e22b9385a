# Exec cost with and without the programs attached (fork+exec of a trusted binary). TCG makes
# absolute times meaningless and noisy: conditions are interleaved over several rounds within
# one boot, and the medians are compared.
. /lib.sh
N=${BENCH_N:-200}
ROUNDS=${BENCH_ROUNDS:-5}
"$PG" allow $T/noop $T/execbench /lib64/ld-linux-x86-64.so.2 /lib/x86_64-linux-gnu/libc.so.6 /bin/busybox > /dev/null 2>&1
per_exec() { sed -n 's/.*per_exec_ns=//p'; }
median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
$T/execbench 20 $T/noop > /dev/null   # warm caches
sysctl -w kernel.bpf_stats_enabled=1 > /dev/null
# Total run time (ns) of provgate's programs so far, from the daemon's view of the kernel stats.
bpf_ns() { sleep 1; "$PG" status --json | tr -d ' \n' | grep -o '"run_time_ns":[0-9]*' | cut -d: -f2 | awk '{ s += $1 } END { print s + 0 }'; }
base=""; inside=""; outside=""; bpf=""
r=1
while [ $r -le $ROUNDS ]; do
  b=$(inscope $T/execbench "$N" $T/noop | per_exec)
  start_daemon --mode enforce --cgroup "$CG" || exit 1
  before=$(bpf_ns)
  in_scope=$(inscope $T/execbench "$N" $T/noop | per_exec)
  after=$(bpf_ns)
  p=$(( (after - before) / N ))
  o=$($T/execbench "$N" $T/noop | per_exec)
  stop_daemon
  echo "PROVGATE-BENCH-ROUND $r baseline_ns=$b in_scope_ns=$in_scope outside_scope_ns=$o bpf_ns_per_exec=$p"
  base="$base $b"; inside="$inside $in_scope"; outside="$outside $o"; bpf="$bpf $p"
  r=$((r + 1))
done
echo "PROVGATE-BENCH n=$N rounds=$ROUNDS baseline_ns=$(echo $base | median) in_scope_ns=$(echo $inside | median) outside_scope_ns=$(echo $outside | median) bpf_ns_per_exec=$(echo $bpf | median)"
