#!/usr/bin/env python3
"""SQLite FTS5's side of `Quiver.Bench bm25`: builds an FTS5 table (tokenizer unicode61) over the passages of
PASSAGES (one JSON string a line, rowid = line number) and answers each query of QUERIES (one JSON string a line) with
the top K rowids by FTS5's bm25() (k1 1.2, b 0.75), the query's words joined by OR so that a passage needs one of them,
as BM25 over a sparse field does. Prints one JSON object: build seconds, query seconds, and the rowids per query."""
import json
import sqlite3
import sys
import time


def main():
    passages_path, queries_path, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE docs USING fts5(body, tokenize = 'unicode61')")
    started = time.perf_counter()
    with open(passages_path, encoding="utf-8") as f:
        db.executemany("INSERT INTO docs(rowid, body) VALUES (?, ?)", ((i, json.loads(line)) for i, line in enumerate(f)))
    db.commit()
    build = time.perf_counter() - started

    with open(queries_path, encoding="utf-8") as f:
        queries = [json.loads(line) for line in f]
    # Each word quoted (a phrase of one token), so punctuation and FTS5 operators in it are taken as text.
    matches = [" OR ".join('"' + w.replace('"', '""') + '"' for w in q.split()) for q in queries]
    sql = "SELECT rowid, bm25(docs) FROM docs WHERE docs MATCH ? ORDER BY bm25(docs) LIMIT ?"
    for m in matches[: min(20, len(matches))]:  # warm-up: the same statements, not timed
        db.execute(sql, (m, k)).fetchall()
    results = []
    started = time.perf_counter()
    for m in matches:
        results.append(db.execute(sql, (m, k)).fetchall())
    elapsed = time.perf_counter() - started
    json.dump({
        "sqlite": sqlite3.sqlite_version,
        "build_seconds": build,
        "query_seconds": elapsed,
        "ids": [[r[0] for r in rows] for rows in results],
        "scores": [[-r[1] for r in rows] for rows in results],
    }, sys.stdout)


if __name__ == "__main__":
    main()
