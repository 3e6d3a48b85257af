"""The command handlers: one module per command family, and the registry that names them."""
