# The enforcement scenarios, run inside the VM. Each prints one PROVGATE-SCENARIO line.
. /lib.sh
LD=/lib64/ld-linux-x86-64.so.2
LIBC=/lib/x86_64-linux-gnu/libc.so.6

# Trusted before the daemon starts: the shell, the test programs, and every shared library of
# the image (the loader, libc, and what provgate's own commands link).
for f in victim ok_cp ok_mv ok_ln; do cp $T/hello $T/$f; done
printf '#!/bin/sh\necho known-script-ran\n' > $T/known.sh && chmod 755 $T/known.sh
printf '#!/tmp/unknown_interp\necho should-not-run\n' > $T/trusted_script_unknown_interp.sh
chmod 755 $T/trusted_script_unknown_interp.sh
"$PG" allow /bin/busybox /lib64/* /lib/x86_64-linux-gnu/* $T/runas $T/hello $T/try_exec $T/dltest $T/goodlib.so $T/mprotect_test \
  $T/memfd_exec $T/jit $T/mmapflood $T/write_exec $T/known.sh $T/trusted_script_unknown_interp.sh \
  $T/victim $T/ok_cp $T/ok_mv $T/ok_ln > /tmp/allow.out 2>&1 \
  || { cat /tmp/allow.out; result setup FAIL "provgate allow failed"; exit 0; }

# Unknown code: each with its own content, so each has its own digest.
unknown_copy $T/hello /tmp/unknown bin
unknown_copy $T/hello /tmp/unknown_host host
unknown_copy $T/hello /tmp/unknown_cp cp
unknown_copy $T/hello /tmp/unknown_mv mv
unknown_copy $T/hello $T/unknown_ln ln
unknown_copy $T/goodlib.so /tmp/evil.so lib
printf '#!/bin/sh\necho unknown-script-ran\n' > /tmp/unknown.sh && chmod 755 /tmp/unknown.sh
unknown_copy /bin/busybox /tmp/unknown_interp interp
cp $T/hello /tmp/later && echo later >> /tmp/later

# ---------------------------------------------------------------- enforce, cgroup scope
if start_daemon --mode enforce --cgroup "$CG"; then

out=$(inscope $T/hello 2>&1)
[ "$out" = "hello from provgate test" ] && result allowlisted_binary_runs PASS || result allowlisted_binary_runs FAIL "$out"

out=$(inscope $T/try_exec /tmp/unknown 2>&1)
if echo "$out" | grep -q "exec-errno=1 " && has_event denied exec /tmp/unknown > /tmp/ev.out; then
  result unknown_binary_denied PASS
else result unknown_binary_denied FAIL "$out $(cat /tmp/ev.out)"; fi

# Who tried: the kernel records the parent, the daemon its executable and command line while it
# lives. Run from this shell directly (not in a $(...) subshell, which is gone before the event is
# recorded), the denied process's parent is this script's shell.
inscope $T/try_exec /tmp/unknown > /tmp/try_exec.out 2>&1
sleep 1
parents=$("$PG" denials --json /tmp/unknown | tr -d '\n' | grep -o '"parents": *\[[^]]*\]')
if echo "$parents" | grep -q "\"$$ /[^\"]*: [^\"]*sh"; then result denial_names_its_parent PASS "$parents"
else result denial_names_its_parent FAIL "$parents"; fi

out=$(inscope $LD /tmp/unknown 2>&1); rc=$?
if [ $rc -ne 0 ] && ! echo "$out" | grep -q "hello from" && echo "$out" | grep -q "failed to map segment" \
    && has_event denied mmap /tmp/unknown > /tmp/ev.out; then
  result ld_so_trick_denied PASS
else result ld_so_trick_denied FAIL "rc=$rc $out $(cat /tmp/ev.out)"; fi

good=$(inscope $T/dltest $T/goodlib.so 2>&1)
out=$(inscope $T/dltest /tmp/evil.so 2>&1)
if echo "$good" | grep -q "dlopen-ok" && echo "$out" | grep -q "dlopen-failed:.*failed to map segment" \
    && has_event denied mmap /tmp/evil.so > /tmp/ev.out; then
  result dlopen_unknown_library_denied PASS
else result dlopen_unknown_library_denied FAIL "good=[$good] unknown=[$out] $(cat /tmp/ev.out)"; fi

good=$(LD_PRELOAD=$T/goodlib.so inscope $T/hello 2>&1)
out=$(LD_PRELOAD=/tmp/evil.so inscope $T/hello 2>&1)
if echo "$good" | grep -q PRELOADED && ! echo "$out" | grep -q PRELOADED \
    && echo "$out" | grep -q "cannot be preloaded" && echo "$out" | grep -q "hello from"; then
  result ld_preload_unknown_library_denied PASS
else result ld_preload_unknown_library_denied FAIL "good=[$good] unknown=[$out]"; fi

good=$(inscope $T/mprotect_test $T/hello 2>&1)
out=$(inscope $T/mprotect_test /tmp/unknown 2>&1)
if [ "$good" = "mprotect-ok" ] && echo "$out" | grep -q "mprotect-errno=1 " \
    && has_event denied mprotect /tmp/unknown > /tmp/ev.out; then
  result mprotect_exec_unknown_denied PASS
else result mprotect_exec_unknown_denied FAIL "good=[$good] unknown=[$out] $(cat /tmp/ev.out)"; fi

out=$(inscope $T/memfd_exec /tmp/unknown 2>&1)
if echo "$out" | grep -q "fexecve-errno=1 " && echo "$out" | grep -q "execveat-errno=1 " \
    && ! echo "$out" | grep -q "hello from"; then
  result fileless_exec_denied PASS
else result fileless_exec_denied FAIL "$out"; fi

before=$(inscope $T/victim 2>&1)
echo "appended" >> $T/victim
out=$(inscope $T/try_exec $T/victim 2>&1)
if [ "$before" = "hello from provgate test" ] && echo "$out" | grep -q "exec-errno=1 " \
    && has_event denied exec $T/victim > /tmp/ev.out; then
  result modified_allowlisted_binary_denied PASS
else result modified_allowlisted_binary_denied FAIL "before=[$before] after=[$out] $(cat /tmp/ev.out)"; fi

cp /tmp/unknown_cp $T/ok_cp
mv /tmp/unknown_mv $T/ok_mv
ln -f $T/unknown_ln $T/ok_ln
r_cp=$(inscope $T/try_exec $T/ok_cp 2>&1); r_mv=$(inscope $T/try_exec $T/ok_mv 2>&1); r_ln=$(inscope $T/try_exec $T/ok_ln 2>&1)
if echo "$r_cp" | grep -q "exec-errno=1 " && echo "$r_mv" | grep -q "exec-errno=1 " && echo "$r_ln" | grep -q "exec-errno=1 "; then
  result replaced_allowlisted_path_denied PASS
else result replaced_allowlisted_path_denied FAIL "cp=[$r_cp] mv=[$r_mv] ln=[$r_ln]"; fi

known=$(inscope $T/known.sh 2>&1)
out=$(inscope $T/try_exec /tmp/unknown.sh 2>&1)
# A trusted script whose interpreter is unknown: the interpreter is checked too.
interp=$(inscope $T/try_exec $T/trusted_script_unknown_interp.sh 2>&1)
if [ "$known" = "known-script-ran" ] && echo "$out" | grep -q "exec-errno=1 " \
    && has_event denied exec /tmp/unknown.sh > /tmp/ev.out && echo "$interp" | grep -q "exec-errno=1 " \
    && has_event denied exec /tmp/unknown_interp >> /tmp/ev.out; then
  result scripts_checked PASS
else result scripts_checked FAIL "known=[$known] unknown=[$out] interp=[$interp] $(cat /tmp/ev.out)"; fi

out=$(/tmp/unknown 2>&1)
[ "$out" = "hello from provgate test" ] && result outside_scope_untouched PASS || result outside_scope_untouched FAIL "$out"

# An unprivileged user in the scope: trusted code runs, unknown code does not.
good=$(inscope $T/runas 1000 $T/hello 2>&1)
out=$(inscope $T/runas 1000 $T/try_exec /tmp/unknown 2>&1)
if [ "$good" = "hello from provgate test" ] && echo "$out" | grep -q "exec-errno=1 "; then
  result unprivileged_user_denied PASS
else result unprivileged_user_denied FAIL "trusted=[$good] unknown=[$out]"; fi

out=$(inscope $T/jit 2>&1)
if [ "$out" = "jit-ok" ] && wait_for 5 status_shows '"anon_exec": [1-9]'; then
  result anon_exec_allowed_and_counted PASS
else result anon_exec_allowed_and_counted FAIL "$out $("$PG" status --json | grep anon_exec)"; fi

denied=$(inscope $T/try_exec /tmp/later 2>&1)
"$PG" allow /tmp/later > /dev/null 2>&1
i=0; ok=""
while [ $i -lt 30 ]; do
  out=$(inscope /tmp/later 2>&1)
  [ "$out" = "hello from provgate test" ] && { ok=1; break; }
  sleep 0.2; i=$((i + 1))
done
if echo "$denied" | grep -q "exec-errno=1 " && [ -n "$ok" ]; then
  result new_trust_applies_without_restart PASS "after $i polls"
else result new_trust_applies_without_restart FAIL "denied=[$denied] after=[$out]"; fi

stop_daemon
else result enforce_daemon_started FAIL "$(cat /tmp/status.out)"; fi

# ---------------------------------------------------------------- anonymous exec denied by config
if start_daemon --mode enforce --cgroup "$CG" --deny-anon-exec; then
  out=$(inscope $T/jit 2>&1)
  if echo "$out" | grep -q "jit-mprotect-errno=1 "; then result anon_exec_deniable PASS
  else result anon_exec_deniable FAIL "$out"; fi
  stop_daemon
else result anon_exec_deniable FAIL "daemon did not start"; fi

# ---------------------------------------------------------------- audit mode
if start_daemon --mode audit --cgroup "$CG"; then
  unknown_copy $T/hello /tmp/audited audit
  out=$(inscope /tmp/audited 2>&1)
  if [ "$out" = "hello from provgate test" ] && has_event would-deny exec /tmp/audited > /tmp/ev.out; then
    result audit_mode_reports_would_deny PASS
  else result audit_mode_reports_would_deny FAIL "$out $(cat /tmp/ev.out)"; fi
  stop_daemon
else result audit_mode_reports_would_deny FAIL "daemon did not start"; fi

# ---------------------------------------------------------------- observe-only: a script as itself
# The observe program runs after the interpreter took over the exec; the script is still what it
# reports (identified through fanotify), and an allowed script of the same interpreter is
# not reported.
if start_daemon --observe-only --mode audit --cgroup "$CG" --watch /tmp --watch $T; then
  printf '#!/bin/sh\necho observed-script-ran\n' > /tmp/observed.sh && chmod 755 /tmp/observed.sh
  known=$(inscope $T/known.sh 2>&1)
  out=$(inscope /tmp/observed.sh 2>&1)
  if [ "$out" = "observed-script-ran" ] && [ "$known" = "known-script-ran" ] \
      && has_event observed exec-observed /tmp/observed.sh > /tmp/ev.out \
      && "$PG" denials --path /tmp/observed.sh --json | grep -q '"unknown-file"' \
      && sleep 1 && ! "$PG" denials --path $T/known.sh --json | grep -q exec-observed; then
    result observe_only_reports_scripts PASS
  else result observe_only_reports_scripts FAIL "known=[$known] out=[$out] $(cat /tmp/ev.out) $("$PG" denials)"; fi
  stop_daemon
else result observe_only_reports_scripts FAIL "daemon did not start"; fi

# ---------------------------------------------------------------- a full ring buffer
# One page of ring buffer and a flood of would-denies: events are dropped, and every one of
# them is counted: recorded + dropped = decisions.
if start_daemon --mode audit --cgroup "$CG" --event-buffer-kib 4; then
  unknown_copy $T/hello /tmp/flooded flood
  out=$(inscope $T/mmapflood /tmp/flooded 3000 2>&1)
  accounted() {
    # The would-deny counts per hook, summed: "audited":{"exec":0,"mmap":3000,...}.
    audited=$("$PG" status --json | tr -d ' \n' | grep -o '"audited":{[^}]*}' | head -n 1 \
      | grep -o ':[0-9][0-9]*' | tr -d ':' | tr '\n' '+')0
    recorded=$(json_number events_recorded)
    dropped=$(json_number events_dropped)
    [ -n "$audited" ] && [ -n "$recorded" ] && [ -n "$dropped" ] \
      && [ $((audited)) -ge 3000 ] && [ $((recorded + dropped)) -eq $((audited)) ]
  }
  if [ "$out" = "mapped=3000" ] && wait_for 10 accounted && [ "$dropped" -gt 0 ]; then
    result event_drops_are_counted PASS "decisions=$((audited)) recorded=$recorded dropped=$dropped"
  else result event_drops_are_counted FAIL "out=[$out] audited=$audited recorded=$recorded dropped=$dropped"; fi
  stop_daemon
else result event_drops_are_counted FAIL "daemon did not start"; fi

# ---------------------------------------------------------------- host-wide enforcement
# Everything is in scope, the test shell included: it runs from an admin cgroup, or the
# hardened daemon would refuse its signals.
enter_admin
if start_daemon --mode enforce --admin-cgroup "$ADMIN"; then
  out=$($T/try_exec /tmp/unknown_host 2>&1)
  good=$($T/hello 2>&1)
  listing=$(ls / 2>&1)
  if echo "$out" | grep -q "exec-errno=1 " && [ "$good" = "hello from provgate test" ] \
      && echo "$listing" | grep -q opt && "$PG" status > /dev/null; then
    result host_wide_enforce PASS
  else result host_wide_enforce FAIL "unknown=[$out] hello=[$good]"; fi
  stop_daemon
else result host_wide_enforce FAIL "daemon did not start"; fi
leave_admin

# ---------------------------------------------------------------- keep-on-exit and takeover
unknown_copy $T/hello /tmp/unknown_koe koe
if start_daemon --mode enforce --cgroup "$CG" --keep-on-exit; then
  stop_daemon
  status=$("$PG" status 2>&1)
  during=$(inscope $T/try_exec /tmp/unknown_koe 2>&1)
  good=$(inscope $T/hello 2>&1)
  pins=$(ls /sys/fs/bpf/provgate 2>&1 | tr '\n' ' ')
  if start_daemon --mode enforce --cgroup "$CG" --keep-on-exit; then
    took=$("$PG" status --json | grep -c '"took_over": true')
    after=$(inscope $T/try_exec /tmp/unknown_koe 2>&1)
    # The denial made while no daemon ran waited in the pinned ring buffer.
    has_event denied exec /tmp/unknown_koe > /tmp/ev.out; recorded=$?
    stop_daemon
    if echo "$during" | grep -q "exec-errno=1 " && [ "$good" = "hello from provgate test" ] \
        && echo "$status" | grep -q "still enforcing" && [ "$took" = 1 ] \
        && echo "$after" | grep -q "exec-errno=1 " && [ $recorded -eq 0 ]; then
      result keep_on_exit_and_takeover PASS
    else result keep_on_exit_and_takeover FAIL "during=[$during] good=[$good] status=[$status] pins=[$pins] took=$took after=[$after] $(cat /tmp/ev.out)"; fi
  else result keep_on_exit_and_takeover FAIL "restart failed"; fi
  # A daemon without --keep-on-exit takes over and, on exit, detaches everything.
  if start_daemon --mode enforce --cgroup "$CG"; then
    stop_daemon
    out=$(inscope /tmp/unknown_koe 2>&1)
    left=$(ls /sys/fs/bpf/provgate 2>/dev/null | wc -l)
    if [ "$out" = "hello from provgate test" ] && [ "$left" = 0 ]; then result detach_on_exit PASS
    else result detach_on_exit FAIL "out=[$out] pins left=$left"; fi
  else result detach_on_exit FAIL "daemon did not start"; fi
else result keep_on_exit_and_takeover FAIL "daemon did not start"; fi

# ---------------------------------------------------------------- content, wherever it is
# Nothing is scanned or watched: the kernel hashes each file on its first use.
if start_daemon --mode enforce --cgroup "$CG"; then

  out=$(inscope $T/write_exec $T/hello $T/fresh_copy 2>&1)
  tmp=$(inscope $T/write_exec $T/hello /tmp/fresh_copy 2>&1)
  bad=$(inscope $T/write_exec /tmp/unknown $T/fresh_unknown 2>&1)
  hashed=$(json_number kernel_hashes)
  if [ "$out" = "hello from provgate test" ] && [ "$tmp" = "hello from provgate test" ] \
      && echo "$bad" | grep -q "exec-errno=1 " && [ "${hashed:-0}" -ge 2 ]; then
    result first_exec_of_a_fresh_allowlisted_binary PASS "kernel_hashes=$hashed"
  else result first_exec_of_a_fresh_allowlisted_binary FAIL "trusted=[$out] tmp=[$tmp] unknown=[$bad] hashed=$hashed"; fi

  cp $T/goodlib.so $T/newlib.so
  loads() { inscope $T/dltest $T/newlib.so 2>&1 | grep -q dlopen-ok; }
  if wait_for 5 loads; then result library_written_then_loaded PASS
  else result library_written_then_loaded FAIL "$(inscope $T/dltest $T/newlib.so 2>&1)"; fi

  mkdir -p /tmp/ovl/lower /tmp/ovl/upper /tmp/ovl/work /tmp/ovl/merged
  cp $T/hello /tmp/ovl/lower/tool
  mount -t overlay overlay -o lowerdir=/tmp/ovl/lower,upperdir=/tmp/ovl/upper,workdir=/tmp/ovl/work /tmp/ovl/merged
  # Used at once: nothing waits for the daemon to notice the mount.
  lower=$(inscope /tmp/ovl/merged/tool 2>&1)
  fresh=$(inscope $T/write_exec $T/hello /tmp/ovl/merged/fresh 2>&1)
  cp /tmp/unknown /tmp/ovl/merged/bad
  bad=$(inscope $T/try_exec /tmp/ovl/merged/bad 2>&1)
  if [ "$lower" = "hello from provgate test" ] && [ "$fresh" = "hello from provgate test" ] \
      && echo "$bad" | grep -q "exec-errno=1 "; then
    result overlay_identity_is_content PASS
  else result overlay_identity_is_content FAIL "lower=[$lower] fresh=[$fresh] unknown=[$bad]"; fi

  unknown_copy $T/hello /tmp/approve_me approve
  before=$(inscope $T/try_exec /tmp/approve_me 2>&1)
  has_event denied exec /tmp/approve_me > /tmp/ev.out
  event=$("$PG" denials --path /tmp/approve_me --json | grep -o '"last_event": [0-9]*' | head -n 1 | tr -dc 0-9)
  approved=$("$PG" approve "$event" --reason "needed by the VM test" 2>&1)
  after=$(inscope /tmp/approve_me 2>&1)
  source=$(echo "$approved" | grep -o 'source #[0-9]*' | tr -dc 0-9)
  if echo "$before" | grep -q "exec-errno=1 " && [ "$after" = "hello from provgate test" ] && [ -n "$source" ] \
      && "$PG" denials --path /tmp/approve_me --json | grep -q '"approved"'; then
    result approval_applies_at_once PASS "event $event -> source $source"
  else result approval_applies_at_once FAIL "event=$event before=[$before] approve=[$approved] after=[$after] explain=[$("$PG" explain /tmp/approve_me 2>&1)] status=[$("$PG" status 2>&1 | grep -E 'verdicts|hashing')]"; fi

  "$PG" revoke "$source" --reason "VM test" > /tmp/revoke.out 2>&1
  revoked=$(inscope $T/try_exec /tmp/approve_me 2>&1)
  still=$(inscope $T/hello 2>&1)
  if echo "$revoked" | grep -q "exec-errno=1 " && [ "$still" = "hello from provgate test" ]; then
    result revoke_removes_exactly_that_trust PASS
  else result revoke_removes_exactly_that_trust FAIL "revoked=[$revoked] other=[$still] $(cat /tmp/revoke.out)"; fi

  mkdir -p /opt/base && unknown_copy $T/hello /opt/base/tool base
  before=$(inscope $T/try_exec /opt/base/tool 2>&1)
  "$PG" baseline /opt/base --reason "trust on first use" > /tmp/baseline.out 2>&1
  after=$(inscope /opt/base/tool 2>&1)
  listed=$("$PG" sources | grep -c baseline)
  base_id=$(grep -o 'source #[0-9]*' /tmp/baseline.out | tr -dc 0-9)
  "$PG" revoke "$base_id" > /dev/null 2>&1
  gone=$(inscope $T/try_exec /opt/base/tool 2>&1)
  if echo "$before" | grep -q "exec-errno=1 " && [ "$after" = "hello from provgate test" ] && [ "$listed" -ge 1 ] \
      && echo "$gone" | grep -q "exec-errno=1 "; then
    result baseline_is_a_revocable_source PASS
  else result baseline_is_a_revocable_source FAIL "before=[$before] after=[$after] listed=$listed gone=[$gone] $(cat /tmp/baseline.out)"; fi

  "$PG" explain $T/hello > /tmp/explain_ok.out 2>&1; ok_rc=$?
  "$PG" explain /tmp/unknown > /tmp/explain_no.out 2>&1; no_rc=$?
  if [ $ok_rc -eq 0 ] && grep -q "ALLOWED" /tmp/explain_ok.out && grep -q "manual" /tmp/explain_ok.out \
      && grep -q "kernel: current: the kernel allows this file (hashed as sha256:" /tmp/explain_ok.out \
      && [ $no_rc -eq 1 ] && grep -q "NOT ALLOWED" /tmp/explain_no.out && grep -q "denied" /tmp/explain_no.out; then
    result explain_says_why PASS
  else result explain_says_why FAIL "rc=$ok_rc/$no_rc $(cat /tmp/explain_ok.out /tmp/explain_no.out)"; fi

  # A file's digest is computed once and kept with its inode until the file is written.
  before=$(json_number kernel_hashes)
  for i in 1 2 3 4 5; do inscope $T/hello > /dev/null; done
  after=$(json_number kernel_hashes)
  if [ -n "$before" ] && [ "$before" = "$after" ]; then result each_file_hashed_once PASS "kernel_hashes=$after"
  else result each_file_hashed_once FAIL "kernel_hashes before=$before after=$after"; fi

  # Trust from a feed. CI signed /opt/ci/agent with the tests' private Sigstore (on the host, at
  # image build); here it publishes it to a trust feed on a registry (Debian's docker-registry,
  # on this VM's loopback), the node follows the feed, the agent runs; unpublished, the next
  # sync revokes it and its next exec is denied.
  mkdir -p /tmp/registry
  printf 'version: 0.1\nlog: { level: error, accesslog: { disabled: true } }\nstorage: { filesystem: { rootdirectory: /tmp/registry }, delete: { enabled: true } }\nhttp: { addr: 127.0.0.1:5000 }\n' > /tmp/registry.yml
  docker-registry serve /tmp/registry.yml > /tmp/registry.log 2>&1 &
  registry=$!
  feed=127.0.0.1:5000/acme/trust:prod
  ci="--policy /opt/ci/policy.toml --trusted-root /opt/ci/trusted_root.json"
  wait_for 60 sh -c 'wget -q -O /dev/null http://127.0.0.1:5000/v2/ 2> /dev/null'
  before=$(inscope $T/try_exec /opt/ci/agent 2>&1)
  item=$("$PG" publish $feed --artifact /opt/ci/agent --bundle /opt/ci/agent.sigstore.json $ci 2> /tmp/publish.err)
  "$PG" feed add $feed $ci > /tmp/feed.out 2>&1
  ran=$(inscope /opt/ci/agent 2>&1)
  "$PG" unpublish $feed "$item" >> /tmp/feed.out 2>&1
  "$PG" feed sync >> /tmp/feed.out 2>&1
  gone=$(inscope $T/try_exec /opt/ci/agent 2>&1)
  kill $registry 2> /dev/null
  if echo "$before" | grep -q "exec-errno=1 " && [ "$ran" = "hello from provgate test" ] \
      && echo "$gone" | grep -q "exec-errno=1 " && grep -q "1 removed" /tmp/feed.out; then
    result trust_feed_publish_sync_unpublish PASS
  else result trust_feed_publish_sync_unpublish FAIL "before=[$before] ran=[$ran] gone=[$gone] item=[$item] $(cat /tmp/publish.err /tmp/feed.out; tail -n 5 /tmp/registry.log)"; fi

  stop_daemon
  umount /tmp/ovl/merged

else result first_exec_of_a_fresh_allowlisted_binary FAIL "daemon did not start"; fi

echo "----- daemon log (tail) -----"
tail -n 15 /tmp/daemon.log
