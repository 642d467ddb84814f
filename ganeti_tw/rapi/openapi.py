"""The OpenAPI 3.1 description of the RAPI, generated from the route table itself.

``rlib2.ROUTES`` is what the server dispatches with and checks requests
against; describing that same table means the document cannot promise a
resource, argument or body field that the server does not have.
"""

import re
from typing import Any, Dict, List

from ganeti_tw import constants as C
from ganeti_tw.rapi.baserlib import PLACEHOLDERS, HttpError, Method, Route

_ERROR = {"type": "object", "required": ["code", "message", "explain"],
          "properties": {"code": {"type": "integer"}, "message": {"type": "string"},
                         "explain": {"type": "string"}}}
_ERROR_REF = {"$ref": "#/components/schemas/Error"}
_WRITE_STATUSES = (400, 401, 403, 404, 502, 503, 504)
_READ_STATUSES = (400, 401, 404, 502, 504)


def _operation(verb: str, template: str, method: Method, tag: str) -> Dict[str, Any]:
    op_id = verb.lower() + "".join(part.capitalize() for part in
                                   re.split(r"[^A-Za-z0-9]+", template) if part) or "root"
    params = [{"name": name, "in": "path", "required": True,
               "schema": {"type": "string", "pattern": "^%s$" % PLACEHOLDERS[name]}}
              for name in re.findall(r"\{(\w+)\}", template)]
    for name, schema in sorted(method.args.items()):
        query: Dict[str, Any] = {"name": name, "in": "query", "required": False,
                                 "schema": schema}
        if schema.get("type") == "boolean":
            # on the wire Ganeti's booleans are 0 and 1
            query["schema"] = {"type": "integer", "enum": [0, 1],
                               **{k: v for k, v in schema.items() if k != "type"}}
        if schema.get("type") == "array":
            query.update(style="form", explode=True)
        params.append(query)
    responses: Dict[str, Any] = {"200": {"description": "success", "content": {
        "application/json": {"schema": method.response}}}}
    statuses = _READ_STATUSES if verb == "GET" else _WRITE_STATUSES
    for status in statuses:
        responses[str(status)] = {"description": HttpError.MESSAGES[status],
                                  "content": {"application/json": {"schema": _ERROR_REF}}}
    operation: Dict[str, Any] = {"operationId": op_id, "summary": method.summary,
                                 "tags": [tag], "parameters": params, "responses": responses}
    if verb != "GET":
        operation["security"] = [{"basic": []}]
    if method.body is not None:
        operation["requestBody"] = {"required": method.body_required, "content": {
            "application/json": {"schema": method.body}}}
    return operation


def document(routes: List[Route]) -> Dict[str, Any]:
    """The OpenAPI document of every route and method."""
    paths: Dict[str, Any] = {}
    for route in routes:
        paths[route.template] = {verb.lower(): _operation(verb, route.template, method,
                                                          route.tag)
                                 for verb, method in route.methods.items()}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Ganeti Remote API", "version": "%d (ganeti-tw %s)"
                 % (C.RAPI_VERSION, C.RELEASE_VERSION),
                 "description": "GET is open unless ganeti-rapi runs with "
                                "--require-authentication; PUT, POST and DELETE need a "
                                "user with the write option. Writes answer a job id; poll "
                                "/2/jobs/{job_id}."},
        "servers": [{"url": "https://localhost:%d" % C.RAPI_PORT}],
        "paths": paths,
        "components": {"schemas": {"Error": _ERROR},
                       "securitySchemes": {"basic": {"type": "http", "scheme": "basic"}}},
    }
