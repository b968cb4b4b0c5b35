"""backprop-lint: finds recursion that never ends or that blows Python's stack."""

__version__ = "0.1.0"
