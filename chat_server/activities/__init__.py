"""Outreach activities recorded beside the chat: types, entries, their figures."""
