"""The core of Bastion, in pure Python: it imports no web framework, database or bus."""
