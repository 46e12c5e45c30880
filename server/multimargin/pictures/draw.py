"""The pictures (matplotlib, the ``plots`` extra), written as PNG and SVG.

Imported only by the ``stress`` and ``tiers`` commands, so the server never loads
matplotlib. Numbers are turned into floats here for drawing only; the printed tables
carry the exact decimals.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

try:
    import matplotlib
except ImportError as e:  # pragma: no cover - depends on the installation
    raise ImportError("the pictures need matplotlib: pip install 'multimargin[plots]' (or matplotlib)") from e

matplotlib.use("Agg")  # files only, no display
matplotlib.rcParams["svg.fonttype"] = "none"  # SVG text stays text (searchable, selectable)

from matplotlib import pyplot as plt  # noqa: E402  (after choosing the backend)
from matplotlib import ticker  # noqa: E402

from multimargin.pictures.stress import Point, Stress  # noqa: E402
from multimargin.pictures.tiers import TierCurve  # noqa: E402

#: Figure size in inches at DPI dots per inch: PNGs are 1000 × 600 pixels.
SIZE = (10.0, 6.0)
DPI = 100
#: Margin levels beyond this many times the highest threshold switch the axis to symlog.
FAR = 25
#: Legends sit right of the plots, clear of the lines.
LEGEND = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "fontsize": "small"}


def _f(x: Decimal) -> float:
    return float(x)


def _save(fig: Any, prefix: Path) -> list[Path]:
    prefix.parent.mkdir(parents=True, exist_ok=True)
    paths = [prefix.with_name(prefix.name + ".png"), prefix.with_name(prefix.name + ".svg")]
    fig.savefig(paths[0], dpi=DPI)
    fig.savefig(paths[1])
    plt.close(fig)
    return paths


def _percent(move: Decimal) -> float:
    return float(move * 100)


def stress_figure(
    stress: Stress, points: Sequence[Point], liquidations: Sequence[Point], prefix: Path
) -> list[Path]:
    """Margin level against the move, the thresholds and the liquidation prices; for
    futures also each pool's effective and maintenance margin. Returns the files."""
    futures = stress.kind == "FUTURES"
    fig, axes = plt.subplots(2 if futures else 1, 1, figsize=SIZE, sharex=True, squeeze=False)
    level_ax = axes[0][0]
    moves = [_percent(p.move) for p in points]
    levels: list[float] = []
    for name, series in stress.levels(points).items():
        ys = [float("nan") if v is None else _f(v) for v in series]
        levels += [y for y in ys if y == y]
        level_ax.plot(moves, ys, marker="o", markersize=3, label=f"margin level {name}".rstrip())
    colours = {"liquidation": "tab:red", "margin call": "tab:orange"}
    for label, value in stress.thresholds.items():
        level_ax.axhline(
            _f(value), color=colours[label], linestyle="--", linewidth=1, label=f"{label} threshold {value}"
        )
    _level_scale(level_ax, levels, [_f(v) for v in stress.thresholds.values()])
    if not levels:
        level_ax.text(
            0.5, 0.5, "no margin level (nothing owed, or MM = 0)", transform=level_ax.transAxes, ha="center"
        )
    for liq in liquidations:
        label = f"liquidation price {liq.price.normalize():f}"
        for n, row in enumerate(axes):
            row[0].axvline(_percent(liq.move), color="tab:red", linewidth=1.5, label=None if n else label)
    level_ax.set_ylabel("margin level")
    level_ax.set_title(
        f"{stress.kind} {stress.mode}: {stress.reference} from {stress.base_price.normalize():f}"
    )
    level_ax.grid(alpha=0.3)
    level_ax.legend(**LEGEND)
    if futures:
        ax = axes[1][0]
        for i, pool in enumerate(points[0].risk.pools):
            (line,) = ax.plot(
                moves,
                [_f(p.risk.pools[i].effective_margin) for p in points],
                label=f"effective margin {pool.id}",
            )
            ax.plot(
                moves,
                [_f(p.risk.pools[i].maintenance_margin) for p in points],
                linestyle=":",
                color=line.get_color(),
                label=f"maintenance margin {pool.id}",
            )
        ax.axhline(0, color="grey", linewidth=0.8)
        ax.set_ylabel("USDT")
        ax.grid(alpha=0.3)
        ax.legend(**LEGEND)
    axes[-1][0].set_xlabel(f"move of {stress.asset} (%)")
    fig.tight_layout()
    return _save(fig, prefix)


def _level_scale(ax: Any, levels: Sequence[float], thresholds: Sequence[float]) -> None:
    """Linear from 0 (or the lowest level) to above the thresholds; when levels reach far
    beyond, linear near the thresholds and logarithmic further out, so that both the
    thresholds and the far values stay readable."""
    top = max(thresholds)
    low, high = min([0.0, *levels]), max([*levels, *thresholds])
    if high > FAR * top or low < -FAR * top:
        ax.set_yscale("symlog", linthresh=2 * top, linscale=2)
        ax.yaxis.set_major_formatter(ticker.ScalarFormatter())
    else:
        pad = (high - low) * 0.05 or 0.1
        ax.set_ylim(low - pad, high + pad)


def tiers_figure(collateral: TierCurve, haircut: TierCurve, prefix: Path) -> list[Path]:
    """The collateral curve (cap marked) and the haircut ratio and curve. Returns the files."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=SIZE)
    xs = [_f(p.base) for p in collateral.points]
    top.plot(
        xs, [_f(p.value) for p in collateral.points], marker="o", markersize=3, label="collateral counted"
    )
    top.plot(xs, xs, color="grey", linestyle=":", linewidth=0.8, label="quantity held (ratio 1)")
    if collateral.cap is not None:
        top.axvline(
            _f(collateral.cap),
            color="tab:red",
            linestyle="--",
            label=f"collateral cap {collateral.cap.normalize():f}",
        )
    top.set_xlabel(f"wallet quantity ({collateral.asset})")
    top.set_ylabel(f"collateral ({collateral.asset})")
    top.set_title(f"{collateral.asset}: collateral_tiers (futures multi-asset)")
    top.grid(alpha=0.3)
    top.legend(loc="best", fontsize="small")

    edges = [_f(s.start) for s in haircut.slices] + [_f(haircut.slices[-1].end)] if haircut.slices else []
    rates = [_f(s.rate) for s in haircut.slices]
    if rates:
        bottom.stairs(rates, edges, baseline=None, color="tab:blue", label="haircut ratio")
    bottom.set_ylim(0, 1.05)
    bottom.set_xlabel("holdings value (USDT)")
    bottom.set_ylabel("haircut ratio")
    bottom.set_title(f"{haircut.asset}: haircut_tiers (margin accounts)")
    value_ax = bottom.twinx()
    value_ax.plot(
        [_f(p.base) for p in haircut.points],
        [_f(p.value) for p in haircut.points],
        color="tab:green",
        marker="o",
        markersize=3,
        label="collateral value",
    )
    value_ax.set_ylabel("collateral value (USDT)")
    if haircut.cap is not None:
        bottom.axvline(
            _f(haircut.cap), color="tab:red", linestyle="--", label=f"cap {haircut.cap.normalize():f}"
        )
    handles = bottom.get_legend_handles_labels()
    more = value_ax.get_legend_handles_labels()
    bottom.legend(handles[0] + more[0], handles[1] + more[1], loc="lower left", fontsize="small")
    bottom.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, prefix)


__all__ = ["stress_figure", "tiers_figure"]
