"""Reading and checking the value of one setting: the text an environment
gives read as the setting's declared type, and a value of another type, or
a number out of range, refused in one line naming its ``APIERRORS_*`` key.
"""

from __future__ import annotations

import dataclasses
import math
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
    lists become tuples, numbers become text where text is declared, and
    the strings an environment gives (``"false"``, ``"30"``, ``"a,b"``)
    become booleans, numbers and tuples. Raises ValueError naming the key."""
    if isinstance(value, list):
        return tuple(value)
    base = kind.split("|")[0].strip()
    if not isinstance(value, str):
        if base == "str" and isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)  # from_prefixed_env reads APIERRORS_X=2024 as a number
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


#: What each declared type accepts, and how to say it.
_KINDS: t.Final[dict[str, tuple[t.Callable[[t.Any], bool], str]]] = {
    "None": (lambda v: v is None, "None"),
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "int": (lambda v: isinstance(v, int) and not isinstance(v, bool), "a whole number"),
    "float": (lambda v: isinstance(v, int | float) and not isinstance(v, bool), "a number"),
    # Lazy text too (flask-babel's lazy_gettext): ``__html__``, as Flask's
    # JSON provider tells it.
    "str": (lambda v: isinstance(v, str) or hasattr(v, "__html__"), "text"),
    "callable": (callable, "a function"),
    "tuple[str, ...]": (
        lambda v: isinstance(v, tuple) and all(isinstance(i, str) for i in v),
        "a list of text",
    ),
}


def _check_value(name: str, kind: str, value: t.Any) -> None:
    """Raise ValueError, naming the key, unless ``value`` is of the declared
    type ``kind`` (a function, for ``t.Callable``); a number must be finite
    and not negative."""
    if kind in ("t.Any", "Any"):
        return
    said = []
    for alt in (part.strip() for part in kind.split("|")):
        accepts, say = _KINDS["callable" if alt.startswith("t.Callable") else alt]
        if accepts(value):
            if alt in ("int", "float") and not (math.isfinite(value) and value >= 0):
                invalid(name, value, "use a number of 0 or more")
            return
        said.append(say)
    invalid(name, value, "use " + " or ".join(said))


def read_values(cls: type[t.Any], options: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """Those of ``options`` that ``cls`` declares, coerced to their declared
    types and checked against them (ValueError naming the key)."""
    kinds = {f.name: str(f.type) for f in dataclasses.fields(cls)}
    values = {k: _coerce_value(k, kinds[k], v) for k, v in options.items() if k in kinds}
    for name, value in values.items():
        _check_value(name, kinds[name], value)
    return values
