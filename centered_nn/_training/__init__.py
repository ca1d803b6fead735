"""Training: the frozen fit settings (:mod:`.settings`), what carries over between
calls (:mod:`.state`), the loops (:mod:`.loops`) and their failures
(:mod:`.failures`), the optimisers and the BLAS-thread rule (:mod:`.solvers`),
the optimisers' optional compiled steps (:mod:`.kernels`) and the parameter
layout the optimisers step (:mod:`.layout`).
"""
