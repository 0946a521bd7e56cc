"""The maintenance state: switched on or off, with an optional window, as
configured or as a store keeps it (JSON with ISO 8601 UTC times).
"""

from __future__ import annotations

import dataclasses
import logging
import typing as t
from datetime import datetime

from .. import config
from ..config import parse_bool
from ..timeutil import format_time
from ..timeutil import parse_time
from ..timeutil import utcnow

__all__ = ["KEYS", "MaintenanceState", "format_time", "parse_time", "logger", "utcnow"]

logger = logging.getLogger("flask_apierrors.availability")

#: The keys of a state's JSON (:meth:`MaintenanceState.to_json`), and of the
#: ``APIERRORS_MAINTENANCE`` mapping.
KEYS: t.Final = ("enabled", "start", "end", "message")

#: The sets of unknown keys already warned about (a few at most).
_warned: set[tuple[str, ...]] = set()


@dataclasses.dataclass(frozen=True, slots=True)
class MaintenanceState:
    """Maintenance switched on (or off), with an optional window.

    :param enabled: Switched on.
    :param start: When it starts (``None``: now); before it, requests pass.
    :param end: When it is expected to end; after it, requests pass again.
    :param message: The client message, instead of the default.
    """

    enabled: bool
    start: datetime | None = None
    end: datetime | None = None
    message: str | None = None

    def __post_init__(self) -> None:
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("A maintenance window must end after it starts.")

    def active(self, now: datetime | None = None) -> bool:
        """Whether requests get the maintenance 503 at ``now``."""
        if not self.enabled:
            return False
        now = now or utcnow()
        if self.start is not None and now < self.start:
            return False
        return self.end is None or now < self.end

    def details(self) -> dict[str, t.Any]:
        """``maintenance_window`` and ``estimated_completion``."""
        end = format_time(self.end) if self.end is not None else None
        window = None
        if self.start is not None and end is not None:
            window = f"{format_time(self.start)} to {end}"
        return {"maintenance_window": window, "estimated_completion": end}

    def to_json(self) -> dict[str, t.Any]:
        """A JSON-ready dict (what stores keep)."""
        return {
            "enabled": self.enabled,
            "start": format_time(self.start) if self.start else None,
            "end": format_time(self.end) if self.end else None,
            "message": self.message,
        }

    @classmethod
    def from_json(cls, data: t.Mapping[str, t.Any]) -> MaintenanceState:
        """The inverse of :meth:`to_json`. Other keys (another version may
        have written the state) are ignored, with one WARNING per process
        for each set of them."""
        if not isinstance(data, t.Mapping):
            raise TypeError(f"A maintenance state is a JSON object, not {type(data).__name__}.")
        unknown = _unknown_keys(data)
        if unknown and unknown not in _warned and len(_warned) < 16:
            _warned.add(unknown)
            logger.warning(
                "Ignoring the key(s) %s of a stored maintenance state, unknown to this"
                " version (it reads %s)",
                ", ".join(unknown),
                ", ".join(KEYS),
            )
        start, end = data.get("start"), data.get("end")
        return cls(
            enabled=bool(data.get("enabled", True)),
            start=parse_time(start) if start else None,
            end=parse_time(end) if end else None,
            message=data.get("message") or None,
        )

    @classmethod
    def from_config(cls, value: t.Any) -> MaintenanceState | None:
        """The state ``APIERRORS_MAINTENANCE`` describes: ``True``, an ISO
        8601 interval ``"START/END"``, or a mapping with ``start``, ``end``
        and ``message``; ``None`` when off.

        :raises ValueError: a value that cannot work, in one line naming
            the setting (a mapping's unknown key too).
        :raises TypeError: a value of another type.
        """
        try:
            return cls._from_setting(value)
        except ValueError as exc:
            why = str(exc).rstrip(".")
        config.invalid("maintenance", value, why)

    @classmethod
    def _from_setting(cls, value: t.Any) -> MaintenanceState | None:
        if isinstance(value, (bool, int)) and value in (0, 1):
            value = bool(value)  # 1 and 0 from the environment
        elif isinstance(value, str) and "/" not in value:
            try:
                value = parse_bool(value)
            except ValueError:
                raise ValueError(
                    "use true/false (or 1/0, on/off), 'START/END' (ISO 8601)"
                    " or a mapping with start, end and message"
                ) from None
        if value is None or value is False:
            return None
        if value is True:
            return cls(enabled=True)
        if isinstance(value, str):  # with a "/": others were parsed as booleans
            start, _, end = value.partition("/")
            return cls(enabled=True, start=parse_time(start), end=parse_time(end))
        if isinstance(value, t.Mapping):
            if unknown := _unknown_keys(value):
                raise ValueError(f"unknown key(s) {', '.join(unknown)}: use {', '.join(KEYS)}")
            return cls.from_json({"enabled": True, **value})
        raise TypeError(
            f"APIERRORS_MAINTENANCE must be a bool, 'START/END' or a mapping,"
            f" not {type(value).__name__}."
        )


def _unknown_keys(data: t.Mapping[t.Any, t.Any]) -> tuple[str, ...]:
    """The keys of ``data`` a state does not have, as ``repr``s, sorted."""
    return tuple(sorted(repr(key) for key in data if key not in KEYS))
