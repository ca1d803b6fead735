"""The training loops' inputs and the optimisers (numpy and compiled)."""
