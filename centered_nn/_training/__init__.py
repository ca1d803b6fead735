"""Training: the loops (:mod:`.loops`), the optimisers and the BLAS-thread rule
(:mod:`.solvers`) and the parameter layout the optimisers step (:mod:`.layout`).
"""
