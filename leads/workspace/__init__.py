"""The rep's workspace: "My work" (home.py), follow-ups on a lead (followups.py: tasks, logged
calls, reassignment), the lead list's saved views (saved_views.py) and columns and time zone
(preferences.py; user_time_zone.py keeps the user's zone in the session and activates it on each
request), the board by status (board.py), the in-app notifications (notifications.py), and the capped
counts they share (counts.py).

Every lead query starts from visible_to(user); each read is a fixed number of queries, whatever the
data. Callers import from the modules themselves: this package re-exports nothing, so loading one
part (a nurture sequence creating a task) does not load the others."""
