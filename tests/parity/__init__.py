"""Parity with scikit-learn: its own MLP suite, the common estimator checks, bit-for-bit trajectories."""
