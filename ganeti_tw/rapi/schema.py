"""JSON Schema fragments: how RAPI checks bodies and arguments, and what OpenAPI shows.

The resource table declares each body and query argument as a JSON Schema
(the subset below); the server validates requests against it and
``openapi.py`` publishes the very same dicts, so the description cannot drift
from the checks. A failed check is a ParameterError naming the field.
"""

from typing import Any, Dict, List, Optional

from ganeti_tw import errors

_JSON_TYPES = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}


def string(enum: Optional[List[str]] = None, description: str = "", **extra: Any) -> dict:
    out: Dict[str, Any] = {"type": "string", **extra}
    if enum is not None:
        out["enum"] = list(enum)
    if description:
        out["description"] = description
    return out


def integer(minimum: Optional[int] = None, description: str = "") -> dict:
    out: Dict[str, Any] = {"type": "integer"}
    if minimum is not None:
        out["minimum"] = minimum
    if description:
        out["description"] = description
    return out


def boolean(description: str = "") -> dict:
    return {"type": "boolean", **({"description": description} if description else {})}


def array(items: dict, description: str = "", **extra: Any) -> dict:
    return {"type": "array", "items": items, **extra,
            **({"description": description} if description else {})}


def obj(properties: Optional[Dict[str, dict]] = None, required: Optional[List[str]] = None,
        additional: Any = False, description: str = "") -> dict:
    """An object; unknown keys are refused unless ``additional`` allows them."""
    out: Dict[str, Any] = {"type": "object", "properties": dict(properties or {}),
                           "additionalProperties": additional}
    if required:
        out["required"] = list(required)
    if description:
        out["description"] = description
    return out


def nullable(schema: dict) -> dict:
    types = schema.get("type")
    if isinstance(types, str):
        return dict(schema, type=[types, "null"])
    return {"anyOf": [schema, {"type": "null"}]}


ANY: dict = {}
DICT: dict = {"type": "object"}


def check(schema: dict, value: Any, where: str) -> None:
    """Raise ParameterError naming ``where`` (e.g. ``body.disks[0].size``) on a mismatch."""
    if "anyOf" in schema:
        if not any(_matches(s, value) for s in schema["anyOf"]):
            raise errors.ParameterError("%s: invalid value %s" % (where, _short(value)))
        return
    types = schema.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else types
        if not any(_JSON_TYPES[t](value) for t in names):
            raise errors.ParameterError("%s: expected %s, got %s"
                                        % (where, " or ".join(names), _short(value)))
    if "enum" in schema and value not in schema["enum"]:
        raise errors.ParameterError("%s: must be one of %s, got %s"
                                    % (where, ", ".join(map(str, schema["enum"])),
                                       _short(value)))
    if "minimum" in schema and _JSON_TYPES["number"](value) and value < schema["minimum"]:
        raise errors.ParameterError("%s: must be at least %s" % (where, schema["minimum"]))
    if isinstance(value, list) and "items" in schema:
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            raise errors.ParameterError("%s: at most %d items" % (where, schema["maxItems"]))
        for index, item in enumerate(value):
            check(schema["items"], item, "%s[%d]" % (where, index))
    if isinstance(value, dict) and "properties" in schema:
        _check_object(schema, value, where)


def _check_object(schema: dict, value: dict, where: str) -> None:
    props = schema["properties"]
    for name in schema.get("required", []):
        if name not in value:
            raise errors.ParameterError("%s: missing required field '%s'" % (where, name))
    additional = schema.get("additionalProperties", True)
    for name, item in value.items():
        if name in props:
            check(props[name], item, "%s.%s" % (where, name))
        elif additional is False:
            raise errors.ParameterError("%s: unknown field '%s'" % (where, name))
        elif isinstance(additional, dict):
            check(additional, item, "%s.%s" % (where, name))


def _matches(schema: dict, value: Any) -> bool:
    try:
        check(schema, value, "")
    except errors.ParameterError:
        return False
    return True


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_query_value(schema: dict, values: List[str], name: str) -> Any:
    """Turn the strings of one query argument into the schema's type.

    Booleans are Ganeti's integers ``0``/``1`` (``true``/``false`` also work,
    as Ganeti's Python client sends them for some arguments).
    """
    kind = schema.get("type")
    if kind == "array":
        value: Any = list(values)
    else:
        text = values[-1]
        if kind == "boolean":
            lowered = text.strip().lower()
            if lowered in ("1", "true", "yes"):
                value = True
            elif lowered in ("0", "false", "no", ""):
                value = False
            else:
                raise errors.ParameterError("argument '%s': expected 0 or 1, got %s"
                                            % (name, _short(text)))
        elif kind == "integer":
            try:
                value = int(text)
            except ValueError:
                raise errors.ParameterError("argument '%s': expected an integer, got %s"
                                            % (name, _short(text))) from None
        else:
            value = text
    check(schema, value, "argument '%s'" % name)
    return value
