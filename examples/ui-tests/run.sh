#!/usr/bin/env bash
# Runs the web UI's end-to-end test in headless Chromium against the debug gnomon binary.
# Needs: Debian packages chromium, nodejs, npm; a built target/debug/gnomon.
# Extra arguments go to e2e.mjs (e.g. --screenshots ../../docs/ui).
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
node --test unit.test.mjs
node e2e.mjs ../../target/debug/gnomon "$@"
