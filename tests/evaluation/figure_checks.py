"""What a report figure shows, read back from the matplotlib objects (no image comparison)."""

from __future__ import annotations

import re
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

NAN = re.compile(r"\bnan\b", re.IGNORECASE)


def texts(fig: Figure) -> list[str]:
    """Every visible string of the figure: titles, labels, tick labels, legends, annotations."""
    FigureCanvasAgg(fig).draw()
    return [t.get_text() for t in fig.findobj(Text) if t.get_visible() and t.get_text()]


def data_axes(fig: Figure) -> list[Axes]:
    """Axes that plot something (colour bars left out)."""
    return [ax for ax in fig.axes if not hasattr(ax, "_colorbar")
            and (ax.lines or ax.collections or ax.patches or ax.images)]


def legend_labels(ax: Axes) -> list[str]:
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend is not None else []


def _labelled(ax: Axes, axis: str) -> bool:
    if (ax.get_xlabel() if axis == "x" else ax.get_ylabel()):
        return True
    shared = ax.get_shared_x_axes() if axis == "x" else ax.get_shared_y_axes()
    return any((o.get_xlabel() if axis == "x" else o.get_ylabel()) for o in shared.get_siblings(ax) if o is not ax)


def check_figure(fig: Figure) -> dict[str, Any]:
    """Assert the report rules and return what the figure shows.

    Rules: no ``nan`` text anywhere; every plotting axes has an x and a y label (or shares the
    axis with one that has it); no axes title overlaps another axes. Returns ``titles``,
    ``xlabels``, ``ylabels``, ``legends`` (per data axes) and all ``texts``.
    """
    strings = texts(fig)
    bad = [s for s in strings if NAN.search(s)]
    assert not bad, f"figure shows nan: {bad}"
    axes = data_axes(fig)
    assert axes, "figure plots nothing"
    for ax in axes:
        assert _labelled(ax, "x") and _labelled(ax, "y"), (
            f"axes {ax.get_title()!r}: x label {ax.get_xlabel()!r}, y label {ax.get_ylabel()!r}")
    renderer = fig.canvas.get_renderer()
    boxes = [(ax, ax.get_window_extent(renderer)) for ax in fig.axes]
    for ax in axes:
        if not ax.get_title():
            continue
        title = ax.title.get_window_extent(renderer)
        for other, box in boxes:
            if other is not ax and not hasattr(other, "_colorbar"):
                assert not title.overlaps(box), f"title {ax.get_title()!r} overlaps another panel"
    return {"titles": [ax.get_title() for ax in axes], "xlabels": [ax.get_xlabel() for ax in axes],
            "ylabels": [ax.get_ylabel() for ax in axes], "legends": [legend_labels(ax) for ax in axes],
            "texts": strings}
