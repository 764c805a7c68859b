"""`app.load_store`: the store's modules (SQLAlchemy), which `onegate serve` imports after it starts answering,
load on a worker thread and are then frozen for the garbage collector like start-up's own objects."""

from __future__ import annotations

import asyncio
import gc
import sys
import threading

import pytest

from onegate import app

MODULE = "colorsys"  # a module nothing here imports, standing in for the store's


def test_store_modules_load_off_the_loop_and_are_frozen(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(app, "STORE_MODULES", (MODULE,))
    monkeypatch.delitem(sys.modules, MODULE, raising=False)
    importing: list[str] = []
    real_import = __import__

    def watched(name: str, *args: object, **kwargs: object) -> object:
        if name == MODULE:
            importing.append(threading.current_thread().name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(app, "import_module", lambda name: watched(name))
    try:
        asyncio.run(app.load_store(0))
        module = sys.modules[MODULE]
        assert importing and importing[0] != threading.main_thread().name
        assert not any(o is module.rgb_to_hsv for o in gc.get_objects())  # frozen: no collection walks it
    finally:
        gc.unfreeze()
