#!/usr/bin/env bash
# Run the whole test suite in the project venv. pytest's exit code 5 (no tests collected)
# is turned into a failure with a message, so an empty run never passes silently.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/system_deps.sh || exit 1

.venv/bin/python -m pytest -ra "$@"
status=$?
if [ "$status" -eq 5 ]; then
    echo "error: pytest collected no tests; check tests/ and the pytest configuration in pyproject.toml" >&2
    exit 1
fi
exit "$status"
