"""The YAML dialect of scenario and sweep files.

PyYAML's safe loader, with two changes: numbers in exponent form read as numbers
(``1e9``, ``-2.5E-3``; YAML 1.1 reads them as strings, and strings are not numbers in
the schema), and a value PyYAML cannot construct (an impossible date such as
``2026-02-30``) raises a located ``ConstructorError`` instead of a bare ``ValueError``.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

#: YAML 1.2 core-schema floats that YAML 1.1 leaves as strings (exponent without a dot or sign).
_EXP_FLOAT = re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$")


class ScenarioYamlLoader(yaml.SafeLoader):
    """SafeLoader with exponent floats and located construction errors."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except yaml.YAMLError:
            raise
        except (ValueError, OverflowError) as e:
            expected = "a date that exists (YYYY-MM-DD)" if node.tag.endswith(":timestamp") else "a valid value"
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {node.value!r}: {e}; expected {expected}", node.start_mark
            ) from None


ScenarioYamlLoader.add_implicit_resolver("tag:yaml.org,2002:float", _EXP_FLOAT, list("-+0123456789"))


def read_value(text: str) -> Any:
    """One YAML value (``--set`` values): ``'1e9'`` -> 1e9, ``'[a, b]'`` -> ['a', 'b']."""
    loader = ScenarioYamlLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
