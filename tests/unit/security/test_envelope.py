"""Sealing binds a ciphertext to its row; the KEK file is private and never shown."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from bastion.security.envelope import (
    DecryptionFailed,
    FileKeyStore,
    KeyFileError,
    new_data_key,
    read_or_create_key_file,
    seal,
    unseal,
)


def test_seal_round_trips_and_refuses_another_row_or_key() -> None:
    key = new_data_key()
    token = seal(key, "Labas, Ona", "events:c_1:2:body")
    assert token.startswith("e1:") and "Ona" not in token
    assert unseal(key, token, "events:c_1:2:body") == "Labas, Ona"
    assert seal(key, "Labas, Ona", "events:c_1:2:body") != token  # fresh nonce
    for ad in ("events:c_1:3:body", "events:c_2:2:body", "events:c_1:2:data"):
        with pytest.raises(DecryptionFailed):
            unseal(key, token, ad)
    with pytest.raises(DecryptionFailed):
        unseal(new_data_key(), token, "events:c_1:2:body")
    with pytest.raises(DecryptionFailed):
        unseal(key, token[:-4] + "AAAA", "events:c_1:2:body")
    assert unseal(key, "written before 0004", "x") == "written before 0004"


def test_kek_file_is_made_private_once_and_wraps_per_owner(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "kek.key"
    store = FileKeyStore.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = FileKeyStore.load_or_create(path)
    assert again.kek_id == store.kek_id
    assert path.read_text().strip() not in repr(store)

    dk = new_data_key()
    wrapped = store.wrap(dk, "v_1")
    assert again.unwrap(store.kek_id, wrapped, "v_1") == dk
    with pytest.raises(DecryptionFailed):
        store.unwrap(store.kek_id, wrapped, "v_2")  # a wrapped key moved to another visitor
    other = FileKeyStore.load_or_create(tmp_path / "other.key")
    with pytest.raises(DecryptionFailed):
        other.unwrap(store.kek_id, wrapped, "v_1")


def test_a_kek_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "kek.key"
    FileKeyStore.load_or_create(path)
    os.chmod(path, 0o644)
    with pytest.raises(KeyFileError) as err:
        FileKeyStore.load_or_create(path)
    assert path.read_text().strip() not in str(err.value)


def test_processes_making_the_key_file_at_once_all_read_one_whole_key(tmp_path: Path) -> None:
    """Nodes starting together on a shared key directory: one file wins, every process
    reads it (never a half-written one), and no temporary file is left behind."""
    import multiprocessing

    path = tmp_path / "keys" / "kek.key"
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        keys = pool.map(read_or_create_key_file, [path] * 8)
    assert len(set(keys)) == 1 and len(keys[0]) == 32
    assert [p.name for p in path.parent.iterdir()] == ["kek.key"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
