"""Reading and checking the value of one setting: the text an environment
gives read as the setting's declared type, and a value of another type, or
a number out of range, refused in one line naming its ``APIERRORS_*`` key.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import operator
import os
import typing as t

PREFIX: t.Final = "APIERRORS_"


def config_key(name: str) -> str:
    """``format`` -> ``APIERRORS_FORMAT``."""
    return PREFIX + name.upper()


def invalid(name: str, value: t.Any, why: str) -> t.NoReturn:
    """Raise the one-line ValueError of a setting that cannot work."""
    raise ValueError(f"{config_key(name)}={value!r} is not valid: {why}.")


_TRUE: t.Final = frozenset({"1", "true", "yes", "on", "y", "t"})
_FALSE: t.Final = frozenset({"0", "false", "no", "off", "n", "f", ""})


def parse_bool(text: str) -> bool:
    """The usual spellings of a switch from an environment (``1``, ``on``,
    ``false`` ...); ValueError for anything else."""
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError("use true/false, yes/no, on/off or 1/0")


def _coerce_value(name: str, kind: str, value: t.Any) -> t.Any:
    """``value`` in the declared type ``kind`` (the field's annotation):
    lists become tuples, and what an environment or a config file gives
    becomes the declared type: text (``"false"``, ``"30"``, ``"a,b"``), a
    number where text is declared (``from_prefixed_env`` reads ``2024`` as
    one), ``0``/``1`` for a switch, a whole ``600.0`` or an ``Decimal`` for
    a number. Raises ValueError naming the key."""
    if isinstance(value, list):
        return tuple(value)
    base = kind.split("|")[0].strip()
    if not isinstance(value, str):
        number = _number(value)
        if number is None or isinstance(value, bool):
            return value
        if base == "str":
            return str(value)
        if base == "bool" and number in (0, 1):
            return bool(number)
        if base == "int" and float(number).is_integer():
            return int(number)
        if base == "float":
            return float(number)
        return value
    try:
        if base == "bool":
            return parse_bool(value)
        if base == "int":
            return int(value.strip())
        if base == "float":
            return float(value.strip())
        if base.startswith("tuple["):
            return tuple(part.strip() for part in value.split(",") if part.strip())
    except ValueError as exc:
        raise ValueError(f"{config_key(name)}={value!r} is not valid: {exc}.") from None
    return value


def _number(value: t.Any) -> int | float | None:
    """A real number's value (an ``int``, ``Decimal``, numpy's ``int64``
    through ``__index__``), else ``None``."""
    if isinstance(value, int | float):
        return value
    try:
        return operator.index(value)
    except TypeError:
        pass
    if isinstance(value, numbers.Number) and not isinstance(value, complex):
        try:
            return float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None
    return None


def is_text(value: t.Any) -> bool:
    # Lazy text too (flask-babel's lazy_gettext): ``__html__``, as Flask's
    # JSON provider tells it.
    return isinstance(value, str) or hasattr(value, "__html__")


#: What each declared type accepts, and how to say it. A kind not listed
#: (``t.Any``, a type of a feature's own) is the feature's to check.
_KINDS: t.Final[dict[str, tuple[t.Callable[[t.Any], bool], str]]] = {
    "None": (lambda v: v is None, "None"),
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "int": (lambda v: isinstance(v, int) and not isinstance(v, bool), "a whole number"),
    "float": (lambda v: isinstance(v, int | float) and not isinstance(v, bool), "a number"),
    "str": (is_text, "text"),
    "callable": (callable, "a function"),
    "path": (lambda v: is_text(v) or isinstance(v, os.PathLike), "a path"),
    "tuple[str, ...]": (lambda v: isinstance(v, tuple) and all(map(is_text, v)), "a list of text"),
}


def _kind(annotation: t.Any) -> str:
    """The annotation as :data:`_KINDS` spells it: ``str | None`` as written
    under ``from __future__ import annotations``, ``int`` for the class."""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    parts = [part.strip() for part in text.split("|")]
    spelled = [
        "callable"
        if part.startswith(("t.Callable", "Callable"))
        else "path"
        if "PathLike" in part
        else part
        for part in parts
    ]
    return " | ".join(spelled) if all(part in _KINDS for part in spelled) else "t.Any"


def _check_value(name: str, kind: str, value: t.Any) -> None:
    """Raise ValueError, naming the key, unless ``value`` is of the declared
    type ``kind`` (see :func:`_kind`); a number must be finite and not
    negative."""
    if kind == "t.Any":
        return
    said = []
    for alt in kind.split(" | "):
        accepts, say = _KINDS[alt]
        if accepts(value):
            if alt in ("int", "float") and not (math.isfinite(value) and value >= 0):
                invalid(name, value, "use a number of 0 or more")
            return
        said.append(say)
    invalid(name, value, "use " + " or ".join(said))


def read_values(cls: type[t.Any], options: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """Those of ``options`` that ``cls`` declares, coerced to their declared
    types and checked against them (ValueError naming the key)."""
    kinds = {f.name: _kind(f.type) for f in dataclasses.fields(cls)}
    values = {k: _coerce_value(k, kinds[k], v) for k, v in options.items() if k in kinds}
    for name, value in values.items():
        _check_value(name, kinds[name], value)
    return values
