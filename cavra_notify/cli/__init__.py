"""The ``cavra`` command. Exit codes:

0  ok (ready, due_soon, not_requested; plan built; delivered or nothing to deliver)
1  the schedule or history needs attention
2  bad input: flags, environment variables, files, connector config
3  delivery partial (some routes failed)
4  delivery failed (every attempted route failed)
5  evidence store unusable
70 internal error (a bug: please report it; the message names only the exception type)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..errors import CavraError
from . import output

EXIT_INTERNAL = 70


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The ``cavra`` parser. When ``argv`` starts with a read-only runtime command, only that command's
    parser is built: the other commands' modules are never imported (the read path starts faster)."""
    from . import runtime

    parser = argparse.ArgumentParser(prog="cavra", description="CAVRA rollback-drill schedules and notifications")
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    if len(argv) > 1 and argv[0] == "runtime" and argv[1] in runtime.READ_ONLY:
        runtime.add_commands(commands, only=argv[1])
        return parser
    from . import admin, serve, store

    runtime.add_commands(commands)
    admin.add_commands(commands)
    serve.add_commands(commands)
    store.add_commands(commands)
    return parser


def _version() -> str:
    from .. import __version__

    return f"cavra {__version__}"


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
        return code
    except CavraError as exc:
        sys.stderr.write(f"cavra: error: {output.scrub(str(exc))}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("cavra: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # never a traceback: a bug, reported in one line without its message
        sys.stderr.write(f"cavra: internal error ({type(exc).__name__}); rerun with CAVRA_DEBUG=1 for details\n")
        import os

        if os.environ.get("CAVRA_DEBUG") == "1":
            raise
        return EXIT_INTERNAL


def entrypoint() -> None:
    sys.exit(main())
