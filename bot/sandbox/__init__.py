"""The WeChat API emulator (sandbox mode, tests, benchmarks): importable alone, it needs
only the configuration and the OCR engine, nothing of the message path."""
