"""Counts in words, with the plural right: `counted(1, "turn")` is '1 turn', `counted(9, "turn")` '9 turns'."""

from __future__ import annotations


def counted(count: int, noun: str) -> str:
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"
