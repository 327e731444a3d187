"""Periodic jobs, run once across the cluster (runner.py), registered in app.py."""
