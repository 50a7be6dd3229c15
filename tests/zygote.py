"""A fork server for the tests: `python -m swarmchat` as a real process, without paying the import again.

Every CLI process a test starts used to import agency-swarm and its SDK afresh (about 2.5 s of CPU, most
of the suite's time). The zygote is one process per test worker that imports them once, then forks a
child per command: the child gets the test's stdin/stdout/stderr (or a pseudo-terminal) passed over a
Unix socket, the test's environment, argv and folder, and then runs `swarmchat` exactly as `python -m
swarmchat` does (`runpy`, the folder first on the import path, fresh stdio streams, default signals).
It is a real process with its own pid: tests wait for it, read its exit code, SIGKILL it, send it Ctrl-C
through its terminal, and two of them contend for a lock as two terminals would.

What a child cannot show is the import itself: what agency-swarm's import does to the environment (it
reads `.env` files), the locale and the interpreter's flags are those of the zygote. `needs_fresh()`
sends such runs to a new interpreter, as do the tests that pass `fresh=True` (the import guard, the
installed script, dropped privileges).

Protocol: the test connects, sends one JSON request with the file descriptors attached (SCM_RIGHTS); the
zygote answers one line `{"pid": N}` at once and one line `{"status": S}` (the raw wait status) when the
child ends.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import io
import json
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pexpect
import ptyprocess

ROOT = Path(__file__).resolve().parent.parent

FRESH_VARIABLES = ("LANG", "LC_", "PYTHON", "SWARMCHAT_DEBUG", "SWARMCHAT_TRACING", "LITELLM", "TZ")
"""Variables read when the interpreter or agency-swarm starts: a run that changes one needs a new interpreter."""


# ---------------------------------------------------------------------------------------------- the server


@dataclass
class Job:
    """What the child runs: argv for swarmchat, its environment and folder, and whether fd 0 is its terminal."""

    argv: list[str]
    env: dict[str, str]
    cwd: str
    tty: bool
    fds: list[int] = field(default_factory=list)


def preload() -> None:
    """Import what a chat imports, the way swarmchat imports it, then freeze it out of the collector."""
    import gc
    import pkgutil

    import swarmchat
    from swarmchat.agency.environment import import_agency_swarm

    import_agency_swarm()
    for module in pkgutil.walk_packages(swarmchat.__path__, "swarmchat."):
        if not module.name.endswith("__main__"):
            __import__(module.name)
    gc.collect()
    gc.freeze()  # the children share these pages instead of copying them when the collector walks them


def receive(conn: socket.socket) -> Job:
    head, fds, _flags, _addr = socket.recv_fds(conn, 1 << 16, 3)
    (size,) = struct.unpack("!I", head[:4])
    body = head[4:]
    while len(body) < size:
        chunk = conn.recv(size - len(body))
        if not chunk:
            raise ConnectionError("the test hung up mid-request")
        body += chunk
    request = json.loads(body)
    return Job(argv=request["argv"], env=request["env"], cwd=request["cwd"], tty=request["tty"], fds=list(fds))


def serve(path: str) -> Job | None:
    """Accept requests until the test worker closes our stdin; returns a Job in each child, None at the end."""
    children: dict[int, socket.socket] = {}
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    selector.register(wake_r, selectors.EVENT_READ, "reap")
    selector.register(sys.stdin.fileno(), selectors.EVENT_READ, "stdin")
    sys.stdout.write("ready\n")
    sys.stdout.flush()

    def reap() -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            conn = children.pop(pid, None)
            if conn is not None:
                with contextlib.suppress(OSError):
                    conn.sendall(json.dumps({"status": status}).encode() + b"\n")
                conn.close()

    while True:
        for key, _ in selector.select():
            if key.data == "stdin":
                if not os.read(sys.stdin.fileno(), 4096):
                    return None
            elif key.data == "reap":
                with contextlib.suppress(BlockingIOError):
                    os.read(wake_r, 4096)
                reap()
            else:
                conn, _ = listener.accept()
                try:
                    job = receive(conn)
                except (OSError, ValueError, KeyError):
                    conn.close()
                    continue
                sys.stdout.flush()
                sys.stderr.flush()
                pid = os.fork()
                if pid == 0:
                    signal.set_wakeup_fd(-1)
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    selector.close()
                    listener.close()
                    for other in (conn, *children.values()):
                        other.close()
                    os.close(wake_r)
                    os.close(wake_w)
                    return job
                for fd in set(job.fds):
                    os.close(fd)
                children[pid] = conn
                conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
                reap()  # a child that ended before its pid was sent


def fresh_stdio() -> None:
    """sys.stdin/stdout/stderr as a new interpreter makes them over fds 0-2 (line-buffered on a terminal)."""
    encoding = sys.stdout.encoding
    for name, fd, mode in (("stdin", 0, "rb"), ("stdout", 1, "wb"), ("stderr", 2, "wb")):
        old: Any = getattr(sys, name)
        raw = io.FileIO(fd, mode, closefd=False)
        buffered: Any = io.BufferedReader(raw) if mode == "rb" else io.BufferedWriter(raw)
        stream = io.TextIOWrapper(
            buffered,
            encoding=encoding,
            errors=old.errors,
            newline="\n",
            line_buffering=name == "stderr" or (name == "stdout" and os.isatty(fd)),
        )
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)


def become(job: Job) -> None:
    """Turn this fork into `python -m swarmchat ARGV` run in job.cwd with job.env, on the fds it was given."""
    if job.tty:
        os.setsid()
    for target, fd in enumerate(job.fds):
        os.dup2(fd, target)
    for fd in set(job.fds):
        if fd > 2:
            os.close(fd)
    if job.tty:
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    os.environ.clear()
    os.environ.update(job.env)
    os.chdir(job.cwd)
    sys.path[0] = job.cwd  # as `python -m` does
    fresh_stdio()
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.argv = ["swarmchat", *job.argv]


def main() -> None:
    path = sys.argv[1]
    sys.path[0] = str(ROOT)  # not tests/: nothing of the tests is importable by the children
    preload()
    job = serve(path)
    if job is None:
        return
    become(job)
    import runpy

    runpy.run_module("swarmchat", run_name="__main__", alter_sys=True)


# ---------------------------------------------------------------------------------------------- the client


def needs_fresh(env: dict[str, str], args: Sequence[str]) -> bool:
    """A run the zygote cannot stand in for: it changes what is read at start-up, or asks for tracebacks."""
    started = _Zygote.get().env
    for key in set(env) | set(started):
        if key.startswith(FRESH_VARIABLES) and env.get(key) != started.get(key):
            return True
    return "--debug" in args


class _Zygote:
    """This test worker's fork server, started on first use and stopped when the worker exits."""

    instance: _Zygote | None = None
    lock = threading.Lock()

    def __init__(self) -> None:
        self.folder = tempfile.mkdtemp(prefix="zyg")  # short: a Unix socket path has ~100 bytes
        self.path = os.path.join(self.folder, "s")
        env = {k: v for k, v in os.environ.items() if not k.startswith("SWARMCHAT_")}
        env |= {"OPENAI_AGENTS_DISABLE_TRACING": "1", "OPENAI_API_KEY": "sk-zygote-not-used"}
        env.pop("COLUMNS", None)
        env.pop("LINES", None)
        self.env = env
        self.process = subprocess.Popen(
            [sys.executable, __file__, self.path],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd=ROOT,
            text=True,
        )
        assert self.process.stdout is not None
        ready = self.process.stdout.readline()
        if ready.strip() != "ready":
            raise RuntimeError(f"the test zygote did not start (exit {self.process.wait()})")
        atexit.register(self.stop)

    @classmethod
    def get(cls) -> _Zygote:
        with cls.lock:
            if cls.instance is None or cls.instance.process.poll() is not None:
                cls.instance = _Zygote()
            return cls.instance

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            assert self.process.stdin is not None
            self.process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)
        with contextlib.suppress(OSError):
            os.unlink(self.path)
            os.rmdir(self.folder)

    def start(self, argv: Sequence[str], fds: Sequence[int], env: dict[str, str], cwd: str, tty: bool) -> Child:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(self.path)
        body = json.dumps({"argv": list(argv), "env": env, "cwd": cwd, "tty": tty}).encode()
        socket.send_fds(conn, [struct.pack("!I", len(body)) + body], list(fds))
        answer = b""
        while b"\n" not in answer:
            chunk = conn.recv(4096)
            if not chunk:
                raise RuntimeError("the test zygote did not start the command")
            answer += chunk
        line, rest = answer.split(b"\n", 1)
        return Child(json.loads(line)["pid"], conn, rest)


