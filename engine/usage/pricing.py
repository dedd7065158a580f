"""Dollars from tokens, where town.toml has a price table ([prices."<model>"]).

A model's price is the entry named exactly like it, else the longest entry its name starts
with (``[prices."claude-opus"]`` prices every Opus version). A model with no price has no
dollar figure: the sums say so instead of counting it as free.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from engine.config import ModelPrice
    from engine.records import UsageTotal

PER = 1_000_000  # prices are per million tokens


def price_for(model: str, prices: Mapping[str, ModelPrice]) -> ModelPrice | None:
    if model in prices:
        return prices[model]
    matches = [name for name in prices if model.startswith(name)]
    return prices[max(matches, key=len)] if matches else None


def dollars(total: UsageTotal, price: ModelPrice) -> float:
    return (
        total["input_tokens"] * price.input
        + total["output_tokens"] * price.output
        + total["cache_read_tokens"] * price.cache_read
        + total["cache_write_tokens"] * price.cache_write
    ) / PER


def tokens(total: UsageTotal) -> int:
    """Every kind of token, summed: what a token budget counts."""
    return (
        total["input_tokens"]
        + total["output_tokens"]
        + total["cache_read_tokens"]
        + total["cache_write_tokens"]
    )
