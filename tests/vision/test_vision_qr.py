"""Reading red-box QR codes from photos. The codes are made by segno, an encoder independent of OpenCV,
stuck on a real frame of the car-park clip and photographed badly: turned, at an angle, soft, noisy,
heavily compressed."""

from __future__ import annotations

import io
from collections.abc import Callable
from itertools import islice

import cv2
import numpy as np
import pytest
import segno
from vision_footage import CAR_CLIP, clip

from infrastructure.vision import UnreadablePhoto, read_qr

PAYLOAD = "SSZ-RB:RB-07:v3:9f2c1a7e5b"
GREY = (60, 60, 60)


@pytest.fixture(scope="module")
def car_park() -> np.ndarray:
    return next(islice(clip(CAR_CLIP), 10, None)).image


def sticker(size: int) -> np.ndarray:
    buffer = io.BytesIO()
    segno.make(PAYLOAD, error="m").save(buffer, kind="png", scale=10, border=4)
    code = cv2.imdecode(np.frombuffer(buffer.getvalue(), np.uint8), cv2.IMREAD_COLOR)
    return cv2.resize(code, (size, size), interpolation=cv2.INTER_AREA)


def photo_of(scene: np.ndarray, size: int = 220) -> np.ndarray:
    picture = scene.copy()
    picture[100 : 100 + size, 300 : 300 + size] = sticker(size)
    return picture


def turned(image: np.ndarray, degrees: float = 30) -> np.ndarray:
    height, width = image.shape[:2]
    rotation = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    return cv2.warpAffine(image, rotation, (width, height), borderValue=GREY)


def at_an_angle(image: np.ndarray) -> np.ndarray:
    height, width = image.shape[:2]
    corners = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    seen = np.float32(
        [
            [width * 0.15, height * 0.05],
            [width * 0.85, height * 0.2],
            [width * 0.9, height * 0.85],
            [width * 0.05, height * 0.95],
        ]
    )
    return cv2.warpPerspective(image, cv2.getPerspectiveTransform(corners, seen), (width, height), borderValue=GREY)


def soft(image: np.ndarray, sigma: float = 2.0) -> np.ndarray:
    return cv2.GaussianBlur(image, (0, 0), sigma)


def noisy(image: np.ndarray, sigma: float = 25) -> np.ndarray:
    noise = np.random.default_rng(3).normal(0, sigma, image.shape)
    return np.clip(image.astype(np.float32) + noise, 0, 255).astype(np.uint8)


def jpeg(image: np.ndarray, quality: int = 90) -> bytes:
    return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes()


def everything_at_once(image: np.ndarray) -> np.ndarray:
    return noisy(soft(at_an_angle(turned(image)), 1.5), 15)


BAD_PHOTOS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "straight": lambda image: image,
    "turned 30 degrees": turned,
    "at an angle": at_an_angle,
    "out of focus": soft,
    "noisy": noisy,
    "all of those": everything_at_once,
}


@pytest.mark.parametrize("quality", [90, 20])
@pytest.mark.parametrize("damage", BAD_PHOTOS.values(), ids=BAD_PHOTOS.keys())
def test_the_code_is_read_from_a_bad_photo(car_park, damage, quality):
    assert read_qr(jpeg(damage(photo_of(car_park)), quality)) == PAYLOAD


def test_a_small_code_far_away_is_read_by_upscaling(car_park):
    photo = cv2.imdecode(np.frombuffer(jpeg(photo_of(car_park, size=90)), np.uint8), cv2.IMREAD_COLOR)
    assert cv2.QRCodeDetector().detectAndDecode(photo)[0] == ""  # the plain attempt alone fails

    assert read_qr(jpeg(photo_of(car_park, size=90))) == PAYLOAD


def test_a_photo_without_a_code_is_unreadable_with_a_clear_message(car_park):
    with pytest.raises(UnreadablePhoto) as unreadable:
        read_qr(jpeg(car_park))

    assert str(unreadable.value) == "No QR code could be read from this photo; take it again closer and in focus."
    assert unreadable.value.field == "photo"


@pytest.mark.parametrize("upload", [b"", b"%PDF-1.7 not a picture", b"\xff\xd8\xff\xe0 cut off"])
def test_bytes_that_are_not_a_picture_are_unreadable(upload):
    with pytest.raises(UnreadablePhoto):
        read_qr(upload)
