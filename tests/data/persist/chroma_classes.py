"""Chroma 0.x's pickled class, recreated under Chroma's module name with Chroma's fields so that
pickle writes the bytes Chroma wrote (used by make_pickles.py and make_synthetic.py)."""
import sys
import types

MODULE = "chromadb.segment.impl.vector.local_persistent_hnsw"


class PersistentData:
    """Chroma 0.5's class (fields as in chromadb 0.5.x)."""

    def __init__(self, dimensionality, total_elements_added, total_elements_updated,
                 total_invalid_operations, max_seq_id, id_to_label, label_to_id, id_to_seq_id):
        self.dimensionality = dimensionality
        self.total_elements_added = total_elements_added
        self.total_elements_updated = total_elements_updated
        self.total_invalid_operations = total_invalid_operations
        self.max_seq_id = max_seq_id
        self.id_to_label = id_to_label
        self.label_to_id = label_to_id
        self.id_to_seq_id = id_to_seq_id


PersistentData.__module__ = MODULE
parts = MODULE.split(".")
for i in range(1, len(parts) + 1):  # pickle imports the module: every parent package too
    sys.modules.setdefault(".".join(parts[:i]), types.ModuleType(".".join(parts[:i])))
sys.modules[MODULE].PersistentData = PersistentData
