"""Hardening (issue 6): hostile Host headers, made-up subdomains, racing
threads, and the semantics users trip on (documented in docs/semantics.md).

1. Host headers (SPEC §2). Hypothesis sends random Host values (latin-1
   noise, NUL, spaces, ``%``, huge values, IPv6 with and without brackets
   and zone ids, ports out of range, ``a..b``, upper case, trailing dots) and
   SERVER_NAME/SERVER_PORT pairs to a generated module. Each answer must be
   what an independent oracle written below gives, and what
   ``dispatchc.plan.matcher.dispatch`` gives: 400, or the route of a dot-bounded,
   case-insensitive label match. No exception, and no factory ever sees a
   value that is not a valid label. The host memo (``_dc_hosts``) is checked
   to stay bounded and never to answer a header differently from the first
   time.
2. Memory (SPEC §4): 100,000 made-up subdomains against a ``{x}.example.com``
   factory route with the default cache: live app instances never exceed
   1024, and traced memory after the run is within 2 MB of memory after the
   first 1,000 requests.
3. Concurrency (SPEC §4): 64 threads racing on 1,000 cold keys; hits and
   other keys during a factory call blocked on an Event; a factory that
   raises on 10% of its calls.
4. Semantics users trip on: dot segments are not resolved, ``%2F`` arrives
   decoded, an HTTP/1.0 request without Host is routed by SERVER_NAME. The
   ``slow`` tests check these over a real gunicorn, the others in process.

Joins and waits carry a generous timeout (``JOIN``) that detects a deadlock
(the test fails instead of hanging); it is not a speed bound. The few
figures measured (memory, hit latency) are printed (``pytest -s`` shows
them) and are part of the assertion messages. They are not stored with
``record_property``, which errors under ``--junitxml`` (xunit2).
"""

from __future__ import annotations

import ast
import gc
import ipaddress
import json
import random
import re
import socket
import statistics
import threading
import time
import tracemalloc
import types
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.test import Client

from dispatchc.compiler import load_table
from dispatchc.plan.matcher import dispatch

from .helpers import Label, Worker, compile_text, gunicorn
from .helpers import build_with as build
from .helpers import call as call_app
from .helpers import environ as environ_for

#: Deadlock detector for joins and waits, in seconds (not a speed assertion).
JOIN = 30.0


def call(app: Callable, environ: dict) -> tuple[int, bytes]:
    response = call_app(app, environ)
    return response.status, response.body


# == 1. Host headers ========================================================

FUZZ_ROUTES = """
host example.com, www.example.com { / -> T:named("exact") }
host bücher.example { / -> T:named("idna") }
host [::1], [2001:db8::1] { / -> T:named("v6") }
host {sub}.example.com { / -> T:capture(sub) cache 0 }
host {t}.{r}.example.com { / -> T:capture(t, r) cache 0 }
host {x}.a-b_c.example.net { / -> T:capture(x) cache 0 }
host *.example.net { / -> T:named("wild") }
default { / -> T:named("default") }
"""

# Capture routes use "cache 0", so the factory sees the captures of every
# request (and a failure replays the same way under Hypothesis).

# The oracle's reading of FUZZ_ROUTES, in SPEC §2 precedence order, written
# by hand: (dispatchc.route, literal suffix labels, capture names or None
# for "*"); exact hosts are the ones with no capture and no "*".
ORACLE_EXACT = {
    "example.com": "example.com /",
    "www.example.com": "www.example.com /",
    "xn--bcher-kva.example": "xn--bcher-kva.example /",
    "[::1]": "[::1] /",
    "[2001:db8::1]": "[2001:db8::1] /",
}
ORACLE_PATTERNS = [
    ("{x}.a-b_c.example.net /", ["a-b_c", "example", "net"], ("x",)),  # 3 literal labels
    ("{t}.{r}.example.com /", ["example", "com"], ("t", "r")),  # more captures first
    ("{sub}.example.com /", ["example", "com"], ("sub",)),
    ("*.example.net /", ["example", "net"], None),  # "*" last
]

_PORT = re.compile(r"[0-9]{1,5}")  # decisions.md: at most 5 ASCII digits
_HOST_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-_.")
VALID_LABEL = re.compile(r"[a-z0-9_-]+")


def oracle_host(environ: dict) -> tuple[str, int] | None:
    """SPEC §2 read plainly: the request's (host, port), or None for a 400."""
    raw = environ.get("HTTP_HOST")
    if raw:
        if not raw.isascii():
            return None
        raw = raw.lower()
        if raw.startswith("["):
            m = re.fullmatch(r"(\[[^\]]*\])(?::(.*))?", raw, re.S)
            if m is None:
                return None
            name, port_text = m.group(1), m.group(2)  # None: no ":" at all
        else:
            name, colon, port_text = raw.rpartition(":")
            if not colon:
                name, port_text = raw, None
    else:
        name = environ.get("SERVER_NAME") or ""
        port_text = environ.get("SERVER_PORT") or None
        if not name.isascii() or not (port_text or "").isascii():
            return None
        name = name.lower()
        if ":" in name and not name.startswith("["):  # decisions.md: an IPv6 literal
            name = "[" + name + "]"
    if port_text is None:
        port = 443 if environ.get("wsgi.url_scheme") == "https" else 80
    elif _PORT.fullmatch(port_text) and 1 <= int(port_text) <= 65535:
        port = int(port_text)
    else:
        return None
    if name.endswith("."):
        name = name[:-1]  # one trailing dot
    if name.startswith("["):
        inner = name[1:-1]
        if not name.endswith("]") or "%" in inner:  # no zone identifiers
            return None
        try:
            ipaddress.IPv6Address(inner)
        except ValueError:
            return None
        return name, port
    if not name or len(name) > 253 or "" in name.split(".") or not set(name) <= _HOST_CHARS:
        return None
    return name, port


