#!/usr/bin/python3
"""Writes synthetic-0.x.tar.gz: SYNTHETIC Chroma 0.4 / 0.5 / 0.6 persist directories for
tests/unit/persist_synthetic_test.cpp (`/usr/bin/python3 make_synthetic.py` in this folder; the
output is committed and reproducible byte for byte).

No 0.x server can be installed here, so these directories are made, not recorded. They follow
Chroma's published schema migrations, applied as each release had them: the SQL itself is read
from the `migrations` table of the real 1.0.5 directory (conformance-1.0.5.tar.gz), where Chroma
recorded every migration it ran. The data follows what 0.x servers wrote: 8-byte big-endian BLOB
seq ids (embeddings.seq_id, max_seq_id), the HNSW segment's position in its pickled
PersistentData object, topics before 0.5.0, legacy `hnsw:space` keys, `hnsw_configuration` in
config_json_str from 0.5.4, queue purging from 0.5.6 (here: each collection's rows below the lower
of its segments' positions). Which release had which migration is this file's reading of the
version notes in shared/chroma-facts.md; it is not verified against real 0.x servers.

Every directory holds, per collection: 20 adds, a delete and an update with a vector (all in the
persisted HNSW segment, the deleted element marked deleted), then adds, an upsert, a delete and a
metadata-only update (with a key removal) that live only in the queue; and a collection "fresh"
never persisted (no segment folder). <version>.expected.json holds what each collection must read
back as: {"tenant/database": {collection: {"space", "records": {id: {document, metadata,
embedding}}}}}.
"""
import gzip
import io
import json
import math
import os
import pickle
import random
import sqlite3
import struct
import tarfile
import tempfile
import uuid

from chroma_classes import PersistentData

HERE = os.path.dirname(os.path.abspath(__file__))
# (sysdb, metadb, embeddings_queue migrations) and behaviour per release.
VERSIONS = {
    "0.4.14": dict(sysdb=3, metadb=3, queue=1, topic=True, config=False, purge=False),
    "0.4.24": dict(sysdb=4, metadb=4, queue=1, topic=True, config=False, purge=False),
    "0.5.3": dict(sysdb=6, metadb=4, queue=1, topic=False, config=False, purge=False),
    "0.5.5": dict(sysdb=7, metadb=4, queue=1, topic=False, config=True, purge=False),
    "0.6.3": dict(sysdb=8, metadb=4, queue=2, topic=False, config=True, purge=True),
}
COLLECTIONS = [("docs", "cosine", 6), ("points", "l2", 4), ("scores", "ip", 3), ("fresh", "l2", 2)]
M, MAX_ELEMENTS = 16, 64
CREATED_AT = "2024-06-01 12:00:00"  # fixed: the output is reproducible


def migrations():
    with tarfile.open(os.path.join(HERE, "conformance-1.0.5.tar.gz")) as t:
        db_bytes = t.extractfile("./chroma.sqlite3").read()
    with tempfile.NamedTemporaryFile(suffix=".sqlite3") as f:
        f.write(db_bytes)
        f.flush()
        db = sqlite3.connect(f.name)
        rows = db.execute("SELECT dir, version, filename, sql, hash FROM migrations").fetchall()
        db.close()
    return {(d, v): (name, sql, h) for d, v, name, sql, h in rows}


def seq_blob(seq):
    return struct.pack(">Q", seq)


def f32(values):
    return list(struct.unpack("<%df" % len(values), struct.pack("<%df" % len(values), *values)))


