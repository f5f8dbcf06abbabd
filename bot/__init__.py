"""Everything WeChat- and operator-facing: webhook, pipeline, API client, storage, CLI."""
