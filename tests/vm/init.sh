#!/bin/busybox sh
# PID 1 of the test VM: mount what provgate needs, run the scenarios (or the benchmark) named
# on the kernel command line, print one result line each, power off.
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t securityfs securityfs /sys/kernel/security
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t bpf bpf /sys/fs/bpf
mkdir -p /var/lib/provgate /run
ip link set lo up   # the daemon serves metrics on 127.0.0.1
insmod /lib/modules/overlay.ko
echo "PROVGATE-KERNEL $(uname -r) lsm=$(cat /sys/kernel/security/lsm)"
# provgate.script=NAME[,NAME...] runs /NAME.sh in turn; the scenarios by default.
scripts=scenarios
for arg in $(cat /proc/cmdline); do
  case "$arg" in provgate.script=*) scripts=${arg#provgate.script=} ;; esac
done
for script in $(echo "$scripts" | tr ',' ' '); do
  sh "/$script.sh"
done
echo "PROVGATE-VM-DONE"
sync
poweroff -f
