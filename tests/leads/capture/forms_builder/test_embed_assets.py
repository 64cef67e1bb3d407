"""The embed script and its stylesheet stay small: under 15 KB gzipped together."""

import gzip
from pathlib import Path

STATIC = Path(__file__).resolve().parents[4] / "static" / "leadcrm" / "forms"


def test_the_embed_is_under_15_kb_gzipped():
    size = sum(len(gzip.compress((STATIC / name).read_bytes(), 9)) for name in ("embed.js", "embed.css"))
    assert size < 15 * 1024, size
