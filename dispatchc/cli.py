"""The command line: thin wrappers over the library (SPEC §6).

Only this module parses arguments (argparse: see docs/decisions.md); each
command reads its files with ``files.read_source``, calls the library with
plain values and prints what it returns. Exit codes: 0 success, 1 problems in
the input (or stale output), 2 usage (``errors.UsageError``, whichever
module raises it, and argparse's own errors).
"""

from __future__ import annotations

import argparse
import difflib
import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import targets
from ._version import __version__
from .compiler import analyse, compile_source, gc_paused, load
from .diagnostics import Diagnostic, printable, render_github, render_json, render_text, sort_key
from .errors import DispatchError, UsageError
from .files import (
    check_outputs,
    generated_head,
    output_paths,
    output_problem,
    read_source,
    write_atomic,
    write_stdout,
)
from .plan import Plan
from .source import Source


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


class _CommandParser(_Parser):
    """A subcommand's parser reports its own unknown arguments, with its own
    usage line (argparse would pass them up to ``dispatchc``'s). Its epilog
    may be made only when its help is shown (``epilog_of``)."""

    def __init__(self, *args: Any, epilog_of: Callable[[], str] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.epilog_of = epilog_of

    def format_help(self) -> str:
        if self.epilog_of is not None:
            self.epilog = self.epilog_of()
        return super().format_help()

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[no-untyped-def]
        namespace, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return namespace, extras


def _targets_epilog() -> str:
    return "targets:\n" + "\n".join(
        f"  {name:<8}{summary}" for name, summary in targets.summaries()
    )


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="dispatchc",
        description="Compile routing files (*.disp) into WSGI dispatcher modules.",
    )
    parser.add_argument("--version", action="version", version=f"dispatchc {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_CommandParser)
    sub.required = True

    build = sub.add_parser(
        "build",
        help="compile routing files (into Python modules, or another target's output)",
        # Listing the targets imports them all (Jinja2 with them): only for the help.
        epilog_of=_targets_epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    build.add_argument("files", nargs="+", type=Path, metavar="FILE")
    build.add_argument(
        "--target",
        choices=list(targets.REGISTRY),
        default=None,
        metavar="NAME",
        help="what to compile to (see below); by default, the target an existing output "
        f"was built for, else {targets.DEFAULT}",
    )
    build.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="output file (a directory when several files are given; - for stdout)",
    )
    build.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if a committed output is missing or stale",
    )
    build.add_argument(
        "--force",
        action="store_true",
        help="replace existing outputs that dispatchc did not generate",
    )
    build.add_argument(
        "--upstreams",
        type=Path,
        metavar="FILE",
        help="where each application runs (TOML): for --target nginx and --upstream",
    )
    build.add_argument(
        "--upstream",
        metavar="NAME",
        help="build the WSGI module that the machines of upstream NAME serve "
        "(default output FILE_NAME.py)",
    )
    build.set_defaults(func=cmd_build)

    lint = sub.add_parser("lint", help="report every error and warning in routing files")
    lint.add_argument("files", nargs="+", type=Path, metavar="FILE")
    lint.add_argument(
        "--format",
        choices=("text", "json", "github"),
        default="text",
        help="text (stderr), json or github annotations (stdout)",
    )
    lint.add_argument(
        "--resolve",
        action="store_true",
        help="also import every target and check it exists and is callable",
    )
    lint.add_argument(
        "--target",
        choices=list(targets.REGISTRY),
        default=targets.DEFAULT,
        help="the target the file is built for: with --resolve, an application must be "
        f"what it calls (default {targets.DEFAULT}; asgi: ASGI, unless marked wsgi)",
    )
    lint.set_defaults(func=cmd_lint)

    fmt = sub.add_parser("fmt", help="rewrite routing files in the canonical layout")
    fmt.add_argument("files", nargs="+", type=Path, metavar="FILE")
    fmt.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if a file would change"
    )
    fmt.add_argument("--diff", action="store_true", help="write nothing; print a unified diff")
    fmt.set_defaults(func=cmd_fmt)

    explain = sub.add_parser("explain", help="show which route handles a URL, and why")
    explain.add_argument("file", type=Path, metavar="FILE")
    explain.add_argument("url", metavar="URL", help="http[s]://host[:port]/path[?query]")
    explain.add_argument(
        "-H",
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="a request header (Host overrides the URL's host)",
    )
    explain.add_argument(
        "--none",
        action="append",
        default=[],
        metavar="ROUTE",
        help="assume this route's factory returns None (a path such as /{prefix}, "
        "or 'HOST PATH'); repeatable",
    )
    explain.add_argument(
        "--target",
        choices=("wsgi", "nginx"),
        default="wsgi",
        help="nginx: also show what the edge does differently (docs/deploy.md)",
    )
    explain.set_defaults(func=cmd_explain)

    show = sub.add_parser("show", help="print the routing table as a tree or a graph")
    show.add_argument("file", type=Path, metavar="FILE")
    show.add_argument("--format", choices=("tree", "dot", "mermaid", "json"), default="tree")
    show.set_defaults(func=cmd_show)

    serve = sub.add_parser("serve", help="compile in memory and serve with werkzeug's dev server")
    serve.add_argument("file", type=Path, metavar="FILE")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=5000, help="port (default 5000)")
    serve.add_argument("--debug", action="store_true", help="enable werkzeug's debugger")
    serve.set_defaults(func=cmd_serve)

    diff = sub.add_parser(
        "diff",
        help="list the requests that a change to a routing file handles differently",
        usage="dispatchc diff [-h] OLD NEW [--format FORMAT] [--exit-zero]\n"
        "       dispatchc diff [-h] --rev REV FILE... [--format FORMAT] [--exit-zero]",
    )
    diff.add_argument("files", nargs="+", type=Path, metavar="FILE", help="OLD NEW, or FILE...")
    diff.add_argument(
        "--rev", metavar="REV", help="compare each FILE with itself at this git revision"
    )
    diff.add_argument(
        "--format",
        choices=("text", "json", "github", "markdown"),
        default="text",
        help="text (default), json, github annotations or markdown (a pull-request comment)",
    )
    diff.add_argument("--exit-zero", action="store_true", help="exit 0 even when requests change")
    diff.set_defaults(func=cmd_diff)
    return parser


