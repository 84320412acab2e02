"""The analysis pipeline: bad files, resume after an interruption, config changes, CLI."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
import time

import numpy as np
import pandas as pd
import pytest

from sectionist.analysis.run.config import AnalysisConfig, load_config
from sectionist.analysis.errors import ParameterError, StoreError
from sectionist.analysis.run.pipeline import analyze
from sectionist.cli import main as cli_main
from sectionist.store import open_store
from tests.conftest import ROOT, click_track, tone, write_audio

FAST = dict(embed=False, cluster=False)


def make_songs(folder, n=3, seconds=40.0, sr=22050):
    paths = []
    for i in range(n):
        y = click_track(bpm=120 + 4 * i, seconds=seconds, sr=sr) + tone(200 + 100 * i, seconds, sr, amp=0.2)
        paths.append(write_audio(folder / f"song{i}.wav", y, sr))
    return paths


def part_mtimes(store, table):
    return {p: os.stat(store.local_path(store.part_key(table, p))).st_mtime_ns for p in store.list_parts(table)}


def test_bad_files_are_reported_and_the_rest_is_analysed(tmp_path):
    songs = tmp_path / "songs"
    make_songs(songs, n=2)
    (songs / "junk.mp3").write_bytes(b"\x00\x01garbage" * 50)
    (songs / "empty.wav").write_bytes(b"")
    write_audio(songs / "silent.flac", np.zeros(22050 * 5, np.float32), 22050)
    write_audio(songs / "short.wav", tone(440, 0.5), 22050)
    full = write_audio(tmp_path / "full.wav", tone(440, 30.0), 22050).read_bytes()
    (songs / "truncated.wav").write_bytes(full[: len(full) // 3])
    store = open_store(tmp_path / "store")
    summary = analyze([songs], store, AnalysisConfig(**FAST), progress=False)
    assert summary.ok == 2
    reasons = {os.path.basename(p): r for p, r in summary.failed.items()}
    assert set(reasons) == {"junk.mp3", "empty.wav", "silent.flac", "short.wav", "truncated.wav"}
    assert "unreadable" in reasons["junk.mp3"]
    assert "empty" in reasons["empty.wav"]
    assert "silent" in reasons["silent.flac"]
    assert "too short" in reasons["short.wav"]
    assert "truncated" in reasons["truncated.wav"]
    manifest = store.read_manifest()
    assert {os.path.basename(p) for p in manifest["errors"]} == set(reasons)
    assert len(store.read_table("songs")) == 2
    secs = store.read_table("sections")
    feats = store.read_table("features")
    assert len(secs) == len(feats) == 2 * 3
    assert list(secs["section_id"]) == list(feats["section_id"])


def test_failed_files_are_remembered_until_changed_or_retried(tmp_path):
    songs = tmp_path / "songs"
    make_songs(songs, n=1, seconds=20.0)
    write_audio(songs / "silent.flac", np.zeros(22050 * 5, np.float32), 22050)
    full = write_audio(tmp_path / "full.wav", tone(440, 30.0), 22050).read_bytes()
    (songs / "truncated.wav").write_bytes(full[: len(full) // 3])
    store = open_store(tmp_path / "store")
    cfg = AnalysisConfig(**FAST)
    first = analyze([songs], store, cfg, progress=False)
    assert (first.ok, len(first.failed), first.failed_before) == (1, 2, 0)
    # unchanged files under the same settings: reported again with the same reason, not re-read
    again = analyze([songs], store, cfg, progress=False)
    assert (again.ok, again.skipped, again.failed_before) == (0, 1, 2)
    assert again.failed == first.failed
    assert "--retry-failed" in "\n".join(again.lines())
    assert {os.path.basename(p) for p in store.read_manifest()["errors"]} == {"silent.flac", "truncated.wav"}
    # a changed setting that matters, a repaired file, or --retry-failed: read again
    assert analyze([songs], store, cfg.replace(central_fraction=0.5), progress=False).failed_before == 0
    (songs / "truncated.wav").write_bytes(full)
    fixed = analyze([songs], store, cfg.replace(central_fraction=0.5), progress=False)
    assert fixed.ok == 1 and fixed.failed_before == 1 and list(map(os.path.basename, fixed.failed)) == ["silent.flac"]
    retried = analyze([songs], store, cfg.replace(central_fraction=0.5, retry_failed=True), progress=False)
    assert retried.failed_before == 0 and "silent" in next(iter(retried.failed.values()))
    assert "truncated.wav" not in {os.path.basename(p) for p in store.read_manifest()["errors"]}


def test_tables_follow_the_schema(tmp_path):
    make_songs(tmp_path / "songs", n=1, seconds=46.0)
    store = open_store(tmp_path / "store")
    analyze([tmp_path / "songs"], store, AnalysisConfig(**FAST), progress=False)
    song = store.read_table("songs").iloc[0]
    assert song["song_id"] == song["content_hash"][:16]
    assert song["sample_rate"] == 22050 and song["channels"] == 1
    assert song["tempo_bpm"] == pytest.approx(120, abs=2)
    sec = store.read_table("sections")
    assert sec["start_s"].tolist() == [0, 15, 30] and sec["end_s"].tolist() == [15, 30, 45]
    assert sec["is_central"].dtype == bool
    feats = store.read_table("features")
    assert feats["rms_median"].dtype == np.float32
    mel = store.read_table("melspec")
    assert mel.shape == (3, 2 + 128)


def test_rerun_skips_unchanged_songs_and_force_recomputes(tmp_path):
    make_songs(tmp_path / "songs", n=2, seconds=20.0)
    store = open_store(tmp_path / "store")
    cfg = AnalysisConfig(**FAST)
    analyze([tmp_path / "songs"], store, cfg, progress=False)
    before = part_mtimes(store, "features")
    again = analyze([tmp_path / "songs"], store, cfg, progress=False)
    assert again.ok == 0 and again.skipped == 2
    assert part_mtimes(store, "features") == before
    forced = analyze([tmp_path / "songs"], store, cfg.replace(force=True), progress=False)
    assert forced.ok == 2
    assert all(part_mtimes(store, "features")[k] != v for k, v in before.items())


def test_config_hash_change_triggers_recomputation(tmp_path):
    make_songs(tmp_path / "songs", n=2, seconds=30.0)
    store = open_store(tmp_path / "store")
    analyze([tmp_path / "songs"], store, AnalysisConfig(**FAST), progress=False)
    assert len(store.read_table("sections")) == 4
    assert AnalysisConfig(section_seconds=10.0).config_hash() != AnalysisConfig().config_hash()
    assert AnalysisConfig(workers=4).config_hash() == AnalysisConfig().config_hash()  # how, not what
    res = analyze([tmp_path / "songs"], store, AnalysisConfig(section_seconds=10.0, **FAST), progress=False)
    assert res.ok == 2 and res.skipped == 0
    assert len(store.read_table("sections")) == 6
    assert set(store.read_table("songs")["analyzed_with"]) == {AnalysisConfig(section_seconds=10.0).config_hash()}


def test_default_workers_are_the_cores_once_the_pool_pays(monkeypatch):
    """workers=None: one process for one song or a few minutes of audio, else one per core."""

    from sectionist.analysis.run.config import POOL_MIN_AUDIO_S

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)))
    cfg = AnalysisConfig()
    assert cfg.workers is None
    assert cfg.worker_count(1, 10 * POOL_MIN_AUDIO_S) == 1
    assert cfg.worker_count(40, POOL_MIN_AUDIO_S - 1) == 1
    assert cfg.worker_count(40, POOL_MIN_AUDIO_S) == 8
    assert cfg.worker_count(3, 10 * POOL_MIN_AUDIO_S) == 3  # never more processes than songs
    assert AnalysisConfig(workers=1).worker_count(40, 1e6) == 1
    assert AnalysisConfig(workers=3).worker_count(1, 0) == 3
    with pytest.raises(ParameterError, match="workers"):
        AnalysisConfig(workers=0)


def start_analysis(songs, store_dir):
    """``sectionist analyze`` in a child process (features only), for interrupting it."""
    cmd = [sys.executable, "-m", "sectionist.cli", "analyze", str(songs), "--store", str(store_dir),
           "--no-embed", "--no-cluster", "-q"]
    # Ctrl-C as in a terminal, also when the suite itself runs in the background (a shell's `cmd &`
    # starts it with SIGINT ignored, and the child would inherit that)
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def wait_for_finished_songs(store_dir, n, timeout=120.0):
    songs_dir = store_dir / "songs"
    deadline = time.time() + timeout
    while time.time() < deadline:
        if songs_dir.exists() and len(list(songs_dir.glob("*.parquet"))) >= n:
            return
        time.sleep(0.02)
    raise AssertionError(f"fewer than {n} songs finished within {timeout} s")


def test_interrupted_run_resumes_without_redoing_finished_songs(tmp_path):
    songs, n_songs = tmp_path / "songs", 8
    make_songs(songs, n=n_songs, seconds=45.0)
    store_dir = tmp_path / "store"
    proc = start_analysis(songs, store_dir)
    wait_for_finished_songs(store_dir, 2)
    proc.send_signal(signal.SIGKILL)  # the harshest interruption: no cleanup at all
    proc.wait()
    store = open_store(store_dir)
    finished = store.list_parts("songs")
    assert 2 <= len(finished) < n_songs, "the run should have been killed part-way"
    # every table still reads cleanly: no half-written part
    for table in store.tables():
        store.read_table(table)
    before = part_mtimes(store, "features")
    res = analyze([songs], store, AnalysisConfig(**FAST), progress=False)
    assert res.skipped == len(finished)
    assert res.ok == n_songs - len(finished)
    after = part_mtimes(store, "features")
    assert all(after[k] == before[k] for k in finished)
    assert len(store.read_table("songs")) == n_songs
    assert len(store.read_table("sections")) == n_songs * 3


def test_ctrl_c_keeps_finished_songs_and_says_how_to_resume(tmp_path):
    songs, n_songs = tmp_path / "songs", 12  # 9 minutes: one process; enough that the interrupt lands before the end
    make_songs(songs, n=n_songs, seconds=45.0)
    store_dir = tmp_path / "store"
    proc = start_analysis(songs, store_dir)
    wait_for_finished_songs(store_dir, 1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "run the same command again to resume" in err
    store = open_store(store_dir)
    manifest = store.read_manifest()
    assert manifest["timings"]["analyze"]["interrupted"] is True
    res = analyze([songs], store, AnalysisConfig(**FAST), progress=False)
    assert res.skipped >= 1 and res.skipped + res.ok == n_songs


def test_workers_give_the_same_results(tmp_path):
    make_songs(tmp_path / "songs", n=3, seconds=20.0)
    a = open_store(tmp_path / "a")
    b = open_store(tmp_path / "b")
    analyze([tmp_path / "songs"], a, AnalysisConfig(**FAST), progress=False)
    analyze([tmp_path / "songs"], b, AnalysisConfig(workers=2, **FAST), progress=False)
    fa = a.read_table("features").sort_values("section_id").reset_index(drop=True)
    fb = b.read_table("features").sort_values("section_id").reset_index(drop=True)
    # a song is computed with BLAS on one thread in one process as in a worker (issue 24.11): bit for bit
    pd.testing.assert_frame_equal(fa, fb, check_exact=True)


def test_beats_scheme_and_44k_analysis_rate(tmp_path):
    write_audio(tmp_path / "songs" / "clicks.wav", click_track(bpm=120, seconds=20.0, sr=44100), 44100)
    store = open_store(tmp_path / "store")
    cfg = AnalysisConfig(scheme="beats", beats_per_section=4, sample_rate=44100, **FAST)
    analyze([tmp_path / "songs"], store, cfg, progress=False)
    sec = store.read_table("sections")
    assert (sec["scheme"] == "beats").all()
    lengths = (sec["end_s"] - sec["start_s"]).to_numpy()
    assert np.median(lengths) == pytest.approx(2.0, abs=0.05)
    assert store.read_table("songs")["analysis_sr"].iloc[0] == 44100


def test_ground_truth_labels_are_attached(tmp_path):
    p = make_songs(tmp_path / "songs", n=1, seconds=45.0)[0]
    p.with_suffix(".json").write_text(json.dumps({"tempo_bpm": 120.0, "sections": [
        {"start": 0.0, "end": 20.0, "label": "intro"}, {"start": 20.0, "end": 45.0, "label": "drop"}]}))
    store = open_store(tmp_path / "store")
    analyze([tmp_path / "songs"], store, AnalysisConfig(**FAST), progress=False)
    assert store.read_table("sections")["truth_label"].tolist() == ["intro", "drop", "drop"]


def test_toml_config_and_unknown_keys(tmp_path):
    cfg_file = tmp_path / "sectionist.toml"
    cfg_file.write_text("[analyze]\nsection_seconds = 10.0\nscheme = 'fixed'\nsample_rate = 44100\n")
    cfg = load_config(cfg_file, section_seconds=12.0)
    assert cfg.section_seconds == 12.0 and cfg.sample_rate == 44100
    cfg_file.write_text("section_secs = 3\n")
    with pytest.raises(ParameterError, match="unknown option"):
        load_config(cfg_file)
    with pytest.raises(ParameterError, match="sample_rate"):
        AnalysisConfig(sample_rate=4000)


def test_cli_analyze_and_info(tmp_path, capsys):
    make_songs(tmp_path / "songs", n=2, seconds=20.0)
    (tmp_path / "songs" / "bad.ogg").write_bytes(b"OggS" + b"\x00" * 100)
    cfg = tmp_path / "c.toml"
    cfg.write_text("section_seconds = 5.0\n")
    rc = cli_main(["analyze", str(tmp_path / "songs"), "--store", str(tmp_path / "store"), "--config", str(cfg),
                   "--no-embed", "--no-cluster", "-q"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "songs: 2 analysed, 0 unchanged (skipped), 1 failed" in out
    assert "bad.ogg" in out and "audio hours per wall hour" in out
    assert cli_main(["info", "--store", str(tmp_path / "store")]) == 0
    out = capsys.readouterr().out
    assert "songs: 2" in out and "sections: 8" in out and "bad.ogg" in out


def test_missing_store_and_inputs_give_clear_errors(tmp_path, capsys):
    assert cli_main(["info", "--store", str(tmp_path / "nope")]) == 2
    assert "no such store folder" in capsys.readouterr().err
    with pytest.raises(ParameterError, match="no such file or folder"):
        analyze([tmp_path / "missing"], open_store(tmp_path / "s"), AnalysisConfig(**FAST), progress=False)
    with pytest.raises(StoreError):
        open_store("ftp://host/x")


def test_a_missing_input_creates_no_store_and_info_refuses_a_folder_that_is_not_one(tmp_path, capsys):
    """Issue 24.13: `analyze MISSING --store S` left an empty folder S that `info` then listed with exit 0."""
    assert cli_main(["analyze", str(tmp_path / "missing.wav"), "--store", str(tmp_path / "s"), "-q"]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()
    (tmp_path / "empty").mkdir()
    assert cli_main(["analyze", str(tmp_path / "empty"), "--store", str(tmp_path / "s"), "-q"]) == 2
    assert "no audio files" in capsys.readouterr().err and not (tmp_path / "s").exists()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("not a store")
    assert cli_main(["info", "--store", str(tmp_path / "other")]) == 2
    assert "not a sectionist store" in capsys.readouterr().err


def test_novelty_scheme_follows_the_song_structure(demo_corpus, tmp_path):
    folder, paths = demo_corpus
    store = open_store(tmp_path / "store")
    analyze([paths[0]], store, AnalysisConfig(scheme="novelty", min_section_seconds=8.0, **FAST), progress=False)
    sec = store.read_table("sections")
    assert (sec["scheme"] == "novelty").all()
    assert ((sec["end_s"] - sec["start_s"]) >= 8.0).all()
    # sections follow the labelled segments, so each one carries (almost) a single truth label
    truth = json.loads(paths[0].with_suffix(".json").read_text())["sections"]
    for s, e in zip(sec["start_s"], sec["end_s"]):
        overlaps = [min(e, t["end"]) - max(s, t["start"]) for t in truth]
        assert max(overlaps) >= 0.9 * (e - s)


def _symlink_folder(tmp_path):
    """A folder with one good song, a link loop (a.wav → b.wav → a.wav) and a dangling link."""
    songs = tmp_path / "songs"
    songs.mkdir()
    good = write_audio(songs / "good.wav", tone(330, 3.0), 22050)
    (songs / "a.wav").symlink_to(songs / "b.wav")
    (songs / "b.wav").symlink_to(songs / "a.wav")
    (songs / "dangling.wav").symlink_to(songs / "gone.wav")
    (songs / "notes.txt").symlink_to(songs / "gone.txt")  # not audio: ignored as before
    return songs, good


def test_broken_symlinks_in_a_folder_are_reported(tmp_path):
    songs, _ = _symlink_folder(tmp_path)
    store = open_store(tmp_path / "store")
    summary = analyze([songs], store, AnalysisConfig(**FAST, section_seconds=1.0), progress=False)
    assert summary.ok == 1
    reasons = {os.path.basename(p): r for p, r in summary.failed.items()}
    assert set(reasons) == {"a.wav", "b.wav", "dangling.wav"}
    assert "loop" in reasons["a.wav"] and "loop" in reasons["b.wav"]
    assert "does not exist" in reasons["dangling.wav"] and "gone.wav" in reasons["dangling.wav"]
    assert all(os.path.isabs(p) for p in summary.failed)
    errors = store.read_manifest()["errors"]
    assert {os.path.basename(p): r for p, r in errors.items()} == reasons
    assert any(line.startswith("FAILED ") and "dangling.wav" in line for line in summary.lines())


def test_cli_reports_broken_symlinks_given_explicitly(tmp_path, capsys):
    songs, good = _symlink_folder(tmp_path)
    cfg = tmp_path / "c.toml"
    cfg.write_text("section_seconds = 1.0\n")
    rc = cli_main(["analyze", str(songs / "a.wav"), str(songs / "dangling.wav"), str(good),
                   "--store", str(tmp_path / "store"), "--config", str(cfg), "--no-embed", "--no-cluster", "-q"])
    out = capsys.readouterr().out
    assert rc == 0  # one file analysed: the run goes on, the bad links are reported
    assert "songs: 1 analysed, 0 unchanged (skipped), 2 failed" in out
    assert f"FAILED {songs / 'a.wav'}: symbolic link loop" in out
    assert f"FAILED {songs / 'dangling.wav'}: broken symbolic link" in out
    # only bad links: nothing analysed, rc 1 (as for other bad files), no "no such file" abort
    rc = cli_main(["analyze", str(songs / "dangling.wav"), "--store", str(tmp_path / "store2"), "--config", str(cfg),
                   "--no-embed", "--no-cluster", "-q"])
    assert rc == 1 and "dangling.wav" in capsys.readouterr().out


def test_cores_are_the_ones_this_process_may_use():
    """A process pinned to one core (taskset, a container's cpuset) gets one worker and one thread,
    whatever os.cpu_count() says."""
    import subprocess

    code = ("import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); "
            "from sectionist.analysis.run.config import AnalysisConfig; from sectionist.analysis.run.cpu import available_cores; from sectionist.analysis.run.pool import worker_threads; "
            "print(available_cores(), worker_threads(1), AnalysisConfig().worker_count(40, 1e6))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1]).stdout.split()
    assert out == ["1", "1", "1"]


def _blas_threads():
    import librosa  # noqa: F401  (everything a song loads: SciPy's OpenBLAS, scikit-learn's OpenMP…)
    import scipy.linalg  # noqa: F401
    import sklearn.cluster  # noqa: F401
    from threadpoolctl import threadpool_info

    try:  # not imported by the worker (the NumPy musicnn does not need it): its threads from OMP_NUM_THREADS
        import torch

        torch_threads = {torch.get_num_threads()}
    except ImportError:
        torch_threads = set()
    return sorted({pool["num_threads"] for pool in threadpool_info()} | torch_threads)


def _feature_threads():
    from sectionist.analysis.sections import features

    return features._DEFAULT_THREADS


def test_worker_processes_share_the_cores_out():
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from sectionist.analysis.run.pool import init_worker, pool_context, worker_threads

    assert worker_threads(2, cores=2) == 1 and worker_threads(1, cores=2) == 2
    assert worker_threads(4, cores=16) == 4 and worker_threads(8, cores=2) == 1
    # the limit reaches the BLAS pools NumPy already opened when the task was unpickled, and SciPy's
    # and scikit-learn's pools, which a song opens later
    for ctx in (pool_context(), mp.get_context("spawn")):  # the pool's own (a forkserver on Linux) and spawn
        with ProcessPoolExecutor(1, mp_context=ctx, initializer=init_worker, initargs=(1,)) as pool:
            assert pool.submit(_blas_threads).result() == [1]
            assert pool.submit(_feature_threads).result() == 1  # section features: one block at a time
    assert pool_context().get_start_method() == ("forkserver" if sys.platform == "linux" else "spawn")


def test_the_pool_server_starts_early_only_when_a_pool_is_likely(tmp_path, monkeypatch):
    from sectionist.analysis.run.pool import pool_likely

    files = make_songs(tmp_path / "songs", n=2, seconds=20.0)
    assert pool_likely(files, AnalysisConfig(workers=2)) and not pool_likely(files, AnalysisConfig(workers=1))
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    assert not pool_likely(files, AnalysisConfig())  # 40 s of audio: one process
    monkeypatch.setattr("sectionist.analysis.run.config.POOL_MIN_AUDIO_S", 30.0)
    assert pool_likely(files, AnalysisConfig())
