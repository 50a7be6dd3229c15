"""Every slash command, grouped by what it acts on; importing this package registers them all."""

from swarmchat.repl.commands import agency, basic, budget, files, search, session, switching

__all__ = ["agency", "basic", "budget", "files", "search", "session", "switching"]
