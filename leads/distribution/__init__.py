"""Distribution: each lead reaches the right rep, fairly, and calls follow it (docs/distribution.md).

territories.py   which territory a lead is in (rules by priority, then the catch-all)
availability.py  who can take a lead now: active, in office, working hours, capacity; SLA due times
round_robin.py   the smooth weighted round robin of a team, under a row lock on the team
service.py       lead_assign, queue_drain
sla.py           lead_first_contact, sla_reassign_overdue
selectors.py     the reads behind the manager and rep pages
"""
