"""``/readyz``: may this process get traffic? Database reachable, migrations at head, OCR loaded.

``/healthz`` only says the process answers (a restart would not help otherwise). A load
balancer or orchestrator should send WeChat's pushes only to a process that is ready:
one that started before ``wxocr db upgrade`` ran, or whose database is down, or whose
OCR models cannot load, would answer every photo with an apology. While the database is
down ``/readyz`` says why (the error's type and SQLSTATE) and, when requests have been
failing meanwhile, for how long; it turns ready again by itself when the database is back.

The local OCR model is loaded once in the background when serving starts (the first
photo then does not pay for it); until that finished ``/readyz`` says "loading".
"""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any
from wsgiref.types import StartResponse

from sqlalchemy import Engine, text

from bot.config import Config
from bot.store.db import current_revision, head_revision
from bot.store.db_retry import DATABASE_HEALTH, describe

log = logging.getLogger(__name__)

OK = "ok"


def uses_local_engine(config: Config) -> bool:
    return config.ocr.engine == "local" or (
        config.ocr.engine == "chain" and "local" in config.ocr.chain
    )


def blank_photo() -> bytes:
    """A small white PNG: enough to run the models once, nothing to read."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (320, 200), "white").save(buffer, "PNG")
    return buffer.getvalue()


def load_local_model(config: Config) -> None:
    """Load the local OCR model into this process's shared reader pool, by reading once.

    The pipeline's engines use the same pool, so the loaded reader is not wasted.
    """
    from bot.config import local_engine_options
    from ocr.local import LocalEngine

    LocalEngine(**local_engine_options(config)).read_boxes(blank_photo())


class Readiness:
    def __init__(
        self,
        config: Config,
        db: Engine,
        *,
        load_model: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        if load_model is None and uses_local_engine(config):
            load_model = partial(load_local_model, config)
        self.load_model = load_model
        self._model_state = "loading" if load_model is not None else "not used"
        self._lock = threading.Lock()
        self._started = False

    def start(self) -> None:
        """Load the OCR model in the background (once; later calls do nothing)."""
        with self._lock:
            if self._started or self.load_model is None:
                return
            self._started = True
        threading.Thread(target=self._load, name="ocr-warmup", daemon=True).start()

    def _load(self) -> None:
        assert self.load_model is not None
        try:
            self.load_model()
        except Exception as exc:  # reported by /readyz, with its type only
            log.error("OCR model could not be loaded: %s", type(exc).__name__)
            self._model_state = f"failed ({type(exc).__name__})"
        else:
            self._model_state = OK

    def checks(self) -> dict[str, str]:
        """One entry per condition; each is "ok" when met."""
        self.start()
        result = {"database": OK, "migrations": OK, "ocr": self._model_state}
        if self._model_state == "not used":
            result["ocr"] = OK
        try:
            with self.db.connect() as connection:
                connection.execute(text("SELECT 1"))
            current = current_revision(self.db)
        except Exception as exc:  # any database failure means "not ready", not a 500
            # Type and SQLSTATE only: the driver's message may quote the statement.
            result["database"] = f"unreachable ({describe(exc)})"
            outage = DATABASE_HEALTH.outage()
            if outage is not None:
                result["database"] += f"; requests failing: {outage}"
            result["migrations"] = "unknown"
            return result
        head = head_revision()
        if current != head:
            result["migrations"] = f"at {current or 'none'}, head is {head}: run wxocr db upgrade"
        return result

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        checks = self.checks()
        ready = all(value == OK for value in checks.values())
        body = json.dumps({"ready": ready, "checks": checks}).encode()
        status = "200 OK" if ready else "503 Service Unavailable"
        start_response(
            status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        )
        return [body]
