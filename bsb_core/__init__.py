"""BSB, the Behavioral Signature Benchmark: measures how language models answer."""

__version__ = "0.1.0"