# The tools' modules are imported by their commands: ``serve`` imports
# werkzeug's server, and ``build`` or ``lint`` need none of them.


def _plan(path: Path) -> Plan:
    """The plan of a routing file; UsageError when it cannot be read,
    DispatchError (exit 1, every error shown) when it has errors."""
    plan = load(str(path), read_source(path)).plan
    assert plan is not None
    return plan


def cmd_explain(args: argparse.Namespace) -> int:
    from .tools import explain

    environ = explain.build_environ(args.url, args.header)  # a bad URL before the file's errors
    plan = _plan(args.file)
    sys.stdout.write(explain.run(plan, args.url, args.header, args.none))
    if args.target == "nginx":  # what the edge does differently
        from .targets.nginx.explain import render as nginx_notes

        sys.stdout.write(nginx_notes(plan.table, environ))
    return 0


def cmd_fmt(args: argparse.Namespace) -> int:
    from .tools.fmt import run

    return run(args.files, args.check, args.diff)


def cmd_show(args: argparse.Namespace) -> int:
    from .tools import show

    sys.stdout.write(show.render(_plan(args.file), args.format, str(args.file)))
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from .tools.diff import command

    return command.run(args.files, args.rev, args.format, args.exit_zero)


def cmd_serve(args: argparse.Namespace) -> int:
    from .tools import serve

    return serve.run(args.file, args.host, args.port, args.debug)


def _upstream_options(args: argparse.Namespace) -> dict[str, object]:
    """``--upstreams FILE`` and ``--upstream NAME`` (SPEC §10) as target options."""
    target = args.target or targets.DEFAULT
    if args.upstream is not None:
        if target != "wsgi":
            raise UsageError("--upstream NAME builds a WSGI module: it goes with --target wsgi")
        if not (args.upstream.isidentifier() and args.upstream.isascii()):
            raise UsageError(f"--upstream {args.upstream!r}: an upstream name is an identifier")
        if args.upstreams is None:
            raise UsageError("--upstream NAME needs --upstreams FILE")
    elif args.upstreams is not None and target != "nginx":
        raise UsageError("--upstreams FILE goes with --target nginx or --upstream NAME")
    if args.upstreams is None:
        return {}
    from .targets.nginx.upstreams import Input

    options: dict[str, object] = {"upstreams": Input(args.upstreams, read_source(args.upstreams))}
    if args.upstream is not None:
        options["upstream"] = args.upstream
    return options


def _built_for(outputs: list[Path]) -> list[str]:
    """Without ``--target``: each output's target is the one it was built
    for (its header says), else the default."""
    names = []
    for out in outputs:
        head = generated_head(out)
        names.append(targets.DEFAULT if head is None else targets.recorded_target(head))
    return names


def cmd_build(args: argparse.Namespace) -> int:
    # Nothing a build allocates is garbage before it ends: the cyclic
    # collector would only traverse the tables (a tenth of a large build).
    with gc_paused():
        return _build(args)


