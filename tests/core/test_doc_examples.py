"""The examples in the docstrings of the client's and the pictures' modules run."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "multimargin.results",
    "multimargin.transport",
    "multimargin.client.base",
    "multimargin.errors",
    "multimargin.pictures.stress",
    "multimargin.pictures.tiers",
    "multimargin.rulebook_diff",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    failed, attempted = doctest.testmod(
        module, extraglobs={"multimargin": importlib.import_module("multimargin")}
    )
    assert attempted > 0 and failed == 0
