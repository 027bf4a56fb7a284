"""prompt-harness."""
