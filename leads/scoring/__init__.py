"""Scoring: rules (rules.py), the learned probability (predictive/), and the combination (service.py)."""
