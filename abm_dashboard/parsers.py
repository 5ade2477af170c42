"""The API's JSON parser, bounded in nesting. (Body size is bounded by DATA_UPLOAD_MAX_MEMORY_SIZE:
DRF reads a JSON body through request.body, which enforces it with a 400.)"""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.utils import json

# No request of this API nests more than a few levels (bulk: object → list → object → value).
MAX_JSON_DEPTH = 64


class BoundedJSONParser(JSONParser):
    """DRF's JSONParser, refusing JSON nested deeper than MAX_JSON_DEPTH with a 400.

    `[` × 50,000 made Python's json module raise RecursionError, which reached the client as a 500;
    anything deeper than any real request is refused before a serializer walks it.
    """

    def parse(self, stream, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.decode(stream.read(), encoding)
            parse_constant = json.strict_constant if self.strict else None
            data = json.loads(text, parse_constant=parse_constant)
        except RecursionError:
            raise ParseError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        if _deeper_than(data, MAX_JSON_DEPTH):
            raise ParseError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        return data


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether lists and objects nest more than `limit` levels (iterative: no recursion to exhaust)."""
    stack = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
