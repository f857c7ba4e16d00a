"""qmf_sim.data: IDX reading (gzipped and raw), malformed files, the digits fallback and its split."""
import gzip

import numpy as np
import pytest

from qmf_sim import data as D


def write_idx(path, arr, gz=False, magic=None, dims=None):
    """A small IDX writer independent of qmf_sim.data.write_idx (uint8 payload)."""
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    dims = arr.shape if dims is None else dims
    magic = bytes([0, 0, 0x08, len(dims)]) if magic is None else magic
    payload = magic + b"".join(int(d).to_bytes(4, "big") for d in dims) + arr.tobytes()
    path.write_bytes(gzip.compress(payload) if gz else payload)
    return path


def make_mnist(tmp_path, n_train=50, n_test=20, side=6, gz=False, seed=0):
    rng = np.random.default_rng(seed)
    xtr = rng.integers(0, 256, (n_train, side, side))
    ytr = rng.integers(0, 10, n_train)
    xte = rng.integers(0, 256, (n_test, side, side))
    yte = rng.integers(0, 10, n_test)
    sfx = ".gz" if gz else ""
    write_idx(tmp_path / f"train-images-idx3-ubyte{sfx}", xtr, gz)
    write_idx(tmp_path / f"train-labels-idx1-ubyte{sfx}", ytr, gz)
    write_idx(tmp_path / f"t10k-images-idx3-ubyte{sfx}", xte, gz)
    write_idx(tmp_path / f"t10k-labels-idx1-ubyte{sfx}", yte, gz)
    return xtr, ytr, xte, yte


@pytest.mark.parametrize("gz", [False, True])
def test_idx_round_trip(tmp_path, gz):
    xtr, ytr, xte, yte = make_mnist(tmp_path, gz=gz)
    a, b, c, d = D.load_mnist_arrays(tmp_path)
    np.testing.assert_array_equal(a, xtr)
    np.testing.assert_array_equal(b, ytr)
    np.testing.assert_array_equal(c, xte)
    np.testing.assert_array_equal(d, yte)
    ds = D.load_mnist(tmp_path)
    assert ds.x_train.shape == (50, 36) and ds.x_test.shape == (20, 36)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    # standardised with the training statistics: mean 0; std 1 where the raw std exceeds the floor
    np.testing.assert_allclose(ds.x_train.mean(0), 0, atol=1e-5)
    raw = xtr.reshape(50, -1) / 255.0
    np.testing.assert_allclose(ds.x_train.std(0), raw.std(0) / np.maximum(raw.std(0), D.STD_FLOOR), rtol=1e-4)


def test_write_idx_module_writer_reads_back(tmp_path):
    arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    for name in ("a-idx3-ubyte", "a-idx3-ubyte.gz"):
        np.testing.assert_array_equal(D.read_idx(D.write_idx(tmp_path / name, arr)), arr)


def test_missing_file_names_it(tmp_path):
    make_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        D.load_mnist_arrays(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        D.load_mnist_arrays(tmp_path / "nowhere")


def test_bad_magic(tmp_path):
    make_mnist(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((50, 6, 6)), magic=b"\x12\x34\x08\x03")
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.*magic number"):
        D.load_mnist_arrays(tmp_path)


def test_truncated_payload(tmp_path):
    make_mnist(tmp_path)
    p = tmp_path / "train-images-idx3-ubyte"
    p.write_bytes(p.read_bytes()[:-7])
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.*dimensions \(50, 6, 6\).*1800 bytes"):
        D.load_mnist_arrays(tmp_path)


def test_wrong_dims_and_counts(tmp_path):
    make_mnist(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros((50, 2)))  # 2-D labels
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte.*1-D"):
        D.load_mnist_arrays(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(49))  # count mismatch
    with pytest.raises(ValueError, match=r"50 images.*49 labels"):
        D.load_mnist_arrays(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.full(50, 11))
    with pytest.raises(ValueError, match="labels must be 0..9"):
        D.load_mnist_arrays(tmp_path)
    make_mnist(tmp_path)
    with pytest.raises(ValueError, match="expected 60000"):
        D.load_mnist_arrays(tmp_path, strict_counts=True)


def test_not_gzip_but_named_gz(tmp_path):
    (tmp_path / "x.gz").write_bytes(b"\x1f\x8bgarbage")
    with pytest.raises(ValueError, match="x.gz"):
        D.read_idx(tmp_path / "x.gz")


def test_digits_fallback_shapes_and_split(monkeypatch):
    monkeypatch.delenv(D.ENV_VAR, raising=False)
    ds = D.load_dataset(None)
    assert ds.name == "digits"
    assert ds.x_train.shape == (1397, 64) and ds.x_test.shape == (400, 64)
    assert ds.n_classes == 10
    # stratified: every class present in both parts, in proportion (within one example)
    full = np.bincount(np.concatenate([ds.y_train, ds.y_test]), minlength=10)
    np.testing.assert_allclose(np.bincount(ds.y_test, minlength=10), full * 400 / 1797, atol=1.0)
    # fixed split: a second load (without the cache) gives the same arrays
    ds2 = D.load_digits_dataset()
    np.testing.assert_array_equal(ds.x_test, ds2.x_test)
    np.testing.assert_array_equal(ds.y_train, ds2.y_train)
    np.testing.assert_allclose(ds.x_train.mean(0), 0, atol=1e-5)
    assert np.abs(ds.x_train).max() <= 1 / D.STD_FLOOR + 1e-6  # floored std bounds the values


def test_env_var_selects_mnist(tmp_path, monkeypatch):
    make_mnist(tmp_path, seed=3)
    monkeypatch.setenv(D.ENV_VAR, str(tmp_path))
    ds = D.load_dataset()
    assert ds.name == "mnist" and ds.x_train.shape == (50, 36)
