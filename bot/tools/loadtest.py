"""A bounded load test on loopback (a measurement, not a test): ``make bench-load``.

``wxocr serve`` runs in sandbox mode as a subprocess; client threads here push signed
text and photo messages the way WeChat does (5 s timeout, 3 tries) as fast as the
server answers, for a fixed time or until a request cap, whichever comes first. Then
it waits for the results that went out as customer-service messages and checks that
every photo got exactly one answer. Recorded: request rates, p95 latency of passive
photo answers, errors, the server's RSS (from /proc) at start, after warm-up and at
the end, and lost or doubled answers.

    python -m bot.tools.loadtest --seconds 60          # default: 600 s, 100000 requests
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bot.tools.serving_process import running_server
from bot.tools.simulate import PushOutcome, Simulator, image_fields, new_msg_id, text_fields
from ocr.evaluate import percentile
from ocr.kinds import KINDS

DEFAULT_SECONDS = 600.0
DEFAULT_MAX_REQUESTS = 100_000
# Customer-service answers still due when the clients stop: how long to wait for them.
DRAIN_S = 180.0
# Help, each kind's first command word, auto, and chat that is no command.
TEXTS = ("帮助", *(kind.words[0] for kind in KINDS), "自动", "你好", "help")
FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "cards"


@dataclass
class Tally:
    """What the clients saw; updated under ``lock``."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: int = 0
    texts: int = 0
    photos: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    passive_ms: list[float] = field(default_factory=list)
    text_ms: list[float] = field(default_factory=list)
    # Photos whose answer must come as a customer-service message, per openid.
    late: Counter[str] = field(default_factory=Counter)

    def take(self, cap: int) -> bool:
        """Count one more request if the cap allows it."""
        with self.lock:
            if self.requests >= cap:
                return False
            self.requests += 1
            return True


@dataclass(frozen=True)
class LoadResult:
    seconds: float
    requests: int
    texts: int
    photos: int
    requests_per_s: float
    texts_per_s: float
    photos_per_s: float
    text_p95_ms: float | None
    passive_photos: int
    passive_p95_ms: float | None
    late_photos: int
    custom_messages: int
    lost: int  # photos without any answer
    doubled: int  # answers beyond one per photo
    errors: dict[str, int]
    rss_start_mb: float
    rss_warm_mb: float
    rss_end_mb: float
    rss_max_mb: float

    def as_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    def summary(self) -> str:
        def ms(value: float | None) -> str:
            return "-" if value is None else f"{value:.0f} ms"

        return "\n".join(
            [
                f"load test: {self.seconds:.0f} s, {self.requests} requests "
                f"({self.requests_per_s:.1f}/s)",
                f"  text:   {self.texts} ({self.texts_per_s:.1f}/s), p95 {ms(self.text_p95_ms)}",
                f"  photos: {self.photos} ({self.photos_per_s:.2f}/s); passive "
                f"{self.passive_photos}, p95 {ms(self.passive_p95_ms)}; later "
                f"{self.late_photos}, customer-service messages {self.custom_messages}",
                f"  lost {self.lost}, doubled {self.doubled}, errors {self.errors or 0}",
                f"  server RSS: start {self.rss_start_mb:.0f} MB, after warm-up "
                f"{self.rss_warm_mb:.0f} MB, end {self.rss_end_mb:.0f} MB, "
                f"max {self.rss_max_mb:.0f} MB",
            ]
        )


