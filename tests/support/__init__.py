"""Real protocol peers on loopback for the tests and benchmarks."""
