"""Storage adapter: SQLAlchemy models, migrations, engine factory, PostgreSQL partitions."""
