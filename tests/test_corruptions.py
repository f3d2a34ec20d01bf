"""Each MNIST-C corruption of odebench.data.corruptions has its defining property."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from odebench.data.corruptions import (
    CORRUPTIONS,
    LABELS,
    MUD,
    _shuffle_locally,
    corrupt,
    dotted_line,
    glass_blur,
    identity,
    motion_blur,
    rotate,
    scale,
    shear,
    shot_noise,
    spatter,
    stripe,
    translate,
)
from odebench.data.errors import UnknownCorruptionError

PAPER_ROWS = ["dotted_line", "spatter", "stripe", "translate", "rotate", "scale", "shear",
              "motion_blur", "glass_blur", "shot_noise", "identity"]
DETERMINISTIC = {"stripe", "scale", "identity"}


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _centroid(image: np.ndarray) -> np.ndarray:
    rows, cols = np.indices(image.shape)
    return np.array([(rows * image).sum(), (cols * image).sum()]) / image.sum()


def _polar(image: np.ndarray) -> tuple[float, float]:
    """Centroid as (radius, angle in degrees) about the centre, y up."""
    row, col = _centroid(image)
    x, y = col - (image.shape[1] - 1) / 2, (image.shape[0] - 1) / 2 - row
    return float(np.hypot(x, y)), float(np.degrees(np.arctan2(y, x)))


def _blob(size: int = 28, row: float = 13.5, col: float = 13.5, sigma: float = 3.0):
    rows, cols = np.indices((size, size))
    return np.exp(-((rows - row) ** 2 + (cols - col) ** 2) / (2 * sigma**2))


def _batch(image: np.ndarray, n: int) -> np.ndarray:
    return np.repeat(image[None], n, axis=0)


# --- registry and common contract ------------------------------------------------------------

def test_registry_is_in_the_papers_row_order_with_labels():
    assert list(CORRUPTIONS) == PAPER_ROWS
    assert list(LABELS) == PAPER_ROWS
    assert [LABELS[n] for n in PAPER_ROWS] == [
        "Dotted Line", "Spatter", "Stripe", "Translate", "Rotate", "Scale", "Shear",
        "Motion Blur", "Glass Blur", "Shot Noise", "Identity"]


def test_unknown_name_is_a_clear_error_listing_the_valid_ones():
    with pytest.raises(UnknownCorruptionError, match="'fog'.*valid: dotted_line, spatter") as err:
        corrupt("fog", np.zeros((1, 8, 8)), seed=0)
    assert isinstance(err.value, ValueError)
    assert all(name in str(err.value) for name in PAPER_ROWS)


@pytest.mark.parametrize("size", [8, 28])
@pytest.mark.parametrize("name", PAPER_ROWS)
def test_shape_range_dtype_and_determinism(name, size):
    images = _rng(1).random((6, size, size)).astype(np.float32)
    out = corrupt(name, images, seed=3)
    assert out.shape == images.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert np.array_equal(out, corrupt(name, images, seed=3))
    assert np.array_equal(images, _rng(1).random((6, size, size)).astype(np.float32))  # untouched
    other = corrupt(name, images, seed=4)
    if name in DETERMINISTIC:
        assert np.array_equal(out, other)
    else:
        assert not np.array_equal(out, other)
    if name != "identity":
        assert not np.array_equal(out, images)


def test_non_rectangular_sizes_and_bad_input():
    images = _rng(2).random((3, 10, 14))
    for name in PAPER_ROWS:
        assert corrupt(name, images, seed=0).shape == (3, 10, 14)
    with pytest.raises(ValueError, match=r"\[N, H, W\]"):
        corrupt("rotate", np.zeros((8, 8)), seed=0)
    with pytest.raises(ValueError, match=r"within \[0, 1\]"):
        corrupt("rotate", np.full((1, 8, 8), 2.0), seed=0)


def test_identity_returns_the_input_unchanged():
    images = _rng(3).random((4, 8, 8)).astype(np.float32)
    out = identity(images, _rng())
    assert np.array_equal(out, images) and out.dtype == images.dtype and out is not images


# --- definitions of the public generator (google-research/mnist-c corruptions.py), restated
# independently of odebench.data.corruptions so each test checks against them ---------------

def _sampling_matrices(fn, n: int, seed: int, size: int = 28, **params) -> np.ndarray:
    """Recover each image's affine sampling matrix (screen coordinates, y down, about the
    centre) from two linear ramps, which bilinear resampling reproduces exactly inside."""
    rows, cols = np.indices((size, size), dtype=float)
    centre = (size - 1) / 2
    ramp_c, ramp_r = cols / (size - 1), rows / (size - 1)
    out_c = fn(_batch(ramp_c, n), _rng(seed), **params) * (size - 1) - centre
    out_r = fn(_batch(ramp_r, n), _rng(seed), **params) * (size - 1) - centre
    inner = (np.abs(rows - centre) <= 6) & (np.abs(cols - centre) <= 6)
    design = np.stack([cols[inner] - centre, rows[inner] - centre], -1)
    matrices = []
    for oc, orow in zip(out_c, out_r, strict=True):
        top = np.linalg.lstsq(design, oc[inner], rcond=None)[0]
        bottom = np.linalg.lstsq(design, orow[inner], rcond=None)[0]
        matrices.append(np.stack([top, bottom]))
    return np.array(matrices)


def _line_from_points(r0: float, r1: float) -> np.ndarray:
    """The generator's line_from_points(0, r0, 27, r1) on 28 x 28."""
    rows, cols = np.indices((28, 28), dtype=float)
    distance = np.clip(np.abs(rows - (r0 + (r1 - r0) * cols / 27)), 0, 2.3 - 1e-10)
    line = np.clip(np.log(1 - distance / 2.3) + 1, 0, 1)
    line[:, 27:] = 0
    return line


