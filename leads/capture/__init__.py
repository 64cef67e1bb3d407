"""Capture: the one way leads come in (see service.capture)."""