def oracle(environ: dict) -> tuple[int, str | None, dict | None]:
    """(status, dispatchc.route, host captures) for FUZZ_ROUTES."""
    found = oracle_host(environ)
    if found is None:
        return 400, None, None
    name, _port = found  # FUZZ_ROUTES has no port pattern
    if name in ORACLE_EXACT:
        return 200, ORACLE_EXACT[name], None
    labels = name.split(".")
    for route, suffix, names in ORACLE_PATTERNS:
        head = len(labels) - len(suffix)
        if head < 1 or labels[head:] != suffix:  # labels, never a string suffix
            continue
        if names is None:
            return 200, route, None
        if head == len(names):
            return 200, route, dict(zip(names, labels, strict=False))
    return 200, "default /", None


class FuzzWorld:
    """FUZZ_ROUTES compiled once, with targets that record what they get."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.captured: list[Any] = []  # every argument capture() ever received
        self.named: list[Any] = []  # every argument named() ever received
        self.app_calls = 0
        world = self

        class App:
            def __init__(self, label: str):
                self.label = label

            def __call__(self, environ, start_response):
                with world.lock:
                    world.app_calls += 1
                start_response("200 OK", [("Content-Type", "text/plain")])
                return [self.label.encode()]

        def named(label):
            with world.lock:
                world.named.append(label)
            return App(label)

        def capture(*args):
            with world.lock:
                world.captured.extend(args)
            return App("capture")

        text = FUZZ_ROUTES
        self.module = build(text, named=named, capture=capture)
        self.app = self.module.application
        self.table = load_table("routes.disp", text.replace("T:", "t:").encode("utf-8"))
        # The memo's bound, from the size of _DC_FAST at import (not its
        # current size: a memo that wrote into _DC_FAST would move the bound).
        self.memo_bound = len(self.module._DC_FAST) + self.module._DC_MEMO_SIZE
        self.first_answers: dict[tuple, tuple] = {}

    def ask(self, environ: dict) -> tuple[int, str | None, dict | None]:
        """The generated module's answer; checks what no answer may do."""
        with self.lock:
            before = len(self.captured), len(self.named), self.app_calls
        env = dict(environ)
        status, _ = call(self.app, env)
        with self.lock:
            captured, named = self.captured[before[0] :], self.named[before[1] :]
            calls = self.app_calls - before[2]
        # No factory ever sees an invalid host: every capture is a valid label.
        for value in captured:
            assert VALID_LABEL.fullmatch(value), (
                f"a factory received {value!r} for {environ.get('HTTP_HOST')!r}"
            )
        assert set(named) <= {"exact", "idna", "v6", "wild", "default"}
        if status == 400:  # and no factory or app was called at all
            assert (captured, named, calls) == ([], [], 0)
            assert "dispatchc.route" not in env
        # Internal: the host memo never holds more than its bound.
        assert len(self.module._dc_hosts) <= self.memo_bound
        routing_args = env.get("wsgiorg.routing_args")
        return status, env.get("dispatchc.route"), routing_args[1] if routing_args else None

    def matcher(self, environ: dict) -> tuple[int, str | None, dict | None]:
        outcome = dispatch(self.table, dict(environ))
        if outcome.status is not None:
            return outcome.status, None, None
        return 200, outcome.route_name, outcome.candidate.captures or None


_WORLD: FuzzWorld | None = None


def fuzz_world() -> FuzzWorld:
    """One module for the whole Hypothesis run, so the memo sees every host."""
    global _WORLD
    if _WORLD is None:
        _WORLD = FuzzWorld()
    return _WORLD


# -- strategies --------------------------------------------------------------

NOISE = '\x00\t "%/@\\[]:\x7f\xa0\xc9\xdf\xe9\xff'  # latin-1, as servers decode
NON_LATIN1 = "\u212a\u0130\uff41\u0663\u00b2"  # Kelvin sign (lower() is "k"), İ, ａ, ٣, ²
NAMED_LABELS = ["example", "com", "net", "www", "a-b_c", "xn--bcher-kva", "a", "z9", "-", "_"]
SUFFIXES = [
    "example.com",
    "example.net",
    "a-b_c.example.net",
    "xn--bcher-kva.example",
    "evilexample.com",
    "example.com.evil",
    "com",
    "",
]
PORT_TEXTS = [
    "",
    "",
    "",
    ":",
    ":0",
    ":1",
    ":80",
    ":443",
    ":8080",
    ":65535",
    ":65536",
    ":99999",
    ":080",
    ":00080",
    ":000080",
    ":-1",
    ":+80",
    ": 80",
    ":80 ",
    ":8o",
    ":\u00b2",
    ":\u0663",
    "::80",
    ":80:80",
    ":0x50",
]

clean_labels = st.one_of(
    st.sampled_from(NAMED_LABELS), st.text("abcxyz0189-_", min_size=1, max_size=6)
)
labels = st.one_of(
    clean_labels,
    clean_labels,
    clean_labels,
    st.text("abcXYZ0-_." + NOISE, max_size=5),
    st.text("ab" + NON_LATIN1, min_size=1, max_size=3),
    st.just(""),
)
ports = st.one_of(
    st.just(""),
    st.sampled_from(PORT_TEXTS),
    st.integers(-3, 10**6).map(lambda n: f":{n}"),
)


