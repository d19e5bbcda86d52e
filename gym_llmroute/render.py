"""The ``rgb_array`` render of ``LLMRoute-v0``: a picture of the episode so far, drawn with NumPy alone.

:class:`RecordingSim1` is the simulation core of an env made with ``render_mode="rgb_array"``: a
:class:`~gym_llmroute.sim.Sim1` that also keeps what the picture needs, the set committed at each
stage and samples of (queries served, spend, regret). It records at the rare events of an episode
(a commit, the end of a stage, of a block of outcomes, a price change, the end) and at every
:func:`draw_frame` call, never on an ordinary route step, so an env made to render steps as fast as
one that is not; an env made without ``render_mode="rgb_array"`` runs the plain ``Sim1``.

:func:`draw_frame` fills rectangles and polylines into a preallocated ``uint8`` canvas of
:data:`FRAME_SHAPE` (480 x 640 x 3); there is no text. Its three panels share one horizontal time
axis, queries ``0 .. T`` from left to right, and a vertical *now* line at the queries served so far
(dark grey in a route phase, orange in a deploy phase) crosses all three:

1. **Deployments** (top): one row per catalog model (model 0 at the top; padded slots are left out),
   one column per stage, as wide as the stage is long. A cell is *unavailable* (slate grey: the model
   has not arrived or has retired), *available* (light grey-blue: in the stage's candidate pool, not
   deployed), *deployed* (blue: in the set committed for that stage) or *picked* (orange: picked for
   the stage whose deploy phase is under way, not committed yet). Cells right of the now line (the
   future, and the rest of the current stage) are faded, picked cells excepted; thin white lines
   separate the stages, and the models when a row is at least 4 pixels tall.
2. **Spend** (middle): the cumulative cost, green while at most the budget's pace ``B * t / T`` and
   red above it; the pace as a dashed grey diagonal from ``(0, 0)`` to ``(T, B)``; the budget ``B``
   as a thin red horizontal line. The vertical scale runs from 0 to the larger of ``B`` and the spend
   so far (plus a margin).
3. **Regret** (bottom): the cumulative pseudo-regret against the stage oracle (``info["regret"]``),
   a purple line, over a grey zero line; the vertical scale fits the regret so far (at least one
   unit high).

Faint grey verticals mark the stage boundaries in the lower two panels. Between recorded samples the
lines are straight: an env rendered at every step (``RecordVideo``, ``RenderCollection``) has one
sample per step; one rendered now and then has samples at every stage end and other event (a block of
outcomes is at most 512 queries by default), and at every render.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

from .sim import Sim1, SimParams

__all__ = ["FRAME_SHAPE", "RecordingSim1", "draw_frame"]

FRAME_SHAPE = (480, 640, 3)  # height, width, RGB


def _rgb(r: int, g: int, b: int) -> np.ndarray:
    return np.array((r, g, b), dtype=np.uint8)


# Colours (RGB; arrays, which NumPy assigns several times faster than tuples).
_BACKGROUND = _rgb(232, 232, 232)
_PANEL = _rgb(255, 255, 255)
_BORDER = _rgb(190, 190, 190)
_GRID = _rgb(255, 255, 255)  # lines between the stages and models of the deployment grid
_STAGE = _rgb(228, 228, 228)  # stage boundaries in the lower panels
_NOW_ROUTE = _rgb(40, 40, 40)
_NOW_DEPLOY = _rgb(255, 127, 14)
_CELLS = np.array(
    [
        (110, 114, 128),  # unavailable
        (206, 212, 224),  # available
        (31, 119, 180),  # deployed
        (255, 127, 14),  # picked
    ],
    dtype=np.float64,
)
_FADE = 0.62  # share of white in a faded cell
# Cell colours by state, then the faded ones (picked cells are never faded).
_CELL_LUT = np.concatenate([_CELLS, _CELLS * (1 - _FADE) + 255 * _FADE]).round().astype(np.uint8)
_CELL_LUT[7] = _CELL_LUT[3]
UNAVAILABLE, AVAILABLE, DEPLOYED, PICKED = range(4)
_SPEND_OK = _rgb(44, 160, 44)
_SPEND_OVER = _rgb(214, 39, 40)
_PACE = _rgb(130, 130, 130)
_BUDGET = _rgb(214, 39, 40)
_REGRET = _rgb(128, 60, 170)
_ZERO = _rgb(150, 150, 150)

# Layout: panel boxes (top, bottom, left, right), and the plotting area's columns, shared by all three.
_M = 8  # margin and gap
_PAD = 4  # inside a panel
_H, _W = FRAME_SHAPE[:2]
_GRID_BOX = (_M, 248, _M, _W - _M)
_SPEND_BOX = (256, 360, _M, _W - _M)
_REGRET_BOX = (368, _H - _M, _M, _W - _M)
_X0, _X1 = _M + _PAD, _W - _M - _PAD  # plotting columns (all panels)


class RecordingSim1(Sim1):
    """:class:`~gym_llmroute.sim.Sim1` plus the history a picture of the episode needs.

    ``deployed_hist``: bool (K, N), the set committed for each stage so far. :attr:`samples`: rows
    ``(t, spent, regret)``, from ``(0, 0, 0)`` at reset, added at every event of the route step (the
    end of a stage, of a block of outcomes, a price change, the end of the episode) and by
    :meth:`sample`; one row per ``t``, the latest, except at a hard-budget end, where the regret
    jumps (two rows). Ordinary route steps record nothing: they run :meth:`Sim1.route` unchanged.
    """

    def __init__(self, params: SimParams, penalty: float = 0.0):
        self.deployed_hist = np.zeros((params.n_stages, params.n_models), dtype=bool)
        self._samples = np.zeros((64, 3))  # grown by doubling; the first _n rows are the samples
        self._n = 1
        super().__init__(params, penalty)

    @property
    def samples(self) -> np.ndarray:
        """The samples so far, float64 (n, 3): ``t``, spend and regret (a view)."""
        return self._samples[: self._n]

    def reset_row(self, i: int, rng: np.random.Generator) -> None:
        self.deployed_hist[:] = False
        self._samples[0] = 0.0
        self._n = 1
        super().reset_row(i, rng)

    def commit(self, i: int, stage: int) -> None:
        self.deployed_hist[stage] = self.picked[i]
        super().commit(i, stage)

    def route_event(self, i: int, ended: bool) -> None:
        t, spent = self.t.item(i), self.spent.item(i)
        if ended:  # the regret before a hard-budget end charges the unserved queries: a jump at t
            self._add(t, spent, self.regret.item(i))
        super().route_event(i, ended)
        self._add(t, spent, self.regret.item(i), replace=not ended)

    def sample(self) -> None:
        """Record the current ``(t, spent, regret)``."""
        self._add(float(self._t), self._spent, self._regret)

    def _add(self, t: float, spent: float, regret: float, replace: bool = True) -> None:
        n, buf = self._n, self._samples
        if replace and buf[n - 1, 0] == t:
            n -= 1  # one sample per t: the latest
        elif n == len(buf):
            buf = self._samples = np.concatenate([buf, np.zeros_like(buf)])
        buf[n] = t, spent, regret
        self._n = n + 1


def draw_frame(sim: RecordingSim1, out: np.ndarray | None = None) -> np.ndarray:
    """The picture of row 0's episode so far (module docstring): ``uint8`` array of
    :data:`FRAME_SHAPE`, written into ``out`` if given (else a fresh array). Samples the current
    point first (:meth:`RecordingSim1.sample`)."""
    sim.sample()
    P = sim.params
    img = np.empty(FRAME_SHAPE, dtype=np.uint8) if out is None else out
    img[:] = _blank()
    T = P.horizon
    ts, spend, regret = sim.samples.T
    t_now = float(ts[-1])
    w = _X1 - _X0
    tc = np.arange(w) * (T / (w - 1))  # the time at each plotting column
    x_now = min(int(round(t_now / T * (w - 1))), w - 1)  # the now line's column
    n_past = x_now + 1  # the lines are drawn over columns 0 .. x_now, the last one at t_now exactly
    t_past = np.minimum(tc[:n_past], t_now)
    t_past[-1] = t_now
    stage_col = np.clip(np.searchsorted(P.bounds_f, tc, side="right") - 1, 0, P.n_stages - 1)
    new_stage = np.flatnonzero(stage_col[1:] != stage_col[:-1]) + 1  # first column of each later stage
    stage_lines = new_stage if new_stage.size * 8 <= w else new_stage[:0]  # only if 8 columns apart

    _draw_deployments(img, sim, stage_col, new_stage, tc > t_now)

    # The now line, through the three panels (under the lines, which may jump at the last column).
    now = _NOW_DEPLOY if sim.deploying and t_now < T else _NOW_ROUTE
    for top, bottom, _, _ in (_GRID_BOX, _SPEND_BOX, _REGRET_BOX):
        img[top + 1 : bottom - 1, _X0 + x_now] = now

    for box in (_SPEND_BOX, _REGRET_BOX):
        _area(img, box)[:, stage_lines] = _STAGE
    # Spend against the budget's pace and the budget.
    B = P.total_budget
    hi = max(B, float(spend.max())) * 1.06 or 1.0
    view = _area(img, _SPEND_BOX)
    _hline(view, _scale(B, 0.0, hi, view.shape[0]), _BUDGET)
    _polyline(view, _scale(tc * (B / T), 0.0, hi, view.shape[0]), _PACE, dash=6, thick=1)
    s = np.interp(t_past, ts, spend)
    colors = np.where((s > t_past * (B / T) + 1e-12)[:, None], _SPEND_OVER, _SPEND_OK)
    _polyline(view, _scale(s, 0.0, hi, view.shape[0]), colors)
    # Regret.
    lo, hi = min(0.0, float(regret.min())), max(float(regret.max()), 0.0)
    span = max(hi - lo, 1.0) * 1.06
    lo = lo - 0.03 * span if lo < 0 else 0.0
    view = _area(img, _REGRET_BOX)
    _hline(view, _scale(0.0, lo, lo + span, view.shape[0]), _ZERO)
    r = np.interp(t_past, ts, regret)
    _polyline(view, _scale(r, lo, lo + span, view.shape[0]), _REGRET)

    return img


def _draw_deployments(
    img: np.ndarray, sim: RecordingSim1, stage_col: np.ndarray, new_stage: np.ndarray, future: np.ndarray
) -> None:
    """The stage x model grid (panel 1) over the plotting columns: ``stage_col`` the stage of each
    column, ``new_stage`` the first column of every stage but the first, ``future`` the columns right
    of the now line."""
    P = sim.params
    n = P.n_real
    state = np.where(P.availability[:, :n], AVAILABLE, UNAVAILABLE)  # (K, n)
    state[sim.deployed_hist[:, :n]] = DEPLOYED
    if sim.deploying:
        state[sim.stage.item(0), sim.picked[0, :n]] = PICKED
    view = _area(img, _GRID_BOX)
    h = view.shape[0]
    model_row = np.arange(h) * n // h  # the model of each pixel row
    rows = _CELL_LUT[state.T[:, stage_col] + 4 * future]  # (n, columns, 3): each model's row of pixels
    view[:] = rows[model_row]
    if h >= 4 * n:
        view[np.flatnonzero(model_row[1:] != model_row[:-1]) + 1] = _GRID
    if new_stage.size * 3 <= view.shape[1]:
        view[:, new_stage] = _GRID


# ---------------------------------------------------------------------------------------- primitives
@cache
def _blank() -> np.ndarray:
    """The frame without data: the background and the three empty panels (read-only)."""
    img = np.empty(FRAME_SHAPE, dtype=np.uint8)
    img[:] = _BACKGROUND
    for top, bottom, left, right in (_GRID_BOX, _SPEND_BOX, _REGRET_BOX):
        img[top:bottom, left:right] = _BORDER
        img[top + 1 : bottom - 1, left + 1 : right - 1] = _PANEL
    img.flags.writeable = False
    return img


def _area(img: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The plotting area of a panel (a view): its rows inside the padding, the shared columns."""
    top, bottom, _, _ = box
    return img[top + _PAD : bottom - _PAD, _X0:_X1]


