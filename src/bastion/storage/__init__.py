"""SQLAlchemy adapters for the domain ports: tables, repositories, unit of work, migrations."""
