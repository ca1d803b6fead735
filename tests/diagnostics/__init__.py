"""The gradient-sign metrics, the recorder and its fast paths."""
