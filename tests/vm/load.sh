# Whether every program loads on this kernel, in a minute instead of the suite's ten: the
# verifier's limits are the first thing a change to the kernel side can break (6.1's most).
#   provgate-vm --provgate target/debug/provgate --kernel bookworm script load
. /lib.sh
if start_daemon --mode enforce --cgroup "$CG" --deny-anon-exec; then
  if "$PG" status | grep -q "OBSERVE-ONLY"; then
    result programs_load FAIL "$(grep -m1 "ENFORCEMENT UNAVAILABLE" /tmp/daemon.log)"
  else result programs_load PASS; fi
  stop_daemon
else result programs_load FAIL "daemon did not start"; fi