def _dashes(line: np.ndarray) -> np.ndarray:
    """The generator's dotted_line: clear columns [0, 2), [4, 6), ..., [24, 26)."""
    out = line.copy()
    for start in range(0, 28, 4):
        out[:, start:start + 2] = 0
    return out


def _to_8(layer: np.ndarray) -> np.ndarray:
    """Area average of 28 x 28 to 8 x 8: duplicate each pixel 2 x 2, then 7 x 7 block means."""
    fine = layer.repeat(2, axis=-2).repeat(2, axis=-1)
    return fine.reshape(*layer.shape[:-2], 8, 7, 8, 7).mean(axis=(-3, -1))


def _skimage_gaussian(images: np.ndarray, sigma: float) -> np.ndarray:
    """skimage.filters.gaussian on each 2-D image: edge-replicated, truncated at 4 sigma."""
    radius = int(4 * sigma + 0.5)
    taps = np.exp(-np.arange(-radius, radius + 1) ** 2 / (2 * sigma**2))
    taps /= taps.sum()
    out = images
    for axis in (1, 2):
        pad = [(0, 0)] * 3
        pad[axis] = (radius, radius)
        padded = np.pad(out, pad, mode="edge")
        out = sum(w * np.take(padded, np.arange(k, k + images.shape[axis]), axis=axis)
                  for k, w in enumerate(taps))
    return out


def _spatter_mask(normal: np.ndarray) -> np.ndarray:
    """The generator's spatter mask at severity 4 from its liquid layer."""
    liquid = _skimage_gaussian(normal, 1.0)
    liquid[liquid < 0.65] = 0
    mask = _skimage_gaussian(np.where(liquid > 0.65, 1.0, 0.0), 1.5)
    mask[mask < 0.8] = 0
    return mask


# --- noise -----------------------------------------------------------------------------------

def test_shot_noise_is_poisson_at_the_generators_default_severity():
    images = np.full((40, 28, 28), 0.2)
    counts = shot_noise(images, _rng()) * 3                       # c = 3 (severity 5)
    assert np.allclose(counts, np.round(counts))                   # Poisson counts / 3
    counts = np.round(counts)
    pmf = [np.exp(-0.6) * 0.6**k / np.prod(range(1, k + 1)) for k in range(3)]
    expected = [*pmf, 1 - sum(pmf)]                               # 3 and above clip to 1
    found = [np.mean(counts == k) for k in range(4)]
    assert np.allclose(found, expected, atol=0.01)
    for strength in (60.0, 10.0):
        out = shot_noise(np.full((40, 28, 28), 0.3), _rng(), strength=strength)
        assert abs(out.mean() - 0.3) < 0.005
        assert out.var() == pytest.approx(0.3 / strength, rel=0.05)
    assert np.array_equal(shot_noise(np.zeros((2, 8, 8)), _rng()), np.zeros((2, 8, 8)))


# --- affine ----------------------------------------------------------------------------------

def test_rotate_turns_by_the_generators_0_4_radians_either_way():
    matrices = _sampling_matrices(rotate, 24, seed=0)
    angles = np.arctan2(matrices[:, 1, 0], matrices[:, 0, 0])
    for matrix, angle in zip(matrices, angles, strict=True):
        cos, sin = np.cos(angle), np.sin(angle)
        assert np.allclose(matrix, [[cos, -sin], [sin, cos]], atol=1e-9)
    assert np.allclose(np.abs(angles), 0.4, atol=1e-9)
    assert set(np.sign(angles)) == {-1.0, 1.0}
    smooth = _blob(row=10.0, col=17.0, sigma=2.5)
    assert rotate(smooth[None], _rng())[0].sum() == pytest.approx(smooth.sum(), rel=0.01)


