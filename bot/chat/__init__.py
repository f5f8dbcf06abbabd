"""The chat side: parsed messages to replies (commands, the photo pipeline, reply text)."""
