"""The calls a newcomer makes for issue 27's measures, at large n: time and peak memory.

Default options only: ``conditional_mutual_information`` (auto: KSG, tree route),
``ksg_transfer_entropy`` and ``gaussian_transfer_entropy`` on a VAR(1), ``mutual_information``
of a float column and integer labels (auto: Ross), ``o_information`` (Gaussian, and copula).
One measure per process so that the peak RSS is that call's; first call (with compilation)
and a second, warm call.

Run:  for w in cmi_auto te_ksg te_gauss ross_auto o_info o_info_copula; do
        OMP_NUM_THREADS=1 python benchmarks/issue27_defaults_large_n.py 100000 $w [x64]; done
"""

import resource
import sys
import time

import jax
import jax.numpy as jnp

import jaxinfo

n = int(sys.argv[1])
which = sys.argv[2]
if len(sys.argv) > 3:
    jax.config.update("jax_enable_x64", True)
task = jaxinfo.testing.conditional_gaussians()
x, y, z = task.sample(jax.random.key(0), n)
labels = (x[:, 0] > 0).astype(jnp.int32)
var = jaxinfo.testing.linear_gaussian_var1()
s, t = var.sample(jax.random.key(1), n)
f = {
    "cmi_auto": lambda: jaxinfo.conditional_mutual_information(x, y, z).value,
    "te_ksg": lambda: jaxinfo.ksg_transfer_entropy(s, t),
    "te_gauss": lambda: jaxinfo.gaussian_transfer_entropy(s, t),
    "ross_auto": lambda: jaxinfo.mutual_information(y, labels).value,
    "o_info": lambda: jaxinfo.o_information(x, y, z),
    "o_info_copula": lambda: jaxinfo.o_information(x, y, z, method="copula"),
}[which]
t0 = time.perf_counter()
v = float(f())
t1 = time.perf_counter()
float(f())
t2 = time.perf_counter()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(
    f"{which} n={n} {x.dtype}: value {v:.4f} first {t1 - t0:.2f}s second {t2 - t1:.3f}s "
    f"peakRSS {peak:.0f} MiB"
)
