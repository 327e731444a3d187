"""REST routers (FastAPI)."""
