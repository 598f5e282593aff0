"""Lark's parser, driven by one loop: the same tables, the same trees.

Reading a large routing file is mostly lark's per-token machinery: for
every token a generator step, a scanner call, a line counter call, a
token built through two constructors, and a ``feed_token`` call that
looks its tables up again. This module runs the same LALR tables and the
same contextual lexers (their compiled regular expressions, their keyword
callbacks, their ignore and newline sets, all taken from the loaded
``Lark`` object, none written here) in a single loop, and calls the same
tree callbacks, so the tree is the one lark builds, token for token
(tests/test_drive.py holds the two equal on the samples, the test corpora
and random files).

Only success is taken from here. At the first thing the loop does not
expect (text no terminal matches, a token the table has no action for)
``parse`` returns None and the caller parses with lark itself, which
raises the error with everything lark puts in it. When the loaded parser
is built in a way this loop does not reproduce (lexer callbacks, several
regular expressions per lexer, a post-lexer), ``Driver.of`` gives None
and lark parses everything.
"""

from __future__ import annotations

from typing import Any

from lark import Lark, Token, Tree
from lark.lexer import BasicLexer, ContextualLexer, PatternStr, UnlessCallback
from lark.parsers.lalr_analysis import Shift


class Unsupported(Exception):
    """The parser is built in a way this loop does not reproduce."""


#: One contextual lexer: (match, ignored types, types that may hold a
#: newline, {type: {keyword text: keyword type}}).
Lexing = tuple[Any, frozenset[str], frozenset[str], dict[str, dict[str, str]]]


def _lexing(lexer: BasicLexer) -> Lexing:
    """What the loop needs of one of lark's contextual lexers."""
    scanner = lexer.scanner  # builds lexer.callback too
    mres = scanner._mres
    if len(mres) != 1:
        raise Unsupported("several regular expressions in one lexer")
    retype: dict[str, dict[str, str]] = {}
    for type_, callback in lexer.callback.items():
        if type(callback) is not UnlessCallback:
            raise Unsupported(f"a lexer callback on {type_}")
        words = {}
        for term in callback.scanner.terminals:
            if not isinstance(term.pattern, PatternStr) or term.pattern.flags:
                raise Unsupported(f"keyword {term.name} is not plain text")
            words.setdefault(term.pattern.value, term.name)
        retype[type_] = words
    if lexer.ignore_types & set(retype):
        raise Unsupported("a callback on an ignored terminal")
    if retype and lexer.g_regex_flags:  # keywords re-typed by text, as written
        raise Unsupported("keywords matched with flags")
    return mres[0].match, lexer.ignore_types, lexer.newline_types, retype


class Driver:
    """The tables and lexers of one ``Lark`` (LALR, contextual lexer)."""

    def __init__(self, lark: Lark) -> None:
        frontend = lark.parser
        lexer = getattr(frontend, "lexer", None)
        if type(lexer) is not ContextualLexer or lark.options.postlex is not None:
            raise Unsupported("not lark's contextual lexer")
        if len(lark.options.start) != 1:
            raise Unsupported("several start rules")
        inner = frontend.parser.parser
        table = inner.parse_table
        start = lark.options.start[0]
        callbacks = inner.callbacks
        if any(isinstance(key, str) for key in callbacks):
            raise Unsupported("callbacks on terminals")
        # The table with its rules looked up once: a shift is the next
        # state (an int); a reduce is (how many values it takes, the tree
        # callback, the rule's name).
        self.actions: dict[int, dict[str, Any]] = {}
        for state, row in table.states.items():
            if type(state) is not int:
                raise Unsupported("states are not numbered")
            self.actions[state] = {
                symbol: arg
                if action is Shift
                else (len(arg.expansion), callbacks[arg], arg.origin.name)
                for symbol, (action, arg) in row.items()
            }
        self.start_state = table.start_states[start]
        self.end_state = table.end_states[start]
        # The contextual lexers, made when a state is first met (most files
        # meet a third of them; making all costs 5 ms of every command).
        self._basic = lexer.lexers
        self._made: dict[int, Lexing] = {}  # by lark's lexer (states share them)
        self.lexers: dict[int, Lexing] = {}
        self.lexer(self.start_state)
        # lark's own constructor, without the keyword shim of Token()
        self.new_token = getattr(Token, "_future_new", Token)

    def lexer(self, state: int) -> Lexing:
        """The lexer of a parser state (Unsupported: one the loop cannot use)."""
        basic = self._basic[state]
        found = self._made.get(id(basic))
        if found is None:
            found = self._made[id(basic)] = _lexing(basic)
        self.lexers[state] = found
        return found

    @classmethod
    def of(cls, lark: Lark) -> Driver | None:
        try:
            return cls(lark)
        except (Unsupported, AttributeError, KeyError, TypeError):
            return None

    def parse(self, text: str) -> Tree | None:
        """The tree lark gives for ``text``; None where lark would raise
        (or where this loop would stray from lark: then lark decides)."""
        try:
            return self._parse(text)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError, Unsupported):
            return None

    def _parse(self, text: str) -> Tree | None:
        actions = self.actions
        lexers = self.lexers
        new_token = self.new_token
        state_stack = [self.start_state]
        value_stack: list[Any] = []
        push_state = state_stack.append
        push_value = value_stack.append
        pos = 0
        line = 1
        line_start = 0
        end = len(text)
        end_state = self.end_state
        while True:
            state = state_stack[-1]
            if pos < end:
                try:
                    match, ignore, newline, retype = lexers[state]
                except KeyError:
                    match, ignore, newline, retype = self.lexer(state)
                m = match(text, pos)
                if m is None:
                    return None
                value = m.group()
                type_ = m.lastgroup
                column = pos - line_start + 1
                start_line = line
                start_pos = pos
                if type_ in newline:
                    count = value.count("\n")
                    if count:
                        line += count
                        line_start = pos + value.rindex("\n") + 1
                pos += len(value)
                if type_ in ignore:
                    continue
                if type_ in retype:
                    type_ = retype[type_].get(value, type_)
                token = new_token(
                    type_, value, start_pos, start_line, column, line, pos - line_start + 1, pos
                )
            else:  # the end of the text: reduce until the start rule is complete
                type_ = "$END"
                token = None
            # Reduce while the table says so, then shift.
            action = actions[state][type_]
            while action.__class__ is tuple:
                size, build, origin = action
                if size:
                    children = value_stack[-size:]
                    del state_stack[-size:]
                    del value_stack[-size:]
                else:
                    children = []
                push_value(build(children))
                state = actions[state_stack[-1]][origin]
                push_state(state)
                if state == end_state and token is None:
                    return value_stack[-1]
                action = actions[state][type_]
            if token is None:
                return None  # a shift of the end: lark refuses it too
            push_state(action)
            push_value(token)
