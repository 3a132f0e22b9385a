"""Verifies one DSSE bundle over and over with sigstore-python and prints
`verifications_per_second N`: the sigstore-python half of bench/verify-bundle.sh.

Each round does what `sigstore verify identity` does for a DSSE bundle after start-up: parse
the bundle, verify it (certificate, SCT, log entry, inclusion proof, DSSE signature) under an
identity policy, and check that the statement names the artifact's digest.

Usage: verify_loop.py TRUSTED_ROOT BUNDLE ARTIFACT IDENTITY ISSUER SECONDS
"""
import hashlib
import json
import sys
import time

from sigstore.models import Bundle, TrustedRoot
from sigstore.verify import Verifier, policy


def main() -> None:
    root, bundle_path, artifact_path, identity, issuer, seconds = sys.argv[1:]
    verifier = Verifier(trusted_root=TrustedRoot.from_file(root))
    expected = policy.Identity(identity=identity, issuer=issuer)
    bundle_json = open(bundle_path, "rb").read()
    digest = hashlib.sha256(open(artifact_path, "rb").read()).hexdigest()
    budget = float(seconds)
    start = time.perf_counter()
    rounds = 0
    while time.perf_counter() - start < budget:
        bundle = Bundle.from_json(bundle_json)
        payload_type, payload = verifier.verify_dsse(bundle, expected)
        assert payload_type == "application/vnd.in-toto+json"
        subjects = json.loads(payload)["subject"]
        assert any(s["digest"].get("sha256") == digest for s in subjects)
        rounds += 1
    print(f"verifications_per_second {rounds / (time.perf_counter() - start):.1f}")


if __name__ == "__main__":
    main()
