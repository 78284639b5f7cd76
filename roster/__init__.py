"""Duty roster: shifts, who is on duty, opening hours."""
