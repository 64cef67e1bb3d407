"""Automations (docs/automations.md): managers wire trigger → conditions → ordered actions.

- definition.py: the trigger parameters and actions an automation may hold, and their validation;
- actions.py: what each action does (idempotent: run under a claimed RunStep) and says it would do;
- runs.py: starting runs for triggered leads (set-based), running their steps, waits, retries, the loop guard;
- services.py: saving, enabling/disabling, manual runs, the inactivity scan, the dry run;
- reactions.py: the triggers, as reactions on the event spine (registered in leads.reactions);
- tasks.py: the Celery tasks (thin, by id).

Automations is the orchestrator: its actions call the public services of distribution, nurturing
and followups (the one stage package allowed to; the others never call each other).
"""
