"""Settings a manager can use (docs/settings.md): teams, agents, territories and scoring as forms
in the app, each change recorded (SettingsChange). Django admin stays for everything else."""
