"""The chat domain: models, routing, service."""
