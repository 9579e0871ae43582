"""One module per `wayfarer` subcommand; each exposes `register(subparsers)`."""
