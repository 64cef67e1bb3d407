"""Privacy (docs/privacy.md): export a person's data, erase it behind a tombstone, consent proof and
withdrawal, and the retention purge. `tombstones` is the low module the capture, import and sending
paths call; the rest sits above the models and never imports a stage (they import this package)."""