def recase(text: str, how: int) -> str:
    return [text, text, text.upper(), text.title(), text.swapcase()][how]


@st.composite
def named_hosts(draw) -> str:
    """Labels before a known suffix, with case, trailing dots and a port."""
    parts = draw(st.lists(labels, max_size=4))
    suffix = draw(st.sampled_from(SUFFIXES))
    host = ".".join([*parts, suffix] if suffix else parts)
    host = recase(host, draw(st.integers(0, 4)))
    host += draw(st.sampled_from(["", "", "", ".", ".."]))
    return host + draw(ports)


AIMED = [
    "example.com",
    "www.example.com",
    "xn--bcher-kva.example",
    "{}.example.com",
    "{}.{}.example.com",
    "{}.{}.{}.example.com",
    "{}.a-b_c.example.net",
    "{}.{}.a-b_c.example.net",
    "{}.example.net",
    "{}.{}.example.net",
    "{}.other.test",
]


@st.composite
def aimed_hosts(draw) -> str:
    """A host near one of FUZZ_ROUTES' patterns, often bent a little: case,
    trailing dots, a port, a character of noise, a doubled dot."""
    shape = draw(st.sampled_from(AIMED))
    host = shape.format(*(draw(clean_labels) for _ in range(shape.count("{}"))))
    for _ in range(draw(st.integers(0, 2))):
        how = draw(st.integers(0, 5))
        if how == 0:
            host = recase(host, draw(st.integers(1, 4)))
        elif how == 1:
            host += draw(st.sampled_from([".", ".."]))
        elif how in (2, 3):
            host += draw(ports)
        elif how == 4:
            at = draw(st.integers(0, len(host)))
            host = host[:at] + draw(st.sampled_from(NOISE + NON_LATIN1 + ".")) + host[at:]
        else:
            host = host.replace(".", "..", 1)
    return host


@st.composite
def ipv6_hosts(draw) -> str:
    """IPv6 literals: bracketed or not, with zone ids, broken brackets, ports."""
    known = st.sampled_from(["::1", "2001:db8::1"]).map(ipaddress.IPv6Address)
    addr = draw(st.one_of(known, known, st.ip_addresses(v=6)))
    text = draw(st.sampled_from([addr.compressed, addr.exploded]))
    text = recase(text, draw(st.integers(0, 4)))
    text += draw(st.sampled_from(["", "", "", "", "", "%eth0", "%25eth0", "%", "."]))
    # Brackets: both (often), none, one missing, a dot after them.
    opening, closing = draw(st.sampled_from([("[", "]")] * 4 + [("", ""), ("[", ""), ("", "]")]))
    text = opening + text + closing + draw(st.sampled_from(["", "", "", "", "."]))
    return text + draw(ports)


@st.composite
def huge_hosts(draw) -> str:
    """Around the 253-character limit, and far beyond it."""
    kind = draw(st.integers(0, 2))
    if kind == 0:  # one long label (SPEC limits the total only) before a suffix
        total = draw(st.integers(248, 258))
        host = "h" * (total - len(".example.net")) + ".example.net"
        return host + draw(st.sampled_from(["", ".", ":8080", ".:8080"]))
    if kind == 1:  # many labels
        count = draw(st.integers(60, 140))
        return "a." * count + "example.com"
    return draw(st.sampled_from("ax.")) * draw(st.integers(254, 70_000))


host_headers = st.one_of(
    aimed_hosts(),
    aimed_hosts(),
    aimed_hosts(),
    aimed_hosts(),
    named_hosts(),
    named_hosts(),
    ipv6_hosts(),
    huge_hosts(),
    st.text(st.characters(max_codepoint=255), max_size=24),  # latin-1 bytes
    st.sampled_from(
        [
            "a..b",
            "a..b.example.com",
            "..example.com",
            ".example.com",
            "%61.example.com",
            "a%2eb.example.com",
            "a b.example.com",
            "a\x00.example.com",
            "example.com\x00",
            "\x00",
            "EXAMPLE.COM.",
            "Www.Example.Com.:443",
            "x.A-B_C.example.NET.",
            "example.net",
            "a.example.net",
            "a.b.c.example.net",
            "[::1]",
            "[::1]:8080",
            "[::1]:0",
            "::1",
            "[fe80::1%eth0]",
            "[]",
            ".",
            ":80",
            "-",
            "_",
        ]
    ),
)


@st.composite
def host_environs(draw) -> dict:
    scheme = draw(st.sampled_from(["http", "https"]))
    if draw(st.integers(0, 7)):
        return environ_for(draw(host_headers), **{"wsgi.url_scheme": scheme})
    # No Host header (HTTP/1.0) or an empty one: SERVER_NAME and SERVER_PORT.
    name = draw(st.one_of(named_hosts(), ipv6_hosts(), st.text(NOISE + "ab.:", max_size=8)))
    name = name.rpartition(":")[0] if draw(st.booleans()) and ":" in name else name
    port = draw(st.sampled_from([None, "", "80", "443", "8080", "0", "65536", "http", "\u00b2"]))
    host = draw(st.sampled_from([None, ""]))
    return environ_for(host, SERVER_NAME=name, SERVER_PORT=port, **{"wsgi.url_scheme": scheme})


@settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(host_environs())
# Always tried, whatever Hypothesis draws: the Kelvin sign lower-cases to an
# ASCII "k" (only the non-ASCII check rejects it), a zone id, an empty name,
# the 253/254-character limit, port 0, an empty label, the suffix itself.
@example(environ_for("\u212a.example.com"))
@example(environ_for("[fe80::1%eth0]"))
@example(environ_for(":80"))
@example(environ_for("h" * 241 + ".example.net"))
@example(environ_for("h" * 242 + ".example.net"))
@example(environ_for("h" * 241 + ".example.net."))
@example(environ_for("a.example.com:0"))
@example(environ_for("a..b.example.com"))
@example(environ_for("example.net"))
@example(environ_for("", SERVER_NAME="a.b.example.com", SERVER_PORT="8080"))
def test_random_hosts_get_400_or_the_label_match(environ):
    world = fuzz_world()
    expected = oracle(environ)
    event(f"answer: {expected[0]} {expected[1]}")
    assert world.matcher(environ) == expected, "the reference matcher disagrees with the oracle"
    assert world.ask(environ) == expected
    # Again: now answered from the host memo when it holds the header.
    assert world.ask(environ) == expected
    key = (environ.get("HTTP_HOST"), environ.get("SERVER_NAME"), environ.get("SERVER_PORT"))
    key += (environ["wsgi.url_scheme"],)
    assert world.first_answers.setdefault(key, expected) == expected


# -- the host memo over many made-up hosts -----------------------------------


def made_up_hosts(rng: random.Random, count: int) -> list[str]:
    """Distinct raw Host headers: valid, invalid, mixed case, with ports."""
    out: set[str] = set()
    while len(out) < count:
        n = rng.randrange(10**6)
        host = rng.choice(
            [
                f"s{n}.example.com",
                f"S{n}.Example.COM.",
                f"t{n}.r{n % 7}.example.com",
                f"w{n}.x.example.net",
                f"k{n}.a-b_c.example.net",
                f"s{n}..example.com",
                f"s{n}.example.com:0",
                f"s{n}.example.com:{rng.randrange(1, 70000)}",
                f"s%{n}.example.com",
                f"s {n}.example.com",
                f"s\xe9{n}.example.com",
                f"[2001:db8::{n % 65536:x}]",
                f"[::1]:{n % 70000}",
                f"host{n}.test",
                f"{'x' * (200 + n % 100)}.example.net",
            ]
        )
        out.add(host)
    return sorted(out)


def test_host_memo_holds_no_long_headers():
    """The memo (internal: ``_dc_hosts``) is bounded in bytes too: a Host
    header longer than any valid host (260 characters) gets its 400 without
    being remembered, so 1,024 junk headers of a server's maximum size
    cannot pile up; a short one, valid or not, is remembered."""
    world = FuzzWorld()
    module = world.module
    for i in range(50):
        junk = f"{i}" + "a" * 5000 + ".example.com"
        assert world.ask(environ_for(junk))[0] == 400
        assert junk not in module._dc_hosts
    longest_valid = ".".join(["a" * 63] * 3 + ["b" * 61]) + ".:65535"  # 260 characters
    assert len(longest_valid) == 260
    world.ask(environ_for(longest_valid))
    assert longest_valid in module._dc_hosts
    world.ask(environ_for("bad host"))
    assert "bad host" in module._dc_hosts


def test_host_memo_stays_bounded_and_never_answers_stale():
    """20,000 requests over 3,000 distinct headers: the memo (internal:
    ``_dc_hosts``) fills and is reset many times, and a header asked again
    after a reset, or still remembered, always gets its first answer, which
    is the oracle's."""
    world = FuzzWorld()  # a fresh module: the memo starts empty
    module = world.module
    rng = random.Random(6)
    hosts = made_up_hosts(rng, 3000)
    first: dict[str, tuple] = {}
    resets = 0
    remembered = 0
    for _ in range(20_000):
        host = rng.choice(hosts)
        environ = environ_for(host)
        size_before = len(module._dc_hosts)
        answer = world.ask(environ)  # asserts the bound after the call
        if len(module._dc_hosts) < size_before:
            resets += 1
        remembered += host in module._dc_hosts
        expected = first.setdefault(host, oracle(environ))
        assert answer == expected, host
    # The memo was really used, and really reset (else this proved nothing).
    assert remembered > 15_000
    assert resets >= 2


# == 2. Memory under made-up subdomains =====================================


class Counted:
    """An app that counts its live instances."""

    live = 0
    created = 0

    def __init__(self, key: str):
        self.key = key
        Counted.live += 1
        Counted.created += 1

    def __del__(self):
        Counted.live -= 1

    def __call__(self, environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]


def _memory_run(total: int) -> None:
    module = build("host {x}.example.com { / -> T:make(x) }\n", make=Counted)
    app = module.application
    statuses = Counter()

    def start_response(status, headers, exc_info=None):
        statuses[status] += 1

    base = environ_for(None)
    Counted.live = Counted.created = 0
    most_live = 0
    at_1000 = None
    gc.collect()
    tracemalloc.start()
    try:
        for i in range(total):
            environ = dict(base)
            environ["HTTP_HOST"] = f"made-up-{i}.example.com"
            for _ in app(environ, start_response):
                pass
            most_live = max(most_live, Counted.live)
            if i == 999:
                gc.collect()
                at_1000 = tracemalloc.get_traced_memory()[0]
        gc.collect()
        at_end, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    growth = at_end - at_1000
    figures = (
        f"{total:,} made-up subdomains: traced memory {at_1000:,} B after 1,000, "
        f"{at_end:,} B after {total:,} (growth {growth:+,} B, peak {peak:,} B); "
        f"{Counted.created:,} apps created, at most {most_live} alive, {Counted.live} alive at end"
    )
    print(figures)
    assert statuses == {"200 OK": total}
    assert Counted.created == total  # every subdomain is new: one factory call each
    assert most_live <= 1024, figures  # the default cache bound
    assert Counted.live == 1024
    assert growth < 2 * 1024 * 1024, figures


