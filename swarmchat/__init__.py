"""swarmchat: named, durable terminal chat sessions for agency-swarm agencies."""

__version__ = "0.1.0"
