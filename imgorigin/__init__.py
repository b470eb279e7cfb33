"""imgorigin's composition root: settings, the app factory and the CLI."""
