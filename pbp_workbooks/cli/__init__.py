"""Stage 7, cli: the ``pbp`` command.

``main`` parses the command line and turns errors into exit codes; ``commands`` has one module per
sub-command, imported only when used; ``catalogue`` prints the rule catalogue (docs/rules.md).

May import: every earlier stage.
"""
