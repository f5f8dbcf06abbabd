"""The WeChat API side: the HTTP client (knows only an api_base), the shared access token,
and the WeChat OCR engine built on the client."""
