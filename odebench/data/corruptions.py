"""Our own implementations of the 10 MNIST-C corruptions of ODEtoODE Tables 1-2, plus identity.

Each follows the definition in the public MNIST-C generator (Mu & Gilmer, "MNIST-C", 2019;
``corruptions.py`` of ``github.com/google-research/mnist-c``), re-implemented with numpy and
scipy, at the severity each generator function takes by default; every docstring names the
generator function and its constants. Differences that remain are stated where they occur.

Every corruption is ``fn(images, rng, **params) -> images``: ``images`` is ``[N, H, W]`` in
[0, 1] (any size; 8 x 8 digits and 28 x 28 MNIST alike), the result has the same shape and
floating dtype (float32 for integer input), clipped to [0, 1]. The generator works at 28 x 28:
at another size a pixel amount (shift, stripe width, blur sigma, shuffle offset, motion
radius) is scaled by ``min(H, W) / 28`` (at least one pixel where a pixel count is meant), and
the two overlays (spatter mud, dotted line) are drawn on the generator's 28 x 28 grid and
area-averaged to ``H x W``. Affine maps act about the image centre, as the generator's
(13.5, 13.5). The generator's final 8-bit storage of each image is not reproduced.
:func:`corrupt` applies one by name with a seeded generator, so equal seeds give equal images.
:data:`CORRUPTIONS` lists them in the paper's table-row order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
from scipy import ndimage

from odebench.data.errors import UnknownCorruptionError
from odebench.data.warps import affine, shift, size_scale

Corruption = Callable[..., np.ndarray]
GRID = 28                       # the generator's image size
MUD = 63 / 255                  # generator spatter: grey of the mud
LINE_DECAY = 2.3                # generator line_from_points: 1 + log(1 - d / 2.3), d clipped


def _work(images: np.ndarray) -> np.ndarray:
    """``images`` as a float64 copy, after checking shape and value range."""
    array = np.asarray(images)
    if array.ndim != 3 or not (np.issubdtype(array.dtype, np.floating)
                               or np.issubdtype(array.dtype, np.integer)):
        raise ValueError(f"expected real images shaped [N, H, W], got shape {array.shape} "
                         f"dtype {array.dtype}")
    work = array.astype(np.float64)
    if work.size and not (np.isfinite(work).all() and work.min() >= 0 and work.max() <= 1):
        raise ValueError("image values must be finite and within [0, 1]")
    return work


def _done(work: np.ndarray, like: np.ndarray) -> np.ndarray:
    """Clip to [0, 1] and return in the input's floating dtype (float32 for integers)."""
    dtype = like.dtype if np.issubdtype(like.dtype, np.floating) else np.float32
    return np.clip(work, 0.0, 1.0).astype(dtype)


def _pixels(value: int | None, images: np.ndarray, at_28: float) -> int:
    """A pixel count: ``value``, else ``at_28`` scaled to the image size (at least 1)."""
    if value is None:
        return max(1, round(at_28 * size_scale(images)))
    if value < 1:
        raise ValueError(f"pixel counts must be >= 1, got {value}")
    return int(value)