def _build(args: argparse.Namespace) -> int:
    files: list[Path] = args.files
    target = targets.get(args.target or targets.DEFAULT)
    options = _upstream_options(args)

    def default(path: Path) -> Path:
        return target.default_output(path, options)

    to_stdout = args.output == "-"
    if to_stdout and len(files) > 1:
        raise UsageError("-o - writes one output to stdout: give one file")
    if to_stdout and args.check:
        raise UsageError("--check compares with an output file: -o - names none")
    raws = [read_source(path) for path in files]
    # On stdout, the output is the one build would write beside its source.
    outputs = [default(files[0])] if to_stdout else output_paths(files, args.output, default)
    if not to_stdout:
        check_outputs(files, outputs)
    compiled: list[tuple[Path, str]] = []
    failed = False
    if args.target is not None or to_stdout:
        names = [args.target or targets.DEFAULT] * len(files)
    else:
        names = _built_for(outputs)
    for path, out, raw, name in zip(files, outputs, raws, names, strict=True):
        warnings: list[tuple[Source, Diagnostic]] = []
        try:
            compiled.append((out, compile_source(path, raw, out, name, options, warnings)))
        except DispatchError as exc:
            print(exc.render(), file=sys.stderr)
            failed = True
        for source, warning in warnings:  # what a target does differently (SPEC §8)
            print(render_text(source, warning), file=sys.stderr)
    refused = []
    if not (args.check or to_stdout):
        refused = [p for p in (output_problem(out, args.force) for out in outputs) if p]
    for problem in refused:
        print(f"dispatchc: error: {problem}", file=sys.stderr)
    if failed or refused:
        n = len(files)
        reasons = []
        if failed:
            reasons.append("an input has errors" if n == 1 else "inputs have errors")
        if refused:
            reasons.append("an output was refused" if len(refused) == 1 else "outputs were refused")
        print(f"dispatchc: nothing written ({' and '.join(reasons)})", file=sys.stderr)
        return 1
    if args.check:
        return _check(compiled)
    if to_stdout:
        write_stdout(compiled[0][1])
        return 0
    try:
        write_atomic(compiled)
    except OSError as exc:
        print(f"dispatchc: nothing written: {exc.strerror or exc}: {exc.filename}", file=sys.stderr)
        return 1
    for out, _ in compiled:
        print(f"wrote {out}", file=sys.stderr)
    return 0


def cmd_lint(args: argparse.Namespace) -> int:
    from .checks import check

    files: list[Path] = args.files
    raws = [read_source(path) for path in files]
    found: list[tuple[Source, Diagnostic]] = []
    for path, raw in zip(files, raws, strict=True):
        result = analyse(str(path), raw)
        diagnostics = list(result.diagnostics)
        # Everything in one run (SPEC §6): the checks also run on the partial
        # table of a file with errors; only a syntax or encoding error leaves
        # no table at all.
        if result.table is not None:
            diagnostics += check(result.table)
            if args.resolve:
                from .tools.resolve import resolve  # imports subprocess machinery

                diagnostics += resolve(result.table, str(path.parent), target=args.target)
        diagnostics.sort(key=sort_key)
        found.extend((result.source, d) for d in diagnostics)
    errors = sum(d.is_error for _, d in found)
    if args.format == "json":
        print(render_json(found))
    elif args.format == "github":
        for source, d in found:
            print(render_github(source, d))
    else:
        for source, d in found:
            print(render_text(source, d) + "\n", file=sys.stderr)
        print(_summary(errors, len(found) - errors, len(files)), file=sys.stderr)
    return 1 if errors else 0


def _summary(errors: int, warnings: int, files: int) -> str:
    if not errors and not warnings:
        return f"All checks passed ({files} file{'s' if files != 1 else ''})."

    def plural(n: int, word: str) -> str:
        return f"{n} {word}{'s' if n != 1 else ''}"

    return f"Found {plural(errors, 'error')} and {plural(warnings, 'warning')}."


def _check(compiled: list[tuple[Path, str]]) -> int:
    status = 0
    for out, code in compiled:
        try:
            mode = out.stat().st_mode
        except (FileNotFoundError, NotADirectoryError):
            print(f"{out}: missing (run: dispatchc build)", file=sys.stderr)
            status = 1
            continue
        if not stat.S_ISREG(mode):  # never opened: reading a FIFO would block
            print(f"{out}: not a regular file", file=sys.stderr)
            status = 1
            continue
        current = out.read_text(encoding="utf-8", errors="replace")
        if current == code:
            print(f"{out}: up to date", file=sys.stderr)
            continue
        status = 1
        print(f"{out}: stale (run: dispatchc build)", file=sys.stderr)
        diff = difflib.unified_diff(
            current.splitlines(keepends=True),
            code.splitlines(keepends=True),
            fromfile=f"{out} (committed)",
            tofile=f"{out} (built)",
        )
        sys.stdout.writelines(diff)
    return status


def run() -> None:
    """The ``dispatchc`` console script: ``main``, then exit at once.

    A build of 100,000 routes leaves a large heap behind; letting the
    interpreter free it object by object cost a third of a second, for
    nothing (mypy's console script does the same)."""
    status = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        status = status or 1
    os._exit(status)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"dispatchc: error: {printable(str(exc))}", file=sys.stderr)
        return 2
    except DispatchError as exc:  # show, explain: the file has errors
        text = "\n\n".join(render_text(exc.source, d) for d in exc.diagnostics)
        print(text, file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (`dispatchc lint --format json | head`).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
