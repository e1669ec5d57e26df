"""Local servers for tests: the OpenAI-compatible chat server plus Anthropic and Google wire formats."""
