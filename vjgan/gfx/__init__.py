"""Effects, window, recorder. Never imports torch."""
