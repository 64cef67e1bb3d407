"""Scoring: rules (rules.py), the learned probability (predictive.py), and the combination (service.py)."""
