"""The one registry rule, shared by sectioning schemes, clustering methods and embedders."""

import pytest

from sectionist.analysis.modeling.estimators import REGISTRY as METHODS
from sectionist.analysis.embeddings.base import REGISTRY as EMBEDDERS
from sectionist.analysis.errors import ParameterError
from sectionist.analysis.registry import Registry
from sectionist.analysis.sections.sectioning import SCHEMES


def test_duplicate_name_needs_replace_and_unknown_name_lists_the_valid_ones():
    reg = Registry("widget", entry=lambda name, obj, *, size=1: (obj, size))

    @reg.register("a", size=2)
    def a():
        return "a"

    assert a() == "a" and reg["a"] == (a, 2)  # the decorator returns the object unchanged
    with pytest.raises(ParameterError, match="widget 'a' is already registered; pass replace=True"):
        reg.register("a")(lambda: None)
    with pytest.raises(ParameterError, match="already registered"):
        reg["a"] = None
    b = reg.register("a", replace=True)(lambda: "b")
    assert reg["a"] == (b, 1)
    with pytest.raises(ParameterError, match="unknown widget 'z'; known: a$"):
        reg["z"]
    with pytest.raises(KeyError):  # dict idioms keep working
        reg["z"]
    assert reg.get("z") is None and "z" not in reg and reg.names() == ["a"]


def test_the_three_registries_share_the_rule():
    for reg in (SCHEMES, METHODS, EMBEDDERS):
        assert isinstance(reg, Registry)
        name = next(iter(reg))
        with pytest.raises(ParameterError, match="already registered"):
            reg.register(name)(object)
        with pytest.raises(ParameterError, match=f"unknown {reg.kind} 'nope'; known: "):
            reg["nope"]
