"""Audit: `events` emits one JSON line per step (ids only; identity passed in; our own correlation id per
request) and `story` renders one launch's lines for `smart-app audit`. Below every other package.
"""
