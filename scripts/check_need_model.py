"""Print whether the demo's scores tell municipalities apart (issue #18's "done when").

For each service type scored with capacities (2SFCA) and a known need: the span of its gap scores
across municipalities (max − min, points); then the Spearman rank correlation of the composite gap
with each type's gap. Run: ``.venv/bin/python scripts/check_need_model.py [--boundaries FILE]``.
"""

from __future__ import annotations

import argparse
import os

from scipy.stats import spearmanr

import socialmap as sm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--boundaries", help="areas file to put under the demo (e.g. official ADM2)")
    args = parser.parse_args()
    areas = args.boundaries if args.boundaries and os.path.exists(args.boundaries) else None
    res = sm.analyze(demo="kosovo", areas=areas)
    table = res.table
    comp = res.composite.set_index("area_id")["composite_gap"]
    print(f"areas: {len(comp)}; boundaries: {areas or 'demo (schematic)'}")
    print(
        f"{'service type':22s} {'method':9s} {'need basis':10s} {'gap min':>8s} {'gap max':>8s} {'span':>6s} "
        f"{'SPAR span':>10s} {'rho(composite)':>15s}"
    )
    worst = 0.0
    for st, rows in table.groupby("service_type", sort=False):
        gap = rows.set_index("area_id")["gap_score"].reindex(comp.index)
        method, basis = rows["method"].iloc[0], rows["need_basis"].iloc[0]
        spar = rows["spar"]
        spar_span = f"{spar.max() - spar.min():10.2f}" if spar.notna().any() else f"{'–':>10s}"
        if gap.notna().sum() < 3:
            gaps, rho_text = f"{'–':>8s} {'–':>8s} {'–':>6s}", f"{'(need unknown)':>15s}"
        else:
            rho = float(spearmanr(comp, gap, nan_policy="omit")[0])
            worst = max(worst, abs(rho))
            span = gap.max() - gap.min()
            gaps, rho_text = f"{gap.min():8.1f} {gap.max():8.1f} {span:6.1f}", f"{rho:15.3f}"
        print(f"{st:22s} {method:9s} {basis:10s} {gaps} {spar_span} {rho_text}")
    print(f"largest |rank correlation| of the composite with one type: {worst:.3f}")


if __name__ == "__main__":
    main()
