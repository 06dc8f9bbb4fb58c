"""One module per `pbp` sub-command: add_arguments(parser) and run(args) -> exit code."""
