#!/usr/bin/env bash
# Client-compatibility tests: real third-party OAuth2 clients (Authlib, requests-oauthlib) get
# tokens for every grant, PyJWT's PyJWKClient verifies access tokens and the gateway's backend
# JWTs (end2end/compat). Runs against a server and gateway that are already up; scripts/e2e.sh
# starts them and calls this with BASE_URL, GATEWAY_URL, ADMIN_PASSWORD and DEMO_PASSWORD set.
# Extra arguments go to pytest (e.g. -k refresh). JUnit report: end2end/artifacts/compat-junit.xml.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

for v in BASE_URL GATEWAY_URL ADMIN_PASSWORD DEMO_PASSWORD; do
  [ -n "${!v:-}" ] || die "$v is not set (scripts/e2e.sh sets it)"
done

ensure_compat_venv

report="$ROOT/end2end/artifacts/compat-junit.xml"
mkdir -p "$(dirname "$report")"
rm -f "$report"
say "client-compatibility tests (Authlib, requests-oauthlib, PyJWT)"
status=0
PYTHONDONTWRITEBYTECODE=1 "$COMPAT_VENV/bin/python" -m pytest end2end/compat \
  -p no:cacheprovider -rfExX --junitxml="$report" "$@" || status=$?
# One closing line in the plain "N passed, N failed" form for CI logs (expected failures, i.e.
# known defects marked xfail, count as skipped).
"$COMPAT_VENV/bin/python" - "$report" "$status" <<'PY'
import sys
import xml.etree.ElementTree as ET

passed = failed = skipped = 0
try:
    cases = list(ET.parse(sys.argv[1]).getroot().iter("testcase"))
except (OSError, ET.ParseError):
    cases = []
for case in cases:
    if case.find("failure") is not None or case.find("error") is not None:
        failed += 1
    elif case.find("skipped") is not None:
        skipped += 1
    else:
        passed += 1
if sys.argv[2] != "0" and failed == 0:
    failed = 1  # pytest failed without a failing test (no tests, a usage error, a crash)
print(f"compat tests: {passed} passed, {failed} failed, {skipped} skipped")
PY
exit "$status"
