# A narrated demo of provgate enforcing in a VM: trust some programs, start the daemon, watch
# trusted code run and unknown code be denied, review the denials and approve one; then the
# supply chain: CI publishes a signed program to a trust feed, the node follows it, the program
# runs, and once unpublished it is denied.
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

say "The supply chain. CI built /opt/ci/agent and signed it (keyless, the tests' private Sigstore: Fulcio certificate for the release workflow, Rekor entry, timestamp); its bundle, the trusted root and the trust policy came with it"
run ls /opt/ci
say "A registry on this VM's loopback (Debian's docker-registry) stands for the one the fleet uses"
mkdir -p /tmp/registry
printf 'version: 0.1\nlog: { level: error, accesslog: { disabled: true } }\nstorage: { filesystem: { rootdirectory: /tmp/registry } }\nhttp: { addr: 127.0.0.1:5000 }\n' > /tmp/registry.yml
docker-registry serve /tmp/registry.yml > /tmp/registry.log 2>&1 &
registry=$!
wait_for 60 sh -c 'wget -q -O /dev/null http://127.0.0.1:5000/v2/ 2> /dev/null'
feed=127.0.0.1:5000/acme/trust:prod
ci="--policy /opt/ci/policy.toml --trusted-root /opt/ci/trusted_root.json"

say "Before any trust, the agent is unknown: denied"
run inscope /opt/ci/agent

say "CI: provgate publish verifies the evidence as a node would, then pushes it to the feed (prints the item)"
item=$("$PG" publish $feed --artifact /opt/ci/agent --bundle /opt/ci/agent.sigstore.json $ci)
echo "item: $item"

say "The node follows the feed: each item is verified with the node's own policy and root"
run "$PG" feed add $feed $ci
run "$PG" feed ls

say "The signed agent runs; an unsigned copy of it is denied"
run inscope /opt/ci/agent
unknown_copy /opt/ci/agent /tmp/agent-unsigned demo
run inscope /tmp/agent-unsigned

say "CI unpublishes the item; at the node's next sync its trust is gone, and the agent's next exec is denied"
run "$PG" unpublish $feed "$item"
run "$PG" feed sync
run inscope /opt/ci/agent
kill $registry

say "What the allowlist is made of (provgate sources)"
run "$PG" sources

stop_daemon
echo "PROVGATE-DEMO-DONE"
