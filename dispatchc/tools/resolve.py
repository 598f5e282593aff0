"""``lint --resolve``: import every target and check that it exists, is
callable, and can be called the way the generated module calls it.

Targets are imported in a child Python process (the one running dispatchc),
so whatever their import does — side effects, ``sys.exit``, a hang — cannot
touch the linter; a hang is cut off after ``timeout`` seconds. The child
gets the routing file's directory first on ``sys.path`` (that is where the
generated module lives and where ``gunicorn --chdir`` would import it from),
then the current directory.

The child reports on a channel of its own (SPEC §6): a temporary file that
it reaches through a descriptor number given on its command line and moves
out of the way (above 64, close-on-exec) before it imports anything. Its
stdout is discarded and its stderr kept only to explain a crash, so what a
target prints, at import or at exit, is never read as a result. The parent
waits for the child process itself, never for end-of-file on a pipe, so a
process that a target leaves running does not hold up lint. One result line
is written per target as soon as it is known: when an import hangs or ends
the interpreter, the report names that target, and the targets after it are
checked in a new child.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from typing import Any, TypeGuard

from ..diagnostics import Diagnostic
from ..ir import AppTarget, FactoryTarget, RouteTable, Target
from ..source import Span
from ..targets.asgi import resolve as asgi_resolve

_CHILD = r"""
import difflib, fcntl, importlib, inspect, json, os, sys

_pid = os.getpid()
_given = int(sys.argv[1])
_channel = fcntl.fcntl(_given, fcntl.F_DUPFD_CLOEXEC, 64)
os.close(_given)
_refs = json.loads(sys.stdin.read())


def _close_match(obj, name):
    try:
        names = [n for n in dir(obj) if not n.startswith("__")]
    except Exception:
        return None
    found = difflib.get_close_matches(name, names, n=1)
    return found[0] if found else None


def _shape(obj, arity):
    try:
        sig = inspect.signature(obj)
    except Exception:
        return ["ok"]  # no signature to check (some builtins)
    try:
        sig.bind(*range(arity))
        return ["ok"]
    except TypeError:
        pass
    P = inspect.Parameter
    params = list(sig.parameters.values())
    positional = [p for p in params if p.kind in (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD)]
    star = next((p.name for p in params if p.kind is P.VAR_POSITIONAL), None)
    keyword = [p.name for p in params if p.kind is P.KEYWORD_ONLY and p.default is P.empty]
    return ["signature", {
        "names": [p.name for p in positional],
        "required": sum(p.default is P.empty for p in positional),
        "star": star,
        "keyword": keyword,
    }]


def _check(module, attr, arity, protocol):
    try:
        obj = importlib.import_module(module)
    except BaseException as exc:
        return ["module", f"{type(exc).__name__}: {exc}"]
    parts = attr.split(".")
    for i, name in enumerate(parts):
        try:
            obj = getattr(obj, name)
        except AttributeError:
            match = _close_match(obj, name)
            near = ".".join(parts[:i] + [match]) if match else None
            return ["attribute", ".".join(parts[: i + 1]), near]
    if not callable(obj):
        return ["callable", type(obj).__name__]
    if protocol is not None:
        found = _protocol(obj)
        if found is not None and found != protocol:
            return ["protocol", found]
    return _shape(obj, arity)


for _module, _attr, _arity, _wanted in _refs:
    _line = json.dumps(_check(_module, _attr, _arity, _wanted)) + "\n"
    if os.getpid() != _pid:
        os._exit(0)  # a copy that a target forked and left running: not ours to report
    os.write(_channel, _line.encode("utf-8"))
for _stream in (sys.stdout, sys.stderr):
    try:
        _stream.flush()
    except Exception:
        pass
