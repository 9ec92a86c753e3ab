"""How Invoke reads our command lines: parse errors exit 2 with the usage line, ``--help``
anywhere after a task prints that task's help, and a task's leading bare values fill its
"positional options" (``invoke watch RUN_ID`` is ``invoke watch --run-id RUN_ID``).

Invoke's own positional arguments are required and eat whatever token comes next, ``--help``
included (``invoke destroy --help`` tried to delete a stack named ``benchmarking---help``),
and its parse errors exit 1, which our exit-code contract reserves for our own bugs. So every
task declares named options only, and :func:`install` wraps two steps of Invoke's ``Program``
(the ``invoke`` binary and ``python -m invoke`` both run one): the argument list is rewritten
before Invoke parses it, and a :class:`~invoke.exceptions.ParseError` becomes an
:class:`~invoke.exceptions.Exit` with code 2. The rewrite is a pure function, tested alone.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from invoke.exceptions import Exit, ParseError
from invoke.parser import Parser
from invoke.parser.context import ParserContext
from invoke.program import Program

from worker.contract import ExitCode

#: Attribute of a task naming its positional options, in order (set by ``common.task``).
POSITIONAL_ATTR = "positional_options"
HELP_FLAGS = ("--help", "-h")
#: How usage lines name the program (``python -m invoke`` calls itself ``inv[oke]``).
BINARY = "invoke"


def rewrite_argv(
    tokens: Sequence[str],
    contexts: Mapping[str, ParserContext],
    positional: Mapping[str, Sequence[str]],
) -> list[str]:
    """The task part of a command line, with bare values of a task turned into its positional
    options (``watch R1`` -> ``watch --run-id R1``) and any ``--help``/``-h`` after a task
    turned into that task's help alone (``watch R1 --help`` -> ``watch --help``)."""
    out: list[str] = []
    task: str | None = None
    free: list[str] = []
    waiting_value = False
    for token in tokens:
        if waiting_value:
            out.append(token)
            waiting_value = False
            continue
        context = contexts.get(task) if task else None
        if task and token in HELP_FLAGS:
            return [task, "--help"]
        if context is not None and token in context.flags:
            arg = context.flags[token]
            waiting_value = bool(arg.takes_value) and not arg.optional
            out.append(token)
            continue
        if context is not None and free and not token.startswith("-"):
            out += [f"--{free.pop(0).replace('_', '-')}", token]
            continue
        if token in contexts:
            task = token
            free = list(positional.get(token, ()))
        out.append(token)
    return out


def usage(binary: str, task: str | None, positional: Sequence[str] = ()) -> str:
    """The usage line shown with a parse error."""
    if not task:
        return f"Usage: {binary} [--core-opts] TASK [--options]; {binary} --list shows the tasks"
    values = "".join(f" [{name.upper()}]" for name in positional)
    return (
        f"Usage: {binary} [--core-opts] {task}{values} [--options]; "
        f"{binary} {task} --help shows them"
    )


def _positional_of(program: Program) -> dict[str, Sequence[str]]:
    found: dict[str, Sequence[str]] = {}
    for name in program.collection.task_names:
        names = getattr(program.collection[name], POSITIONAL_ATTR, ())
        if names:
            found[name] = names
            for alias in program.collection.task_names[name]:
                found[alias] = names
    return found


_ARGUMENT_RE = re.compile(r"<Argument: (\w+)[^>]*>")


def parse_error_message(exc: ParseError) -> str:
    """Invoke's message, with its ``<Argument: warmup_count>`` spelled as the flag."""
    text = _ARGUMENT_RE.sub(lambda m: "--" + m.group(1).replace("_", "-"), str(exc))
    return text.replace("needed value and was not given one!", "needs a value")


def _bad_input(program: Program, exc: ParseError) -> Exit:
    task = exc.context.name if exc.context is not None and exc.context.name else None
    positional = _positional_of(program).get(task or "", ())
    return Exit(
        f"error: {parse_error_message(exc)}\n{usage(BINARY, task, positional)}",
        ExitCode.BAD_CONFIG,
    )


_LITERAL_RE = re.compile(r": '(.*)'$")


def _bad_number(program: Program, exc: ValueError) -> Exit:
    """Invoke casts typed options itself and lets ``ValueError`` out: name the option."""
    tokens = list(program.core.unparsed)
    match = _LITERAL_RE.search(str(exc))
    value = match.group(1) if match else None
    flag = next(
        (tokens[i - 1] for i in range(1, len(tokens)) if tokens[i] == value),
        None,
    )
    tasks = (
        [t for t in tokens[: tokens.index(flag)] if t in program.parser.contexts] if flag else []
    )
    task = tasks[-1] if tasks else None
    what = f"{flag} {value!r}" if flag else str(exc)
    line = usage(BINARY, task, _positional_of(program).get(task or "", ()))
    return Exit(f"error: {what}: not a number\n{line}", ExitCode.BAD_CONFIG)


def _wrap(step: Callable[[Program], None], *, rewrite: bool) -> Callable[[Program], None]:
    def wrapped(self: Program) -> None:
        if rewrite and self.core.unparsed:  # nothing to rewrite for `invoke --list`
            contexts = self.collection.to_contexts(
                ignore_unknown_help=self.config.tasks.ignore_unknown_help
            )
            by_name = {name: ctx for ctx in contexts for name in (ctx.name, *ctx.aliases) if name}
            self.core.unparsed = rewrite_argv(self.core.unparsed, by_name, _positional_of(self))
        try:
            step(self)
        except ParseError as exc:
            raise _bad_input(self, exc) from None
        except ValueError as exc:
            raise _bad_number(self, exc) from None
        except BrokenPipeError:  # help piped into `head`
            quiet_stdout()
            raise Exit(code=ExitCode.OK) from None

    wrapped.__wrapped__ = step  # type: ignore[attr-defined]
    return wrapped


def quiet_stdout() -> None:
    """After a closed pipe (``| head -1``) nothing more can be written; point stdout at
    /dev/null so the interpreter's final flush does not complain either."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # pragma: no cover - stdout without a descriptor
        pass


def needs_no_task_parser(program: Program) -> bool:
    """Nothing on the command line names a task: ``invoke --list``, ``invoke --help``, a bare
    ``invoke``. (``invoke --help TASK`` names one, as the value of ``--help``, and
    ``invoke --complete -- invoke TASK --`` needs the task's options to complete them.)"""
    args = program.args
    return (
        not program.core.unparsed
        and not isinstance(args.help.value, str)
        and not args.complete.value
    )


def _lean(make_parser: Callable[[Program], Parser]) -> Callable[[Program], Parser]:
    """Invoke builds the parser of every task's options (and deep-copies them all) even to
    list the tasks; when no task is named, a parser without tasks parses the same nothing."""

    def make(self: Program) -> Parser:
        if needs_no_task_parser(self):
            return Parser(initial=self.initial_context)
        return make_parser(self)

    make.__wrapped__ = make_parser  # type: ignore[attr-defined]
    return make


def install(program_class: Any = Program) -> None:
    """Wrap Invoke's parsing steps (once): see the module docstring."""
    if getattr(program_class.parse_tasks, "__wrapped__", None) is not None:
        return
    program_class.parse_tasks = _wrap(program_class.parse_tasks, rewrite=True)
    program_class.parse_cleanup = _wrap(program_class.parse_cleanup, rewrite=False)
    program_class._make_parser = _lean(program_class._make_parser)
