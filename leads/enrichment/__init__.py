"""Enrichment: fill a lead's blanks from public data, with provenance (see service.py)."""
