"""Pure card reading: image bytes in, typed card fields out. No WeChat, no database."""
