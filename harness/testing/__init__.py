"""Offline stand-ins for hosted model APIs, for tests, benchmarks and trying configs."""
