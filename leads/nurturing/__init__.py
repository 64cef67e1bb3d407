"""Nurturing: segments and lists (segments.py), sequences (sequences.py; editing their steps: steps.py), sending and tracking (sending.py)."""
