"""A matrix drawn as a PNG with its axes, by Pillow alone (the spectrograms of
:mod:`sectionist.dashboard.media.audio`).

Matplotlib drew the same picture in ~0.4 s, most of it laying out its axes' text; this draws the image
(the values coloured through the colour map's 256-entry table after a bilinear resize in value space,
as matplotlib's ``interpolation="bilinear"`` does), the frame, outward ticks and their labels in
DejaVu Sans (the font matplotlib ships) in a few tens of milliseconds, so a section's first click is
not spent rendering.
"""

from __future__ import annotations

import functools
import io
import math

import numpy as np

#: Label size in pixels (matplotlib's 7 pt at 100 dpi).
FONT_PX = 10
TICK_PX = 2
#: Text colour, frame colour, background.
INK = (0, 0, 0)
PAPER = (255, 255, 255)


@functools.lru_cache(maxsize=4)
def colour_table(name: str = "magma") -> np.ndarray:
    """The colour map ``name`` as ``uint8 [shape=(256, 3)]`` (matplotlib's registry)."""
    from matplotlib import colormaps

    return (colormaps[name](np.linspace(0.0, 1.0, 256))[:, :3] * 255 + 0.5).astype(np.uint8)


@functools.lru_cache(maxsize=1)
def _font():
    from matplotlib import font_manager
    from PIL import ImageFont

    return ImageFont.truetype(font_manager.findfont("DejaVu Sans"), FONT_PX)


def nice_ticks(lo: float, hi: float, most: int = 9) -> list[float]:
    """At most ``most`` round values (1, 2, 2.5 or 5 times a power of ten apart) within ``[lo, hi]``."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(1, most - 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    out = []
    v = first
    while v <= hi + step * 1e-9:
        out.append(round(v, 10))
        v += step
    return out


def tick_label(value: float, step: float) -> str:
    """``value`` with as many decimals as the ticks' ``step`` needs ("10", "10.5", "10.25")."""
    decimals = 0
    while decimals < 6 and abs(step * 10 ** decimals - round(step * 10 ** decimals)) > 1e-6:
        decimals += 1
    return f"{value:.{decimals}f}"


def draw_png(values: np.ndarray, size: tuple[int, int], axes: tuple[float, float, float, float], *,
             x_range: tuple[float, float], y_range: tuple[float, float], y_ticks: list[float],
             y_labels: list[str], x_label: str, y_label: str, cmap: str = "magma") -> bytes:
    """A PNG of ``values`` [shape=(rows, columns)], row 0 at the bottom, stretched over the axes.

    Parameters
    ----------
    values : np.ndarray [shape=(rows, columns)]
        Coloured from their minimum to their maximum (NaN as the minimum).
    size : (int, int)
        Width and height of the PNG in pixels.
    axes : (float, float, float, float)
        Left, bottom, width and height of the image in the PNG, as fractions (matplotlib's ``add_axes``).
    x_range, y_range : (float, float)
        Values at the image's left and right, bottom and top edges.
    y_ticks, y_labels : list
        Tick positions (in ``y_range``'s units) up the side and their labels; the bottom axis gets
        :func:`nice_ticks` of ``x_range``.
    x_label, y_label : str
        Axis titles (the side one turned a quarter).

    Returns
    -------
    bytes
    """
    from PIL import Image, ImageDraw

    width, height = size
    left, bottom, w_frac, h_frac = axes
    ax0, ax1 = int(width * left), int(width * (left + w_frac))
    ay1 = height - int(height * bottom)  # the image's bottom row (PIL counts rows from the top)
    ay0 = height - int(height * (bottom + h_frac))
    aw, ah = ax1 - ax0, ay1 - ay0

    v = np.asarray(values, dtype=np.float32)
    finite = np.isfinite(v)
    lo = float(v[finite].min()) if finite.any() else 0.0
    hi = float(v[finite].max()) if finite.any() else 1.0
    v = np.where(finite, v, lo)
    # resized in value space (bilinear), then coloured, low rows at the bottom
    scaled = Image.fromarray(np.ascontiguousarray(v[::-1]), mode="F").resize((aw, ah), Image.BILINEAR)
    index = np.clip((np.asarray(scaled) - lo) / ((hi - lo) or 1.0) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    picture = Image.new("RGB", (width, height), PAPER)
    picture.paste(Image.fromarray(colour_table(cmap)[index], mode="RGB"), (ax0, ay0))

    draw = ImageDraw.Draw(picture)
    font = _font()
    draw.rectangle((ax0 - 1, ay0 - 1, ax1, ay1), outline=INK, width=1)
    # bottom axis
    x_lo, x_hi = float(x_range[0]), float(x_range[1])
    xt = nice_ticks(x_lo, x_hi)
    step = xt[1] - xt[0] if len(xt) > 1 else 1.0
    for value in xt:
        px = ax0 + (value - x_lo) / ((x_hi - x_lo) or 1.0) * aw
        draw.line((px, ay1, px, ay1 + TICK_PX), fill=INK)
        draw.text((px, ay1 + TICK_PX + 1), tick_label(value, step), font=font, fill=INK, anchor="mt")
    draw.text((ax0 + aw / 2, min(height - FONT_PX - 2, ay1 + TICK_PX + FONT_PX + 5)), x_label, font=font, fill=INK,
              anchor="mt")
    # side axis
    y_lo, y_hi = float(y_range[0]), float(y_range[1])
    widest = 0
    for value, label in zip(y_ticks, y_labels):
        py = ay1 - (value - y_lo) / ((y_hi - y_lo) or 1.0) * ah
        if not ay0 - 0.5 <= py <= ay1 + 0.5:
            continue
        draw.line((ax0 - 1 - TICK_PX, py, ax0 - 1, py), fill=INK)
        draw.text((ax0 - TICK_PX - 3, py), label, font=font, fill=INK, anchor="rm")
        widest = max(widest, int(draw.textlength(label, font=font)))
    title = Image.new("RGB", (max(1, int(draw.textlength(y_label, font=font)) + 2), FONT_PX + 4), PAPER)
    ImageDraw.Draw(title).text((1, 1), y_label, font=font, fill=INK)
    title = title.rotate(90, expand=True)
    picture.paste(title, (max(0, ax0 - TICK_PX - 5 - widest - title.width), ay0 + (ah - title.height) // 2))

    buf = io.BytesIO()
    # a light compression: the PNG is written once (then cached), but while someone waits for it
    picture.save(buf, format="PNG", compress_level=3)
    return buf.getvalue()
