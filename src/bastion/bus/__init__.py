"""Bus adapters: in-process (one node) and Redis (many nodes) behind the domain's Bus port."""
