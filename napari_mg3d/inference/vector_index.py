"""A FAISS index over L2-normalised embeddings, scored by inner product (cosine).

Exact (``IndexFlatIP``) up to ``EXACT_UP_TO`` vectors; beyond, an inverted-file index (IVF) whose
``nprobe`` is set for recall@10 >= 0.95 against exact search (bench/search.py). Row ids are the
library's SQLite row ids, so the index can always be rebuilt from the database.
"""

from __future__ import annotations

import numpy as np

EXACT_UP_TO = 50_000


def build_index(vectors: np.ndarray, ids: np.ndarray, exact_up_to: int = EXACT_UP_TO, nprobe: int | None = None):
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    d = vectors.shape[1]
    if len(vectors) <= exact_up_to:
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(d))
    else:
        nlist = int(2 * np.sqrt(len(vectors)))
        quantizer = faiss.IndexFlatIP(d)
        ivf = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(0)
        train = vectors[rng.choice(len(vectors), min(len(vectors), 40 * nlist), replace=False)]
        ivf.train(train)
        ivf.nprobe = nprobe or max(8, nlist // 32)
        index = faiss.IndexIDMap2(ivf)
    if len(vectors):
        index.add_with_ids(vectors, ids)
    return index


def faiss_inner(index):
    """The index inside the id map, as its own type (IndexFlatIP or IndexIVFFlat)."""
    import faiss

    return faiss.downcast_index(index.index) if isinstance(index, faiss.IndexIDMap2) else index


def outgrown(index, exact_up_to: int = EXACT_UP_TO) -> bool:
    """True for an exact index that has grown past ``exact_up_to`` vectors."""
    import faiss

    return isinstance(faiss_inner(index), faiss.IndexFlat) and index.ntotal > exact_up_to


def max_id(index) -> int:
    """The largest id in an id-mapped index (0 when empty)."""
    import faiss

    ids = faiss.vector_to_array(index.id_map)
    return int(ids.max()) if len(ids) else 0


def add(index, vectors: np.ndarray, ids: np.ndarray) -> None:
    index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.ascontiguousarray(ids, dtype=np.int64))


def search(index, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(scores, ids) of shape (queries, k); ids -1 where fewer than k exist."""
    queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
    return index.search(queries, min(k, max(index.ntotal, 1)))


def save(index, path) -> None:
    """Written beside and renamed over: a reader never sees half an index."""
    import os

    import faiss

    tmp = f"{path}.tmp"
    faiss.write_index(index, tmp)
    os.replace(tmp, path)


def load(path):
    import faiss

    return faiss.read_index(str(path))
