"""Read the QR code of a red patrol box from a photo an officer uploaded. Phone photos are tilted, soft,
noisy and compressed, so after the plain attempt a few cheap rescues are tried in turn."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import cv2
import numpy as np

from domain.errors import InvalidInput

MAX_SIDE = 1600  # a 12-megapixel photo holds no more code than this, and decodes far slower
SMALL_SIDE = 800  # below this a code's modules may be too few pixels wide: try it upscaled


class UnreadablePhoto(InvalidInput):
    MESSAGE = "No QR code could be read from this photo; take it again closer and in focus."

    def __init__(self) -> None:
        super().__init__(self.MESSAGE, field="photo")


def read_qr(photo: bytes) -> str:
    """The text of the QR code in `photo` (JPEG, PNG, … bytes); UnreadablePhoto if there is none to read."""
    image = _decode(photo)
    for detect in _detectors():
        for rendering in _renderings(image):
            text = _attempt(detect, rendering)
            if text:
                return text
    raise UnreadablePhoto()


def _decode(photo: bytes) -> np.ndarray:
    if not photo:
        raise UnreadablePhoto()
    image = cv2.imdecode(np.frombuffer(photo, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise UnreadablePhoto()
    longest = max(image.shape[:2])
    if longest > MAX_SIDE:
        factor = MAX_SIDE / longest
        image = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    return image


Detect = Callable[[np.ndarray], str]


def _detectors() -> Iterator[Detect]:
    # Made per call: a detector keeps state between calls, and uploads are read on many threads.
    yield lambda image: cv2.QRCodeDetector().detectAndDecode(image)[0]
    if hasattr(cv2, "QRCodeDetectorAruco"):
        # Finds the finder patterns differently and copes better with blur and strong perspective.
        yield lambda image: cv2.QRCodeDetectorAruco().detectAndDecode(image)[0]


def _renderings(image: np.ndarray) -> Iterator[np.ndarray]:
    yield image
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    yield grey
    if max(grey.shape) < SMALL_SIDE:
        yield cv2.resize(grey, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC)
    yield cv2.adaptiveThreshold(
        cv2.GaussianBlur(grey, (3, 3), 0), 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, 31, 5
    )


def _attempt(detect: Detect, image: np.ndarray) -> str:
    try:
        return detect(image)
    except cv2.error:
        return ""  # OpenCV throws on some degenerate candidate quadrilaterals; treat as not found
