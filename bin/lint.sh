#!/usr/bin/env bash
# The house rules that a machine can check: ruff (lint, and the format check: `ruff format .` fixes
# it), the import-linter contracts of pyproject.toml (layers, stage independence, no cycles,
# customers above leads), and no module over 500 lines.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${BIN:-.venv/bin}"
"$BIN/ruff" check .
"$BIN/ruff" format --check .
"$BIN/lint-imports" --no-cache
"$BIN/python" bin/check_module_size.py
