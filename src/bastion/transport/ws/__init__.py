"""The WebSocket protocol of docs/protocol.md: codec, connections, hub and handlers."""
