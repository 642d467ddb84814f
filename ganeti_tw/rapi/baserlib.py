"""What every RAPI resource shares: the route table's types, calls into masterd, errors.

A resource is a :class:`Route` (a path template such as
``/2/instances/{instance}``) with one :class:`Method` per HTTP verb. A method
names its query arguments and body as JSON Schemas (``schema.py``); the
server checks requests against them before the handler runs, and the
OpenAPI document is generated from the same objects.
"""

import re
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, List, Optional

from ganeti_tw import constants, errors, luxi, opcodes
from ganeti_tw.rapi import schema as S
from ganeti_tw.rapi.luxi_client import AsyncLuxiClient

# path placeholders and what they match (spec 7: names [\w._-]+, job ids \d+)
PLACEHOLDERS = {"instance": r"[\w._-]+", "node": r"[\w._-]+", "group": r"[\w._-]+",
                "job_id": r"\d+", "disk_index": r"\d+"}
# how long /2/jobs/<id>/wait waits for a change before answering null
WAIT_FOR_JOB_TIMEOUT = 10

ARG_DRY_RUN = "dry-run"
ARG_REASON = "reason"

JOB_ID = S.integer(0, "job id")
DRY_RUN_RESULT = S.array(S.DICT, "with dry-run=1: the validated opcodes, nothing queued")
JOB_RESULT = {"anyOf": [JOB_ID, DRY_RUN_RESULT]}


class HttpError(Exception):
    """An answer other than 200: ``{"code", "message", "explain"}``."""

    MESSAGES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
                413: "Request Entity Too Large", 500: "Internal Server Error",
                502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}

    def __init__(self, code: int, explain: str):
        super().__init__(explain)
        self.code = code
        self.explain = explain

    def to_dict(self) -> Dict[str, Any]:
        return {"code": self.code, "message": self.MESSAGES.get(self.code, "Error"),
                "explain": self.explain}


def not_found(explain: str = "Nothing matches the given URI") -> HttpError:
    return HttpError(404, explain)


def http_error_for(err: errors.GenericError) -> HttpError:
    """The status of spec 7 for an error of masterd or of our own checks."""
    if isinstance(err, (errors.JobQueueDrainError, errors.JobQueueFull)):
        return HttpError(503, errors.format_error(err))
    if isinstance(err, errors.NoMasterError):
        return HttpError(502, errors.format_error(err))
    if isinstance(err, errors.TimeoutError):
        return HttpError(504, str(err))
    if isinstance(err, (errors.OpPrereqError, errors.ParameterError, errors.TagError,
                        errors.TypeEnforcementError, errors.OpCodeUnknown,
                        errors.HypervisorError)):
        return HttpError(400, str(err.args[0]) if err.args else type(err).__name__)
    return HttpError(500, errors.format_error(err))


@dataclass
class Call:
    """One request as a handler sees it: checked path items, arguments and body."""

    luxi: AsyncLuxiClient
    items: Dict[str, str]
    args: Dict[str, Any]
    body: Any

    @property
    def dry_run(self) -> bool:
        return bool(self.args.get(ARG_DRY_RUN))

    async def query(self, method: str, args: Any, timeout: Optional[float] = None) -> Any:
        return await self.luxi.call(method, args, timeout)

    async def known(self, kind: str) -> str:
        """The instance or node named in the path; 404 if the cluster has none by that name."""
        name = self.items[kind]
        method = luxi.REQ_QUERY_INSTANCES if kind == "instance" else luxi.REQ_QUERY_NODES
        try:
            rows = await self.query(method, [[name], ["name"], False])
        except errors.OpPrereqError:
            raise not_found("%s '%s' not known" % (kind.capitalize(), name)) from None
        return rows[0][0]

    async def submit(self, ops: List[Dict[str, Any]]) -> Any:
        """Validate opcodes and queue them as one job (job id), or only validate (dry-run)."""
        checked = [opcodes.OpCode.from_dict(op).to_dict() for op in ops]
        if self.dry_run:
            return checked
        return int(await self.query(luxi.REQ_SUBMIT_JOB, checked))

    async def run_job(self, ops: List[Dict[str, Any]]) -> Any:
        """Queue a job, wait until it ends, and return its last opcode's result."""
        job_id = await self.submit(ops)
        if self.dry_run:
            return job_id
        info = None
        while info is None or info[0] not in constants.JOBS_FINALIZED:
            answer = await self.query(luxi.REQ_WAIT_FOR_JOB_CHANGE,
                                      [job_id, ["status"], info, None, WAIT_FOR_JOB_TIMEOUT],
                                      timeout=2 * WAIT_FOR_JOB_TIMEOUT)
            if answer is None:
                raise errors.JobLost("Job %s disappeared" % job_id)
            if answer != "nochange":
                info = answer[0]
        status, results = (await self.query(luxi.REQ_QUERY_JOBS,
                                            [[job_id], ["status", "opresult"]]))[0]
        if status != constants.JOB_STATUS_SUCCESS:
            failure = results[-1] if results else None
            raise errors.decode_error(failure) if isinstance(failure, list) else \
                errors.OpExecError("Job %s ended with status %s" % (job_id, status))
        return results[-1]


Handler = Callable[[Call], Awaitable[Any]]


@dataclass
class Method:
    """One verb of a resource: handler, documentation and the schemas it checks."""

    handler: Handler
    summary: str
    response: dict
    args: Dict[str, dict] = field(default_factory=dict)
    body: Optional[dict] = None
    body_required: bool = False

    def __post_init__(self) -> None:
        self.args = dict(self.args)
        self.args.setdefault(ARG_REASON, S.string(description="reason for the operation, "
                                                  "for the logs (accepted and ignored)"))


def write(handler: Handler, summary: str, args: Optional[Dict[str, dict]] = None,
          body: Optional[dict] = None, body_required: bool = False,
          response: dict = JOB_RESULT) -> Method:
    """A method that changes the cluster: needs a write user, takes ``dry-run``."""
    all_args = dict(args or {})
    all_args[ARG_DRY_RUN] = S.boolean("1: validate only, queue nothing")
    return Method(handler, summary, response, all_args, body, body_required)


@dataclass
class Route:
    template: str
    methods: Dict[str, Method]
    tag: str = "cluster"

    def __post_init__(self) -> None:
        pattern = re.sub(r"\\{(\w+)\\}", lambda m: "(?P<%s>%s)" % (m.group(1),
                                                                  PLACEHOLDERS[m.group(1)]),
                         re.escape(self.template))
        self.regex = re.compile("^%s$" % pattern)

    def match(self, path: str) -> Optional[Dict[str, str]]:
        found = self.regex.match(path)
        return None if found is None else found.groupdict()


def find_route(routes: List[Route], path: str) -> "tuple[Optional[Route], Dict[str, str]]":
    for route in routes:
        items = route.match(path)
        if items is not None:
            return route, items
    return None, {}