def test_shear_is_skimages_affine_shear_of_0_4_radians():
    matrices = _sampling_matrices(shear, 24, seed=1)
    signs = set()
    for matrix in matrices:
        c = np.sign(-matrix[0, 1]) * 0.4
        assert np.allclose(matrix, [[1, -np.sin(c)], [0, np.cos(c)]], atol=1e-9)
        signs.add(np.sign(c))
    assert signs == {-1.0, 1.0}


def test_scale_samples_at_the_generators_1_over_0_7():
    matrices = _sampling_matrices(scale, 2, seed=0)
    assert np.allclose(matrices, np.eye(2) / 0.7, atol=1e-9)
    image = _blob(sigma=3.0)
    out = scale(image[None], _rng())[0]
    assert np.allclose(_centroid(out), [13.5, 13.5], atol=1e-6)


def test_translate_moves_the_centroid_by_exactly_the_set_pixels():
    image = _blob(row=12.0, col=15.0, sigma=1.5)
    image[image < 1e-3] = 0.0                                          # compact: none falls off
    before = _centroid(image)
    out = translate(_batch(image, 40), _rng())                         # c = 3 (severity 3)
    moves = {tuple(np.round(_centroid(o) - before, 6)) for o in out}
    assert moves == {(3.0, 3.0), (3.0, -3.0), (-3.0, 3.0), (-3.0, -3.0)}
    for o in out:
        assert o.sum() == pytest.approx(image.sum(), rel=1e-12)       # nothing fell off
    digit = np.zeros((8, 8))
    digit[3:5, 3:5] = 1.0
    moved = translate(digit[None], _rng())[0]                          # default: 1 px at 8 x 8
    assert np.abs(_centroid(moved) - _centroid(digit)).tolist() == [1.0, 1.0]


# --- overlays --------------------------------------------------------------------------------

@pytest.mark.parametrize(("size", "band"), [(28, 7), (8, 2)])
def test_stripe_inverts_outer_column_bands_leaving_the_middle(size, band):
    blank = stripe(np.zeros((1, size, size)), _rng())[0]
    assert (blank[:, :band] == 1).all() and (blank[:, -band:] == 1).all()   # bright stripes
    assert (blank[:, band:-band] == 0).all()
    images = _rng(4).random((2, size, size))
    out = stripe(images, _rng())
    assert np.allclose(out[:, :, :band], 1 - images[:, :, :band])
    assert np.array_equal(out[:, :, band:-band], images[:, :, band:-band])
    rows = stripe(np.zeros((1, size, size)), _rng(), axis="horizontal")[0]
    assert (rows[:band] == 1).all() and (rows[band:-band] == 0).all()


def test_dotted_line_is_the_generators_line_in_dashes_of_two_columns():
    out = dotted_line(np.zeros((30, 28, 28)), _rng())
    candidates = {(r0, r1): _dashes(_line_from_points(r0, r1))
                  for r0 in range(27) for r1 in range(27)}
    found = []
    for image in out:
        matches = [ends for ends, line in candidates.items() if np.allclose(image, line)]
        assert len(matches) == 1
        found.extend(matches[0])
        on = np.flatnonzero(image.max(axis=0) > 0)
        assert on.tolist() == [2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26]
        assert (image[:, on].max(axis=0) >= 1 + np.log(1 - 0.5 / 2.3) - 1e-12).all()
        assert ndimage.label(image > 0, structure=np.ones((3, 3)))[1] == 7   # 7 dots
    assert min(found) >= 0 and max(found) <= 26 and len(set(found)) > 15
    digit = _rng(6).random((30, 28, 28))
    assert np.allclose(dotted_line(digit, _rng()), np.clip(digit + out, 0, 1))   # added


def test_dotted_line_at_8x8_is_the_area_average_of_the_28x28_line():
    line_28 = dotted_line(np.zeros((10, 28, 28)), _rng(3))
    assert np.allclose(dotted_line(np.zeros((10, 8, 8)), _rng(3)), _to_8(line_28))


def test_spatter_is_the_generators_mud_mask_from_the_same_liquid_layer():
    mask = _spatter_mask(_rng(5).normal(0.65, 0.3, size=(50, 28, 28)))
    assert np.allclose(spatter(np.zeros((50, 28, 28)), _rng(5)), MUD * mask, atol=1e-12)
    assert np.allclose(spatter(np.ones((50, 28, 28)), _rng(5)), 1 - mask + MUD * mask,
                       atol=1e-12)
    mud = spatter(np.zeros((50, 28, 28)), _rng(5))
    assert (mud[mud > 0] >= 0.8 * MUD - 1e-12).all() and mud.max() <= MUD + 1e-12
    small = spatter(np.zeros((50, 8, 8)), _rng(5))
    assert np.allclose(small, _to_8(mud))                               # area average at 8 x 8