def test_made_up_subdomains_do_not_grow_memory():
    # ~3 s on a shared 2-core machine with tracemalloc on.
    _memory_run(100_000)


# == 3. Concurrency ==========================================================


def finish_all(workers: list[Worker]) -> list[Any]:
    deadline = time.monotonic() + JOIN
    return [w.finish(max(0.0, deadline - time.monotonic())) for w in workers]


def get(app: Callable, path: str) -> tuple[int, bytes]:
    return call(app, environ_for(None, path))


def key_orders(threads: int, keys: list[str], seed: int) -> list[list[str]]:
    """Most threads walk the keys in the same order, so each cold key is
    raced by many threads at once; some walk backwards or shuffled."""
    rng = random.Random(seed)
    orders = []
    for i in range(threads):
        if i % 4 == 3:
            order = list(keys)
            rng.shuffle(order)
        elif i % 4 == 2:
            order = keys[::-1]
        else:
            order = list(keys)
        orders.append(order)
    return orders


def test_64_threads_racing_on_1000_cold_keys_call_each_factory_once():
    threads, keys = 64, [f"k{i}" for i in range(1000)]
    calls: Counter[str] = Counter()
    lock = threading.Lock()

    def make(key):
        with lock:
            calls[key] += 1
            n = sum(calls.values())
        time.sleep(0.001)  # a slow-ish factory: the window where threads pile up
        return Label(f"{key}#{n}")

    app = build("/{k} -> T:make(k)\n", make=make).application  # default cache 1024
    barrier = threading.Barrier(threads)

    def client(order: list[str]) -> dict[str, bytes]:
        barrier.wait(JOIN)
        seen = {}
        for key in order:
            status, body = get(app, f"/{key}")
            assert status == 200
            seen[key] = body
        return seen

    started = time.perf_counter()
    workers = [Worker(client, order) for order in key_orders(threads, keys, seed=64)]
    for w in workers:
        w.start()
    results = finish_all(workers)
    elapsed = time.perf_counter() - started
    print(f"64 threads x 1,000 cold keys: {elapsed:.2f} s")
    assert calls == Counter({key: 1 for key in keys}), [k for k, n in calls.items() if n > 1]
    for key in keys:  # every thread got the one app made for that key
        assert len({seen[key] for seen in results}) == 1, key


def test_hits_and_other_keys_are_not_delayed_by_a_blocked_factory():
    """While one factory call is blocked (for up to 5 s), 48 threads make
    hits and 8 threads make cold requests for other keys; 7 more wait on the
    blocked key. Every hit and every other key must complete well within the
    5 s: a latency near 5 s means it waited on that call."""
    warm = [f"w{i}" for i in range(200)]
    entered, release = threading.Event(), threading.Event()
    calls: Counter[str] = Counter()
    lock = threading.Lock()

    def make(key):
        with lock:
            calls[key] += 1
        if key == "slow":
            entered.set()
            release.wait(5.0)  # released by the test as soon as it has measured
        return Label(key)

    app = build("/{k} -> T:make(k)\n", make=make).application
    for key in warm:
        assert get(app, f"/{key}") == (200, key.encode())

    slow = [Worker(get, app, "/slow") for _ in range(8)]
    slow[0].start()
    assert entered.wait(JOIN)
    for w in slow[1:]:  # these wait for the key's lock, not for a global one
        w.start()

    def timed(paths: list[str]) -> list[float]:
        out = []
        for path in paths:
            t0 = time.perf_counter()
            status, body = get(app, path)
            out.append(time.perf_counter() - t0)
            assert (status, body) == (200, path[1:].encode())
        return out

    rng = random.Random(5)
    hitters = [Worker(timed, [f"/{rng.choice(warm)}" for _ in range(200)]) for _ in range(48)]
    coldies = [Worker(timed, [f"/c{t}-{i}" for i in range(25)]) for t in range(8)]
    try:
        for w in hitters + coldies:
            w.start()
        hit_times = [t for ts in finish_all(hitters) for t in ts]
        cold_times = [t for ts in finish_all(coldies) for t in ts]
        # All of that happened while the factory for "slow" was blocked.
        still_blocked = not release.is_set() and all(w.is_alive() for w in slow)
    finally:
        release.set()
    answers = finish_all(slow)

    def us(values: list[float]) -> str:
        q = statistics.quantiles(values, n=100)
        return (
            f"median {statistics.median(values) * 1e6:.1f} us, p99 {q[98] * 1e6:.1f} us, "
            f"max {max(values) * 1e6:.1f} us"
        )

    figures = (
        f"during a blocked factory call: {len(hit_times):,} hits: {us(hit_times)}; "
        f"{len(cold_times)} other cold keys: {us(cold_times)}"
    )
    print(figures)
    assert still_blocked, "the slow factory call ended before the measurements did"
    assert max(hit_times) < 1.0, figures
    assert max(cold_times) < 1.0, figures
    assert answers == [(200, b"slow")] * 8
    assert calls["slow"] == 1  # the 7 waiters got the one app it made
    assert all(n == 1 for n in calls.values())


