"""Bastion: self-hostable, security-first live chat."""

__version__ = "0.1.0"
