# Exec cost with and without the programs attached (fork+exec of a trusted binary). TCG makes
# absolute times meaningless: read the ratios, each measured within one boot.
. /lib.sh
N=${BENCH_N:-300}
"$PG" allow $T/noop $T/execbench /lib64/ld-linux-x86-64.so.2 /lib/x86_64-linux-gnu/libc.so.6 /bin/busybox > /dev/null 2>&1
run() { inscope $T/execbench "$N" $T/noop | sed -n 's/.*per_exec_ns=//p'; }
$T/execbench 20 $T/noop > /dev/null   # warm caches
base1=$(run)
start_daemon --mode enforce --cgroup "$CG" || exit 1
inscope_on=$(run)
outside=$($T/execbench "$N" $T/noop | sed -n 's/.*per_exec_ns=//p')
stop_daemon
start_daemon --mode enforce || exit 1
hostwide=$($T/execbench "$N" $T/noop | sed -n 's/.*per_exec_ns=//p')
stop_daemon
base2=$(run)
echo "PROVGATE-BENCH n=$N baseline_ns=$base1 baseline_after_ns=$base2 in_scope_ns=$inscope_on outside_scope_ns=$outside host_wide_ns=$hostwide"
