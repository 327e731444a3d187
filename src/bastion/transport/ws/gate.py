"""Open-socket caps of one process: in total and per client IP.

Counted in memory on purpose: open sockets live in this process, and a crashed node must
not leave counts behind in shared storage. The shared (Redis) limit on handshakes per IP
(``BASTION_RL_WS_CONNECTS``) bounds what a client can do across nodes.
"""

from __future__ import annotations


class ConnectionGate:
    def __init__(self, *, max_total: int, max_per_ip: int) -> None:
        self._max_total = max_total
        self._max_per_ip = max_per_ip
        self._total = 0
        self._per_ip: dict[str, int] = {}

    def admit(self, ip: str) -> str | None:
        """Take a slot for ``ip``; None on success, else which cap refused (``total``/``ip``)."""
        if self._total >= self._max_total:
            return "total"
        held = self._per_ip.get(ip, 0)
        if held >= self._max_per_ip:
            return "ip"
        self._per_ip[ip] = held + 1
        self._total += 1
        return None

    def release(self, ip: str) -> None:
        held = self._per_ip.get(ip, 0) - 1
        if held > 0:
            self._per_ip[ip] = held
        else:
            self._per_ip.pop(ip, None)
        self._total = max(0, self._total - 1)

    @property
    def open(self) -> int:
        return self._total