# Not sys.exit: the targets' atexit handlers and threads are not ours to wait for.
os._exit(0)
"""

_CHILD = _CHILD.replace("\n\nfor _module,", "\n" + asgi_resolve.PROTOCOL + "\n\nfor _module,", 1)

#: How an application target is called (PEP 3333; the ASGI spec).
_APP_ARGS = ("environ", "start_response")
_ASGI_ARGS = ("scope", "receive", "send")


@dataclass(frozen=True)
class _Use:
    module: str
    attr: str
    span: Span
    args: int | None  # a factory's number of arguments; None for an application
    #: What an application must be ("wsgi", "asgi") for the target built.
    protocol: str | None = None
    target: str = "wsgi"  # the target built

    @property
    def ref(self) -> str:
        return f"{self.module}:{self.attr}"

    @property
    def app_args(self) -> tuple[str, ...]:
        return _ASGI_ARGS if self.protocol == "asgi" else _APP_ARGS

    @property
    def arity(self) -> int:
        return len(self.app_args) if self.args is None else self.args


def _use(t: AppTarget | FactoryTarget, target: str = "wsgi") -> _Use:
    if isinstance(t, FactoryTarget):
        return _Use(t.module, t.attr, t.span, len(t.args))
    return _Use(t.module, t.attr, t.span, None, asgi_resolve.expected(target, t), target)


def _imported(t: Target) -> TypeGuard[AppTarget | FactoryTarget]:
    return t.imports


def _references(table: RouteTable, target: str = "wsgi") -> list[_Use]:
    """Each target once, at the place it is written (the `use`, or the route)."""
    seen: set[tuple[str, str, int, int]] = set()
    refs = []
    for use in table.uses:
        t = use.target
        if _imported(t):
            refs.append(_use(t, target))
            seen.add((t.module, t.attr, t.span.line, t.span.column))
    for block in table.all_blocks():
        for route in block.routes:
            t = route.target
            if route.use or not _imported(t):
                continue
            key = (t.module, t.attr, t.span.line, t.span.column)
            if key not in seen:
                seen.add(key)
                refs.append(_use(t, target))
    # In file order: a hang cuts the check short at a predictable place.
    return sorted(refs, key=lambda r: (r.span.line, r.span.column))


@dataclass
class _Run:
    """What one child process reported before it ended."""

    results: list[list[Any]]
    timed_out: bool
    why: str  # for a child that ended early: its last stderr line, or its exit status


def _run(refs: list[_Use], base_dir: str, timeout: float) -> _Run:
    env = dict(os.environ)
    path = [os.path.abspath(base_dir), os.getcwd()]
    if env.get("PYTHONPATH"):
        path.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(path)
    payload = json.dumps([[r.module, r.attr, r.arity, r.protocol] for r in refs]).encode("utf-8")
    with (
        tempfile.TemporaryFile() as stdin,
        tempfile.TemporaryFile() as channel,
        tempfile.TemporaryFile() as stderr,
    ):
        stdin.write(payload)
        stdin.seek(0)
        proc = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(channel.fileno())],
            stdin=stdin,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            pass_fds=(channel.fileno(),),
            env=env,
            cwd=base_dir or ".",
        )
        timed_out = False
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            if proc.returncode is None:
                proc.kill()
                proc.wait()
        channel.seek(0)
        results = []
        for line in channel.read().decode("utf-8", "replace").splitlines():
            try:
                results.append(json.loads(line))
            except ValueError:
                break
        return _Run(results, timed_out, _why(proc.returncode, stderr))


def _why(status: int, stderr: Any) -> str:
    stderr.seek(0, os.SEEK_END)
    stderr.seek(max(0, stderr.tell() - 4096))
    lines = stderr.read().decode("utf-8", "replace").strip().splitlines()
    if lines:
        return lines[-1].strip()
    if status < 0:
        return f"killed by signal {-status}"
    return f"exit status {status}"


def resolve(
    table: RouteTable, base_dir: str, timeout: float = 60.0, target: str = "wsgi"
) -> list[Diagnostic]:
    """What importing the targets finds, for a build with ``target``."""
    refs = _references(table, target)
    out: list[Diagnostic] = []
    done = 0
    while done < len(refs):
        run = _run(refs[done:], base_dir, timeout)
        for ref, result in zip(refs[done:], run.results, strict=False):
            out.extend(_diagnose(ref, result))
        done += len(run.results)
        if done >= len(refs):
            break
        # The child ended (or hung) while checking this target.
        ref = refs[done]
        module_span = ref.span.shifted(0, len(ref.module))
        if run.timed_out:
            out.append(
                Diagnostic(
                    "E401",
                    f"importing module '{ref.module}' did not finish within {timeout:g} s",
                    module_span,
                    help="the module blocks at import time; later targets were not checked",
                )
            )
            break
        out.append(
            Diagnostic(
                "E401",
                f"importing module '{ref.module}' stopped the interpreter ({run.why})",
                module_span,
            )
        )
        done += 1
    return out


def _diagnose(ref: _Use, result: list[Any]) -> list[Diagnostic]:
    kind = result[0]
    module_span = ref.span.shifted(0, len(ref.module))
    attr_span = ref.span.shifted(len(ref.module) + 1, len(ref.attr))
    if kind == "module":
        return [
            Diagnostic(
                "E401",
                f"module '{ref.module}' cannot be imported ({result[1]})",
                module_span,
                help="check the module name and that it is on sys.path",
            )
        ]
    if kind == "attribute":
        missing, near = result[1], result[2]
        return [
            Diagnostic(
                "E402",
                f"module '{ref.module}' has no attribute '{missing}'",
                attr_span,
                help=f"did you mean '{near}'?" if near else None,
            )
        ]
    if kind == "callable":
        return [
            Diagnostic(
                "E403",
                f"'{ref.ref}' is a {result[1]}, not a callable",
                attr_span,
                help="a target is a WSGI application or a factory function",
            )
        ]
    if kind == "signature":
        return [_wrong_signature(ref, result[1])]
    if kind == "protocol":
        return [asgi_resolve.wrong_protocol(ref.ref, ref.span, result[1], ref.target)]
    return []


def _arguments(n: int) -> str:
    return "no arguments" if n == 0 else f"{n} argument{'s' if n != 1 else ''}"


def _wrong_signature(ref: _Use, shape: dict[str, Any]) -> Diagnostic:
    """E404: the target cannot be called with ``ref.arity`` positional arguments."""
    names: list[str] = shape["names"]
    required: int = shape["required"]
    star: str | None = shape["star"]
    keyword: list[str] = shape["keyword"]
    positional_ok = required <= ref.arity and (star is not None or ref.arity <= len(names))
    if ref.args is None:
        args = ref.app_args
        called = f"an application is called with {len(args)} ({', '.join(args)})"
        if ref.protocol == "asgi":
            help = "an ASGI application is called as app(scope, receive, send)"
        else:
            help = "a WSGI application is called as app(environ, start_response)"
    else:
        called = f"the route passes {ref.args}"
        help = "a factory is called with the route's arguments, in the order written"
    if positional_ok and keyword:
        message = (
            f"{ref.ref} requires the keyword-only argument '{keyword[0]}', "
            "but targets are called with positional arguments only"
        )
    else:
        shown = names + ([f"*{star}"] if star else [])
        if star is not None:
            count = f"at least {_arguments(required)}"
        elif required == len(names):
            count = _arguments(required)
        else:
            count = f"{required} to {len(names)} arguments"
        message = f"{ref.ref} takes {count}" + (f" ({', '.join(shown)})" if shown else "")
        message += f", but {called}"
        if ref.args is None and not keyword:
            message += f"; did you mean {ref.ref}({', '.join(names[:required])})?"
    return Diagnostic("E404", message, ref.span, help=help)
