"""socket.io edge: parse payloads, call the chat service, emit, map errors."""
