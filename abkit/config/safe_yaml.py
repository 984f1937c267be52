"""A YAML reader for untrusted files: bounded, strict, and never slow.

An exp.yaml is written by many people and the app reads every one in a shared
folder, so PyYAML's safe loader is tightened further:

- alias expansion is bounded ("billion laughs": nine aliases of nine aliases of …
  expand to 9^9 values) — the document may hold at most `MAX_NODES` values once
  every alias is expanded, and an alias may not contain itself;
- nesting is bounded to `MAX_DEPTH` levels (deeper YAML is refused before any
  recursive code sees it);
- a key given twice in one mapping is refused (PyYAML silently keeps the last);
- an impossible date or time (``2026-02-30``, ``25:00:00``) is refused with its
  line instead of escaping as a bare `ValueError`.

Every problem is a `yaml.YAMLError` with a mark, which the loader turns into a
one-line `ConfigError`.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_DEPTH = 40
"""Deepest nesting of mappings and lists accepted in a config file."""

MAX_NODES = 100_000
"""Most values a config file may expand to once every alias is resolved."""


class LimitError(yaml.YAMLError):
    """A config file exceeds a bound (depth, size, aliases) or repeats a key."""

    def __init__(self, problem: str, mark: yaml.Mark | None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark


class StrictLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` with bounded depth and aliases, no duplicate keys."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        """Compose one node, refusing nesting deeper than `MAX_DEPTH`."""
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise LimitError(
                    f"nested more than {MAX_DEPTH} levels deep; flatten it", mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> Any:
        """A mapping, refusing a key given twice."""
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, ScalarNode):
                key = key_node.value
                if key in seen:
                    raise LimitError(
                        f"key '{key[:60]}' is given twice; keep one of them",
                        key_node.start_mark,
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_timestamp(self, node: ScalarNode) -> Any:
        """A date or datetime, or a marked error for an impossible one."""
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError):
            raise ConstructorError(
                None,
                None,
                f"'{node.value[:40]}' is not a real date or time; write YYYY-MM-DD "
                "with a valid month and day (or quote it to keep it as text)",
                node.start_mark,
            ) from None


StrictLoader.add_constructor(
    "tag:yaml.org,2002:timestamp", StrictLoader.construct_yaml_timestamp
)


def expanded_size(root: Node) -> int:
    """How many values `root` expands to with every alias resolved.

    Aliased nodes are shared objects in the composed graph, so sizes are memoised
    per node: the walk itself stays linear in the file, whatever it expands to.

    Raises:
        LimitError: the expansion exceeds `MAX_NODES`, or an alias contains itself.
    """
    sizes: dict[int, int] = {}
    stack: list[tuple[Node, bool]] = [(root, False)]
    open_nodes: set[int] = set()
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        children = _children(node)
        if children_done:
            open_nodes.discard(id(node))
            sizes[id(node)] = 1 + sum(sizes[id(child)] for child in children)
            if sizes[id(node)] > MAX_NODES:
                raise LimitError(
                    f"expands to more than {MAX_NODES:,} values through aliases; "
                    "write the values out instead of nesting aliases",
                    node.start_mark,
                )
            continue
        if id(node) in open_nodes:
            raise LimitError("an alias refers to itself; remove it", node.start_mark)
        open_nodes.add(id(node))
        stack.append((node, True))
        for child in children:
            if id(child) in open_nodes:
                raise LimitError(
                    "an alias refers to itself; remove it", child.start_mark
                )
            stack.append((child, False))
    return sizes[id(root)]


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def load_strict(text: str) -> Any:
    """Parse one YAML document under the bounds above.

    Raises:
        yaml.YAMLError: malformed YAML, or a `LimitError` for a bound exceeded.
    """
    loader = StrictLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        expanded_size(root)
        return loader.construct_document(root)
    finally:
        loader.dispose()
