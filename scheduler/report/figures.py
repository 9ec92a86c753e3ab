"""One Plotly figure per series: run medians with interquartile error bars, change points."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from scheduler.changepoints import ChangePoint, Direction
from scheduler.history import Point, Series

_COLOURS = {Direction.SLOWER: "#c62828", Direction.FASTER: "#2e7d32"}


def _hover(point: Point) -> str:
    lines = [f"test run {point.test_run_id}", f"{len(point.samples)} samples"]
    if point.commit:
        lines.append(f"commit {point.commit[:12]}")
    if point.build:
        lines.append(f"build {point.build}")
    prov = point.provenance
    if prov:
        lines += [f"{prov.environment}", f"JDK {prov.jdk}", f"kernel {prov.kernel}"]
        if prov.jvm_args:
            lines.append(f"JVM args {prov.jvm_args}")
    return "<br>".join(lines)


def series_figure(series: Series, changes: Sequence[ChangePoint], *, div_id: str) -> str:
    """The figure as an HTML fragment (a div and its script; plotly.js comes with the page)."""
    import plotly.graph_objects as go

    points = [p for p in series.points if p.samples]
    x = [p.time for p in points]
    quartiles = [np.percentile(p.samples, [25, 50, 75]) for p in points]
    medians = [float(q[1]) for q in quartiles]
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=x,
            y=medians,
            mode="lines+markers",
            name="median",
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [float(q[2] - q[1]) for q in quartiles],
                "arrayminus": [float(q[1] - q[0]) for q in quartiles],
            },
            text=[_hover(p) for p in points],
            hovertemplate="%{y:.4g} " + series.unit + "<br>%{text}<extra></extra>",
        )
    )
    for change in changes:
        colour = _COLOURS[change.direction]
        figure.add_trace(
            go.Scatter(
                x=[change.first_bad.time],
                y=[medians[change.index]],
                mode="markers",
                marker={"symbol": "x", "size": 14, "color": colour},
                name=f"{change.direction.value} x{change.ratio:.3f}",
                hovertemplate=(
                    f"change point: {change.direction.value}, ratio {change.ratio:.3f} "
                    f"[{change.ratio_low:.3f}, {change.ratio_high:.3f}], "
                    f"p={change.p_value:.2g}<extra></extra>"
                ),
            )
        )
        figure.add_shape(
            type="line",
            x0=change.first_bad.time,
            x1=change.first_bad.time,
            y0=0,
            y1=1,
            yref="paper",
            line={"color": colour, "dash": "dot"},
        )
    figure.update_layout(
        height=320,
        margin={"l": 60, "r": 20, "t": 30, "b": 40},
        yaxis_title=series.unit or "value",
        showlegend=bool(changes),
        template="plotly_white",
    )
    return str(
        figure.to_html(
            full_html=False,
            include_plotlyjs=False,
            div_id=div_id,
            config={"responsive": True, "displaylogo": False},
        )
    )
