"""One module per provider. Each exposes a Provider (see base.py)."""