class Child:
    """A process the zygote forked: its pid, and its wait status when it ends."""

    def __init__(self, pid: int, conn: socket.socket, rest: bytes) -> None:
        self.pid = pid
        self.conn = conn
        self.buffer = rest  # what followed the pid line
        self.status: int | None = None

    def wait_status(self, timeout: float | None) -> int | None:
        """The raw wait status, waiting up to `timeout` seconds (None: for ever); None if still running."""
        if self.status is None:
            deadline = None if timeout is None else time.monotonic() + timeout
            while b"\n" not in self.buffer:
                self.conn.settimeout(None if deadline is None else max(0.0, deadline - time.monotonic()))
                try:
                    chunk = self.conn.recv(4096)
                except (TimeoutError, BlockingIOError):
                    return None
                if not chunk:  # the zygote itself died: count it as a kill
                    self.buffer = json.dumps({"status": signal.SIGKILL}).encode() + b"\n"
                    break
                self.buffer += chunk
            self.status = int(json.loads(self.buffer.split(b"\n", 1)[0])["status"])
            self.conn.close()
        return self.status

    def returncode(self, timeout: float | None) -> int | None:
        status = self.wait_status(timeout)
        if status is None:
            return None
        return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def _fd_for(spec: object, mode: str, opened: list[int]) -> tuple[int, int | None]:
    """(fd for the child, our end of a new pipe or None) for a subprocess-style stdin/stdout/stderr spec."""
    if spec == subprocess.PIPE:
        r, w = os.pipe()
        child, ours = (r, w) if mode == "r" else (w, r)
        opened.append(child)
        return child, ours
    if spec == subprocess.DEVNULL:
        fd = os.open(os.devnull, os.O_RDWR)
        opened.append(fd)
        return fd, None
    if spec is None:
        return {"r": 0, "w": 1}[mode], None
    if isinstance(spec, int):
        return spec, None
    return spec.fileno(), None  # type: ignore[attr-defined]


