"""`lkg`, the command line: cli/app.py composes the groups; each module holds one group."""
