"""The RAPI users file and password checks (Ganeti 2.0 and 3 formats).

One user per line: ``name password [options]``. ``password`` is plain text,
``{cleartext}text`` or ``{HA1}hex`` with hex = MD5("name:realm:password")
(what ``htdigest`` writes); ``options`` is a comma-separated subset of
``read`` and ``write``, and Ganeti 2.0's bare ``write`` is the same thing.
A user without options may read. ``#`` starts a comment.

The file is re-read when its inode, mtime or size changes, so an admin edits
it without restarting the daemon; checking costs one stat() per request.
"""

import hashlib
import hmac
import os
from typing import Dict, NamedTuple, Optional, Tuple

from twisted.logger import Logger

from ganeti_tw import utils

REALM = "Ganeti Remote API"
ACCESS_READ = "read"
ACCESS_WRITE = "write"
_HA1 = "{ha1}"
_CLEARTEXT = "{cleartext}"

log = Logger()


class User(NamedTuple):
    name: str
    password: str
    options: frozenset

    @property
    def can_write(self) -> bool:
        return ACCESS_WRITE in self.options

    @property
    def can_read(self) -> bool:
        return not self.options or bool(self.options & {ACCESS_READ, ACCESS_WRITE})


def parse_users(text: str) -> Dict[str, User]:
    """Users by name; malformed lines are skipped with a log line naming them."""
    users = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        if len(fields) not in (2, 3):
            log.warn("users file line {number}: expected 'name password [options]', skipped",
                     number=number)
            continue
        options = frozenset(o.strip().lower() for o in fields[2].split(",")) \
            if len(fields) == 3 else frozenset()
        unknown = options - {ACCESS_READ, ACCESS_WRITE}
        if unknown:
            log.warn("users file line {number}: unknown option(s) {opts}, ignored",
                     number=number, opts=",".join(sorted(unknown)))
        users[fields[0]] = User(fields[0], fields[1], options - unknown)
    return users


def ha1(name: str, password: str, realm: str = REALM) -> str:
    """The ``{HA1}`` form of a password (hex MD5 of ``name:realm:password``)."""
    return hashlib.md5(("%s:%s:%s" % (name, realm, password)).encode()).hexdigest()


def check_password(user: User, given: str) -> bool:
    """Constant-time comparison of ``given`` with the user's stored password."""
    stored = user.password
    if stored.lower().startswith(_HA1):
        return hmac.compare_digest(stored[len(_HA1):].lower().encode(),
                                   ha1(user.name, given).encode())
    if stored.lower().startswith(_CLEARTEXT):
        stored = stored[len(_CLEARTEXT):]
    return hmac.compare_digest(stored.encode(), given.encode())


class UsersFile:
    """The users file at ``path``, kept current by checking its stat on each use."""

    def __init__(self, path: str):
        self.path = path
        self._key: Optional[Tuple[int, int, int]] = None
        self._users: Dict[str, User] = {}

    def users(self) -> Dict[str, User]:
        try:
            st = os.stat(self.path)
        except OSError:
            if self._key is not None:
                log.info("users file {path} is gone: no users", path=self.path)
            self._key, self._users = None, {}
            return self._users
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        if key != self._key:
            try:
                text = utils.read_file(self.path).decode("utf-8", "replace")
            except OSError as err:
                log.error("cannot read users file {path}: {err}", path=self.path,
                          err=err.strerror)
                return self._users
            self._users = parse_users(text)
            self._key = key
            log.info("loaded {count} user(s) from {path}", count=len(self._users),
                     path=self.path)
        return self._users

    def authenticate(self, name: str, password: str) -> Optional[User]:
        """The user if ``name`` and ``password`` match, else None."""
        user = self.users().get(name)
        if user is None:
            # same work for an unknown name, so timing does not tell names apart
            check_password(User(name, _HA1 + "0" * 32, frozenset()), password)
            return None
        return user if check_password(user, password) else None
