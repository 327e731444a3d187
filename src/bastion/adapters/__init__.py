"""Adapters to outside services that are neither storage nor the bus (the malware scanner)."""
