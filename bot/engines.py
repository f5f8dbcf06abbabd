"""Build the configured OCR engine (``ocr.engine``) from the bot's configuration."""

from __future__ import annotations

from typing import Any

from bot.config import Config
from ocr.engine import ChainEngine, Engine, create_engine


def local_engine_options(config: Config) -> dict[str, Any]:
    return {
        "max_bytes": config.ocr.max_image_bytes,
        "max_pixels": config.ocr.max_pixels,
        "max_side": config.ocr.max_side,
        "threads": config.ocr.threads,
    }


def build_engine(config: Config, **wechat_options: Any) -> Engine:
    """The engine named by ``ocr.engine``: local, wechat or a chain of them (``ocr.chain``).

    ``wechat_options`` go to the wechat engine's factory (e.g. a ready WeChat client).
    """

    def one(name: str) -> Engine:
        if name == "local":
            return create_engine("local", **local_engine_options(config))
        import bot.wechat  # noqa: F401  (registers the "wechat" engine)

        return create_engine(name, config=config, **wechat_options)

    if config.ocr.engine == "chain":
        return ChainEngine([one(name) for name in config.ocr.chain])
    return one(config.ocr.engine)
