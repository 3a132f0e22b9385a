#!/usr/bin/env bash
# Verifications per second of one v0.3 DSSE bundle (the conformance case
# happy-path-intoto-in-dsse-v3: in-toto SLSA statement, Rekor v1 dsse entry, public-good root),
# by provgate (sigstore-verify underneath) and by sigstore-python, in the same run, and their
# ratio. Both verify in a loop inside one process, after start-up, so the figures compare
# verification, not interpreter or process start. They take turns, three rounds each, so that
# load from other work on the machine falls on both alike; the figures are the means.
#
#   bench/verify-bundle.sh [SECONDS_PER_VERIFIER]     (default 15, spread over the rounds)
#
# Needs ../shared/corpora beside the checkout, and PyPI for sigstore-python (installed once
# into target/bench-venv).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-15}
rounds=3
corpora=../shared/corpora
case_dir=$corpora/sigstore-conformance/test/assets/bundle-verify/happy-path-intoto-in-dsse-v3
root=$corpora/trusted-roots/pypi-sigstore-4.5.1-prod/trusted_root.json
artifact=$corpora/sigstore-conformance/test/assets/bundle-verify/a.txt
identity=https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main
issuer=https://token.actions.githubusercontent.com
[ -f "$case_dir/bundle.sigstore.json" ] || { echo "bench: $case_dir not found" >&2; exit 1; }

# sigstore-python 4.5.1: the release whose trusted root the corpus carries.
venv=target/bench-venv
if ! "$venv/bin/python" -c 'import sigstore, sys; sys.exit(sigstore.__version__ != "4.5.1")' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "sigstore==4.5.1"
fi
cargo build --quiet --release -p provgate-attestations --example verify_loop

round_seconds=$(awk -v s="$seconds" -v r="$rounds" 'BEGIN { print s / r }')
args=("$root" "$case_dir/bundle.sigstore.json" "$artifact" "$identity" "$issuer" "$round_seconds")
rate() { awk '/verifications_per_second/ {print $2}'; }
rust_rates=() python_rates=()
for _ in $(seq "$rounds"); do
  rust_rates+=("$(target/release/examples/verify_loop "${args[@]}" | rate)")
  python_rates+=("$("$venv/bin/python" bench/verify_loop.py "${args[@]}" | rate)")
done
mean() { printf '%s\n' "$@" | awk '{ sum += $1 } END { printf "%.1f", sum / NR }'; }
rust=$(mean "${rust_rates[@]}")
python=$(mean "${python_rates[@]}")
echo "bundle: $case_dir/bundle.sigstore.json (v0.3, DSSE, Rekor v1)"
echo "provgate (sigstore-verify 0.15.1): $rust verifications/s (rounds: ${rust_rates[*]})"
echo "sigstore-python 4.5.1:             $python verifications/s (rounds: ${python_rates[*]})"
awk -v r="$rust" -v p="$python" 'BEGIN { printf "ratio provgate/sigstore-python: %.2f\n", r / p }'
