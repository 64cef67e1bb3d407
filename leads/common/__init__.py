"""Helpers every part of leads uses: input normalisation and validation, time zones, HTTP
(client addresses), pagination, set-based bulk writes, exports and safe JSON. They import
no model and no stage (an import-linter contract holds it)."""
