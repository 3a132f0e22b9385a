# Helpers shared by the VM scenarios and the VM benchmark (busybox sh).
PG=/bin/provgate
T=/opt/t
CG=/sys/fs/cgroup/enforced
export RUST_LOG=${RUST_LOG:-info}
mkdir -p "$CG"

result() { # name PASS|FAIL [detail...]
  name=$1; verdict=$2; shift 2
  echo "PROVGATE-SCENARIO $name $verdict $(echo "$*" | tr '\n' ' ')"
}

# Runs a command as a process of the enforced cgroup: the shell moves itself in, then execs.
inscope() {
  sh -c 'echo $$ > '"$CG"'/cgroup.procs && exec "$@"' inscope "$@"
}

start_daemon() {
  "$PG" run "$@" >> /tmp/daemon.log 2>&1 &
  DAEMON=$!
  if ! "$PG" status --wait 90 > /tmp/status.out 2>&1; then
    echo "daemon did not become ready:"; cat /tmp/status.out; tail -n 30 /tmp/daemon.log
    stop_daemon
    return 1
  fi
}

# Stops the daemon started last; gives up after 30 s (a hardened daemon ignores signals from
# its own enforced scope), saying so.
stop_daemon() {
  # local: a caller's variable of the same name (the benchmark's `i`) must survive.
  local waited=0
  kill -TERM "$DAEMON" 2>/dev/null
  while [ -d "/proc/$DAEMON" ] && [ $waited -lt 150 ]; do
    if ! grep -q '^State:.*Z' "/proc/$DAEMON/status" 2>/dev/null; then sleep 0.2; waited=$((waited + 1)); else break; fi
  done
  if [ $waited -ge 150 ]; then echo "daemon $DAEMON did not stop"; return 1; fi
  wait "$DAEMON"
}

# Runs the rest of the calling shell in the admin cgroup (exempt from the hardened tamper rules).
ADMIN=/sys/fs/cgroup/admin
mkdir -p "$ADMIN"
enter_admin() { echo $$ > "$ADMIN/cgroup.procs"; }
leave_admin() { echo $$ > /sys/fs/cgroup/cgroup.procs; }

# has_event ACTION HOOK PATH: waits up to 10 s for such an event in `provgate denials`.
has_event() {
  case "$1" in denied) mode=enforce ;; would-deny) mode=audit ;; *) mode=observe ;; esac
  i=0
  while [ $i -lt 50 ]; do
    if "$PG" denials --mode "$mode" --path "$3" --json | grep -q "\"$2\""; then
      return 0
    fi
    sleep 0.2
    i=$((i + 1))
  done
  echo "no '$1' '$2' event for $3 in:"; "$PG" denials
  return 1
}

# json_number KEY: the first number under KEY in `provgate status --json`.
json_number() {
  "$PG" status --json | tr -d ' \n' | grep -o "\"$1\":[0-9]*" | head -n 1 | cut -d: -f2
}

# unknown_copy SRC DEST TAG: a working copy of SRC with bytes appended, so its digest is new.
unknown_copy() {
  cat "$1" > "$2" && echo "provgate-unknown-$3" >> "$2" && chmod 755 "$2"
}

# wait_for SECONDS CMD...: retries CMD every 0.2 s until it succeeds or the time is up.
wait_for() {
  limit=$(($1 * 5)); shift
  i=0
  while [ $i -lt $limit ]; do
    "$@" && return 0
    sleep 0.2
    i=$((i + 1))
  done
  return 1
}

status_shows() { "$PG" status --json | grep -q "$1"; }
