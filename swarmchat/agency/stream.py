"""agency-swarm's stream events into `swarmchat.events`: `TurnTracker` lives in `swarmchat.turn_tracker`, beside
the agencies it serves (this one and `remote/`), so that neither imports the other."""

from __future__ import annotations

from swarmchat.turn_tracker import TurnTracker

__all__ = ["TurnTracker"]
