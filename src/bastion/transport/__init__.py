"""Transports: thin adapters (REST, WebSocket, CLI) that authenticate, validate and call the domain."""
