"""uvicorn's server without its command line, for one `onegate serve` process.

`import uvicorn.<anything>` first runs uvicorn's `__init__`, which imports `uvicorn.main`: click, the reload
supervisors (watchfiles), multiprocessing and platform, none of which one serving process uses. Together with
the `websockets` package (`serving.websocket_protocol`) that was 88 M of 1,714 M instructions from spawn to the
first answer (callgrind, `python -m bench.startup --callgrind`).
`without_cli` registers the `uvicorn` package without running its `__init__`; the submodules import as usual,
and the first use of a name the `__init__` exports (`uvicorn.run`, `uvicorn.Config`, …) runs it after all.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from types import ModuleType
from typing import Any

# names of uvicorn's `__init__` that come from modules a server loads anyway
LIGHT = {"Config": "uvicorn.config", "Server": "uvicorn.server", "__version__": "uvicorn._version"}


def without_cli() -> None:
    """Make `uvicorn` importable without `uvicorn.main`; call before anything imports uvicorn."""
    if "uvicorn" in sys.modules:
        return
    spec = importlib.util.find_spec("uvicorn")
    if spec is None or spec.loader is None:
        return  # let the ordinary import explain
    package: ModuleType = importlib.util.module_from_spec(spec)

    def __getattr__(name: str) -> Any:
        if name in LIGHT:  # uvicorn.lifespan.on does `from uvicorn import Config`
            value = getattr(importlib.import_module(LIGHT[name]), name)
        else:
            del package.__dict__["__getattr__"]
            spec.loader.exec_module(package)  # type: ignore[union-attr]
            value = getattr(package, name)
        setattr(package, name, value)
        return value

    package.__dict__["__getattr__"] = __getattr__
    sys.modules["uvicorn"] = package


def run(app: Any, **options: Any) -> None:
    """`uvicorn.run` for one process and an app object (no reload, no workers), without importing `uvicorn.main`."""
    from uvicorn.config import STARTUP_FAILURE, Config
    from uvicorn.server import Server

    config = Config(app, **options)
    config.load_app()
    server = Server(config=config)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        if config.uds and os.path.exists(config.uds):
            os.remove(config.uds)
    if not server.started:
        sys.exit(STARTUP_FAILURE)
