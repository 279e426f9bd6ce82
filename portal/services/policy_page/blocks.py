"""The blocks a section of the published policy is made of; the page's template and the PDF
each draw every kind."""

from __future__ import annotations

from dataclasses import dataclass, field

from markupsafe import Markup

from portal.services.policy_page.flowchart import Flowchart


@dataclass(frozen=True)
class Subheading:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]
    ordered: bool = False


@dataclass(frozen=True)
class Link:
    text: str
    url: str


@dataclass(frozen=True)
class Row:
    cells: tuple[str | tuple[str, ...], ...]
    # What the row is about, for a machine: data-* attributes on the page (never shown).
    data: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Table:
    caption: str
    header: tuple[str, ...]
    rows: tuple[Row, ...]
    key: str = ""


Block = str | Markup | Subheading | Bullets | Link | Table | Flowchart


def kind(block: Block) -> str:
    """What a block is, for the page's template to draw it."""
    if isinstance(block, Markup):
        return "staff"
    if isinstance(block, str):
        return "text"
    return type(block).__name__.lower()


__all__ = ["Block", "Bullets", "Link", "Row", "Subheading", "Table", "kind"]
