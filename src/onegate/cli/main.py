"""The `onegate` command.

Each command's module is imported only when that command runs (all of them for `--help`): `onegate serve`
must not pay for the imports of `doctor`, `setup` or `teams`, since start-up time is a promise. `onegate serve`
with plain options does not even load typer (see `launch`); everything else goes to the typer app in `commands`.
"""

from __future__ import annotations

import sys
from typing import Any

from onegate.cli import launch


def __getattr__(name: str) -> Any:
    if name == "app":  # the full command, for tests and tools that drive it in process
        from onegate.cli.commands import COMMANDS, build_app

        return build_app(list(COMMANDS))
    raise AttributeError(name)


def main() -> None:
    if sys.argv[1:2] == ["serve"] and (options := launch.parse_serve(sys.argv[2:])) is not None:
        launch.serve(**options)
        return
    from onegate.cli.commands import COMMANDS, build_app

    wanted = next((a for a in sys.argv[1:] if not a.startswith("-")), None) if "--server" not in sys.argv else None
    build_app([wanted] if wanted in COMMANDS else list(COMMANDS))()


if __name__ == "__main__":
    main()
