"""The network's arithmetic: forward, backward, output layers, offset schemes."""
