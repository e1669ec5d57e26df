#!/usr/bin/env bash
# Serve the BSB app on 127.0.0.1 in the background and print its address: the last step of
# `make run`. Options pass through to `python -m ui.server` (--port N, --db PATH, --foreground).
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m ui.server "$@"
