"""The twisted.web side of ganeti-rapi: routing, authentication, checks, JSON answers.

Everything a request needs passes here in order: route and method, user and
rights, query arguments, body; only then does the resource's handler run.
Every failure becomes a JSON ``{"code", "message", "explain"}`` answer with
the status of spec 7; an unexpected exception is logged and answered 500.
"""

import base64
import binascii
import json
from typing import Any, Dict, List, Optional

from twisted.internet import defer
from twisted.logger import Logger
from twisted.web import resource, server

from ganeti_tw import errors
from ganeti_tw.rapi import schema as S
from ganeti_tw.rapi.baserlib import (Call, HttpError, Method, Route, find_route,
                                     http_error_for, not_found)
from ganeti_tw.rapi.luxi_client import AsyncLuxiClient
from ganeti_tw.rapi.users import REALM, User, UsersFile

log = Logger()

MAX_BODY = 1024 * 1024
# compact: a bulk list of 1000 instances is ~13% smaller and faster to encode
_ENCODER = json.JSONEncoder(separators=(",", ":"), check_circular=False)
_READ_METHODS = ("GET", "HEAD")


class RapiResource(resource.Resource):
    """The whole URL space: one leaf resource dispatching through the route table."""

    isLeaf = True

    def __init__(self, routes: List[Route], luxi: AsyncLuxiClient, users: UsersFile,
                 require_authentication: bool = False):
        super().__init__()
        self.routes = routes
        self.luxi = luxi
        self.users = users
        self.require_authentication = require_authentication

    def render(self, request: server.Request) -> Any:
        finished = [False]
        request.notifyFinish().addBoth(lambda _: finished.__setitem__(0, True))
        defer.ensureDeferred(self._answer(request, finished))
        return server.NOT_DONE_YET

    async def _answer(self, request: server.Request, finished: List[bool]) -> None:
        try:
            status, result = 200, await self._handle(request)
        except HttpError as err:
            status, result = err.code, err.to_dict()
            if err.code == 401:
                request.setHeader(b"WWW-Authenticate", ('Basic realm="%s"' % REALM).encode())
        except Exception:  # a bug: the client still gets JSON, the log the traceback
            log.failure("Error answering {method} {uri}", method=request.method,
                        uri=request.uri)
            status, result = 500, HttpError(500, "Internal error; see the RAPI log").to_dict()
        if finished[0]:
            return
        data = _ENCODER.encode(result).encode("utf-8")
        request.setResponseCode(status)
        request.setHeader(b"Content-Type", b"application/json")
        request.setHeader(b"Content-Length", str(len(data)).encode())
        if request.method != b"HEAD":
            request.write(data)
        request.finish()

    async def _handle(self, request: server.Request) -> Any:
        try:
            path = request.path.decode("utf-8")
            verb = request.method.decode("ascii")
        except UnicodeDecodeError:
            raise HttpError(400, "The request path must be UTF-8") from None
        if len(path) > 1 and path.endswith("/"):
            path = path[:-1]
        route, items = find_route(self.routes, path)
        if route is None:
            raise not_found()
        method = route.methods.get("GET" if verb == "HEAD" else verb)
        if method is None:
            raise HttpError(400, "Method %s is unsupported for path %s" % (verb, path))
        self._authorize(request, verb)
        call = Call(self.luxi, items, self._arguments(request, method),
                    self._body(request, method))
        try:
            return await method.handler(call)
        except errors.GenericError as err:
            raise http_error_for(err) from None

    # checks, in order -------------------------------------------------------------

    def _authorize(self, request: server.Request, verb: str) -> None:
        """401 for missing or wrong credentials where needed, 403 for a reader writing."""
        user = self._user(request)
        reading = verb in _READ_METHODS
        if user is None:
            if reading and not self.require_authentication:
                return
            raise HttpError(401, "Authentication required")
        if not (user.can_read if reading else user.can_write):
            raise HttpError(403, "User %s may not %s" % (user.name,
                                                         "read" if reading else "write"))

    def _user(self, request: server.Request) -> Optional[User]:
        header = request.getHeader(b"authorization")
        if header is None:
            return None
        scheme, _, encoded = header.decode("latin-1").partition(" ")
        name = password = None
        if scheme.lower() == "basic":
            try:
                name, sep, password = base64.b64decode(encoded.strip(), validate=True) \
                    .decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                sep = ""
            if not sep:
                name = None
        user = self.users.authenticate(name, password) if name is not None else None
        if user is None:
            peer = request.getClientAddress()
            log.warn("Failed RAPI login for user {user!r} from {peer}",
                     user=name, peer=getattr(peer, "host", peer))
            raise HttpError(401, "Wrong user name or password")
        return user

    @staticmethod
    def _arguments(request: server.Request, method: Method) -> Dict[str, Any]:
        """The declared query arguments in their types; undeclared ones are ignored."""
        args = {}
        for raw_name, raw_values in (request.args or {}).items():
            try:
                name = raw_name.decode("utf-8")
                values = [v.decode("utf-8") for v in raw_values]
            except UnicodeDecodeError:
                raise HttpError(400, "Query arguments must be UTF-8") from None
            arg_schema = method.args.get(name)
            if arg_schema is not None:
                args[name] = _checked(lambda: S.parse_query_value(arg_schema, values, name))
        return args

    @staticmethod
    def _body(request: server.Request, method: Method) -> Any:
        data = request.content.read(MAX_BODY + 1) if request.content is not None else b""
        if len(data) > MAX_BODY:
            raise HttpError(413, "The body is limited to %d bytes" % MAX_BODY)
        if not data.strip():
            if method.body_required:
                raise HttpError(400, "This request needs a JSON body")
            return None
        if method.body is None:
            return None
        try:
            body = json.loads(data)
        except (ValueError, UnicodeDecodeError) as err:
            raise HttpError(400, "body: invalid JSON (%s)" % err) from None
        _checked(lambda: S.check(method.body, body, "body"))
        return body


def _checked(func: Any) -> Any:
    try:
        return func()
    except errors.ParameterError as err:
        raise HttpError(400, str(err)) from None