def test_spatter_covers_the_generators_fraction_of_pixels():
    covered = spatter(np.zeros((600, 28, 28)), _rng(11)) > 0
    # 0.1356: mean coverage of 60,000 masks of the generator's severity-4 definition
    assert covered.mean() == pytest.approx(0.1356, abs=0.008)
    labels, count = ndimage.label(covered[0])
    assert count >= 1 and np.bincount(labels.ravel())[1:].max() >= 9     # blobs, not specks


# --- blurs -----------------------------------------------------------------------------------

def test_glass_shuffle_keeps_row_and_column_0_and_moves_down_right_by_d_at_most():
    ids = np.broadcast_to(np.arange(28 * 28, dtype=float).reshape(28, 28), (200, 28, 28))
    out = _shuffle_locally(ids, _rng(), max_delta=1, iterations=1)
    moves = []
    for image in out:
        assert np.array_equal(np.sort(image, axis=None), np.arange(28 * 28))   # a permutation
        assert np.array_equal(image[0], ids[0, 0]) and np.array_equal(image[:, 0], ids[0][:, 0])
        where = np.argsort(image, axis=None)
        rows, cols = np.divmod(where, 28)
        start_r, start_c = np.divmod(np.arange(28 * 28), 28)
        moves.append(np.stack([rows - start_r, cols - start_c]))
    moves = np.array(moves)
    assert moves.max() == 1                                  # down/right: one offset at most
    assert moves.min() <= -2                                 # up/left: swaps chain in one sweep


@pytest.mark.parametrize("delta", [1, 2])
def test_glass_shuffle_is_the_generators_loop_on_the_same_draws(delta):
    images = _rng(12).random((3, 28, 28))
    out = _shuffle_locally(images, _rng(13), max_delta=delta, iterations=2)
    rng = _rng(13)
    expected = images.copy()
    for _ in range(2):                                      # the generator's sweep, per image
        swap = rng.random((28, 28, 3)) < 0.5
        offsets = rng.integers(-delta, delta, size=(28, 28, 2, 3))   # randint(-d, d): to d - 1
        for h in range(28 - delta, delta, -1):
            for w in range(28 - delta, delta, -1):
                for k in range(3):
                    if swap[h, w, k]:
                        dy, dx = offsets[h, w, :, k]
                        pair = expected[k, h, w], expected[k, h + dy, w + dx]
                        expected[k, h + dy, w + dx], expected[k, h, w] = pair
    assert np.array_equal(out, expected)


def test_glass_blur_blurs_only_vertically_as_the_generator_does():
    point = np.zeros((1, 28, 28))
    point[0, 14, 14] = 1.0
    out = glass_blur(point, _rng(), iterations=0)[0]
    assert (out[:, [c for c in range(28) if c != 14]] == 0).all()    # no horizontal spread
    column = out[:, 14]
    assert (column > 0).sum() >= 3 and column.argmax() == 14
    rows = np.arange(28)
    variance = ((rows - 14.0) ** 2 * column).sum() / column.sum()
    assert variance == pytest.approx(2 * 0.7**2, rel=0.1)             # two blurs of sigma 0.7


@pytest.mark.parametrize("size", [8, 28])
def test_glass_blur_keeps_mass_up_to_8_bit_quantisation(size):
    images = _rng(8).random((5, size, size)) ** 3
    out = glass_blur(images, _rng())
    loss = images.sum(axis=(1, 2)) - out.sum(axis=(1, 2))
    assert ((loss >= -1e-6) & (loss <= size * size / 255)).all()
    assert not np.allclose(out, images, atol=1e-3)


def test_motion_blur_is_imagemagicks_kernel_along_the_drawn_angle():
    point = np.zeros((3, 28, 28))
    point[:, 20, 22] = 1.0                                            # the trail fits inside
    out = motion_blur(point, _rng(), degrees=(30.0, 30.0))           # radius 10, sigma 3
    weights = np.exp(-np.arange(21) ** 2 / 18.0)
    weights /= weights.sum()
    expected = np.zeros((28, 28))
    for i, weight in enumerate(weights):                              # trail to -(cos, sin)
        dr = int(np.ceil(i * np.sin(np.radians(30)) - 0.5))       # ImageMagick's rounding
        dc = int(np.ceil(i * np.cos(np.radians(30)) - 0.5))
        expected[20 - dr, 22 - dc] += weight
    for image in out:
        assert np.allclose(image, expected, atol=1e-12)
    centre = np.zeros((28, 28))
    centre[14, 14] = 1.0
    angles = []
    for image in motion_blur(_batch(centre, 40), _rng(9)):           # angle in [-45, 45]
        row, col = _centroid(image) - 14.0
        angles.append(np.degrees(np.arctan2(-row, -col)))
    assert all(-47 <= a <= 47 for a in angles) and np.ptp(angles) > 45
