"""``python -m detector``: exit codes, CSV columns, folders, no tracebacks."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from audio_fixtures import encode, voice_like
from cli_helpers import run_cli

from detector.cli import CSV_COLUMNS, main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def clips(tmp_path) -> Path:
    folder = tmp_path / "clips"
    (folder / "nested").mkdir(parents=True)
    (folder / "a.wav").write_bytes(encode(voice_like(3.0), 16000, "wav"))
    (folder / "nested" / "b.ogg").write_bytes(encode(voice_like(2.5, 22050), 22050, "ogg"))
    (folder / "notes.txt").write_text("ignored: not an audio extension")
    return folder


def test_scores_a_folder_recursively_as_csv(clips, tiny_store):
    code, out, _ = run_cli("score", str(clips), store=tiny_store)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert tuple(rows[0].keys()) == CSV_COLUMNS
    assert [Path(r["path"]).name for r in rows] == ["a.wav", "b.ogg"]
    assert all(0 <= float(r["p_synthetic"]) <= 1 and r["error"] == "" for r in rows)


def test_failed_file_gives_row_and_exit_one(clips, tiny_store, tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"")
    out_file = tmp_path / "out.json"
    code, _, err = run_cli("score", str(clips), str(bad), "--format", "json", "--out", str(out_file), store=tiny_store)
    assert code == 1
    rows = json.loads(out_file.read_text())
    failed = [r for r in rows if r["error"]]
    assert len(rows) == 3 and len(failed) == 1
    assert failed[0]["p_synthetic"] == "" and "empty" in failed[0]["error"]
    assert "2 scored, 1 failed" in err


def test_csv_rows_are_spreadsheet_safe(tiny_store, tmp_path, monkeypatch):
    """A file named like a formula reaches the CSV as text (a leading '), so a spreadsheet never runs it."""
    monkeypatch.chdir(tmp_path)   # a relative path: the CSV's path cell starts with the name itself
    Path("=HYPERLINK(1).wav").write_bytes(b"not audio at all")
    code, out, _ = run_cli("score", "=HYPERLINK(1).wav", store=tiny_store)
    assert code == 1
    row = next(csv.DictReader(io.StringIO(out)))
    assert row["path"] == "'=HYPERLINK(1).wav" and row["error"]


def test_usage_errors_exit_two(tiny_store, tmp_path):
    with pytest.raises(SystemExit) as info:
        main(["score"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["score", "x.wav", "--format", "xml"])
    assert info.value.code == 2
    code, _, err = run_cli("score", str(tmp_path), store=tiny_store)  # a folder with no audio
    assert code == 2 and "no audio" in err
    code, _, err = run_cli("score", "x.wav", store=tmp_path / "no-store")
    assert code == 2 and "No active model" in err


def test_models_lists_versions_with_active_marked(tiny_store):
    code, out, _ = run_cli("models", store=tiny_store)
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].startswith("* v1") and lines[1].startswith("  v2")


def test_module_entry_point_never_prints_a_traceback(tiny_store, tmp_path):
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-m", "detector", "--store", str(tiny_store), "score", str(junk)],
                            capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "PNG image" in result.stdout


def test_serving_never_imports_tensorflow(tiny_store, tmp_path):
    clip = tmp_path / "clip.wav"
    clip.write_bytes(encode(voice_like(3.0), 16000, "wav"))
    code = (
        "import sys; from detector.inference import Detector; "
        f"d = Detector.from_store({str(tiny_store)!r}); d.analyse({str(clip)!r}); "
        "import detector.cli, detector.explain, webapp.service; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'streamlit')); "
        "print('LOADED', bad)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert "LOADED []" in result.stdout, result.stdout + result.stderr


def test_promote_and_rollback_commands(tiny_store):
    code, out, _ = run_cli("promote", "v2", store=tiny_store)
    assert code == 0 and "v2" in out
    assert run_cli("models", store=tiny_store)[1].splitlines()[1].startswith("* v2")
    code, out, _ = run_cli("rollback", store=tiny_store)
    assert code == 0 and "v1" in out
    code, _, err = run_cli("promote", "nope", store=tiny_store)
    assert code == 2 and "does not exist" in err
