"""PlannedSlots built at a fifth of the frozen dataclass's cost, for plans of many slots.

PlannedSlot is frozen, so its __init__ sets each of its 13 fields through
object.__setattr__: ~20 000 machine instructions a slot, a fifth of a 90 000-slot calendar.
An unfrozen twin with the same fields in the same slots is built in ~3 500 and switched
to PlannedSlot: Python allows the class change because both have the same slots and
nothing else, and the result is an ordinary, frozen PlannedSlot, equal to (and hashing
like) one built by PlannedSlot(...). Checked at import; plain construction otherwise.
"""

from __future__ import annotations

from dataclasses import fields, make_dataclass
from typing import Any

from engine.models import PlannedSlot


def _unfrozen_twin() -> type | None:
    """The twin class, or None if PlannedSlot changed so that it would not give the same
    objects (a __post_init__ to run, other slots)."""
    names = tuple(f.name for f in fields(PlannedSlot))
    if hasattr(PlannedSlot, "__post_init__") or getattr(PlannedSlot, "__slots__", ()) != names:
        return None
    twin = make_dataclass(
        "UnfrozenSlot", [(f.name, f.type) for f in fields(PlannedSlot)], slots=True, eq=False
    )
    probe = tuple(range(len(names)))
    try:
        slot = twin(*probe)
        slot.__class__ = PlannedSlot
    except TypeError:
        return None
    return twin if slot == PlannedSlot(*probe) else None  # type: ignore[arg-type]


# Build with UNFROZEN_SLOT(*fields), then set `__class__ = PlannedSlot` (inline in hot loops).
UNFROZEN_SLOT = _unfrozen_twin()


def planned_slot(*values: Any) -> PlannedSlot:
    """PlannedSlot(*values): every field, positionally, in PlannedSlot's order."""
    if UNFROZEN_SLOT is None:
        return PlannedSlot(*values)
    slot = UNFROZEN_SLOT(*values)
    slot.__class__ = PlannedSlot
    return slot  # type: ignore[no-any-return]
