"""The signed tokens printed in red-box QR codes."""

from uuid import uuid4

from infrastructure.qr_codes import HmacCodeSigner


def test_a_signed_code_verifies_only_for_its_box_its_version_and_its_secret():
    signer, other = HmacCodeSigner(b"the deployment's secret"), HmacCodeSigner(b"another deployment")
    box, second_box = uuid4(), uuid4()
    token = signer.token(box, 3)
    assert token.startswith("3-") and len(token) <= 24
    assert signer.version_of(box, token) == 3
    assert signer.version_of(second_box, token) is None
    assert other.version_of(box, token) is None
    assert signer.version_of(box, "4-" + token[2:]) is None  # the version is signed too
    for garbage in (
        "",
        "3",
        "3-",
        "abc",
        token + "x",
        "0-" + token[2:],
        "-1-" + token[2:],
        "9" * 50,
        "3-" + "\x00" * 16,
    ):
        assert signer.version_of(box, garbage) is None