def _scale(v: Any, lo: float, hi: float, h: int) -> Any:
    """Pixel rows (float) of values ``v`` (a float or an array) on a vertical axis of ``h`` rows from
    ``lo`` (bottom) to ``hi`` (top)."""
    return np.clip((h - 1) * (1.0 - (v - lo) / (hi - lo)), 0.0, h - 1)


def _hline(view: np.ndarray, y: float, color: np.ndarray) -> None:
    """A horizontal line, one pixel thick, at pixel row ``y`` (rounded)."""
    view[int(round(float(y)))] = color


def _polyline(view: np.ndarray, y: np.ndarray, color: np.ndarray, dash: int = 0, thick: int = 2) -> None:
    """A line through the points ``(c, y[c])`` of consecutive columns ``c = 0, 1, ...`` of ``view``
    (``y`` in pixel rows), ``thick`` pixels thick; each column gets the vertical run from the previous
    point to its own. ``color``: one RGB (3,) or one per column (k, 3). ``dash``: drawn ``dash``
    columns on, ``dash`` off."""
    yi = np.rint(y).astype(np.int64)
    prev = np.concatenate((yi[:1], yi[:-1]))
    lo = np.maximum(np.minimum(prev, yi) - (thick - 1) // 2, 0)
    hi = np.minimum(np.maximum(prev, yi) + thick // 2, view.shape[0] - 1)
    cols = np.arange(y.size)
    if dash:
        on = (cols // dash) % 2 == 0
        cols, lo, hi = cols[on], lo[on], hi[on]
    # The pixels of every column's run, (row, column) pairs.
    runs = hi - lo + 1
    ends = np.cumsum(runs)
    c = np.repeat(cols, runs)
    r = np.repeat(lo - ends + runs, runs) + np.arange(ends[-1])
    view[r, c] = color if color.ndim == 1 else color[c]