def _signs(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` random signs, each -1 or +1 with probability 1/2."""
    return rng.choice([-1.0, 1.0], size=n)


def area_weights(size: int, source: int = GRID) -> np.ndarray:
    """``[size, source]`` weights: pixel ``i`` of a ``size``-pixel axis is the mean of the
    ``source``-pixel axis over the same extent (fractional overlaps count by length)."""
    edges = np.linspace(0.0, source, size + 1)
    left = np.arange(source, dtype=float)
    overlap = (np.minimum(edges[1:, None], left[None, :] + 1)
               - np.maximum(edges[:-1, None], left[None, :]))
    return np.clip(overlap, 0.0, None) * size / source


def _to_size(layer: np.ndarray, height: int, width: int) -> np.ndarray:
    """A ``[N, 28, 28]`` overlay area-averaged to ``[N, height, width]`` (exact at 28)."""
    if layer.shape[1:] == (height, width):
        return layer
    return np.einsum("ij,njk,lk->nil", area_weights(height, layer.shape[1]), layer,
                     area_weights(width, layer.shape[2]))


def _warp(work: np.ndarray, sampling: np.ndarray) -> np.ndarray:
    """Output pixel ``p`` = input at ``centre + sampling[n] @ (p - centre)``, in screen
    coordinates (``x`` right, ``y`` down), bilinear, zeros outside: the generator's
    ``skimage.transform.warp(x, inverse_map=AffineTransform(...))`` about the centre."""
    flip = np.diag([1.0, -1.0])                    # screen (y down) <-> warps.affine (y up)
    return affine(work, np.linalg.inv(flip @ sampling @ flip))


# --- noise -----------------------------------------------------------------------------------

def shot_noise(images: np.ndarray, rng: np.random.Generator, *,
               strength: float = 3.0) -> np.ndarray:
    """Poisson noise, ``Poisson(x * strength) / strength``: mean ``x``, variance
    ``x / strength`` (generator ``shot_noise``, default severity 5: ``c = 3``)."""
    if strength <= 0:
        raise ValueError(f"strength must be > 0, got {strength}")
    return _done(rng.poisson(_work(images) * strength) / strength, np.asarray(images))


# --- affine transformations ------------------------------------------------------------------

def rotate(images: np.ndarray, rng: np.random.Generator, *,
           radians: float = 0.4) -> np.ndarray:
    """Rotate each image about its centre by exactly ``radians``, in a random direction
    (generator ``rotate``, default severity 2: ``c = 0.4`` rad = 22.9 deg, sign drawn per
    image); output ``p`` samples the input at ``R(c) (p - centre)``, bilinear, zeros outside."""
    work = _work(images)
    angle = radians * _signs(rng, len(work))
    cos, sin = np.cos(angle), np.sin(angle)
    sampling = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)
    return _done(_warp(work, sampling), np.asarray(images))


def shear(images: np.ndarray, rng: np.random.Generator, *,
          radians: float = 0.4) -> np.ndarray:
    """Shear about the centre with skimage's ``AffineTransform(shear=c)`` as the inverse map
    (generator ``shear``, default severity 2: ``c = 0.4`` rad, sign drawn per image): output
    ``(x, y)`` (y down) samples the input at ``(x - sin(c) y, cos(c) y)``, so rows slide
    sideways by ``sin c`` per row and the image stretches vertically by ``1 / cos c``."""
    work = _work(images)
    angle = radians * _signs(rng, len(work))
    sampling = np.zeros((len(work), 2, 2))
    sampling[:, 0, 0] = 1.0
    sampling[:, 0, 1] = -np.sin(angle)
    sampling[:, 1, 1] = np.cos(angle)
    return _done(_warp(work, sampling), np.asarray(images))


def scale(images: np.ndarray, rng: np.random.Generator, *, factor: float = 0.7) -> np.ndarray:
    """Zoom about the centre by ``factor``: output ``p`` samples the input at
    ``(p - centre) / factor`` (generator ``scale``, default severity 3: inverse-map scale
    ``1 / 0.7``). Deterministic (``rng`` unused)."""
    if factor <= 0:
        raise ValueError(f"factor must be > 0, got {factor}")
    work = _work(images)
    sampling = np.broadcast_to(np.eye(2) / factor, (len(work), 2, 2))
    return _done(_warp(work, sampling), np.asarray(images))


def translate(images: np.ndarray, rng: np.random.Generator, *,
              pixels: int | None = None) -> np.ndarray:
    """Shift by exactly ``pixels`` along each axis, each direction a random sign (generator
    ``translate``, default severity 3: ``c = 3`` px at 28 x 28, so 1 px at 8 x 8); zeros
    shifted in."""
    work = _work(images)
    step = _pixels(pixels, work, 3)
    signs = rng.choice([-1, 1], size=(len(work), 2))
    out = np.stack([shift(image, step * int(dr), step * int(dc))
                    for image, (dr, dc) in zip(work, signs, strict=True)]) if len(work) \
        else work
    return _done(out, np.asarray(images))


# --- overlays --------------------------------------------------------------------------------

def stripe(images: np.ndarray, rng: np.random.Generator, *, width: int | None = None,
           axis: str = "vertical") -> np.ndarray:
    """Invert two bands of ``width`` pixels at opposite edges: the outer columns
    (``axis="vertical"``) or rows (``"horizontal"``) (generator ``stripe``: columns ``:7``
    and ``21:`` at 28 x 28). Deterministic."""
    work = _work(images)
    band = _pixels(width, work, 7)
    if axis not in ("vertical", "horizontal"):
        raise ValueError(f"axis must be 'vertical' or 'horizontal', got {axis!r}")
    view = work if axis == "vertical" else work.transpose(0, 2, 1)
    if 2 * band > view.shape[2]:
        raise ValueError(f"two stripes of {band} px do not fit in {view.shape[2]} px")
    view[:, :, :band] = 1.0 - view[:, :, :band]
    view[:, :, -band:] = 1.0 - view[:, :, -band:]
    return _done(work, np.asarray(images))


def dotted_line_layer(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` dotted lines on the 28 x 28 grid, as the generator's ``dotted_line``: rows
    ``r0, r1`` drawn from 0..26, the line from ``(r0, column 0)`` to ``(r1, column 27)``,
    each pixel ``1 + log(1 - d / 2.3)`` (clipped to [0, 1]) at vertical distance ``d`` from
    it (``line_from_points``; zero beyond ``d = 1.45``), column 27 cleared, and the columns
    ``c`` with ``(c // 2)`` even cleared: dashes of 2 columns every 4, starting at column 2."""
    ends = rng.integers(0, GRID - 1, size=(n, 2)).astype(float)
    cols = np.arange(GRID)
    middle = ends[:, :1] + (ends[:, 1:] - ends[:, :1]) * cols / (GRID - 1)      # [N, 28]
    distance = np.abs(np.arange(GRID)[None, :, None] - middle[:, None, :])
    distance = np.minimum(distance, LINE_DECAY - 1e-10)
    layer = np.clip(1.0 + np.log(1.0 - distance / LINE_DECAY), 0.0, 1.0)
    layer[:, :, GRID - 1:] = 0.0
    layer[:, :, (cols // 2) % 2 == 0] = 0.0
    return layer


def dotted_line(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Add a dotted line, ``clip(x + line, 0, 1)``, with the line of
    :func:`dotted_line_layer` area-averaged to the image size (generator ``dotted_line``;
    at 8 x 8 the 2-column dashes are finer than a pixel and merge into a fainter line)."""
    work = _work(images)
    layer = _to_size(dotted_line_layer(rng, len(work)), *work.shape[1:])
    return _done(work + layer, np.asarray(images))


def spatter_mask(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` mud masks ``m`` on the 28 x 28 grid, as the generator's ``spatter`` at its
    default severity 4, ``(0.65, 0.3, 1, 0.65, 1.5, mud)``: a liquid layer
    ``Normal(0.65, 0.3)`` per pixel, Gaussian-blurred with sigma 1, wet where above 0.65;
    the wet map blurred with sigma 1.5 and kept where at least 0.8 (else 0). Blurs as
    skimage's ``gaussian``: edge-replicated borders, truncated at 4 sigma."""
    liquid = rng.normal(0.65, 0.3, size=(n, GRID, GRID))
    liquid = ndimage.gaussian_filter(liquid, sigma=(0, 1.0, 1.0), mode="nearest")
    wet = (liquid > 0.65).astype(np.float64)
    mask = ndimage.gaussian_filter(wet, sigma=(0, 1.5, 1.5), mode="nearest")
    return np.where(mask >= 0.8, mask, 0.0)


def spatter(images: np.ndarray, rng: np.random.Generator, *,
            colour: float = MUD) -> np.ndarray:
    """Mud: ``x (1 - m) + colour m`` with ``m`` from :func:`spatter_mask` area-averaged to the
    image size (generator ``spatter``, mud of grey 63/255)."""
    work = _work(images)
    mask = _to_size(spatter_mask(rng, len(work)), *work.shape[1:])
    return _done(work * (1.0 - mask) + colour * mask, np.asarray(images))


# --- blurs -----------------------------------------------------------------------------------

def _vertical_blur(work: np.ndarray, sigma: float) -> np.ndarray:
    """Vertical Gaussian blur only (down each column), edge-replicated: what skimage's
    ``gaussian(x, sigma, multichannel=True)`` does to a 2-D image (it takes the last axis for
    colour channels and leaves it unblurred), as the generator's ``glass_blur`` calls it."""
    if sigma <= 0:
        return work
    return ndimage.gaussian_filter(work, sigma=(0, sigma, 0), mode="nearest")


def _shuffle_locally(work: np.ndarray, rng: np.random.Generator, max_delta: int,
                     iterations: int) -> np.ndarray:
    """The generator's local shuffle: per sweep, visit rows ``h`` from ``H - d`` down to
    ``d + 1`` and, in each, columns ``w`` from ``W - d`` down to ``d + 1``; with probability
    1/2 swap pixel ``(h, w)`` with ``(h + dy, w + dx)``, ``dx, dy`` uniform integers in
    ``[-d, d - 1]``. Vectorised over images; a permutation of each image's pixels."""
    out = work.copy()
    n, height, width = out.shape
    images = np.arange(n)
    for _ in range(iterations):
        swap = rng.random((height, width, n)) < 0.5
        offsets = rng.integers(-max_delta, max_delta, size=(height, width, 2, n))
        for row in range(height - max_delta, max_delta, -1):
            for col in range(width - max_delta, max_delta, -1):
                chosen = swap[row, col]
                which = images[chosen]
                other_r = row + offsets[row, col, 0, chosen]
                other_c = col + offsets[row, col, 1, chosen]
                here = out[which, row, col].copy()
                out[which, row, col] = out[which, other_r, other_c]
                out[which, other_r, other_c] = here
    return out


def glass_blur(images: np.ndarray, rng: np.random.Generator, *, sigma: float | None = None,
               max_delta: int | None = None, iterations: int = 2) -> np.ndarray:
    """Blur, quantise to 8 bits (floor), shuffle locally (:func:`_shuffle_locally`), blur
    again (generator ``glass_blur``, default severity 1: sigma 0.7, delta 1, 2 sweeps at
    28 x 28; sigma and delta scaled to the size). Both blurs are vertical only, as the
    generator's ``gaussian(..., multichannel=True)`` on a 2-D image does."""
    work = _work(images)
    blur = 0.7 * size_scale(work) if sigma is None else float(sigma)
    delta = _pixels(max_delta, work, 1)
    if iterations < 0:
        raise ValueError(f"iterations must be >= 0, got {iterations}")
    quantised = np.floor(_vertical_blur(work, blur) * 255.0) / 255.0
    out = _vertical_blur(_shuffle_locally(quantised, rng, delta, iterations), blur)
    return _done(out, np.asarray(images))


def motion_offsets(degrees: np.ndarray, taps: int) -> tuple[np.ndarray, np.ndarray]:
    """(row, column) offsets ``[N, taps]`` of ImageMagick's motion blur: tap ``i`` at
    ``(i sin a, i cos a)`` (``y`` down), each rounded as ImageMagick does, ``ceil(v - 0.5)``."""
    steps = np.arange(taps)[None, :]
    angle = np.deg2rad(np.asarray(degrees, dtype=float))[:, None]
    rows = np.ceil(steps * np.sin(angle) - 0.5).astype(int)
    cols = np.ceil(steps * np.cos(angle) - 0.5).astype(int)
    return rows, cols


def motion_weights(sigma: float, taps: int) -> np.ndarray:
    """ImageMagick's motion-blur kernel: ``exp(-i^2 / 2 sigma^2)``, ``i = 0..taps-1``,
    summing to 1."""
    steps = np.arange(taps)
    weights = np.exp(-steps**2 / (2 * sigma**2)) if sigma > 0 else (steps == 0).astype(float)
    return weights / weights.sum()


def motion_blur(images: np.ndarray, rng: np.random.Generator, *, sigma: float | None = None,
                radius: float | None = None,
                degrees: tuple[float, float] = (-45.0, 45.0)) -> np.ndarray:
    """ImageMagick's ``MotionBlurImage`` as the generator's ``motion_blur`` calls it (default
    severity 1: radius 10, sigma 3, angle ``a`` uniform in [-45, 45] deg; radius and sigma
    scaled to the size): ``2 ceil(radius) + 1`` taps of :func:`motion_weights`, output
    ``(r, c)`` = weighted sum of the input at ``(r, c)`` + :func:`motion_offsets`, borders
    edge-replicated (ImageMagick's default virtual pixels). A point therefore leaves a trail
    towards ``-(cos a, sin a)`` (``x`` right, ``y`` down). Not reproduced: the PNG round trip
    (8-bit rounding) of the Wand call."""
    work = _work(images)
    spread = 3.0 * size_scale(work) if sigma is None else float(sigma)
    reach = 10.0 * size_scale(work) if radius is None else float(radius)
    if reach <= 0:
        raise ValueError(f"radius must be > 0, got {reach}")
    taps = 2 * int(np.ceil(reach)) + 1
    angles = rng.uniform(degrees[0], degrees[1], size=len(work))
    rows, cols = motion_offsets(angles, taps)
    n, height, width = work.shape
    pad = taps - 1
    padded = np.pad(work, ((0, 0), (pad, pad), (pad, pad)), mode="edge")
    index = np.arange(n)[:, None, None]
    grid_r, grid_c = np.arange(height)[None, :, None] + pad, np.arange(width)[None, None, :] + pad
    out = np.zeros_like(work)
    for tap, weight in enumerate(motion_weights(spread, taps)):
        out += weight * padded[index, grid_r + rows[:, tap, None, None],
                               grid_c + cols[:, tap, None, None]]
    return _done(out, np.asarray(images))


def identity(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The images unchanged (a copy; float32 for integer input)."""
    return _done(_work(images), np.asarray(images))


# --- registry --------------------------------------------------------------------------------

CORRUPTIONS: dict[str, Corruption] = {
    "dotted_line": dotted_line, "spatter": spatter, "stripe": stripe, "translate": translate,
    "rotate": rotate, "scale": scale, "shear": shear, "motion_blur": motion_blur,
    "glass_blur": glass_blur, "shot_noise": shot_noise, "identity": identity,
}
LABELS: dict[str, str] = {
    "dotted_line": "Dotted Line", "spatter": "Spatter", "stripe": "Stripe",
    "translate": "Translate", "rotate": "Rotate", "scale": "Scale", "shear": "Shear",
    "motion_blur": "Motion Blur", "glass_blur": "Glass Blur", "shot_noise": "Shot Noise",
    "identity": "Identity",
}


def check_corruptions(names: Iterable[str] | None = None) -> tuple[str, ...]:
    """``names`` (all of :data:`CORRUPTIONS` when ``None``) after checking each is known."""
    chosen = tuple(CORRUPTIONS) if names is None else (
        (names,) if isinstance(names, str) else tuple(names))
    unknown = [name for name in chosen if name not in CORRUPTIONS]
    if unknown:
        raise UnknownCorruptionError(
            f"unknown corruption(s) {', '.join(map(repr, unknown))}; "
            f"valid: {', '.join(CORRUPTIONS)}")
    return chosen


def corrupt(name: str, images: np.ndarray, seed: int | Sequence[int] = 0,
            **params: object) -> np.ndarray:
    """Apply corruption ``name`` with ``np.random.default_rng(seed)``; ``params`` go to it."""
    check_corruptions([name])
    return CORRUPTIONS[name](images, np.random.default_rng(seed), **params)
