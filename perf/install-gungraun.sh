#!/usr/bin/env bash
# Installs the gungraun benchmark runner that matches the `gungraun` dev-dependency
# (0.20.0). Needed only for the callgrind benches (perf/callgrind.sh), never for tests.
# Takes ~5 minutes on 2 cores. valgrind must be installed (it is on our machines).
set -euo pipefail
if command -v gungraun-runner >/dev/null && gungraun-runner --version 2>/dev/null | grep -q '0\.20\.0'; then
    echo "gungraun-runner 0.20.0 already installed"
    exit 0
fi
cargo install gungraun-runner --version 0.20.0 --locked
