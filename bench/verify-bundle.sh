#!/usr/bin/env bash
# Verifications per second of one v0.3 DSSE bundle (the conformance case
# happy-path-intoto-in-dsse-v3: in-toto SLSA statement, Rekor v1 dsse entry, public-good root),
# by provgate (sigstore-verify underneath) and by sigstore-python, in the same run, and their
# ratio. Both verify in a loop inside one process, after start-up, so the figures compare
# verification, not interpreter or process start.
#
#   bench/verify-bundle.sh [SECONDS_PER_VERIFIER]     (default 10)
#
# Needs ../shared/corpora beside the checkout, and PyPI for sigstore-python (installed once
# into target/bench-venv).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
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

args=("$root" "$case_dir/bundle.sigstore.json" "$artifact" "$identity" "$issuer" "$seconds")
rust=$(target/release/examples/verify_loop "${args[@]}" | awk '/verifications_per_second/ {print $2}')
python=$("$venv/bin/python" bench/verify_loop.py "${args[@]}" | awk '/verifications_per_second/ {print $2}')
echo "bundle: $case_dir/bundle.sigstore.json (v0.3, DSSE, Rekor v1)"
echo "provgate (sigstore-verify 0.15.1): $rust verifications/s"
echo "sigstore-python 4.5.1:             $python verifications/s"
awk -v r="$rust" -v p="$python" 'BEGIN { printf "ratio provgate/sigstore-python: %.1f\n", r / p }'
