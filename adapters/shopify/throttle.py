"""Shopify's calculated query cost: a static estimate of a document, and a model of the shop's bucket.

Shopify charges each GraphQL query from a leaky bucket per app and store: a query starts only if its
*requested* cost (worked out statically before it runs) is available, then it is charged its *actual*
cost. Every response reports ``extensions.cost.throttleStatus`` {maximumAvailable, currentlyAvailable,
restoreRate}; the plan decides the bucket, so we read it instead of assuming one.

``CostBucket`` keeps, per adapter instance (never globally: one instance is one shop), the last
throttle status seen and when, and per call site (document, operation and page size) the requested
cost Shopify last reported. Before a call it answers "how long until this call's cost is available?",
so a long sync paces itself to the restore rate instead of running into THROTTLED errors.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    SelectionSetNode,
    VariableNode,
)
from graphql.language import OperationType

from adapters.shopify.documents import Document

MAX_QUERY_COST = 1000  # Shopify refuses a single query whose requested cost is higher
MUTATION_COST = 10
CONNECTION_COST = 2
_ITEM_FIELDS = ("nodes", "edges")
_SIZE_ARGUMENTS = ("first", "last")


def estimate_cost(document: Document, operation: str | None, variables: Mapping | None = None) -> int:
    """The requested cost by Shopify's published rules: scalars and enums 0, objects 1, a connection
    2 + its page size times one item, a mutation 10. An estimate to plan with before the first call;
    the real figure comes back with every response."""
    op = document.operation(operation)
    base = MUTATION_COST if op.operation == OperationType.MUTATION else 0
    return base + _cost(op.selection_set, document.fragments(), dict(variables or {}))


def _cost(selection_set: SelectionSetNode | None, fragments: Mapping, variables: Mapping) -> int:
    if selection_set is None:
        return 0
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FragmentSpreadNode):
            total += _cost(fragments[selection.name.value].selection_set, fragments, variables)
        elif isinstance(selection, InlineFragmentNode):
            total += _cost(selection.selection_set, fragments, variables)
        elif isinstance(selection, FieldNode) and selection.selection_set is not None:
            total += _field_cost(selection, fragments, variables)
    return total


def _field_cost(node: FieldNode, fragments: Mapping, variables: Mapping) -> int:
    size = _page_size(node, variables)
    selections = node.selection_set.selections
    if not any(isinstance(s, FieldNode) and s.name.value in _ITEM_FIELDS for s in selections):
        # an object, or a plain list sized by `first` (like Order.refunds(first:))
        return (1 if size is None else size) * (1 + _cost(node.selection_set, fragments, variables))
    item_cost = others = 0
    for selection in node.selection_set.selections:
        if isinstance(selection, FieldNode) and selection.name.value == "nodes":
            item_cost += 1 + _cost(selection.selection_set, fragments, variables)
        elif isinstance(selection, FieldNode) and selection.name.value == "edges":
            for inner in selection.selection_set.selections:
                if isinstance(inner, FieldNode) and inner.name.value == "node":
                    item_cost += 1 + _cost(inner.selection_set, fragments, variables)
        elif isinstance(selection, FieldNode) and selection.selection_set is not None:
            others += _field_cost(selection, fragments, variables)
    return CONNECTION_COST + (1 if size is None else size) * item_cost + others


def _page_size(node: FieldNode, variables: Mapping) -> int | None:
    for argument in node.arguments or ():
        if argument.name.value in _SIZE_ARGUMENTS:
            value = argument.value
            if isinstance(value, IntValueNode):
                return int(value.value)
            if isinstance(value, VariableNode) and isinstance(variables.get(value.name.value), int):
                return variables[value.name.value]
    return None


def largest_page(document: Document, operation: str, variables: Mapping, size_variable: str,
                 wanted: int, ceiling: int = MAX_QUERY_COST) -> int:
    """The largest page size up to ``wanted`` whose estimated cost stays within ``ceiling``."""
    empty = estimate_cost(document, operation, {**variables, size_variable: 0})
    one = estimate_cost(document, operation, {**variables, size_variable: 1})
    per_item = max(1, one - empty)
    return max(1, min(wanted, (ceiling - empty) // per_item))


@dataclass
class CostBucket:
    """What we know of one shop's bucket, refilled in our head at ``restore_rate`` between responses."""

    clock: Callable[[], float]
    maximum: float | None = None
    available: float | None = None
    restore_rate: float | None = None
    observed_at: float | None = None
    _requested: dict[str, float] = field(default_factory=dict)

    def expected_cost(self, site: str, estimate: float) -> float:
        """What a call at ``site`` will ask for: Shopify's last answer there, else our estimate."""
        return self._requested.get(site, estimate)

    def available_now(self) -> float | None:
        if self.available is None or self.restore_rate is None or self.observed_at is None:
            return None
        refilled = self.available + (self.clock() - self.observed_at) * self.restore_rate
        return min(self.maximum, refilled) if self.maximum is not None else refilled

    def delay_for(self, cost: float) -> float:
        """Seconds to wait before spending ``cost``: the deficit over the restore rate (0 when unknown)."""
        available = self.available_now()
        if available is None or not self.restore_rate:
            return 0.0
        if self.maximum is not None:
            cost = min(cost, self.maximum)  # a cost above the bucket can never be waited for
        return max(0.0, (cost - available) / self.restore_rate)

    def observe(self, site: str, cost: Mapping | None) -> None:
        """Learn from a response's ``extensions.cost`` (present on successes and on THROTTLED)."""
        if not isinstance(cost, Mapping):
            return
        requested = cost.get("requestedQueryCost")
        if isinstance(requested, (int, float)) and not isinstance(requested, bool):
            self._requested[site] = float(requested)
        status = cost.get("throttleStatus")
        if not isinstance(status, Mapping):
            return
        values = [status.get(k) for k in ("maximumAvailable", "currentlyAvailable", "restoreRate")]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            self.maximum, self.available, self.restore_rate = (float(v) for v in values)
            self.observed_at = self.clock()