class Collection:
    """One collection's writes, as a model of what each one leaves behind."""

    def __init__(self, db, name, space, dim, database_id, features, rng, folder_root):
        self.db, self.name, self.space, self.dim = db, name, space, dim
        self.features, self.rng, self.root = features, rng, folder_root
        self.id = str(uuid.UUID(int=rng.getrandbits(128)))
        self.vector_segment = str(uuid.UUID(int=rng.getrandbits(128)))
        self.metadata_segment = str(uuid.UUID(int=rng.getrandbits(128)))
        self.topic = "persistent://default/default/" + self.id
        self.records = {}  # id -> {document, metadata, embedding}
        self.rows = []  # (op, id, vector, metadata) in queue order, with seq ids once written
        self.create(database_id)

    def create(self, database_id):
        cols = ["id", "name", "dimension"] + (["topic"] if self.features["topic"] else [])
        vals = [self.id, self.name, self.dim] + ([self.topic] if self.features["topic"] else [])
        if database_id:
            cols.append("database_id")
            vals.append(database_id)
        if self.features["config"]:
            cols.append("config_json_str")
            vals.append(json.dumps({"hnsw_configuration": {
                "space": self.space, "ef_construction": 100, "ef_search": 10, "num_threads": 4,
                "M": M, "resize_factor": 1.2, "batch_size": 100, "sync_threshold": 1000,
                "_type": "HNSWConfigurationInternal"}, "_type": "CollectionConfigurationInternal"}))
        self.db.execute("INSERT INTO collections (%s) VALUES (%s)" % (
            ", ".join(cols), ", ".join("?" * len(vals))), vals)
        self.db.execute("INSERT INTO collection_metadata (collection_id, key, str_value) "
                        "VALUES (?, 'hnsw:space', ?)", (self.id, self.space))
        for seg, kind, scope in ((self.vector_segment, "vector/hnsw-local-persisted", "VECTOR"),
                                 (self.metadata_segment, "metadata/sqlite", "METADATA")):
            cols = "id, type, scope, collection" + (", topic" if self.features["topic"] else "")
            vals = [seg, "urn:chroma:segment/" + kind, scope, self.id]
            if self.features["topic"]:
                vals.append(self.topic)
            self.db.execute("INSERT INTO segments (%s) VALUES (%s)" % (
                cols, ", ".join("?" * len(vals))), vals)
        self.db.execute("INSERT INTO segment_metadata (segment_id, key, str_value) "
                        "VALUES (?, 'hnsw:space', ?)", (self.vector_segment, self.space))

    def vector(self):
        return f32([round(self.rng.uniform(-2, 2), 3) for _ in range(self.dim)])

    def metadata(self, i):
        return {"i": i, "f": i + 0.5, "s": "text %d" % i, "b": i % 2 == 0,
                "chroma:document": "document %d of %s" % (i, self.name)}

    def write(self, op, id_, vector=None, metadata=None):
        self.rows.append((op, id_, vector, metadata))
        if op == 3:
            del self.records[id_]
            return
        if op == 1 and id_ not in self.records:
            return
        r = self.records.setdefault(id_, {"metadata": {}})
        if vector is not None:
            r["embedding"] = vector
        for k, v in (metadata or {}).items():
            if v is None:
                r["metadata"].pop(k, None)
            else:
                r["metadata"][k] = v

    def expected(self):
        out = {}
        for id_, r in self.records.items():
            meta = dict(r["metadata"])
            doc = meta.pop("chroma:document", None)
            out[id_] = {"document": doc, "metadata": meta, "embedding": r["embedding"]}
        return {"space": self.space, "records": out}


def play(c):
    """The writes; returns how many of them the HNSW segment persisted (0: none)."""
    if c.name == "fresh":
        for i in range(5):
            c.write(0, "f-%d" % i, c.vector(), c.metadata(i))
        return 0
    for i in range(20):
        c.write(0, "id-%d" % i, c.vector(), c.metadata(i))
    c.write(3, "id-3")
    c.write(1, "id-5", c.vector(), {"s": "updated"})
    persisted = len(c.rows)
    for i in range(20, 25):
        c.write(0, "id-%d" % i, c.vector(), c.metadata(i))
    c.write(2, "id-6", c.vector(), {"s": "upserted", "extra": 7})
    c.write(3, "id-7")
    c.write(1, "id-8", None, {"f": None, "s": "metadata only"})
    return persisted


def write_queue(c, next_seq):
    for n, (op, id_, vector, metadata) in enumerate(c.rows):
        seq = next_seq + n
        blob = struct.pack("<%df" % len(vector), *vector) if vector is not None else None
        c.db.execute("INSERT INTO embeddings_queue (seq_id, operation, topic, id, vector, "
                     "encoding, metadata, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     (seq, op, c.topic, id_, blob, "FLOAT32" if blob else None,
                      json.dumps(metadata) if metadata else None, CREATED_AT))
    return next_seq + len(c.rows)


def write_metadata_segment(c, first_seq):
    last_write = {}
    for n, (_, id_, _, _) in enumerate(c.rows):
        last_write[id_] = first_seq + n
    for id_, r in c.records.items():
        cur = c.db.execute("INSERT INTO embeddings (segment_id, embedding_id, seq_id, created_at) "
                           "VALUES (?, ?, ?, ?)",
                           (c.metadata_segment, id_, seq_blob(last_write[id_]), CREATED_AT))
        for key, value in r["metadata"].items():
            column = {bool: "bool_value", int: "int_value", float: "float_value",
                      str: "string_value"}[type(value)]
            c.db.execute("INSERT INTO embedding_metadata (id, key, %s) VALUES (?, ?, ?)" % column,
                         (cur.lastrowid, key, int(value) if type(value) is bool else value))
    c.db.execute("INSERT INTO max_seq_id (segment_id, seq_id) VALUES (?, ?)",
                 (c.metadata_segment, seq_blob(first_seq + len(c.rows) - 1)))


