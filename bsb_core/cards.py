"""Signature cards as files: JSON validated against the shipped schema, and PDF.

A card is ``Signature.to_card()`` (``bsb_core.signature``); its JSON Schema ships as
``bsb_core/schemas/card.schema.json``. The PDF layout lives in :mod:`bsb_core.card_pdf`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from bsb_core.atomic_write import write_atomically
from bsb_core.store import Store

log = logging.getLogger(__name__)

CARD_FORMATS = ("json", "pdf")


class CardValidationError(ValueError):
    """A card that does not match card.schema.json; the message names the field and the rule broken."""


class CardNotFoundError(LookupError):
    """No card for the requested model in the store and scope."""


@lru_cache(maxsize=1)
def card_schema() -> dict[str, Any]:
    """Return the card's JSON Schema shipped as bsb_core/schemas/card.schema.json.

    Read here rather than imported from ``bsb_core.signature``, so validating and rendering a
    card does not load the metric modules.
    """
    text = resources.files("bsb_core").joinpath("schemas/card.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def validate_card(card: Mapping[str, Any]) -> None:
    """Raise :class:`CardValidationError` listing every schema violation of ``card`` (at most 10).

    Each entry names the JSON pointer of the field, e.g. ``/traits/2/percentile``, and what
    the schema expects there.
    """
    validator = jsonschema.Draft202012Validator(card_schema())
    errors = sorted(validator.iter_errors(card), key=lambda error: list(error.absolute_path))
    if not errors:
        return
    model = card.get("model", "<no model>") if isinstance(card, Mapping) else "<not an object>"
    lines = [f"/{'/'.join(str(part) for part in error.absolute_path)}: {error.message}" for error in errors[:10]]
    more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
    raise CardValidationError(
        f"card of model {model!r} does not match card.schema.json{more}:\n  " + "\n  ".join(lines)
    )


def card_json(card: Mapping[str, Any]) -> str:
    """Return the validated card as indented JSON text.

    Non-ASCII characters are kept as is, unless the card contains a lone surrogate (not valid in
    UTF-8): then the whole text is written with ``\\uXXXX`` escapes, which JSON allows.
    """
    validate_card(card)
    text = json.dumps(card, indent=2, ensure_ascii=False) + "\n"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(card, indent=2, ensure_ascii=True) + "\n"
    return text


def find_card(cards: Iterable[Mapping[str, Any]], model: str) -> Mapping[str, Any]:
    """Return the card of ``model``; raise :class:`CardNotFoundError` naming the models there are."""
    cards = list(cards)
    for card in cards:
        if card.get("model") == model:
            return card
    known = ", ".join(sorted(str(card.get("model")) for card in cards)) or "none"
    raise CardNotFoundError(f"no signature card for model {model!r}; models with cards: {known}")


def store_cards(store: Store, scope: str = "all") -> list[dict[str, Any]]:
    """Return the stored cards of ``scope``, computing them when none are stored.

    Stored cards are the ones ``bsb signatures --refresh`` (or the nightly flow) last wrote.
    When there are none, the cards are computed from the metric values now and not stored.
    """
    from bsb_core.signature import compute_signatures, load_cards

    cards = load_cards(store, scope)
    if cards:
        return cards
    log.info("no stored cards for scope %s: computing signatures", scope)
    return [signature.to_card() for signature in compute_signatures(store, scope)]


def render_pdf(card: Mapping[str, Any]) -> bytes:
    """Validate ``card`` and return its PDF as bytes."""
    from bsb_core.card_pdf import render_card_pdf

    validate_card(card)
    return render_card_pdf(card)


def write_card(card: Mapping[str, Any], path: str | Path, fmt: str = "json") -> Path:
    """Write ``card`` to ``path`` as ``json`` or ``pdf`` and return the path.

    The file is written under a temporary name and renamed at the end, so an existing file is
    replaced only by a complete card. Raises :class:`CardValidationError` before anything is
    written, and OSError when the file cannot be written (FileNotFoundError for a missing folder).
    """
    if fmt not in CARD_FORMATS:
        raise ValueError(f"unknown card format {fmt!r}: expected one of {', '.join(CARD_FORMATS)}")
    path = Path(path)
    if fmt == "json":
        text = card_json(card)
        write_atomically(path, lambda stream: stream.write(text))
    else:
        data = render_pdf(card)
        write_atomically(path, lambda stream: stream.write(data), binary=True)
    log.info("wrote %s card of %s to %s", fmt, card.get("model"), path)
    return path


__all__ = [
    "CARD_FORMATS",
    "CardNotFoundError",
    "CardValidationError",
    "card_json",
    "find_card",
    "render_pdf",
    "store_cards",
    "validate_card",
    "write_card",
]
