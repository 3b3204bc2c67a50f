"""Subcommands of `vps-console`: one module each, exposing `command`."""
