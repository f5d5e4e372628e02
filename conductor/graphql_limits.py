"""What one `POST /graphql` may cost MC before a resolver runs: tokens, depth, aliases, fields.

Why: parsing, validating and executing a GraphQL document happens on MC's one
event loop. An alias bomb — hundreds of aliased `__schema` selections in one
60 KB query — held that loop for about a second per request, so four senders
starved `/healthz`. MC's only real operation is one `publishEvidence`
mutation with its input in variables (~40 tokens, depth 3), so the limits
here are generous for it and tiny for an attacker:

- the parser refuses query text over `MAX_QUERY_CHARS` before lexing and stops
  after `MAX_TOKENS` lexical tokens (graphql-core's own limits), so a 60 KB
  document costs well under a millisecond and any accepted one a few;
- validation rules refuse documents deeper than `MAX_DEPTH`, with more than
  `MAX_ALIASES` aliases, or selecting more than `MAX_FIELDS` fields once
  fragments are expanded (ariadne's cost validator, one point per field);
- introspection is refused unless the operator turns it on (a dev convenience).

Every refusal is a GraphQLError whose `extensions.reason` names the limit, so
the endpoint can answer a problem document with that reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ariadne.validation import cost_validator
from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    parse,
)

MAX_QUERY_CHARS = 16 * 1024  # evidence goes in `variables`, so the query text stays small
MAX_TOKENS = 500  # graphql-core parses ~10 µs per token: 500 tokens ≈ 5 ms of event loop
MAX_DEPTH = 8
MAX_ALIASES = 10
MAX_FIELDS = 100


def _error(message: str, reason: str, node: Any = None) -> GraphQLError:
    return GraphQLError(message, node, extensions={"reason": reason})


def parse_query(context: Any, data: dict[str, Any]) -> DocumentNode:
    """ariadne `query_parser`: graphql-core's parser with a token budget."""
    query = data.get("query")
    if not isinstance(query, str):
        raise GraphQLError("the query must be a string", extensions={"reason": "graphql_invalid"})
    try:
        return parse(query, max_lexical_tokens=MAX_TOKENS, max_source_length=MAX_QUERY_CHARS)
    except GraphQLError as exc:
        too_large = "Parsing aborted" in exc.message  # graphql-core's wording for both limits
        raise _error(exc.message, "graphql_too_large" if too_large else "graphql_invalid") from None


class DepthLimit(ASTValidationRule):
    """Selection sets nested deeper than MAX_DEPTH, fragments followed (cycles stop at the limit)."""

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        definitions = self.context.document.definitions
        fragments = {d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)}
        stack: list[tuple[SelectionSetNode, int]] = [(node.selection_set, 1)]
        seen: set[tuple[str, int]] = set()  # a fragment cycle (refused by another rule) ends here
        while stack:
            selection_set, depth = stack.pop()
            if depth > MAX_DEPTH:
                self.report_error(
                    _error(f"the query nests deeper than {MAX_DEPTH} levels", "graphql_too_deep", node)
                )
                return
            for selection in selection_set.selections:
                if isinstance(selection, FieldNode) and selection.selection_set:
                    stack.append((selection.selection_set, depth + 1))
                elif isinstance(selection, InlineFragmentNode):
                    stack.append((selection.selection_set, depth))
                elif isinstance(selection, FragmentSpreadNode):
                    fragment = fragments.get(selection.name.value)
                    if fragment is not None and (fragment.name.value, depth) not in seen:
                        seen.add((fragment.name.value, depth))
                        stack.append((fragment.selection_set, depth))


class AliasLimit(ASTValidationRule):
    """More than MAX_ALIASES aliases in the whole document."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.aliases = 0

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        if node.alias is not None:
            self.aliases += 1
            if self.aliases == MAX_ALIASES + 1:
                message = f"the query uses more than {MAX_ALIASES} aliases"
                self.report_error(_error(message, "graphql_too_many_aliases", node))


class IntrospectionDisabled(ASTValidationRule):
    """`__schema` / `__type` outside dev (`__typename` stays: clients use it for unions)."""

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        if node.name.value in ("__schema", "__type"):
            self.report_error(
                _error("introspection is disabled on this MC", "graphql_introspection_disabled", node)
            )


def validation_rules(introspection: bool) -> Callable[..., list[type[ASTValidationRule]]]:
    """ariadne `validation_rules` callable (the cost rule needs this request's variables)."""

    def rules(context: Any, document: DocumentNode, data: dict[str, Any]) -> list[type[ASTValidationRule]]:
        variables = data.get("variables") if isinstance(data.get("variables"), dict) else None
        field_cost = cost_validator(
            maximum_cost=MAX_FIELDS, default_cost=1, default_complexity=1, variables=variables
        )
        chosen: list[type[ASTValidationRule]] = [DepthLimit, AliasLimit, field_cost]
        if not introspection:
            chosen.append(IntrospectionDisabled)
        return chosen

    return rules


def reason_of(errors: list[dict[str, Any]]) -> str:
    """The limit a refused document hit (the first error that names one), else graphql_invalid."""
    for error in errors:
        reason = (error.get("extensions") or {}).get("reason")
        if isinstance(reason, str):
            return reason
        if "cost" in str(error.get("message", "")).lower():
            return "graphql_too_costly"
    return "graphql_invalid"
