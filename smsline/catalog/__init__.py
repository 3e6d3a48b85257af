"""Catalog files: one module per language code (es.py, ...), each defining TEXTS with every key of messages.EN."""
