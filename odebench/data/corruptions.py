"""Our own implementations of the 10 MNIST-C corruptions of ODEtoODE Tables 1-2, plus identity.

Every corruption is ``fn(images, rng, **params) -> images``: ``images`` is ``[N, H, W]`` in
[0, 1] (any size; 8 x 8 digits and 28 x 28 MNIST alike), the result has the same shape and
floating dtype (float32 for integer input), clipped to [0, 1]. Defaults follow Mu & Gilmer,
"MNIST-C" (2019): where the paper fixes a pixel amount at 28 x 28, a ``None`` default means
that amount scaled by ``min(H, W) / 28`` (at least one pixel where a pixel count is meant).
Geometry: ``x`` right, ``y`` up, about the image centre; positive angles turn counter-clockwise
on screen. :func:`corrupt` applies one by name with a seeded generator, so equal seeds give
equal images. :data:`CORRUPTIONS` lists them in the paper's table-row order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
from scipy import ndimage

from odebench.data.errors import UnknownCorruptionError
from odebench.data.warps import affine, shift, size_scale, streak_kernel

Corruption = Callable[..., np.ndarray]
MUD = 63 / 255                  # MNIST-C spatter: grey of the mud blobs


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


def _signed(rng: np.random.Generator, n: int, bounds: tuple[float, float]) -> np.ndarray:
    """``n`` magnitudes uniform in ``bounds``, each with a random sign."""
    low, high = bounds
    if not 0 <= low <= high:
        raise ValueError(f"need 0 <= low <= high, got {bounds}")
    return rng.uniform(low, high, size=n) * rng.choice([-1.0, 1.0], size=n)


# --- noise -----------------------------------------------------------------------------------

def shot_noise(images: np.ndarray, rng: np.random.Generator, *,
               strength: float = 60.0) -> np.ndarray:
    """Poisson noise: ``Poisson(x * strength) / strength``; mean ``x``, variance
    ``x / strength`` (MNIST-C severity 1: 60; lower is noisier)."""
    if strength <= 0:
        raise ValueError(f"strength must be > 0, got {strength}")
    return _done(rng.poisson(_work(images) * strength) / strength, np.asarray(images))


# --- affine transformations ------------------------------------------------------------------

def rotate(images: np.ndarray, rng: np.random.Generator, *,
           degrees: tuple[float, float] = (20.0, 25.0)) -> np.ndarray:
    """Rotate each image about its centre by an angle of random sign and magnitude uniform in
    ``degrees`` (MNIST-C severity 2: 0.4 rad = 22.9 deg); bilinear, zeros outside."""
    work = _work(images)
    angle = np.deg2rad(_signed(rng, len(work), degrees))
    cos, sin = np.cos(angle), np.sin(angle)
    forward = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)
    return _done(affine(work, forward), np.asarray(images))


def shear(images: np.ndarray, rng: np.random.Generator, *,
          factor: tuple[float, float] = (0.3, 0.5)) -> np.ndarray:
    """Horizontal shear about the centre, ``x -> x + k y`` (``y`` up), with ``k`` of random
    sign and magnitude uniform in ``factor`` (MNIST-C severity 2: shear angle 0.4 rad, a
    horizontal factor of sin 0.4 = 0.39); each row moves by ``k`` times its height above the
    centre row."""
    work = _work(images)
    k = _signed(rng, len(work), factor)
    forward = np.zeros((len(work), 2, 2))
    forward[:, 0, 0] = forward[:, 1, 1] = 1.0
    forward[:, 0, 1] = k
    return _done(affine(work, forward), np.asarray(images))


def scale(images: np.ndarray, rng: np.random.Generator, *, factor: float = 0.7) -> np.ndarray:
    """Zoom about the centre by ``factor`` (< 1 shrinks; MNIST-C severity 3: 0.7): distances
    from the centre scale by ``factor``. Deterministic (``rng`` unused)."""
    if factor <= 0:
        raise ValueError(f"factor must be > 0, got {factor}")
    work = _work(images)
    forward = np.broadcast_to(factor * np.eye(2), (len(work), 2, 2))
    return _done(affine(work, forward), np.asarray(images))


def translate(images: np.ndarray, rng: np.random.Generator, *,
              pixels: int | None = None) -> np.ndarray:
    """Shift by exactly ``pixels`` along each axis, each direction a random sign (MNIST-C
    severity 3: 3 px at 28 x 28, so 1 px at 8 x 8 by default); zeros shifted in."""
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
    (``axis="vertical"``) or rows (``"horizontal"``). On a dark background they are bright
    stripes (MNIST-C: the 7 outer columns of each side at 28 x 28). Deterministic."""
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


