"""encode/decode end to end: quality, exact luma, every input kind the codec accepts."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image, ImageCms

import codec
from codec import color, planes
from codec.metrics import psnr, ssim

FAST = {"rank": 4, "iterations": 10, "device": "cpu"}


def test_photo_round_trip_quality(photo):
    data = codec.encode(photo)
    decoded = codec.decode(data)
    assert decoded.shape == photo.shape and decoded.dtype == np.uint8
    assert psnr(photo, decoded) > 30.0
    assert ssim(photo, decoded) > 0.93
    assert len(data) < 0.5 * photo.size  # under 12 bpp even at this tiny size (r = 20)


def test_luma_is_exact(photo):
    data = codec.encode(photo, **FAST)
    y, _, _ = color.rgb_to_ycbcr(photo)
    assert np.array_equal(codec.decode_luma(data), y)


def test_more_rank_and_iterations_give_better_quality(photo):
    low = psnr(photo, codec.decode(codec.encode(photo, rank=2, iterations=20)))
    high = psnr(photo, codec.decode(codec.encode(photo, rank=16, iterations=150)))
    assert high > low + 2


def test_encoding_is_deterministic(photo):
    assert codec.encode(photo, **FAST, seed=3) == codec.encode(photo, **FAST, seed=3)


def test_colour_transform_round_trips_to_the_88_db_ceiling(photo):
    y, cb, cr = color.rgb_to_ycbcr(photo)
    assert psnr(photo, color.ycbcr_to_rgb(y, cb, cr)) > 50


@pytest.mark.parametrize("luma", sorted(planes.CODERS))
def test_every_plane_coder_is_lossless(photo, luma):
    gray = photo[..., 1]
    assert np.array_equal(codec.decode(codec.encode(gray, luma=luma)), gray)


def test_auto_luma_picks_png_for_few_level_planes():
    stripes = np.zeros((64, 64), np.uint8)
    stripes[::3] = 255
    data = codec.encode(stripes)
    assert codec.inspect(data)["sections"][0]["coder"] == "png"
    assert len(data) < len(codec.encode(stripes, luma="jpegls"))
    assert np.array_equal(codec.decode(data), stripes)


def test_gray_palette_images_become_grayscale(photo):
    gray = Image.fromarray(photo).convert("L").convert("P")
    decoded = codec.decode(codec.encode(gray))
    assert np.array_equal(decoded, np.asarray(gray.convert("L")))


def test_incompressible_noise_is_still_lossless():
    noise = np.random.default_rng(0).integers(0, 256, (64, 80), dtype=np.uint8)
    assert np.array_equal(codec.decode(codec.encode(noise)), noise)


@pytest.mark.parametrize("shape", [(1, 1, 3), (1, 17, 3), (17, 1, 3), (2, 3, 4), (5, 5, 2)])
def test_tiny_and_thin_images(shape):
    pixels = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    data = codec.encode(pixels, rank=20, iterations=30)
    decoded = codec.decode(data)
    assert decoded.shape == shape
    if shape[2] in (2, 4):
        assert np.array_equal(decoded[..., -1], pixels[..., -1])  # alpha is lossless
    info = codec.inspect(data)
    assert info["mode"] == {2: "LA", 3: "RGB", 4: "RGBA"}[shape[2]]
    if shape[2] >= 3:  # rank capped at min(h, w); a single pixel is a flat plane
        rank = 0 if shape[0] * shape[1] == 1 else min(20, *shape[:2])
        assert info["chroma"]["plane_ranks"] == [rank, rank]


def test_rank_above_the_image_size_is_capped():
    pixels = np.random.default_rng(2).integers(0, 256, (6, 40, 3), dtype=np.uint8)
    data = codec.encode(pixels, rank=50, iterations=300, algorithm="hals")
    info = codec.inspect(data)["chroma"]
    assert info["rank"] == 50 and info["plane_ranks"] == [6, 6]
    assert psnr(pixels, codec.decode(data)) > 35  # full rank on noise: near exact


def test_gray_rgb_stores_no_chroma_factors():
    gray = np.random.default_rng(3).integers(0, 256, (30, 40), dtype=np.uint8)
    rgb = np.repeat(gray[..., None], 3, axis=2)
    data = codec.encode(rgb)
    assert codec.inspect(data)["chroma"]["plane_ranks"] == [0, 0]
    assert np.array_equal(codec.decode(data), rgb)


def test_one_flat_plane_and_one_varied_plane():
    # these two colours differ by 0.002 in Cb but by 75.6 in Cr
    colours = np.array([[9, 89, 62], [107, 27, 54]], np.uint8)
    stripes = np.add.outer(np.arange(20) // 4, np.arange(30) // 5) % 2  # rank-2 pattern
    rgb = colours[stripes]
    data = codec.encode(rgb, rank=8, iterations=100)
    assert codec.inspect(data)["chroma"]["plane_ranks"] == [0, 8]
    assert psnr(rgb, codec.decode(data)) > 40


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA"])
def test_pil_modes_keep_their_channels(photo, mode):
    image = Image.fromarray(photo).convert(mode)
    decoded = codec.decode(codec.encode(image, **FAST))
    assert decoded.shape == np.asarray(image).shape
    if mode in ("L", "LA"):
        assert np.array_equal(decoded, np.asarray(image))


def test_palette_and_one_bit_images_are_converted(photo):
    palette = Image.fromarray(photo).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    assert codec.decode(codec.encode(palette, **FAST)).shape == photo.shape
    transparent = palette.copy()
    transparent.info["transparency"] = 0
    assert codec.decode(codec.encode(transparent, **FAST)).shape[2] == 4
    bilevel = Image.fromarray(photo).convert("1")
    decoded = codec.decode(codec.encode(bilevel))
    assert np.array_equal(decoded, np.asarray(bilevel.convert("L")))


def test_sixteen_bit_images_are_reduced_with_a_warning():
    wide = (np.arange(64 * 48, dtype=np.uint32).reshape(48, 64) * 21).astype(np.uint16)
    with pytest.warns(codec.ImageWarning, match="reduced to 8 bits"):
        data = codec.encode(Image.fromarray(wide))
    assert np.array_equal(codec.decode(data), np.rint(wide / 257).astype(np.uint8))


def test_sixteen_bit_rgb_files_warn(tmp_path):
    import imagecodecs

    from codec import image_io

    wide = np.random.default_rng(5).integers(0, 65536, (8, 9, 3)).astype(np.uint16)
    (tmp_path / "deep.png").write_bytes(imagecodecs.png_encode(wide))
    with pytest.warns(codec.ImageWarning, match="16-bit RGB image reduced"):
        pixels, _ = image_io.load(tmp_path / "deep.png")
    assert np.array_equal(pixels, (wide >> 8).astype(np.uint8))


def test_float_images_are_refused():
    with pytest.raises(ValueError, match="floating-point"):
        codec.encode(Image.fromarray(np.zeros((4, 4), np.float32)))


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((4, 4), np.float64), "must be uint8"),
        (np.zeros((4, 4, 5), np.uint8), r"\(h, w\)"),
        (np.zeros((0, 4), np.uint8), "empty"),
    ],
)
def test_bad_arrays_are_refused(array, message):
    with pytest.raises(ValueError, match=message):
        codec.encode(array)


def test_bad_options_are_named(photo):
    with pytest.raises(ValueError, match="luma must be one of"):
        codec.encode(photo, luma="gif")
    with pytest.raises(ValueError, match="rank must be >= 1"):
        codec.encode(photo, rank=0)
    gray = np.zeros((4, 4, 3), np.uint8)  # no chroma to factor: still validated
    with pytest.raises(ValueError, match=r"algorithm must be one of \['hals', 'mu', 'mu-kl'\]"):
        codec.encode(gray, algorithm="als")
    with pytest.raises(ValueError, match="init must be one of"):
        codec.encode(gray, init="magic")


def test_exif_orientation_is_applied(photo):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    buffer = io.BytesIO()
    Image.fromarray(photo).save(buffer, "PNG", exif=exif)
    with Image.open(buffer) as image:
        decoded = codec.decode(codec.encode(image, **FAST))
    assert decoded.shape == (photo.shape[1], photo.shape[0], 3)


def test_icc_profile_is_kept(photo):
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buffer = io.BytesIO()
    Image.fromarray(photo).save(buffer, "PNG", icc_profile=profile)
    with Image.open(buffer) as image:
        _, icc = codec.decode_with_profile(codec.encode(image, **FAST))
    assert icc == profile


def test_decoding_does_not_import_torch(tmp_path, photo):
    path = tmp_path / "x.nmfz"
    path.write_bytes(codec.encode(photo, **FAST))
    script = (
        f"import sys, codec; codec.decode(open({str(path)!r}, 'rb').read()); "
        "codec.inspect(open({!r}, 'rb').read()); sys.exit('torch' in sys.modules)".format(str(path))
    )
    assert subprocess.run([sys.executable, "-c", script]).returncode == 0


@pytest.mark.parametrize("shape", [(1, 1), (7, 3), (96, 128), (5000, 3), (1, 300000)])
def test_jpegxl_size_header_is_read_before_decoding(shape):
    import imagecodecs

    # (1, 300000) comes out in the ISO BMFF box container, the others as bare codestreams
    stream = bytes(imagecodecs.jpegxl_encode(np.zeros(shape, np.uint8), lossless=True, effort=1))
    assert planes._jpegxl_dims(stream) == shape
    with pytest.raises(codec.FormatError, match="declares size"):
        planes.decode_plane(stream, planes.PlaneCoder.JPEGXL, (shape[0] + 1, shape[1]))
    with pytest.raises(codec.FormatError, match="no codestream size header"):
        planes.decode_plane(b"\x00" + stream, planes.PlaneCoder.JPEGXL, shape)
