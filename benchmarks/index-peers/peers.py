#!/usr/bin/env python3
"""Index benchmark peers: FAISS IndexFlatIP (exact) and hnswlib (approximate graph), on the SAME
vectors the C# index benchmark wrote, single query at a time on one thread.

Called by `dotnet run -c Release --project benchmarks/Edge.Benchmarks -- index`; it can also be run
by hand:
    python3 benchmarks/index-peers/peers.py BASE.f32 QUERIES.f32 TRUTH.i32 [--no-hnsw]

File format (written by IndexBenchmark.cs): int32 rows, int32 dims, then rows*dims float32,
row-major, little-endian. TRUTH.i32: int32 count, then the exact best row of each query.
Prints one JSON object per engine on stdout.
Needs Debian python3-faiss and python3-hnswlib (tools/setup.sh installs them).
"""
import json
import sys
import time

import numpy as np


def read_matrix(path):
    with open(path, "rb") as f:
        rows, dims = np.frombuffer(f.read(8), dtype="<i4")
        data = np.frombuffer(f.read(), dtype="<f4")
    return data.reshape(int(rows), int(dims))


def read_truth(path):
    with open(path, "rb") as f:
        count = int(np.frombuffer(f.read(4), dtype="<i4")[0])
        return np.frombuffer(f.read(), dtype="<i4")[:count]


def percentiles(samples_ns):
    s = np.sort(np.asarray(samples_ns, dtype=np.float64)) / 1000.0
    return float(np.percentile(s, 50)), float(np.percentile(s, 99))


def measure(search, queries, truth, warmup=20):
    for i in range(min(warmup, len(queries))):
        search(queries[i : i + 1])
    samples, hits = [], 0
    for i in range(len(queries)):
        q = queries[i : i + 1]
        t0 = time.perf_counter_ns()
        best = search(q)
        samples.append(time.perf_counter_ns() - t0)
        hits += int(best == truth[i])
    p50, p99 = percentiles(samples)
    return p50, p99, hits / len(queries)


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    base, queries, truth = read_matrix(argv[1]), read_matrix(argv[2]), read_truth(argv[3])
    want_hnsw = "--no-hnsw" not in argv
    base = np.ascontiguousarray(base)
    queries = np.ascontiguousarray(queries)
    try:
        import faiss
    except ImportError:
        print(json.dumps({"engine": "faiss IndexFlatIP", "error": "python3-faiss is not installed: run tools/setup.sh (apt-get install python3-faiss)"}))
    else:
        faiss.omp_set_num_threads(1)
        t0 = time.perf_counter()
        index = faiss.IndexFlatIP(base.shape[1])
        index.add(base)
        build = time.perf_counter() - t0

        def faiss_search(q):
            _, ids = index.search(q, 1)
            return int(ids[0, 0])

        p50, p99, recall = measure(faiss_search, queries, truth)
        print(json.dumps({"engine": "faiss IndexFlatIP (exact)", "p50_us": p50, "p99_us": p99, "recall1": recall, "build_s": build}), flush=True)
        del index
    if not want_hnsw:
        return 0
    try:
        import hnswlib
    except ImportError:
        print(json.dumps({"engine": "hnswlib", "error": "python3-hnswlib is not installed: run tools/setup.sh (apt-get install python3-hnswlib)"}))
        return 0
    m, ef_construction, ef = 16, 200, 64
    t0 = time.perf_counter()
    graph = hnswlib.Index(space="ip", dim=base.shape[1])
    graph.init_index(max_elements=base.shape[0], ef_construction=ef_construction, M=m)
    graph.add_items(base, np.arange(base.shape[0]), num_threads=-1)  # build on all cores; queries on one
    build = time.perf_counter() - t0
    graph.set_ef(ef)
    graph.set_num_threads(1)

    def hnsw_search(q):
        labels, _ = graph.knn_query(q, k=1, num_threads=1)
        return int(labels[0, 0])

    p50, p99, recall = measure(hnsw_search, queries, truth)
    print(json.dumps({"engine": f"hnswlib (M={m}, ef={ef}, approximate)", "p50_us": p50, "p99_us": p99, "recall1": recall, "build_s": build}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