def dotted_line(images: np.ndarray, rng: np.random.Generator, *, dash: int | None = None,
                thickness: int | None = None) -> np.ndarray:
    """A dashed straight line of full-bright pixels from the left to the right edge, between
    random rows at each end: columns alternate ``dash`` on, ``dash`` off, and each on column
    gets ``thickness`` pixels (MNIST-C: dashes of 2 columns, a line about 2 px thick at
    28 x 28)."""
    work = _work(images)
    n, height, width = work.shape
    run, thick = _pixels(dash, work, 2), _pixels(thickness, work, 2)
    ends = rng.integers(0, height, size=(n, 2)).astype(float)
    cols = np.arange(width)
    middle = ends[:, :1] + (ends[:, 1:] - ends[:, :1]) * cols / max(width - 1, 1)   # [N, W]
    top = np.rint(middle - (thick - 1) / 2)[:, None, :]
    rows = np.arange(height)[None, :, None]
    on = ((cols // run) % 2 == 0)[None, None, :]
    mask = (rows >= top) & (rows < top + thick) & on
    return _done(np.where(mask, 1.0, work), np.asarray(images))


def spatter(images: np.ndarray, rng: np.random.Generator, *, blobs: tuple[int, int] = (1, 4),
            radius: tuple[float, float] | None = None, colour: float = MUD) -> np.ndarray:
    """Mud blobs: a random count (uniform in ``blobs``, inclusive) of discs at random pixel
    centres, radius uniform in ``radius`` (default 1-2 px at 28 x 28, scaled), whose pixels
    become ``colour`` (MNIST-C: grey 63/255 mud, hiding what is under it)."""
    work = _work(images)
    n, height, width = work.shape
    low, high = blobs
    if not 0 <= low <= high:
        raise ValueError(f"need 0 <= low <= high blobs, got {blobs}")
    r_low, r_high = radius or (1.0 * size_scale(work), 2.0 * size_scale(work))
    count = rng.integers(low, high + 1, size=n)
    centres = rng.integers(0, [height, width], size=(n, max(high, 1), 2))
    radii = rng.uniform(r_low, r_high, size=(n, max(high, 1)))
    active = np.arange(max(high, 1))[None, :] < count[:, None]                  # [N, B]
    rows, cols = np.arange(height)[:, None], np.arange(width)[None, :]
    dist2 = ((rows - centres[..., 0, None, None]) ** 2
             + (cols - centres[..., 1, None, None]) ** 2)                        # [N, B, H, W]
    mask = ((dist2 <= radii[..., None, None] ** 2) & active[..., None, None]).any(axis=1)
    return _done(np.where(mask, colour, work), np.asarray(images))


# --- blurs -----------------------------------------------------------------------------------

def _blur(work: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of each image; ``reflect`` borders keep the total mass exactly."""
    if sigma <= 0:
        return work
    return ndimage.gaussian_filter(work, sigma=(0, sigma, sigma), mode="reflect")


def _shuffle_locally(work: np.ndarray, rng: np.random.Generator, max_delta: int,
                     iterations: int) -> np.ndarray:
    """Visit every pixel in raster order; with probability 1/2 swap it with the pixel at a
    random offset in ``[-max_delta, max_delta]^2`` (clipped to the image). A permutation."""
    out = work.copy()
    n, height, width = out.shape
    images = np.arange(n)
    for _ in range(iterations):
        swap = rng.random((height, width, n)) < 0.5
        offsets = rng.integers(-max_delta, max_delta + 1, size=(height, width, 2, n))
        for row in range(height):
            for col in range(width):
                chosen = swap[row, col]
                which = images[chosen]
                other_r = np.clip(row + offsets[row, col, 0, chosen], 0, height - 1)
                other_c = np.clip(col + offsets[row, col, 1, chosen], 0, width - 1)
                here = out[which, row, col].copy()
                out[which, row, col] = out[which, other_r, other_c]
                out[which, other_r, other_c] = here
    return out


def glass_blur(images: np.ndarray, rng: np.random.Generator, *, sigma: float | None = None,
               max_delta: int | None = None, iterations: int = 2) -> np.ndarray:
    """Blur, shuffle pixels locally (``iterations`` sweeps, offsets up to ``max_delta``), blur
    again; total mass is kept exactly (MNIST-C severity 1: sigma 0.7, delta 1, 2 sweeps at
    28 x 28; ``sigma`` default scaled to the size, ``sigma=0`` shuffles only)."""
    work = _work(images)
    blur = 0.7 * size_scale(work) if sigma is None else float(sigma)
    delta = _pixels(max_delta, work, 1)
    if iterations < 0:
        raise ValueError(f"iterations must be >= 0, got {iterations}")
    out = _blur(_shuffle_locally(_blur(work, blur), rng, delta, iterations), blur)
    return _done(out, np.asarray(images))


def motion_blur(images: np.ndarray, rng: np.random.Generator, *, sigma: float | None = None,
                radius: float | None = None,
                degrees: tuple[float, float] = (-45.0, 45.0)) -> np.ndarray:
    """Smear each image along a direction at an angle uniform in ``degrees`` with the
    one-sided kernel of :func:`odebench.data.warps.streak_kernel` (MNIST-C severity 1:
    ImageMagick motion blur, radius 10, sigma 3 at 28 x 28, angle in [-45, 45] deg; both
    scaled to the size by default). Mass is kept away from the borders."""
    work = _work(images)
    spread = 3.0 * size_scale(work) if sigma is None else float(sigma)
    reach = 10.0 * size_scale(work) if radius is None else float(radius)
    angles = rng.uniform(degrees[0], degrees[1], size=len(work))
    out = np.stack([ndimage.convolve(image, streak_kernel(angle, spread, reach),
                                     mode="constant", cval=0.0)
                    for image, angle in zip(work, angles, strict=True)]) if len(work) else work
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
