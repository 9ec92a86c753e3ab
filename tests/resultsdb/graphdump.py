"""The whole graph a Neo4j server holds, in a form tests compare exactly.

Nodes are named by their labels and properties (never by internal ids), relationships by their
type and the two nodes they join, so two graphs written at different times, or into a wiped
database, compare equal exactly when they hold the same content.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import neo4j as driver_api

from tests.services.neo4j import Neo4jServer

NODES = "MATCH (n) RETURN elementId(n) AS id, labels(n) AS labels, properties(n) AS props"
RELATIONSHIPS = (
    "MATCH (a)-[r]->(b) RETURN elementId(a) AS start, type(r) AS type, elementId(b) AS end, "
    "properties(r) AS props"
)

#: A node as content: its sorted labels and its properties (lists as tuples).
Node = tuple[tuple[str, ...], tuple[tuple[str, Any], ...]]
#: A relationship as content: type, start node, end node, its properties.
Relationship = tuple[str, Node, Node, tuple[tuple[str, Any], ...]]


def _frozen(props: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in props.items()))


def as_node(label: str, props: dict[str, Any]) -> Node:
    """A node of one label as :func:`dump_graph` names it (for expected graphs)."""
    return ((label,), _frozen(props))


@dataclass(frozen=True)
class Graph:
    nodes: Counter[Node]
    relationships: Counter[Relationship]

    @classmethod
    def of(cls, nodes: Iterable[Node], links: Iterable[tuple[str, Node, Node]]) -> Graph:
        """An expected graph: its nodes, and relationships without properties."""
        return cls(
            nodes=Counter(nodes),
            relationships=Counter((kind, start, end, ()) for kind, start, end in links),
        )

    def counts(self) -> dict[str, int]:
        """Nodes per label and relationships per type."""
        out: Counter[str] = Counter()
        for (labels, _), n in self.nodes.items():
            for label in labels:
                out[label] += n
        for (kind, _, _, _), n in self.relationships.items():
            out[kind] += n
        return dict(out)


def dump_graph(server: Neo4jServer) -> Graph:
    """Every node and relationship of the server's test database."""
    auth = (server.user, server.password)
    with driver_api.GraphDatabase.driver(server.uri, auth=auth) as driver:
        nodes, _, _ = driver.execute_query(NODES, database_=server.database)
        rels, _, _ = driver.execute_query(RELATIONSHIPS, database_=server.database)
    by_id: dict[str, Node] = {
        r["id"]: (tuple(sorted(r["labels"])), _frozen(r["props"])) for r in nodes
    }
    return Graph(
        nodes=Counter(by_id.values()),
        relationships=Counter(
            (r["type"], by_id[r["start"]], by_id[r["end"]], _frozen(r["props"])) for r in rels
        ),
    )
