"""Signed checkpoints: the C2SP signed-note format byte for byte as Go's sumdb/note makes it (its documented
example key and note), the tlog-checkpoint body, and every way a note or a key can be wrong."""

from __future__ import annotations

import base64

import pytest

from infrastructure.checkpoints import Checkpoint, NoteError, Signer, Verifier, load_signer, open_note

SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
NOTE = (
    TEXT
    + "\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def test_the_go_reference_example_byte_for_byte() -> None:
    signer = Signer.parse(SKEY)
    assert str(signer) == SKEY
    assert str(signer.verifier) == VKEY
    assert signer.verifier.id.hex() == "c74f20a3"
    assert signer.sign(TEXT) == NOTE
    assert open_note(NOTE, Verifier.parse(VKEY)) == TEXT


def test_a_checkpoint_is_three_lines_and_round_trips() -> None:
    root = bytes(range(32))
    checkpoint = Checkpoint("smart-safety-zone.ccoc/ledger", 1234, root)
    assert checkpoint.text() == "smart-safety-zone.ccoc/ledger\n1234\n" + base64.b64encode(root).decode() + "\n"
    assert Checkpoint.parse(checkpoint.text()) == checkpoint
    signer = Signer.generate()
    assert Checkpoint.parse(open_note(signer.sign(checkpoint.text()), signer.verifier)) == checkpoint


@pytest.mark.parametrize(
    "note, says",
    [
        (NOTE.replace("answer", "answers"), "does not verify"),
        (NOTE.replace("NXgKvq", "NXgKvr"), "does not verify"),
        (NOTE.replace("PeterNeumann", "PeterNeuman"), "no signature by PeterNeumann"),
        (TEXT, "a blank line"),
        (NOTE.replace("\u2014", "-"), "signature line"),
        (NOTE.replace("x08go/", "x08go/!"), "not base64"),
    ],
)
def test_a_note_that_is_not_as_signed_is_refused_saying_why(note: str, says: str) -> None:
    with pytest.raises(NoteError, match=says):
        open_note(note, Verifier.parse(VKEY))


def test_a_note_signed_by_another_key_of_the_same_name_is_refused() -> None:
    other = Signer.generate("PeterNeumann")
    with pytest.raises(NoteError, match="no signature"):
        open_note(other.sign(TEXT), Verifier.parse(VKEY))


@pytest.mark.parametrize(
    "text, says",
    [
        ("origin\n12\n", "each on a line"),
        ("origin\n12\nAAAA", "each on a line"),
        ("origin\n-1\n" + base64.b64encode(bytes(32)).decode() + "\n", "decimal"),
        ("origin\n012\n" + base64.b64encode(bytes(32)).decode() + "\n", "decimal"),
        ("origin\n12\n" + base64.b64encode(bytes(31)).decode() + "\n", "32 bytes"),
        ("\n12\n" + base64.b64encode(bytes(32)).decode() + "\n", "no origin"),
    ],
)
def test_a_malformed_checkpoint_is_refused_saying_which_part(text: str, says: str) -> None:
    with pytest.raises(NoteError, match=says):
        Checkpoint.parse(text)


@pytest.mark.parametrize(
    "key",
    [
        VKEY.replace("c74f20a3", "c74f20a4"),
        "PeterNeumann+c74f20a3",
        VKEY + "AA",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ],
)
def test_a_bad_verifier_key_is_refused(key: str) -> None:
    with pytest.raises(NoteError):
        Verifier.parse(key)


def test_the_signing_key_is_made_once_outside_production_and_required_in_it(tmp_path) -> None:
    key_file = tmp_path / "ledger.key"
    with pytest.raises(NoteError, match="production"):
        load_signer(None, key_file, production=True)
    made = load_signer(None, key_file, production=False)
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert str(load_signer(None, key_file, production=True)) == str(made)
    assert str(load_signer(SKEY, key_file, production=True)) == SKEY


def test_processes_starting_together_agree_on_one_key(tmp_path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    key_file = tmp_path / "ledger.key"
    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(lambda _: str(load_signer(None, key_file, production=False)), range(16)))
    assert len(set(keys)) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["ledger.key"]
