#!/usr/bin/env bash
# Runs the web UI's unit tests and its end-to-end test in headless Chromium against the
# debug gnomon binary. Needs: Debian packages chromium and nodejs (with npm); a built
# target/debug/gnomon. Extra arguments go to e2e.mjs, relative to the caller's directory
# (e.g. `examples/ui-tests/run.sh --screenshots docs/ui` from the repository's root).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
(cd "$here" && npm ci --no-audit --no-fund)
node --test "$here/unit.test.mjs"
node "$here/e2e.mjs" "$here/../../target/debug/gnomon" "$@"
