"""phigate: compliance policy-as-code for health data."""

__version__ = "0.1.0"
