"""The store's schema migrations (Alembic): ``env.py`` and the revisions in ``versions/``."""
