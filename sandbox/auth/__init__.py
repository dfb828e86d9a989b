"""Authorization server: Authlib grants, SMART scopes and context, login and approval."""
