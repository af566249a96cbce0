"""The calls a newcomer makes for the score-based estimators, at large n: time and peak memory.

Default options only: ``minde_mutual_information`` (conditional) on a 1 x 1 and a sparse 5 x 5
Gaussian, ``minde_entropy`` of a 5-D Gaussian, ``soi_o_information`` of three noisy copies of
one latent. One measure per process so that the peak RSS is that call's. Training length is set
by early stopping (at most 20 000 steps whatever n); what grows with n is the held-out split
(30 %: the early-stopping loss and the read-out run on it) and the per-column maps.

Run:  for w in mi_1x1 mi_5x5 entropy_5d oinfo_3; do
        OMP_NUM_THREADS=1 python benchmarks/score_based_large_n.py 100000 $w [x64]; done
"""

import math
import resource
import sys
import time

import jax
import numpy as np

n = int(sys.argv[1])
which = sys.argv[2]
if len(sys.argv) > 3:
    jax.config.update("jax_enable_x64", True)

from jaxinfo import testing  # noqa: E402
from jaxinfo.nn import minde_entropy, minde_mutual_information, soi_o_information  # noqa: E402

key = jax.random.key(0)
if which == "mi_1x1":
    task = testing.correlated_gaussians(1, 1, correlation=0.75)
    x, y = task.sample(key, n)
    truth, call = task.mutual_information, lambda: minde_mutual_information(x, y)
elif which == "mi_5x5":
    task = testing.correlated_gaussians(5, 5, correlation=0.8, interaction="sparse")
    x, y = task.sample(key, n)
    truth, call = task.mutual_information, lambda: minde_mutual_information(x, y)
elif which == "entropy_5d":
    x = np.asarray(jax.random.normal(key, (n, 5)))
    truth, call = 2.5 * math.log(2 * math.pi * math.e), lambda: minde_entropy(x)
else:
    z = np.asarray(jax.random.normal(key, (n, 4)))
    xs = [z[:, 0] + 0.5 * z[:, i] for i in (1, 2, 3)]
    cov = np.full((3, 3), 1.0) + 0.25 * np.eye(3)

    def entropy(c):
        return 0.5 * np.linalg.slogdet(2 * np.pi * np.e * np.atleast_2d(c))[1]

    truth = entropy(cov) + sum(
        entropy(cov[i, i]) - entropy(np.delete(np.delete(cov, i, 0), i, 1)) for i in range(3)
    )
    call = lambda: soi_o_information(*xs)  # noqa: E731
t0 = time.perf_counter()
result = call()
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(
    f"{which} n={n} {jax.numpy.zeros(()).dtype}: value {result.value:.4f} ± "
    f"{result.standard_error:.4f} (truth {truth:.4f}), {seconds:.1f} s, "
    f"{int(result.steps[-1])} steps, peak RSS {peak:.0f} MiB"
)
