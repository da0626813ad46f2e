// A small, bounds-checked reader of Python pickles: just enough to read Chroma's
// index_metadata.pickle (the HNSW segment's label -> user id map) without Python.
//
// Two producers write that file:
//   - Chroma 1.x (Rust, serde_pickle): protocol 3, a plain dict of str keys; labels are ints.
//   - Chroma 0.4-0.6 (Python, pickle.HIGHEST_PROTOCOL = 4 or 5): an instance of
//     chromadb.segment.impl.vector.local_persistent_hnsw.PersistentData, pickled as
//     STACK_GLOBAL + NEWOBJ + BUILD(state dict), strings memoised.
// Supported opcodes (everything those producers emit, plus the obvious neighbours): PROTO FRAME
// STOP MARK POP EMPTY_DICT EMPTY_LIST EMPTY_TUPLE TUPLE TUPLE1-3 NONE NEWTRUE NEWFALSE BININT
// BININT1 BININT2 LONG1 BINFLOAT BINUNICODE SHORT_BINUNICODE BINUNICODE8 SHORT_BINBYTES BINBYTES
// MEMOIZE BINPUT LONG_BINPUT BINGET LONG_BINGET SETITEM SETITEMS APPEND APPENDS GLOBAL
// STACK_GLOBAL NEWOBJ REDUCE BUILD. Anything else is a kCorruption error naming the opcode and its
// offset: this reader never executes or imports anything, it only builds values.
//
// Containers have reference semantics, like Python's: a memoised dict fetched again with BINGET is
// the same dict, and items set on it later are seen through both references. They are owned by
// the Document (an arena), values only point at them: a hostile pickle (a list inside itself, a
// chain a million lists deep) can neither leak nor exhaust the stack when it is freed, and no
// function here recurses.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/base/error.hpp"

namespace cm::pickle {

struct Value;
struct List;    // list or tuple
struct Dict;    // insertion-ordered (key, value) pairs
struct Object;  // an instance: its class (module, name), constructor arguments and BUILD state
struct Global {
  std::string module;
  std::string name;
};
struct None {};
struct Bytes {
  std::string data;
};

struct Value {
  std::variant<None, bool, std::int64_t, double, std::string, Bytes, List*, Dict*, Object*, Global>
      v;

  bool is_none() const { return std::holds_alternative<None>(v); }
  const std::int64_t* as_int() const { return std::get_if<std::int64_t>(&v); }
  const std::string* as_string() const { return std::get_if<std::string>(&v); }
  const Dict* as_dict() const;
  const Object* as_object() const;
  // Python's type name of the value ("int", "str", "dict", ...), for error messages.
  const char* type_name() const;
};

struct List {
  bool is_tuple = false;
  std::vector<Value> items;
};

struct Dict {
  std::vector<std::pair<Value, Value>> items;
  // The value of a str key; nullptr when absent. Linear: meant for small dicts (field lookups).
  const Value* find(std::string_view key) const;
};

struct Object {
  Global cls;
  std::vector<Value> args;  // NEWOBJ / REDUCE arguments
  Value state;              // BUILD's state (None until built)
};

// A parsed pickle: the value STOP returned and the containers it refers to.
struct Document {
  Value root;
  struct Arena {
    std::deque<List> lists;
    std::deque<Dict> dicts;
    std::deque<Object> objects;
  };
  std::unique_ptr<Arena> arena = std::make_unique<Arena>();
};

// Parses one pickle (up to its STOP opcode; trailing bytes are an error). Errors are kCorruption
// with the byte offset, e.g. "offset 17: BINUNICODE length 4096 runs past the end (20 bytes)".
Result<Document> parse(std::string_view bytes);

}  // namespace cm::pickle