class Process:
    """`subprocess.Popen([python, -m, swarmchat, *args], ...)` served by the zygote: the same attributes
    and methods the tests use (pid, returncode, stdin/stdout/stderr, poll, wait, communicate, signals)."""

    def __init__(
        self,
        args: Sequence[str],
        *,
        stdin: object = None,
        stdout: object = None,
        stderr: object = None,
        env: dict[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        text: bool = False,
    ) -> None:
        opened: list[int] = []
        in_fd, in_ours = _fd_for(stdin, "r", opened)
        out_fd, out_ours = _fd_for(stdout, "w", opened)
        if stderr == subprocess.STDOUT:
            err_fd, err_ours = out_fd, None
        else:
            err_fd, err_ours = _fd_for(stderr, "w", opened)
        self.args = list(args)
        try:
            self.child = _Zygote.get().start(
                args, [in_fd, out_fd, err_fd], dict(os.environ if env is None else env), str(cwd or ROOT), False
            )
        finally:
            for fd in opened:
                os.close(fd)
        self.pid = self.child.pid
        self.returncode: int | None = None
        self.text = text
        self.stdin: Any = self._wrap(in_ours, "wb")
        self.stdout: Any = self._wrap(out_ours, "rb")
        self.stderr: Any = self._wrap(err_ours, "rb")

    def _wrap(self, fd: int | None, mode: str) -> IO[Any] | None:
        if fd is None:
            return None
        if self.text:
            return open(fd, mode[0], encoding="utf-8", errors="strict", closefd=True)
        return open(fd, mode, buffering=0 if mode == "wb" else -1)

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.child.returncode(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self.returncode = self.child.returncode(timeout)
            if self.returncode is None:
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def communicate(self, input: Any = None, timeout: float | None = None) -> tuple[Any, Any]:
        """Feed `input`, read stdout and stderr to their end, wait; as Popen.communicate."""
        results: dict[str, Any] = {}

        def drain(name: str, stream: IO[Any]) -> None:
            results[name] = stream.read()
            stream.close()

        readers = [
            threading.Thread(target=drain, args=(name, stream), daemon=True)
            for name, stream in (("out", self.stdout), ("err", self.stderr))
            if stream is not None
        ]
        for reader in readers:
            reader.start()
        if self.stdin is not None:
            with contextlib.suppress(BrokenPipeError):
                if input:
                    self.stdin.write(input)
                self.stdin.close()
        deadline = None if timeout is None else time.monotonic() + timeout
        for reader in readers:
            reader.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
            if reader.is_alive():
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
        self.wait(None if deadline is None else max(0.01, deadline - time.monotonic()))
        return results.get("out"), results.get("err")

    def __enter__(self) -> Process:
        return self

    def __exit__(self, *exc: object) -> None:
        for stream in (self.stdin, self.stdout, self.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self.wait()


def run(
    args: Sequence[str],
    *,
    input: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """`subprocess.run([python, -m, swarmchat, *args], capture_output=True, text=True)` through the zygote."""
    process = Process(
        args,
        stdin=subprocess.DEVNULL if input is None else subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=cwd,
        text=True,
    )
    try:
        out, err = process.communicate(input, timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise
    return subprocess.CompletedProcess(list(args), process.wait(), out, err)


class _PtyChild(ptyprocess.PtyProcess):  # type: ignore[misc]
    """ptyprocess's view of a zygote child in a new pseudo-terminal: reading, writing and the window are
    ptyprocess's own; whether it lives and how it ended come from the zygote, its parent."""

    zygote_child: Child

    @classmethod
    def start(cls, argv: Sequence[str], env: dict[str, str], cwd: str, dimensions: tuple[int, int]) -> _PtyChild:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", dimensions[0], dimensions[1], 0, 0))
        try:
            child = _Zygote.get().start(argv, [slave, slave, slave], env, cwd, True)
        finally:
            os.close(slave)
        inst = cls(child.pid, master)
        inst.zygote_child = child
        return inst

    def _ended(self, status: int) -> None:
        self.status = status
        self.terminated = True
        signalled = os.WIFSIGNALED(status)
        self.exitstatus: int | None = None if signalled else os.WEXITSTATUS(status)
        self.signalstatus: int | None = os.WTERMSIG(status) if signalled else None

    def isalive(self) -> bool:
        if self.terminated:
            return False
        status = self.zygote_child.wait_status(None if self.flag_eof else 0)
        if status is None:
            return True
        self._ended(status)
        return False

    def wait(self) -> int | None:
        if not self.terminated:
            self._ended(self.zygote_child.wait_status(None) or 0)
        return self.exitstatus


class Spawn(pexpect.spawn):  # type: ignore[misc]
    """`pexpect.spawn(python, [-m, swarmchat, *args])` whose child the zygote forks."""

    def __init__(self, args: Sequence[str], **kwargs: Any) -> None:
        self.swarmchat_args = list(args)
        super().__init__(sys.executable, ["-m", "swarmchat", *args], **kwargs)
        if not isinstance(self.ptyproc, _PtyChild):  # pexpect (bounded in pyproject.toml) stopped calling it
            self.ptyproc.kill(signal.SIGKILL)
            raise RuntimeError("pexpect no longer starts its child through spawn._spawnpty: update tests/zygote.py")

    def _spawnpty(self, args: list[str], **kwargs: Any) -> _PtyChild:
        env = dict(os.environ if kwargs.get("env") is None else kwargs["env"])
        dimensions = kwargs.get("dimensions") or (24, 80)
        return _PtyChild.start(self.swarmchat_args, env, str(kwargs.get("cwd") or ROOT), dimensions)


def in_checkout(cwd: str | os.PathLike[str] | None) -> dict[str, str]:
    """The environment that runs this checkout's swarmchat in a new interpreter from another folder."""
    if cwd is None:
        return {}
    return {"PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}


def spawn(args: Sequence[str], *, env: dict[str, str] | None = None, fresh: bool = False, **kwargs: Any) -> Any:
    """A swarmchat in a new pseudo-terminal (pexpect.spawn's interface): forked by the zygote unless the
    run needs a new interpreter."""
    full = dict(os.environ if env is None else env)
    if fresh or needs_fresh(full, args):
        full |= in_checkout(kwargs.get("cwd"))
        return pexpect.spawn(sys.executable, ["-m", "swarmchat", *args], env=full, **kwargs)
    return Spawn(args, env=full, **kwargs)


def popen(args: Sequence[str], *, env: dict[str, str] | None = None, fresh: bool = False, **kwargs: Any) -> Any:
    """`subprocess.Popen` of `python -m swarmchat ARGS`: forked by the zygote unless the run needs a new
    interpreter."""
    full = dict(os.environ if env is None else env)
    if fresh or needs_fresh(full, args):
        full |= in_checkout(kwargs.get("cwd"))
        return subprocess.Popen([sys.executable, "-m", "swarmchat", *args], env=full, **kwargs)
    return Process(args, env=full, **kwargs)


if __name__ == "__main__":
    main()