def test_a_factory_raising_on_10_percent_of_calls_leaves_nothing_stuck():
    threads, keys = 64, [f"k{i}" for i in range(1000)]
    state = {"raising": True, "calls": 0}
    successes: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    lock = threading.Lock()
    rng = random.Random(10)

    def make(key):
        with lock:
            state["calls"] += 1
            fail = state["raising"] and rng.random() < 0.10
            if not fail:
                successes[key] += 1
        time.sleep(0.0005)
        if fail:
            with lock:
                failures[key] += 1
            raise RuntimeError(f"factory failed for {key}")
        return Label(key)

    module = build("/{k} -> T:make(k)\n", make=make)
    app = module.application
    barrier = threading.Barrier(threads)

    def client(order: list[str]) -> int:
        barrier.wait(JOIN)
        errors = 0
        for key in order:
            try:
                assert get(app, f"/{key}") == (200, key.encode())
            except RuntimeError:
                errors += 1  # the WSGI server's 500
        return errors

    workers = [Worker(client, order) for order in key_orders(threads, keys, seed=10)]
    for w in workers:
        w.start()
    errors = sum(finish_all(workers))
    assert errors > 0 and sum(failures.values()) > 50  # the failures did happen

    # The factory no longer raises: every key can be asked for, from fresh
    # threads, and nothing hangs on a lock left behind.
    with lock:
        state["raising"] = False
    check = [Worker(client, keys[t::8]) for t in range(8)]
    barrier = threading.Barrier(8)
    for w in check:
        w.start()
    assert sum(finish_all(check)) == 0
    # Nothing was cached after a failure, and a success was cached at once:
    # exactly one successful call per key (1,000 keys fit the 1,024 cache).
    assert successes == Counter({key: 1 for key in keys})
    # Internal (_DcCache._pending): no per-key lock is left behind.
    caches = [v for v in vars(module).values() if type(v).__name__ == "_DcCache"]
    assert len(caches) == 1 and caches[0]._pending == {}


# == 4. Semantics users trip on (docs/semantics.md) ==========================

ECHO_SOURCE = '''
import json

KEYS = ("SCRIPT_NAME", "PATH_INFO", "RAW_URI", "REQUEST_URI", "HTTP_HOST",
        "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL", "dispatchc.route")


class Echo:
    """Answers with its label and the parts of the environ that routing sets."""

    def __init__(self, label):
        self.label = label

    def __call__(self, environ, start_response):
        seen = {key: environ.get(key) for key in KEYS}
        seen["app"] = self.label
        args = environ.get("wsgiorg.routing_args")
        seen["captures"] = args[1] if args else None
        body = json.dumps(seen).encode("utf-8")
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body)))])
        return [body]


by_server_name = Echo("by-server-name")
root = Echo("root")
backend = Echo("backend")
admin = Echo("admin")
a = Echo("a")
ab = Echo("a/b")
files = Echo("files")
other = Echo("other")
'''

SEMANTICS_ROUTES = """
host 127.0.0.1 {
    / -> T:by_server_name
}
host example.com {
    /              -> T:root
    /backend       -> T:backend
    /admin         -> T:admin
    /a             -> T:a
    /a/b           -> T:ab
    /files/{name}  -> T:files
}
default {
    / -> T:other
}
"""


@pytest.fixture(scope="module")
def echo_app() -> Callable:
    module = types.ModuleType("_dc_hardening_echo")
    exec(compile(ECHO_SOURCE, "<echo>", "exec"), module.__dict__)
    return build(
        SEMANTICS_ROUTES, **{k: v for k, v in vars(module).items() if k[0] != "_"}
    ).application


def echo(app: Callable, path: str, host: str | None = "example.com", **extra: Any) -> dict:
    status, body = call(app, environ_for(host, path, **extra))
    assert status == 200
    return json.loads(body)


DOT_CASES = [
    # (PATH_INFO as the server gives it, app, SCRIPT_NAME, PATH_INFO)
    ("/backend/../admin", "backend", "/backend", "/../admin"),
    ("/backend/..", "backend", "/backend", "/.."),
    ("/backend/./x", "backend", "/backend", "/./x"),
    ("/./admin", "root", "", "/./admin"),
    ("/../admin", "root", "", "/../admin"),
    ("//admin", "root", "", "//admin"),
    ("/backend//admin", "backend", "/backend", "//admin"),
    ("/Admin", "root", "", "/Admin"),
    ("/admin/../backend", "admin", "/admin", "/../backend"),
]


@pytest.mark.parametrize(("path", "app", "script", "rest"), DOT_CASES)
def test_dot_segments_stay_below_the_mount(echo_app, path, app, script, rest):
    """``/backend/../admin`` is the backend's, with PATH_INFO ``/../admin``:
    no resolution, so no app gets a path outside its mount (the app must not
    resolve it either), and werkzeug's DispatcherMiddleware agrees."""
    seen = echo(echo_app, path)
    assert (seen["app"], seen["SCRIPT_NAME"], seen["PATH_INFO"]) == (app, script, rest)
    assert seen["SCRIPT_NAME"] + seen["PATH_INFO"] == path  # nothing lost or added

    mounts = {"/backend": Label("backend"), "/admin": Label("admin"), "/a": Label("a")}
    mounts["/a/b"] = Label("a/b")
    middleware = DispatcherMiddleware(Label("root"), mounts)
    environ = environ_for("example.com", path)
    assert call(middleware, environ) == (200, app.encode())
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == (script, rest)


