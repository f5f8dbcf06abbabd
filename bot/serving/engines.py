"""Build the configured OCR engine (``ocr.engine``) from the bot's configuration."""

from __future__ import annotations

from typing import Any

import bot.wxapi.ocr_engine  # noqa: F401  (registers the "wechat" engine)
from bot.config import Config, local_engine_options
from ocr.engine import ChainEngine, Engine
from ocr.engines import create_engine


def build_engine(config: Config, **wechat_options: Any) -> Engine:
    """The engine named by ``ocr.engine``: local, wechat or a chain of them (``ocr.chain``).

    ``wechat_options`` go to the wechat engine's factory (e.g. a ready WeChat client).
    """

    def one(name: str) -> Engine:
        if name == "local":
            return create_engine("local", **local_engine_options(config))
        return create_engine(name, config=config, **wechat_options)

    if config.ocr.engine == "chain":
        return ChainEngine([one(name) for name in config.ocr.chain])
    return one(config.ocr.engine)
