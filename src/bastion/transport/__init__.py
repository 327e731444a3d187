"""Transports: thin adapters (REST, WebSocket, CLI) that authenticate, validate, call the domain."""