def test_percent_2f_arrives_decoded_and_routes_like_a_slash(echo_app):
    """The server decodes ``%2F`` before dispatchc sees PATH_INFO: ``/a%2Fb``
    and ``/a/b`` are the same request for routing; only RAW_URI and
    REQUEST_URI (server extensions) still show the difference."""
    client = Client(echo_app)
    encoded = client.get("/a%2Fb", headers={"Host": "example.com"}).json
    plain = client.get("/a/b", headers={"Host": "example.com"}).json
    assert (encoded["app"], encoded["SCRIPT_NAME"], encoded["PATH_INFO"]) == ("a/b", "/a/b", "")
    assert encoded["REQUEST_URI"] == "/a%2Fb" and plain["REQUEST_URI"] == "/a/b"
    for key in ("REQUEST_URI", "RAW_URI"):
        del encoded[key], plain[key]
    assert encoded == plain

    # A capture is one decoded segment: %2F inside it splits it.
    seen = client.get("/files/x%2Fy.txt", headers={"Host": "example.com"}).json
    assert seen["app"] == "files"
    assert seen["captures"] == {"name": "x"}
    assert (seen["SCRIPT_NAME"], seen["PATH_INFO"]) == ("/files/x", "/y.txt")
    # ... and %2E%2E is "..", not resolved either.
    seen = client.get("/backend/%2E%2E/admin", headers={"Host": "example.com"}).json
    assert (seen["app"], seen["PATH_INFO"]) == ("backend", "/../admin")


def test_no_host_header_routes_by_server_name(echo_app):
    """HTTP/1.0 without Host (or an empty Host): SERVER_NAME and SERVER_PORT
    choose the block, and the memo does not remember an empty Host, so the
    next request with another SERVER_NAME is routed by its own."""
    http10 = {"SERVER_PROTOCOL": "HTTP/1.0"}
    seen = echo(echo_app, "/x", None, SERVER_NAME="127.0.0.1", SERVER_PORT="8000", **http10)
    assert (seen["app"], seen["dispatchc.route"]) == ("by-server-name", "127.0.0.1 /")
    assert seen["HTTP_HOST"] is None
    seen = echo(echo_app, "/admin", None, SERVER_NAME="EXAMPLE.COM", **http10)
    assert (seen["app"], seen["SCRIPT_NAME"]) == ("admin", "/admin")
    for _ in range(2):
        for name, app in [("127.0.0.1", "by-server-name"), ("example.com", "admin")]:
            seen = echo(echo_app, "/admin", "", SERVER_NAME=name, **http10)
            assert seen["app"] == app
    assert echo(echo_app, "/admin", None, SERVER_NAME="elsewhere.test")["app"] == "other"
    # A Host header, when there is one, wins over SERVER_NAME (HTTP/1.0 too).
    seen = echo(echo_app, "/admin", "example.com", SERVER_NAME="127.0.0.1", **http10)
    assert seen["app"] == "admin"


# -- the same over a real gunicorn ------------------------------------------

REQUEST_TIMEOUT = 10.0


@pytest.fixture(scope="module")
def echo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    directory = tmp_path_factory.mktemp("hardening-gunicorn")
    (directory / "hard_targets.py").write_text(ECHO_SOURCE, encoding="utf-8")
    code = compile_text(SEMANTICS_ROUTES.replace("T:", "hard_targets:"), "hard_routes.disp")
    (directory / "hard_routes.py").write_text(code, encoding="utf-8")
    with gunicorn(directory, "hard_routes:application", directory) as port:
        yield port


def raw_request(port: int, request: bytes) -> tuple[int, dict]:
    """Send bytes as they are (no client-side normalisation); read to EOF."""
    with socket.create_connection(("127.0.0.1", port), timeout=REQUEST_TIMEOUT) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b"\r\n")[0].split()[1])
    return status, json.loads(body) if status == 200 else {"body": body.decode("latin-1")}


@pytest.mark.slow
def test_gunicorn_http10_without_host_uses_server_name(echo_server):
    status, seen = raw_request(echo_server, b"GET /x HTTP/1.0\r\n\r\n")
    assert status == 200
    assert (seen["app"], seen["dispatchc.route"]) == ("by-server-name", "127.0.0.1 /")
    assert seen["HTTP_HOST"] is None
    assert (seen["SERVER_NAME"], seen["SERVER_PORT"]) == ("127.0.0.1", str(echo_server))
    status, seen = raw_request(echo_server, b"GET /admin HTTP/1.0\r\nHost: example.com\r\n\r\n")
    assert (status, seen["app"]) == (200, "admin")


@pytest.mark.slow
def test_gunicorn_decodes_percent_2f_before_dispatch(echo_server):
    host = b"Host: example.com\r\nConnection: close\r\n\r\n"
    _, encoded = raw_request(echo_server, b"GET /a%2Fb HTTP/1.1\r\n" + host)
    _, plain = raw_request(echo_server, b"GET /a/b HTTP/1.1\r\n" + host)
    assert (encoded["app"], encoded["SCRIPT_NAME"], encoded["PATH_INFO"]) == ("a/b", "/a/b", "")
    assert encoded["RAW_URI"] == "/a%2Fb"  # only the raw URI keeps the difference
    for key in ("RAW_URI", "REQUEST_URI"):
        del encoded[key], plain[key]
    assert encoded == plain


@pytest.mark.slow
@pytest.mark.parametrize(("path", "app", "script", "rest"), DOT_CASES)
def test_gunicorn_passes_dot_segments_unresolved(echo_server, path, app, script, rest):
    request = f"GET {path} HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n"
    status, seen = raw_request(echo_server, request.encode("ascii"))
    assert status == 200
    assert (seen["app"], seen["SCRIPT_NAME"], seen["PATH_INFO"]) == (app, script, rest)


