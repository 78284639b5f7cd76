"""Peer group sessions: a moderated, anonymous group chat that leaves nothing but counts."""
