"""The environment variables of multi-process metrics, apart from ``bot.metrics``.

``wxocr serve --workers`` names the metrics directory before anything imports
prometheus-client (it reads the variable at import), so the names cannot live in
``bot.metrics``, which imports it.
"""

# prometheus-client's own variable: where each process keeps its metric values. Set by
# an operator, it names the parent of the directory each `serve --workers` run makes.
MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Marks the directory as made for this run, so that bot.metrics can tell it from an
# inherited parent directory (which other commands and waitress must not write to).
METRICS_RUN_DIR_ENV = "WXOCR_METRICS_RUN_DIR"