def write_hnsw(c, first_seq, persisted, in_table):
    """The segment after the first `persisted` writes, as hnswlib and Chroma 0.x left it."""
    folder = os.path.join(c.root, c.vector_segment)
    os.makedirs(folder)
    labels, vectors, deleted = {}, [], set()
    for op, id_, vector, _ in c.rows[:persisted]:
        if op == 0:
            labels[id_] = len(vectors) + 1
            vectors.append(vector)
        elif op == 1:
            vectors[labels[id_] - 1] = vector  # hnswlib replaces the element in place
        elif op == 3:
            deleted.add(labels.pop(id_))
    offset_data = 4 + 4 * 2 * M
    label_offset = offset_data + 4 * c.dim
    size = label_offset + 8
    data, lengths = bytearray(MAX_ELEMENTS * size), bytearray(MAX_ELEMENTS * 4)
    for slot, v in enumerate(vectors):
        norm = math.sqrt(sum(x * x for x in v)) if c.space == "cosine" else 1.0
        stored = [x / (norm + 1e-30) for x in v] if c.space == "cosine" else v
        base = slot * size
        data[base + 2] = 1 if slot + 1 in deleted else 0
        struct.pack_into("<%df" % c.dim, data, base + offset_data, *stored)
        struct.pack_into("<Q", data, base + label_offset, slot + 1)
        struct.pack_into("<f", lengths, slot * 4, norm)
    header = struct.pack("<iQQQQQQiIQQQdQ", 1, 0, MAX_ELEMENTS, len(vectors), size, label_offset,
                         offset_data, 0, 0, M, 2 * M, M, 1 / math.log(M), 100)
    position = first_seq + persisted - 1
    files = {"header.bin": header, "data_level0.bin": bytes(data), "length.bin": bytes(lengths),
             "link_lists.bin": b""}
    pd = PersistentData(c.dim, len(vectors), 1, 0, position, dict(labels),
                        {l: i for i, l in labels.items()},
                        {i: first_seq + n for n, (_, i, _, _) in enumerate(c.rows[:persisted])})
    files["index_metadata.pickle"] = pickle.dumps(pd, 5)
    for name, content in files.items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(content)
    if in_table:
        c.db.execute("INSERT INTO max_seq_id (segment_id, seq_id) VALUES (?, ?)",
                     (c.vector_segment, seq_blob(position)))
    return position


def make_version(version, features, all_migrations, root):
    rng = random.Random(version)
    os.makedirs(root)
    db = sqlite3.connect(os.path.join(root, "chroma.sqlite3"))
    db.execute("CREATE TABLE migrations (dir TEXT NOT NULL, version INTEGER NOT NULL, filename "
               "TEXT NOT NULL, sql TEXT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY (dir, version))")
    for d, n in (("sysdb", features["sysdb"]), ("metadb", features["metadb"]),
                 ("embeddings_queue", features["queue"])):
        for v in range(1, n + 1):
            name, sql, h = all_migrations[(d, v)]
            db.executescript(sql)
            db.execute("INSERT INTO migrations VALUES (?, ?, ?, ?, ?)", (d, v, name, sql, h))
    databases = [("default_tenant", "default_database", None)]
    if features["sysdb"] >= 4:  # tenants and databases
        databases[0] = ("default_tenant", "default_database",
                        "00000000-0000-0000-0000-000000000000")
        db.execute("INSERT INTO tenants (id) VALUES ('acme')")
        db.execute("INSERT INTO databases (id, name, tenant_id) VALUES (?, 'prod', 'acme')",
                   (str(uuid.UUID(int=rng.getrandbits(128))),))
        databases.append(("acme", "prod", db.execute(
            "SELECT id FROM databases WHERE tenant_id = 'acme'").fetchone()[0]))
    if features["queue"] >= 2:
        db.execute("INSERT INTO embeddings_queue_config (id, config_json_str) VALUES (1, ?)",
                   (json.dumps({"automatically_purge": True,
                                "_type": "EmbeddingsQueueConfigurationInternal"}),))
    expected, seq = {}, 1
    for tenant, database, database_id in databases:
        names = COLLECTIONS if tenant == "default_tenant" else COLLECTIONS[:1]
        for name, space, dim in names:
            c = Collection(db, name, space, dim, database_id, features, rng, root)
            persisted = play(c)
            first = seq
            seq = write_queue(c, seq)
            write_metadata_segment(c, first)
            if persisted:
                position = write_hnsw(c, first, persisted, features["purge"])
                if features["purge"]:
                    db.execute("DELETE FROM embeddings_queue WHERE topic = ? AND seq_id < ?",
                               (c.topic, position))
            expected.setdefault(tenant + "/" + database, {})[name] = c.expected()
    db.commit()
    db.close()
    return expected


def main():
    all_migrations = migrations()
    with tempfile.TemporaryDirectory() as tmp:
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as t:
            for version, features in VERSIONS.items():
                expected = make_version(version, features, all_migrations,
                                        os.path.join(tmp, version))
                data = json.dumps(expected, indent=1, sort_keys=True).encode()
                info = tarfile.TarInfo(version + ".expected.json")
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
                for dirpath, dirnames, filenames in sorted(os.walk(os.path.join(tmp, version))):
                    dirnames.sort()
                    for name in sorted(filenames):
                        path = os.path.join(dirpath, name)
                        info = t.gettarinfo(path, os.path.relpath(path, tmp))
                        info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
                        with open(path, "rb") as f:
                            t.addfile(info, f)
        with open(os.path.join(HERE, "synthetic-0.x.tar.gz"), "wb") as f:
            with gzip.GzipFile(fileobj=f, mode="wb", mtime=0, filename="") as z:
                z.write(out.getvalue())


if __name__ == "__main__":
    main()
