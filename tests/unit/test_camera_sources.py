"""A camera's source taken apart into what the log records and the secret part kept outside it, and put back."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infrastructure.camera_secrets import join_source, masked_source, redact, split_source


@pytest.mark.parametrize(
    "source, recorded, secrets",
    [
        ("rtsp://admin:S3cret@10.71.1.11:554/stream1", "rtsp://admin@10.71.1.11:554/stream1", ["S3cret"]),
        ("rtsp://admin@10.71.1.11:554/stream1", "rtsp://admin@10.71.1.11:554/stream1", []),
        ("rtsp://10.71.1.11:554/stream1", "rtsp://10.71.1.11:554/stream1", []),
        ("rtsp://admin:p@ss@10.71.1.11/s", "rtsp://admin@10.71.1.11/s", ["p@ss"]),
        ("rtsp://admin:pa/ss?#x@10.71.1.11:554/s", "rtsp://admin@10.71.1.11:554/s", ["pa/ss?#x"]),
        ("rtsp://admin:pw:with:colons@cam/s", "rtsp://admin@cam/s", ["pw:with:colons"]),
        ("rtsp://:S3cret@cam/s", "rtsp://@cam/s", ["S3cret"]),
        ("rtsp://admin:S3cret@host:554/s?token=abcXYZ987", "rtsp://admin@host:554/s?token=", ["S3cret", "abcXYZ987"]),
        (
            "http://10.71.1.12/video.cgi?user=viewer&pwd=S3cret&ch=2",
            "http://10.71.1.12/video.cgi?user=&pwd=&ch=2",
            ["viewer", "S3cret"],
        ),
        ("http://cam/snap?ch=2&api_key=K3y;Auth=xyz#frag", "http://cam/snap?ch=2&api_key=;Auth=#frag", ["K3y", "xyz"]),
        ("http://cam/video?ch=2&token=", "http://cam/video?ch=2&token=", []),
        ("rtsp://admin:@cam/s", "rtsp://admin:@cam/s", []),
        ("/srv/footage/market.mp4", "/srv/footage/market.mp4", []),
        ("/srv/footage/user:pw@host?token=x.mp4", "/srv/footage/user:pw@host?token=x.mp4", []),
        ("frames/cam_%05d.jpg", "frames/cam_%05d.jpg", []),
    ],
)
def test_a_source_is_recorded_without_its_secrets_and_put_back_whole(
    source: str, recorded: str, secrets: list[str]
) -> None:
    address, secret = split_source(source)
    assert address == recorded
    assert bool(secret) == bool(secrets)
    for value in secrets:
        assert value in secret and value not in address
    assert join_source(address, secret) == source


def test_the_recorded_address_masks_as_the_whole_source_does() -> None:
    source = "rtsp://admin:S3cret@10.71.1.11:554/stream1?token=abcXYZ987&ch=1"
    assert (
        masked_source(split_source(source)[0])
        == masked_source(source)
        == "rtsp://***@10.71.1.11:554/stream1?token=***&ch=1"
    )


def test_a_secret_does_not_fit_another_address() -> None:
    _, secret = split_source("rtsp://admin:S3cret@cam/s?token=abc")
    for other in ("rtsp://cam/s?token=", "rtsp://admin@cam/s", "rtsp://admin@cam/s?token=abc"):
        with pytest.raises(ValueError):
            join_source(other, secret)


def test_logs_show_the_user_but_no_secret() -> None:
    assert (
        redact("rtsp://admin:pa/ss@10.71.1.11:554/s?token=abcXYZ987&ch=2")
        == "rtsp://admin:***@10.71.1.11:554/s?token=***&ch=2"
    )
    assert redact("/srv/footage/market.mp4") == "/srv/footage/market.mp4"


_URL_TEXT = st.text(alphabet="aAzZ09:/@?#&;=%.-_ ~passwordtokenuserkey", max_size=40)


@settings(max_examples=500, deadline=None)
@given(scheme=st.sampled_from(["rtsp", "http", "https", "file"]), rest=_URL_TEXT)
def test_any_source_is_put_back_exactly_and_its_password_never_recorded(scheme: str, rest: str) -> None:
    source = f"{scheme}://{rest}"
    address, secret = split_source(source)
    assert join_source(address, secret) == source
    if rest.rpartition("@")[0].partition(":")[2]:  # a password: the recorded userinfo is the user name alone
        assert ":" not in address.partition("://")[2].rpartition("@")[0]