def test_semantics_doc_names_only_tests_of_this_file():
    """docs/semantics.md backs each section with tests of this file by name."""
    doc = (Path(__file__).resolve().parent.parent / "docs" / "semantics.md").read_text("utf-8")
    named = set(re.findall(r"`(test_\w+)`", doc))
    assert len(named) >= 10
    assert named <= {name for name in globals() if name.startswith("test_")}


# == 5. Whatever a middleware left in wsgiorg.routing_args ===================

ROUTING_ARGS_ROUTES = """
host {sub}.example.com {
    /f/{page} -> T:make(sub, page)
    /a/{page} -> T:seen
    /r/{page} -> redirect 302 "/new/{page}"
    /         -> T:seen
}
"""

#: Values that are not an (args, kwargs) pair: not a tuple, not two items,
#: args that are not a tuple or list, kwargs that are not a mapping.
NOT_ROUTING_ARGS = [
    None, "", (), "ab", "xyz", b"ab", 42, ("a", "b", "c"), ((), None), ((), "kw"),
    ((), ["k"]), (None, {}), ([], 5), [(), {}],
]  # fmt: skip


class SeenArgs:
    """An app that answers with the routing args it was given (repr)."""

    def __call__(self, environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [repr(environ.get("wsgiorg.routing_args", "absent")).encode()]


@pytest.fixture(scope="module")
def routing_args_app() -> Callable:
    seen = SeenArgs()
    return build(ROUTING_ARGS_ROUTES, seen=seen, make=lambda sub, page: seen).application


def _redirect(app: Callable, environ: dict) -> tuple[str, str]:
    response = call_app(app, environ)
    return response.status_line, response.header("Location")


@pytest.mark.parametrize("value", NOT_ROUTING_ARGS, ids=repr)
def test_routing_args_that_are_not_a_pair_are_taken_as_absent(routing_args_app, value):
    """A route with captures replaces such a value with ((), captures),
    instead of failing the request with a 500 (an app route, a factory
    route, and a redirect that reads its captures back)."""
    host = "acme.example.com"
    for path, captures in [
        ("/a/x", {"sub": "acme", "page": "x"}),
        ("/f/x", {"sub": "acme", "page": "x"}),
        ("/", {"sub": "acme"}),
    ]:
        environ = environ_for(host, path)
        environ["wsgiorg.routing_args"] = value
        status, body = call(routing_args_app, environ)
        assert (status, ast.literal_eval(body.decode())) == (200, ((), captures))
    environ = environ_for(host, "/r/x")
    environ["wsgiorg.routing_args"] = value
    assert _redirect(routing_args_app, environ) == ("302 Found", "/new/x")
    assert environ["wsgiorg.routing_args"] == ((), {"sub": "acme", "page": "x"})


def test_routing_args_pair_is_kept_and_updated(routing_args_app):
    for value, args in [
        ((("pos",), types.MappingProxyType({"k": "v", "page": "old"})), ("pos",)),
        ((["pos"], {"k": "v"}), ["pos"]),
    ]:
        environ = environ_for("acme.example.com", "/a/x")
        environ["wsgiorg.routing_args"] = value
        want = (args, {"k": "v", "page": "x", "sub": "acme"})
        status, body = call(routing_args_app, environ)
        assert (status, ast.literal_eval(body.decode())) == (200, want)


class Tamper:
    """An app that changes the captures it was given, as an app may."""

    def __call__(self, environ, start_response):
        seen = dict(environ["wsgiorg.routing_args"][1])
        environ["wsgiorg.routing_args"][1]["sub"] = "evil"
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [repr(seen).encode()]


@pytest.mark.parametrize("route", ["/", "/static", "/f/x"])
def test_an_app_changing_its_captures_changes_no_later_request(route):
    """The host's captures are remembered with the Host header (the host
    memo): every request gets its own copy in wsgiorg.routing_args, so what
    one app does to it is not what the next request sees."""
    tamper = Tamper()
    routes = "host {sub}.example.com {\n / -> T:tamper\n /static -> T:tamper\n"
    routes += " /f/{page} -> T:make(sub, page)\n}\n"
    app = build(routes, tamper=tamper, make=lambda sub, page: tamper).application
    for garbage in ("", None, "", None):  # also when routing_args holds garbage
        environ = environ_for("acme.example.com", route)
        if garbage is not None:
            environ["wsgiorg.routing_args"] = garbage
        status, body = call(app, environ)
        assert status == 200
        assert ast.literal_eval(body.decode())["sub"] == "acme"


class Watched(dict):
    """An environ that records which keys are read."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.read: set[str] = set()

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)

    def __contains__(self, key):
        self.read.add(key)
        return super().__contains__(key)


@pytest.mark.parametrize("value", [None, "ab", (1, 2, 3), ((), {"k": "v"})], ids=repr)
def test_redirect_without_captures_does_not_read_routing_args(value):
    module = build(
        """
        /old -> redirect 301 "/new{path}"
        /moved -> redirect 308 "https://example.com/"
        / -> status 404
        """
    )
    for path, want in [("/old/x", ("301 Moved Permanently", "/new/x")),
                       ("/moved", ("308 Permanent Redirect", "https://example.com/"))]:  # fmt: skip
        environ = Watched(environ_for("example.com", path))
        environ["wsgiorg.routing_args"] = value
        assert _redirect(module.application, environ) == want
        assert "wsgiorg.routing_args" not in environ.read
        assert environ["wsgiorg.routing_args"] is value  # left as it was
