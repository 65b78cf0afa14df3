"""The `paygate` subcommands, one module per concern."""
