#!/usr/bin/python3
"""Writes the index_metadata.pickle samples of tests/unit/persist_pickle_test.cpp with Debian's
python3 (`/usr/bin/python3 make_pickles.py` in this folder; the outputs are committed).

Chroma 0.4-0.6 pickled a chromadb.segment.impl.vector.local_persistent_hnsw.PersistentData
object with pickle.HIGHEST_PROTOCOL (4 on Python 3.7, 5 from 3.8); Chroma 1.x writes a plain dict
with serde_pickle (protocol 3, no memo: a real one is in conformance-1.0.5.tar.gz). The class is
recreated here under Chroma's module name, with Chroma's fields, so the bytes are what Chroma
wrote (only the data is made up).
"""
import pickle
import sys
import types

from chroma_classes import PersistentData


class Other:
    pass


def label_maps(n, first_label=1, big_label=None):
    ids = ["rec-%04d" % i for i in range(n)]
    id_to_label = {id_: first_label + i for i, id_ in enumerate(ids)}
    if big_label is not None:
        id_to_label[ids[-1]] = big_label
    label_to_id = {label: id_ for id_, label in id_to_label.items()}
    return id_to_label, label_to_id


def write(name, obj, protocol):
    with open(name, "wb") as f:
        pickle.dump(obj, f, protocol)


# 0.x: 1200 ids (SETITEMS in batches of 1000, more than 256 memoised strings: LONG_BINPUT and
# LONG_BINGET), one label beyond 32 bits (LONG1), a max_seq_id beyond 32 bits.
id_to_label, label_to_id = label_maps(1200, big_label=2**40 + 5)
data = PersistentData(384, 1200, 7, 0, 2**33 + 9, id_to_label, label_to_id,
                      {id_: 10 + i for i, id_ in enumerate(id_to_label)})
write("persistent-data-p5.pickle", data, 5)
write("persistent-data-p4.pickle", data, 4)
write("persistent-data-p2.pickle", data, 2)  # GLOBAL, BINPUT/BINGET, EMPTY_TUPLE + NEWOBJ

# 1.x shape written by Python (memoised, unlike serde_pickle's): small, with None fields.
id_to_label, label_to_id = label_maps(3, first_label=70000)  # BININT
write("dict-p3.pickle", {"dimensionality": None, "total_elements_added": 3, "max_seq_id": None,
                         "id_to_label": id_to_label, "label_to_id": label_to_id,
                         "id_to_seq_id": {}}, 3)

# Not label maps.
bad = PersistentData(3, 2, 0, 0, 5, {"a": 1, "b": 2}, {1: "a", 2: "x"}, {})
write("disagreeing-maps.pickle", bad, 5)
other = Other()
other.__dict__.update({"id_to_label": {}, "label_to_id": {}})
Other.__module__ = "elsewhere"
sys.modules["elsewhere"] = types.ModuleType("elsewhere")
sys.modules["elsewhere"].Other = Other
write("other-class.pickle", other, 5)
