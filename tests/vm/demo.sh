# A narrated demo of provgate enforcing in a VM: trust some programs, start the daemon, watch
# trusted code run and unknown code be denied, then review the denials and approve one.
. /lib.sh
say() { echo; echo "### $*"; }
run() { echo "\$ $*"; "$@" 2>&1; echo "(exit $?)"; }

say "Trust the shell, the loader, libc and a test program (provgate allow hashes each file)"
run "$PG" allow /bin/busybox /lib64/ld-linux-x86-64.so.2 /lib/x86_64-linux-gnu/libc.so.6 $T/hello $T/try_exec
unknown_copy $T/hello /tmp/downloaded demo

say "Start the daemon in enforce mode for the cgroup $CG"
start_daemon --mode enforce --cgroup "$CG" || exit 1
run "$PG" status

say "A trusted binary runs inside the enforced cgroup"
run inscope $T/hello

say "An unknown binary (/tmp/downloaded) is denied with EPERM"
run inscope /tmp/downloaded

say "The ld.so trick (loading the unknown file through the trusted loader) is denied too"
run inscope /lib64/ld-linux-x86-64.so.2 /tmp/downloaded

say "Outside the enforced cgroup nothing changes"
run /tmp/downloaded

sleep 1
say "What was denied (provgate denials)"
run "$PG" denials

say "Why it was denied: nothing vouches for it (provgate explain exits 1)"
run "$PG" explain /tmp/downloaded

say "The admin approves it; the daemon's kernel map follows before approve returns"
digest=$("$PG" hash /tmp/downloaded | cut -d' ' -f1)
run "$PG" approve "$digest" --reason "reviewed in the demo"
run inscope /tmp/downloaded
run "$PG" explain /tmp/downloaded

say "What the allowlist is made of (provgate sources)"
run "$PG" sources

stop_daemon
echo "PROVGATE-DEMO-DONE"
