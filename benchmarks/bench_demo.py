"""How long loading the Kosovo demo takes, cold (fresh process) and warm (cached in-process).

Run: .venv/bin/python benchmarks/bench_demo.py
Target (foundation issue): under 1 s.
"""

from __future__ import annotations

import subprocess
import sys
import time

COLD = (
    "import time; t=time.perf_counter(); import socialmap; t1=time.perf_counter(); "
    "socialmap.load_demo('kosovo'); t2=time.perf_counter(); print(f'{t1-t:.3f} {t2-t1:.3f}')"
)


def main() -> None:
    runs = []
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", COLD], check=True, capture_output=True, text=True).stdout
        imp, load = map(float, out.split())
        runs.append((imp, load))
    import socialmap

    socialmap.load_demo("kosovo")
    t = time.perf_counter()
    for _ in range(10):
        socialmap.load_demo("kosovo")
    warm = (time.perf_counter() - t) / 10
    best_imp, best_load = min(r[0] for r in runs), min(r[1] for r in runs)
    print(f"import socialmap:            {best_imp:.3f} s (best of 3 fresh processes)")
    print(
        f"load_demo('kosovo') cold:    {best_load:.3f} s (best of 3; worst {max(r[1] for r in runs):.3f} s)"
    )
    print(f"load_demo('kosovo') warm:    {warm * 1000:.1f} ms (mean of 10, in-process cache + copies)")
    print(f"target < 1 s cold: {'met' if best_load < 1 else 'NOT met'}")


if __name__ == "__main__":
    main()
