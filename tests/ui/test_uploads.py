"""An upload is written under a fresh private folder, with a name procure chooses (never the
client's multipart filename), and removed when the page is done with it."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from procure.ui import widgets


class Upload:
    """What Streamlit hands a page: the client's file name and the bytes."""

    def __init__(self, name: str, content: bytes) -> None:
        self.name, self.content = name, content

    def getbuffer(self) -> memoryview:
        return memoryview(self.content)


@pytest.mark.parametrize(
    ("name", "stored"),
    [
        ("../../outside/PROOF.csv", "upload.csv"),
        ("/etc/passwd", "upload"),
        ("labels.csv.gz", "upload.csv.gz"),
        ("x.c$v;rm -rf ~.jsonl", "upload.jsonl"),
        ("..", "upload"),
    ],
)
def test_uploads_go_under_a_private_folder_with_a_chosen_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, stored: str
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    with widgets.uploaded_file(Upload(name, b"item_id,label\n1,A\n")) as path:  # type: ignore[arg-type]
        folder = path.parent
        assert path.name == stored and folder.parent == tmp_path
        assert folder.name.startswith("procure-upload-")
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert path.read_bytes() == b"item_id,label\n1,A\n"
    assert list(tmp_path.iterdir()) == []  # nothing left after the rerun, nothing outside
