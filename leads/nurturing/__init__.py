"""Nurturing: segments and lists (segments.py), sequences (sequences.py), sending and tracking (sending.py)."""
