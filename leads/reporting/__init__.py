"""Managers' dashboards: SQL aggregates (queries.py), server-rendered SVG charts (charts.py), the
filter form (forms.py) and the list of dashboards with their tables (dashboards.py)."""
