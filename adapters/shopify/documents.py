"""The GraphQL documents we send: one ``.graphql`` file per resource in ``graphql/``, loaded by name.

Keeping every document in a file (not in Python strings) lets one test validate all of them against
Shopify's published schema, so a field that does not exist fails CI instead of a merchant's sync.
A file may hold several named operations and the fragments they share; a call names its operation.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from graphql import DocumentNode, FragmentDefinitionNode, OperationDefinitionNode, parse

FOLDER = Path(__file__).with_name("graphql")


@dataclass(frozen=True)
class Document:
    name: str
    text: str
    ast: DocumentNode

    def operation(self, name: str | None) -> OperationDefinitionNode:
        """The operation called ``name`` (``None``: the file's only, anonymous operation)."""
        for definition in self.ast.definitions:
            if isinstance(definition, OperationDefinitionNode):
                defined = definition.name.value if definition.name else None
                if defined == name:
                    return definition
        raise LookupError(f"graphql/{self.name}.graphql has no operation {name!r}")

    def fragments(self) -> dict[str, FragmentDefinitionNode]:
        return {d.name.value: d for d in self.ast.definitions if isinstance(d, FragmentDefinitionNode)}


@cache
def load(name: str) -> Document:
    """The document in ``graphql/<name>.graphql``, parsed once per process (the files never change)."""
    path = FOLDER / f"{name}.graphql"
    if path.parent != FOLDER or not path.is_file():
        raise LookupError(f"no GraphQL document named {name!r}")
    text = path.read_text(encoding="utf-8")
    return Document(name=name, text=text, ast=parse(text))


def names() -> list[str]:
    """Every document in the folder (what the schema test walks)."""
    return sorted(path.stem for path in FOLDER.glob("*.graphql"))
