"""The outside-request guard: every Python process started with this folder on PYTHONPATH and
OUTSIDE_GUARD_LOG set records each attempt to reach another machine, before it happens.

Python imports `sitecustomize` at start-up (module `site`), so the server, its training workers,
a Jupyter kernel and Ray's own processes all carry the guard. Recorded, one JSON line each in the
file OUTSIDE_GUARD_LOG (host, port, what, pid, the command and a short caller stack):

- a lookup of a name other than localhost and this machine's own name (`socket.getaddrinfo`,
  `gethostbyname(_ex)`, `gethostbyaddr`, `getnameinfo`; `create_connection`, requests, tornado and
  asyncio go through `getaddrinfo`): a DNS query may leave the machine;
- a TCP connect (`socket.socket.connect`, `connect_ex`) to an address outside 127.0.0.0/8 and ::1.

Each guarded process also writes one line "guarded" as it starts. Nothing is blocked: the call
goes on as before. A UDP `connect` sends no packet (Streamlit uses one to 8.8.8.8 to learn the
machine's own network address), so it is not recorded. Calls made by C code that does not go
through Python's socket module (gRPC inside Ray) are not seen.
"""
import ipaddress
import json
import os
import socket
import sys
import traceback

LOG = os.environ.get("OUTSIDE_GUARD_LOG")
# and this machine's own name (Ray looks it up; /etc/hosts answers, e.g. "127.0.0.1 vm")
LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback",
               socket.gethostname().lower()}


def text(host) -> str:
    return host.decode("ascii", "replace") if isinstance(host, (bytes, bytearray)) else str(host)


def is_local(host) -> bool:
    """Loopback or no host at all: is_local("127.0.0.2") -> True, is_local("::1") -> True,
    is_local(None) -> True (a passive lookup for bind), is_local("example.com") -> False,
    is_local("8.8.8.8") -> False."""
    if host is None:
        return True
    host = text(host).strip().rstrip(".").lower().split("%")[0]
    if host in ("", "0.0.0.0", "::") or host in LOCAL_NAMES or host.endswith(".localhost"):
        return True             # "" and the unspecified addresses mean this machine
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_address(host) -> bool:
    """A numeric address needs no lookup: is_address("10.0.0.1") -> True, ("example.com") -> False."""
    try:
        ipaddress.ip_address(text(host).split("%")[0])
        return True
    except ValueError:
        return False


def record(what: str, host, port=None) -> None:
    """Append one JSON line: what was tried, where, by which process and from which code."""
    stack = [f"{f.filename}:{f.lineno} {f.name}" for f in traceback.extract_stack()[:-2]
             if f.filename != __file__][-25:]
    line = json.dumps({"what": what, "host": text(host), "port": port, "pid": os.getpid(),
                       "argv": " ".join(sys.argv)[:300], "stack": stack}) + "\n"
    fd = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())         # one write per line: processes do not interleave
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------------------
# The wrappers


def _lookup(name: str, original, host_arg: int = 0):
    def wrapper(*args, **kwargs):
        host = args[host_arg] if len(args) > host_arg else kwargs.get("host")
        if name == "getnameinfo":       # getnameinfo((host, port), flags)
            host = host[0] if isinstance(host, tuple) and host else host
        if not is_local(host) and (name in ("gethostbyaddr", "getnameinfo") or not is_address(host)):
            record(name, host, args[1] if name == "getaddrinfo" and len(args) > 1 else None)
        return original(*args, **kwargs)
    wrapper.__wrapped__ = original
    return wrapper


def _connect(name: str, original):
    def wrapper(self, address, *args, **kwargs):
        if (self.family in (socket.AF_INET, socket.AF_INET6) and self.type == socket.SOCK_STREAM
                and isinstance(address, tuple) and not is_local(address[0])):
            record(f"tcp {name}", address[0], address[1] if len(address) > 1 else None)
        return original(self, address, *args, **kwargs)
    wrapper.__wrapped__ = original
    return wrapper


def install() -> None:
    """Wrap the socket module's lookups and connects (once per process)."""
    if getattr(socket.getaddrinfo, "__wrapped__", None):
        return
    for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr", "getnameinfo"):
        setattr(socket, name, _lookup(name, getattr(socket, name)))
    for name in ("connect", "connect_ex"):
        setattr(socket.socket, name, _connect(name, getattr(socket.socket, name)))


if LOG:
    install()
    record("guarded", None)     # one line per process, so a test sees which processes had the guard
