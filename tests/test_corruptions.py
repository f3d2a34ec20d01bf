"""Each MNIST-C corruption of odebench.data.corruptions has its defining property."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from odebench.data.corruptions import (
    CORRUPTIONS,
    LABELS,
    MUD,
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


# --- noise -----------------------------------------------------------------------------------

def test_shot_noise_is_poisson_with_mean_kept_and_variance_set_by_strength():
    images = np.full((40, 28, 28), 0.3)
    variances = {}
    for strength in (60.0, 10.0):
        out = shot_noise(images, _rng(), strength=strength)
        assert 0.0 <= out.min() and out.max() <= 1.0
        assert abs(out.mean() - 0.3) < 0.005
        assert np.allclose(out * strength, np.round(out * strength))      # counts / strength
        variances[strength] = out.var()
        assert variances[strength] == pytest.approx(0.3 / strength, rel=0.05)
    assert variances[10.0] > 4 * variances[60.0]
    assert np.array_equal(shot_noise(np.zeros((2, 8, 8)), _rng()), np.zeros((2, 8, 8)))


# --- affine ----------------------------------------------------------------------------------

def test_rotate_turns_an_off_centre_pixel_by_the_angle_and_keeps_mass():
    point = np.zeros((28, 28))
    point[13, 22] = 1.0                                   # 8.5 px right of, 0.5 px above centre
    radius0, angle0 = _polar(point)
    out = rotate(_batch(point, 24), _rng(), degrees=(30.0, 30.0))
    turns = []
    for image in out:
        radius, angle = _polar(image)
        assert radius == pytest.approx(radius0, abs=0.1)
        assert image.sum() == pytest.approx(1.0, abs=0.1)
        turns.append(angle - angle0)
    assert np.allclose(np.abs(turns), 30.0, atol=1.0)
    assert {np.sign(t) for t in turns} == {-1.0, 1.0}    # both directions occur
    smooth = _blob(row=10.0, col=17.0, sigma=2.5)
    assert rotate(smooth[None], _rng()).sum() == pytest.approx(smooth.sum(), rel=0.01)


def test_rotate_angle_magnitude_stays_in_the_range():
    point = np.zeros((28, 28))
    point[13, 24] = 1.0
    _, angle0 = _polar(point)
    for image in rotate(_batch(point, 30), _rng(5), degrees=(20.0, 25.0)):
        assert 19.0 <= abs(_polar(image)[1] - angle0) <= 26.0


def test_translate_moves_the_centroid_by_exactly_the_set_pixels():
    image = _blob(row=12.0, col=15.0, sigma=1.5)
    image[image < 1e-3] = 0.0                                          # compact: none falls off
    before = _centroid(image)
    out = translate(_batch(image, 40), _rng(), pixels=3)
    moves = {tuple(np.round(_centroid(o) - before, 6)) for o in out}
    assert moves == {(3.0, 3.0), (3.0, -3.0), (-3.0, 3.0), (-3.0, -3.0)}
    for o in out:
        assert o.sum() == pytest.approx(image.sum(), rel=1e-12)       # nothing fell off
    digit = np.zeros((8, 8))
    digit[3:5, 3:5] = 1.0
    moved = translate(digit[None], _rng())[0]                          # default: 1 px at 8 x 8
    assert np.abs(_centroid(moved) - _centroid(digit)).tolist() == [1.0, 1.0]


def test_scale_multiplies_the_spread_about_the_centre_by_the_factor():
    image = _blob(sigma=3.0)
    rows, cols = np.indices(image.shape)
    r2 = (rows - 13.5) ** 2 + (cols - 13.5) ** 2

    def spread(img: np.ndarray) -> float:
        return float(np.sqrt((r2 * img).sum() / img.sum()))

    for factor in (0.7, 0.5, 1.3):
        out = scale(image[None], _rng(), factor=factor)[0]
        assert spread(out) / spread(image) == pytest.approx(factor, rel=0.03)
        assert np.allclose(_centroid(out), [13.5, 13.5], atol=1e-6)
    assert spread(scale(image[None], _rng())[0]) / spread(image) == pytest.approx(0.7, rel=0.03)


def test_shear_shifts_each_row_in_proportion_to_its_height_above_the_centre():
    image = np.zeros((28, 28))
    image[4:24, 13:15] = 1.0                              # a vertical bar through the centre
    out = shear(_batch(image, 10), _rng(), factor=(0.4, 0.4))
    signs = set()
    for o in out:
        for row in range(4, 24):
            col = (np.arange(28) * o[row]).sum() / o[row].sum()
            height = 13.5 - row
            signs.add(np.sign((col - 13.5) * height))
            assert abs(col - 13.5) == pytest.approx(0.4 * abs(height), abs=1e-9)
            assert o[row].sum() == pytest.approx(2.0, abs=1e-9)          # rows keep their mass
        ks = [((np.arange(28) * o[r]).sum() / o[r].sum() - 13.5) / (13.5 - r) for r in (5, 20)]
        assert ks[0] == pytest.approx(ks[1])                            # one factor per image
    assert signs == {-1.0, 1.0}


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


@pytest.mark.parametrize(("size", "dash", "thickness"), [(28, 2, 2), (8, 1, 1)])
def test_dotted_line_sets_dashes_of_full_pixels_along_a_straight_line(size, dash, thickness):
    out = dotted_line(np.zeros((12, size, size)), _rng())
    assert set(np.unique(out)) <= {0.0, 1.0}
    cols = np.arange(size)
    on = (cols // dash) % 2 == 0
    for image in out:
        assert (image[:, on].sum(axis=0) == thickness).all()             # every dash column
        assert (image[:, ~on] == 0).all()                                # gaps between dashes
        rows = (np.arange(size)[:, None] * image[:, on]).sum(axis=0) / thickness
        slope, offset = np.polyfit(cols[on], rows, 1)
        assert np.abs(rows - (slope * cols[on] + offset)).max() <= 1.0          # straight
        assert ndimage.label(image)[1] >= 2                              # dots, not a line
    digit = _rng(6).random((3, size, size)) * 0.5
    lined = dotted_line(digit, _rng())
    changed = lined != digit
    assert (lined[changed] == 1.0).all() and (lined.sum(axis=(1, 2)) > digit.sum(axis=(1, 2))).all()


def test_spatter_adds_small_mud_blobs():
    out = spatter(np.zeros((30, 28, 28)), _rng(), blobs=(1, 4), radius=(1.0, 2.0))
    for image in out:
        assert np.allclose(np.unique(image), [0.0, MUD])
        labels, count = ndimage.label(image > 0)
        assert 1 <= count <= 4
        for found in ndimage.find_objects(labels):
            assert all(s.stop - s.start <= 5 for s in found)            # a disc of radius <= 2
    assert {ndimage.label(i > 0)[1] for i in out} >= {1, 2, 3}
    ones = spatter(np.ones((5, 28, 28)), _rng())
    assert (ones.sum(axis=(1, 2)) < 28 * 28).all()                      # mud hides the digit
    assert np.allclose(np.unique(ones), [MUD, 1.0])
    small = spatter(np.zeros((20, 8, 8)), _rng())
    assert (small.sum(axis=(1, 2)) > 0).all()
    untouched = _rng(7).random((2, 8, 8))
    assert np.array_equal(spatter(untouched, _rng(), blobs=(0, 0)), untouched)


# --- blurs -----------------------------------------------------------------------------------

@pytest.mark.parametrize("size", [8, 28])
def test_glass_blur_keeps_mass_and_shuffles_locally(size):
    images = _rng(8).random((5, size, size)) ** 3
    out = glass_blur(images, _rng())
    assert np.allclose(out.sum(axis=(1, 2)), images.sum(axis=(1, 2)), rtol=1e-9)
    assert not np.allclose(out, images, atol=1e-3)
    shuffled = glass_blur(images, _rng(), sigma=0.0)
    for before, after in zip(images, shuffled, strict=True):
        assert np.array_equal(np.sort(before, axis=None), np.sort(after, axis=None))
        assert not np.array_equal(before, after)


def test_glass_blur_moves_pixels_only_a_short_way():
    point = np.zeros((400, 28, 28))
    point[:, 14, 14] = 1.0
    out = glass_blur(point, _rng(), sigma=0.0, max_delta=1, iterations=1)
    distance = np.array([np.abs(_centroid(o) - 14.0).max() for o in out])
    assert (distance <= 27).all() and np.mean(distance) < 2.0 and np.mean(distance > 0) > 0.3


def test_motion_blur_keeps_mass_and_smears_a_point_along_the_angle():
    point = np.zeros((12, 28, 28))
    point[:, 14, 14] = 1.0
    sigma, radius = 2.0, 6.0
    out = motion_blur(point, _rng(), sigma=sigma, radius=radius, degrees=(30.0, 30.0))
    k = np.arange(7)
    weights = np.exp(-k**2 / (2 * sigma**2))
    expected = (k * weights).sum() / weights.sum()
    direction = np.array([-np.sin(np.radians(30)), np.cos(np.radians(30))])  # (row, col)
    for image in out:
        assert image.sum() == pytest.approx(1.0, abs=1e-12)
        move = _centroid(image) - 14.0
        assert move == pytest.approx(expected * direction, abs=1e-9)
        rows, cols = np.indices(image.shape)
        offsets = np.stack([rows - 14.0, cols - 14.0], -1) - move
        along = (offsets @ direction) ** 2
        across = (offsets @ np.array([direction[1], -direction[0]])) ** 2
        assert (along * image).sum() > 4 * (across * image).sum()       # a streak, not a blob
    angles = [_polar(o)[1] for o in motion_blur(point, _rng(9))]        # default [-45, 45] deg
    assert all(-45.5 <= a <= 45.5 for a in angles) and np.ptp(angles) > 10