def rss_mb(pid: int) -> float:
    """Resident memory of a process (Linux /proc), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def _record(tally: Tally, kind: str, outcome: PushOutcome, openid: str) -> None:
    with tally.lock:
        if outcome.status is None:
            tally.errors[f"{kind}: no answer in 3 tries"] += 1
        elif outcome.status != 200:
            tally.errors[f"{kind}: HTTP {outcome.status}"] += 1
        elif kind == "text":
            tally.text_ms.append((outcome.seconds or 0.0) * 1000)
        elif outcome.reply is not None:
            tally.passive_ms.append((outcome.seconds or 0.0) * 1000)
        if kind == "photo" and outcome.reply is None and outcome.status in (200, None):
            # "success", or no answer in time: the result is due as a customer-service message.
            tally.late[openid] += 1


def run_load(
    photos: Sequence[bytes],
    *,
    seconds: float = DEFAULT_SECONDS,
    max_requests: int = DEFAULT_MAX_REQUESTS,
    text_clients: int = 4,
    photo_clients: int = 3,
    threads: int = 16,
    ocr_threads: int = 2,
    warm_up_s: float = 20.0,
) -> LoadResult:
    if not photos:
        raise ValueError("no photos to send")
    tally = Tally()
    settings = {
        "server": {"threads": threads},
        "pipeline": {"daily_limit": 0},
        "ocr": {"threads": ocr_threads},
    }
    # /healthz, not /readyz: the start RSS is taken before the OCR model has loaded.
    with running_server(settings=settings, ready_path="/healthz") as server:
        config, url = server.config, server.webhook_url
        rss_start = rss_mb(server.pid)
        rss_samples = [rss_start]
        photo_users = [
            Simulator(config, url=url, openid=f"o-load-photo-{n}") for n in range(photo_clients)
        ]
        # Each photo is uploaded once: the sandbox (inside the server) keeps uploads in
        # memory, which would count as the server's growth.
        media = [photo_users[0].upload(data) for data in photos]
        started = time.monotonic()
        stop_at = started + seconds

        def text_client(index: int) -> None:
            user = Simulator(config, url=url, openid=f"o-load-text-{index}")
            n = 0
            while time.monotonic() < stop_at and tally.take(max_requests):
                fields = text_fields(user.openid, TEXTS[(index + n) % len(TEXTS)], new_msg_id())
                _record(tally, "text", user.pusher.push_with_retries(fields), user.openid)
                with tally.lock:
                    tally.texts += 1
                n += 1

        def photo_client(index: int) -> None:
            user = photo_users[index]
            n = index
            while time.monotonic() < stop_at and tally.take(max_requests):
                media_id, pic_url = media[n % len(media)]
                fields = image_fields(user.openid, media_id, pic_url, new_msg_id())
                _record(tally, "photo", user.pusher.push_with_retries(fields), user.openid)
                with tally.lock:
                    tally.photos += 1
                n += photo_clients

        workers = [
            threading.Thread(target=text_client, args=(i,), daemon=True)
            for i in range(text_clients)
        ] + [
            threading.Thread(target=photo_client, args=(i,), daemon=True)
            for i in range(photo_clients)
        ]
        for worker in workers:
            worker.start()
        # After warm-up the OCR models are loaded: growth from there on is what matters.
        rss_warm: float | None = None
        warm_at = started + min(warm_up_s, seconds / 3)
        while any(worker.is_alive() for worker in workers):
            time.sleep(1.0)
            rss_samples.append(rss_mb(server.pid))
            if time.monotonic() >= warm_at and rss_warm is None:
                rss_warm = rss_samples[-1]
        if rss_warm is None:  # a run cut short by the request cap
            rss_warm = rss_samples[-1]
        elapsed = time.monotonic() - started

        custom = _drain(photo_users, tally.late)
        rss_end = rss_mb(server.pid)
        rss_samples.append(rss_end)

    expected = sum(tally.late.values())
    received = sum(custom.values())
    lost = sum(max(0, tally.late[o] - custom[o]) for o in tally.late)
    doubled = sum(max(0, custom[o] - tally.late[o]) for o in custom)
    return LoadResult(
        seconds=elapsed,
        requests=tally.requests,
        texts=tally.texts,
        photos=tally.photos,
        requests_per_s=(tally.texts + tally.photos) / elapsed,
        texts_per_s=tally.texts / elapsed,
        photos_per_s=tally.photos / elapsed,
        text_p95_ms=percentile(tally.text_ms, 95) if tally.text_ms else None,
        passive_photos=len(tally.passive_ms),
        passive_p95_ms=percentile(tally.passive_ms, 95) if tally.passive_ms else None,
        late_photos=expected,
        custom_messages=received,
        lost=lost,
        doubled=doubled,
        errors=dict(tally.errors),
        rss_start_mb=rss_start,
        rss_warm_mb=rss_warm,
        rss_end_mb=rss_end,
        rss_max_mb=max(rss_samples),
    )


def _drain(users: Sequence[Simulator], late: Counter[str]) -> Counter[str]:
    """Wait for the customer-service answers due; then a moment more, to see doubles."""
    deadline = time.monotonic() + DRAIN_S
    while True:
        received = Counter({u.openid: len(u.custom_messages()) for u in users})
        if all(received[o] >= n for o, n in late.items()) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    time.sleep(3.0)  # the scheduler resends every 2 s: a double would show by now
    return Counter({u.openid: len(u.custom_messages()) for u in users})


def fixture_photos(directory: Path = FIXTURES) -> list[bytes]:
    return [p.read_bytes() for p in sorted(directory.glob("*_*_*.jpg"))]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=DEFAULT_SECONDS)
    parser.add_argument("--max-requests", type=int, default=DEFAULT_MAX_REQUESTS)
    parser.add_argument("--text-clients", type=int, default=4)
    parser.add_argument("--photo-clients", type=int, default=3)
    parser.add_argument("--threads", type=int, default=16, help="server.threads")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("photos", nargs="*", type=Path, help="default: the fixture cards")
    args = parser.parse_args(argv)
    photos = [p.read_bytes() for p in args.photos] if args.photos else fixture_photos()
    result = run_load(
        photos,
        seconds=args.seconds,
        max_requests=args.max_requests,
        text_clients=args.text_clients,
        photo_clients=args.photo_clients,
        threads=args.threads,
    )
    print(result.as_json() if args.json else result.summary())
    return 0 if result.lost == 0 and result.doubled == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
