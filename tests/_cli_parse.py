"""Parse a `graphreg-zoo` command line with the real CLI, without running it."""
from __future__ import annotations


def parse_cli(argv: list[str]) -> None:
    """Parse `graphreg-zoo ARGV` with the real CLI without running it (raises on a usage error)."""
    import typer

    from graphreg_zoo.cli import app

    command, name, args = typer.main.get_command(app), "graphreg-zoo", list(argv)
    while hasattr(command, "commands"):
        while args and args[0].startswith("--"):
            args.pop(0)  # root options such as --debug
        name, args = args[0], args[1:]
        command = command.commands[name]
    command.make_context(name, args)
