"""Relay a terminal to an instance's serial console socket (when socat is not installed).

``gnt-instance console`` runs ``python3 -m ganeti_tw.cli.serial_console SOCKET``
on the instance's node. The terminal goes raw while connected; Ctrl-]
disconnects, as in telnet and socat's ``escape=0x1d``.
"""

import os
import select
import socket
import sys
import termios
import tty
from typing import List, Optional

ESCAPE = b"\x1d"


def relay(sock: socket.socket, stdin: int, stdout: int) -> None:
    """Copy ``stdin`` to ``sock`` and ``sock`` to ``stdout`` until either side ends."""
    while True:
        readable, _, _ = select.select([sock, stdin], [], [])
        if sock in readable:
            data = sock.recv(65536)
            if not data:
                return
            os.write(stdout, data)
        if stdin in readable:
            data = os.read(stdin, 65536)
            if not data:
                return
            if ESCAPE in data:
                sock.sendall(data[:data.index(ESCAPE)])
                return
            sock.sendall(data)


def main(argv: Optional[List[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.stderr.write("usage: serial_console SOCKET\n")
        return 2
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(args[0])
    except OSError as err:
        sys.stderr.write("Cannot connect to the serial console %s: %s\n"
                         % (args[0], err.strerror))
        return 1
    stdin = sys.stdin.fileno()
    saved = termios.tcgetattr(stdin) if os.isatty(stdin) else None
    if saved is not None:
        sys.stderr.write("Connected to the serial console; Ctrl-] disconnects.\r\n")
        tty.setraw(stdin)
    try:
        relay(sock, stdin, sys.stdout.fileno())
    finally:
        if saved is not None:
            termios.tcsetattr(stdin, termios.TCSADRAIN, saved)
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
