"""Value classes that cost nothing to define: the behaviour of a ``@dataclass`` (equality,
repr, immutability where frozen) without its cost at import.

``@dataclass`` writes each class's ``__init__``, ``__repr__`` and ``__eq__`` (and a frozen
one's ``__setattr__``, ``__delattr__`` and ``__hash__``) as source text and compiles it with
``exec`` every time the module is imported: about 1 ms a class, a fifth of what an everyday
command costs over ``import typer`` (issue 32). A class here writes its ``__init__`` by
hand (compiled once into the byte-code file, as fast per instance as the dataclass's) and
inherits the rest from :class:`Plain` or :class:`Frozen`, which read the field names from
``_fields``: the same equality (same class, equal fields in order), the same repr
(``Name(a=1, b='x')``) and, for :class:`Frozen`, the same ``FrozenInstanceError`` on
assignment and the same hash (of the fields), as the dataclass it replaces.

Example::

    class Point(Frozen):
        _fields = ("x", "y")
        x: int
        y: int

        def __init__(self, x: int, y: int = 0) -> None:
            set_fields(self, x=x, y=y)
"""

from typing import Any, ClassVar


class Plain:
    """A mutable value: equal to another of its class with equal fields; not hashable (as a
    dataclass with ``eq=True`` and not frozen)."""

    #: the fields, in the order the dataclass declared them (compared and shown in that order)
    _fields: ClassVar[tuple[str, ...]] = ()
    #: the fields the repr shows and equality compares, where not all (``field(repr=False,
    #: compare=False)``); None: all of ``_fields``
    _compared: ClassVar[tuple[str, ...] | None] = None

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._compared or self._fields)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._values() == other._values()
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}"
                          for name in self._compared or self._fields)  # fmt: skip
        return f"{self.__class__.__qualname__}({shown})"


def _frozen(name: str, verb: str) -> Exception:
    from dataclasses import FrozenInstanceError  # only when someone tries

    return FrozenInstanceError(f"cannot {verb} field {name!r}")


class Frozen(Plain):
    """An immutable value (as a frozen dataclass): assigning or deleting an attribute
    raises ``dataclasses.FrozenInstanceError``; hashable by its fields."""

    def __setattr__(self, name: str, value: Any) -> None:
        raise _frozen(name, "assign to")

    def __delattr__(self, name: str) -> None:
        raise _frozen(name, "delete")

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(self._values())


def set_fields(obj: object, **values: Any) -> None:
    """Set a :class:`Frozen` value's fields (its ``__init__`` only)."""
    obj.__dict__.update(values)
