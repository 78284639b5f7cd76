"""The chat domain: models, events (the socket vocabulary), routing and deadlines (pure), and the service's parts."""
