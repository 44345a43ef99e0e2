"""Error reporting shared by every command line (``python -m accel.sim``, ``accel.build``, ...).

:func:`entry_point` wraps a ``main(argv) -> int``: an exception escaping it becomes one line on
stderr and a non-zero exit status instead of a traceback. Errors of the user's input (bad
values, unreadable or malformed files: ``ValueError``/``OSError`` and the project's errors
derived from them or from ``RuntimeError``) exit with 1; anything else is an internal error
(exit 3) and names its exception type. Set ``ACCEL_TRACEBACK=1`` to get the traceback.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Callable

__all__ = ["entry_point", "one_line", "positive_int"]

#: Exit status of an error in the user's input and of an internal error.
USER_ERROR, INTERNAL_ERROR = 1, 3

_USER_ERRORS = (ValueError, OSError, RuntimeError, EOFError, KeyError, IndexError)


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1, with a one-line message otherwise."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def one_line(exc: BaseException) -> str:
    """The exception's message on one line (its first line, with a note if more follow)."""
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, KeyError) and exc.args:
        text = f"missing entry {exc.args[0]!r}"
    lines = text.splitlines()
    if len(lines) > 1:
        return f"{lines[0]} (+{len(lines) - 1} more lines)"
    return text


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file descriptor (captured)
        pass


def entry_point(prog: str) -> Callable:
    """Decorator for a command line's ``main``: one-line errors, never a traceback."""

    def wrap(main: Callable[..., int]) -> Callable[..., int]:
        @functools.wraps(main)
        def run(argv=None) -> int:
            try:
                status = main(argv)
                sys.stdout.flush()  # a closed pipe fails here, inside the handlers below
                return status
            except SystemExit:
                raise
            except KeyboardInterrupt:
                print(f"{prog}: interrupted", file=sys.stderr)
                return 130
            except BrokenPipeError:  # the reader left (``| head``): stop quietly
                _silence_stdout()
                return USER_ERROR
            except Exception as exc:
                if os.environ.get("ACCEL_TRACEBACK"):
                    raise
                if isinstance(exc, _USER_ERRORS):
                    print(f"{prog}: error: {one_line(exc)}", file=sys.stderr)
                    return USER_ERROR
                print(
                    f"{prog}: internal error ({type(exc).__name__}): {one_line(exc)} "
                    "(ACCEL_TRACEBACK=1 shows the traceback)",
                    file=sys.stderr,
                )
                return INTERNAL_ERROR

        return run

    return wrap
