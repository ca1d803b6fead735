"""Measure how zero-centring affects neural-network training."""

__version__ = "0.1.0.dev0"
