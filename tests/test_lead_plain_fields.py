"""A value class of core/plainclass.py names its fields three times: its annotations, its
``_fields`` (what equality, repr and hash read) and its ``__init__``. Every such class in
drp says them alike, so a field added to one place and not the others fails here, not as a
concern compared or shown without it."""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import pytest

from drp_cli.core.plainclass import Frozen, Plain
from tests.test_w1_plain_classes import CLASSES  # imports every module holding one


def _all(cls: type) -> Iterator[type]:
    sub: type
    for sub in cls.__subclasses__():
        yield sub
        yield from _all(sub)


PLAIN = sorted(
    {c for c in _all(Plain) if c.__module__.startswith("drp_cli") and c is not Frozen},
    key=lambda c: f"{c.__module__}.{c.__qualname__}",
)


def test_every_value_class_is_tested_against_its_dataclass() -> None:
    from drp_cli.domain.views import ConcernView  # tested as a dataclass: test_w1_plain_classes

    assert set(PLAIN) == {c for c, _ in CLASSES} | {ConcernView}


@pytest.mark.parametrize("cls", PLAIN, ids=[c.__qualname__ for c in PLAIN])
def test_its_fields_are_named_alike_in_its_annotations_fields_and_init(cls: type) -> None:
    annotated = [
        name for name, kind in inspect.get_annotations(cls).items()
        if "ClassVar" not in str(kind)
    ]  # fmt: skip
    assert list(cls._fields) == annotated  # type: ignore[attr-defined]
    assert list(inspect.signature(cls).parameters) == annotated
