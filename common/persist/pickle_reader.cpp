#include "common/persist/pickle_reader.hpp"

#include <bit>
#include <cstdio>
#include <cstring>
#include <unordered_map>

namespace cm::pickle {
namespace {

// Reads fixed-size fields; every read is checked against the end of the input first.
class Cursor {
 public:
  explicit Cursor(std::string_view bytes) : bytes_(bytes) {}

  std::size_t offset() const { return pos_; }
  std::size_t remaining() const { return bytes_.size() - pos_; }
  bool at_end() const { return pos_ == bytes_.size(); }

  bool take(std::size_t n, std::string_view* out) {
    if (n > remaining()) return false;
    *out = bytes_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  // Little-endian unsigned integer of `n` bytes (n <= 8).
  bool take_le(std::size_t n, std::uint64_t* out) {
    std::string_view raw;
    if (!take(n, &raw)) return false;
    *out = 0;
    for (std::size_t i = 0; i < n; ++i)
      *out |= static_cast<std::uint64_t>(static_cast<unsigned char>(raw[i])) << (8 * i);
    return true;
  }
  // A newline-terminated line (GLOBAL's operands), without the newline.
  bool take_line(std::string_view* out) {
    const auto nl = bytes_.find('\n', pos_);
    if (nl == std::string_view::npos) return false;
    *out = bytes_.substr(pos_, nl - pos_);
    pos_ = nl + 1;
    return true;
  }

 private:
  std::string_view bytes_;
  std::size_t pos_ = 0;
};

const char* kTypeNames[] = {"NoneType", "bool", "int",  "float",  "str",
                            "bytes",    "list", "dict", "object", "global"};

class Machine {
 public:
  Machine(std::string_view bytes, Document::Arena& arena) : in_(bytes), arena_(arena) {}

  Result<Value> run() {
    while (true) {
      op_offset_ = in_.offset();
      std::string_view op;
      if (!in_.take(1, &op)) return fail("the pickle ends without a STOP opcode");
      const auto code = static_cast<unsigned char>(op[0]);
      if (code == '.') break;
      CM_RETURN_IF_ERROR(step(code));
    }
    if (!in_.at_end()) {
      return fail(std::to_string(in_.remaining()) + " bytes follow the STOP opcode");
    }
    if (stack_.size() != 1 || !marks_.empty()) {
      return fail("STOP with " + std::to_string(stack_.size()) + " values and " +
                  std::to_string(marks_.size()) + " marks on the stack (expected one value)");
    }
    return std::move(stack_.back());
  }

 private:
  std::unexpected<Error> fail(const std::string& why) const {
    return make_error(ErrorCode::kCorruption, "offset " + std::to_string(op_offset_) + ": " + why);
  }
  std::unexpected<Error> truncated(const char* op) const {
    return fail(std::string(op) + " runs past the end of the pickle");
  }

  Status push_string(const char* op, std::size_t length_bytes, bool bytes) {
    std::uint64_t n = 0;
    std::string_view data;
    if (!in_.take_le(length_bytes, &n) || n > in_.remaining() || !in_.take(n, &data)) {
      return truncated(op);
    }
    if (bytes) {
      stack_.push_back(Value{Bytes{std::string(data)}});
    } else {
      stack_.push_back(Value{std::string(data)});
    }
    return ok_status();
  }

  Status push_int(const char* op, std::size_t n, bool is_signed) {
    std::uint64_t raw = 0;
    if (!in_.take_le(n, &raw)) return truncated(op);
    std::int64_t value = static_cast<std::int64_t>(raw);
    if (is_signed && n < 8 && n > 0 && (raw >> (8 * n - 1)) != 0) {
      value = static_cast<std::int64_t>(raw | (~std::uint64_t{0} << (8 * n)));  // sign-extend
    }
    stack_.push_back(Value{value});
    return ok_status();
  }

  Status push_long1() {
    std::uint64_t n = 0;
    if (!in_.take_le(1, &n)) return truncated("LONG1");
    if (n > 8) return fail("LONG1 of " + std::to_string(n) + " bytes does not fit 64 bits");
    return push_int("LONG1", n, true);
  }

  Status push_binfloat() {
    std::uint64_t le = 0;
    if (!in_.take_le(8, &le)) return truncated("BINFLOAT");
    stack_.push_back(Value{std::bit_cast<double>(std::byteswap(le))});  // stored big-endian
    return ok_status();
  }

  Result<Value> pop(const char* op) {
    const std::size_t floor = marks_.empty() ? 0 : marks_.back();
    if (stack_.size() <= floor) return fail(std::string(op) + " on an empty stack");
    Value v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }

  Result<std::vector<Value>> pop_to_mark(const char* op) {
    if (marks_.empty()) return fail(std::string(op) + " without a MARK");
    const std::size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<Value> items(std::make_move_iterator(stack_.begin() + static_cast<long>(mark)),
                             std::make_move_iterator(stack_.end()));
    stack_.resize(mark);
    return items;
  }

  Result<Value*> top(const char* op) {
    const std::size_t floor = marks_.empty() ? 0 : marks_.back();
    if (stack_.size() <= floor) return fail(std::string(op) + " on an empty stack");
    return &stack_.back();
  }

  Value new_list(bool tuple, std::vector<Value> items) {
    arena_.lists.push_back(List{tuple, std::move(items)});
    return Value{&arena_.lists.back()};
  }

  Status set_items(const char* op, std::vector<Value> items) {
    if (items.size() % 2 != 0) return fail(std::string(op) + " with an odd number of values");
    CM_ASSIGN_OR_RETURN(Value * target, top(op));
    auto* dict = std::get_if<Dict*>(&target->v);
    if (!dict) return fail(std::string(op) + " on a " + target->type_name() + ", not a dict");
    for (std::size_t i = 0; i < items.size(); i += 2) {
      (*dict)->items.emplace_back(std::move(items[i]), std::move(items[i + 1]));
    }
    return ok_status();
  }

  Status append(const char* op, std::vector<Value> items) {
    CM_ASSIGN_OR_RETURN(Value * target, top(op));
    auto* list = std::get_if<List*>(&target->v);
    if (!list || (*list)->is_tuple) {
      return fail(std::string(op) + " on a " + target->type_name() + ", not a list");
    }
    for (auto& item : items) (*list)->items.push_back(std::move(item));
    return ok_status();
  }

  Status memo_put(const char* op, std::size_t index_bytes) {
    std::uint64_t index = 0;
    if (index_bytes > 0 && !in_.take_le(index_bytes, &index)) return truncated(op);
    if (index_bytes == 0) index = memo_.size();  // MEMOIZE
    CM_ASSIGN_OR_RETURN(Value * value, top(op));
    memo_[index] = *value;
    return ok_status();
  }

  Status memo_get(const char* op, std::size_t index_bytes) {
    std::uint64_t index = 0;
    if (!in_.take_le(index_bytes, &index)) return truncated(op);
    auto it = memo_.find(index);
    if (it == memo_.end())
      return fail(std::string(op) + " of memo " + std::to_string(index) +
                  ", which was never stored");
    stack_.push_back(it->second);
    return ok_status();
  }

  Status push_global_from_lines() {
    std::string_view module, name;
    if (!in_.take_line(&module) || !in_.take_line(&name)) return truncated("GLOBAL");
    stack_.push_back(Value{Global{std::string(module), std::string(name)}});
    return ok_status();
  }

  Status stack_global() {
    CM_ASSIGN_OR_RETURN(Value name, pop("STACK_GLOBAL"));
    CM_ASSIGN_OR_RETURN(Value module, pop("STACK_GLOBAL"));
    if (!module.as_string() || !name.as_string()) return fail("STACK_GLOBAL of non-strings");
    stack_.push_back(Value{Global{*module.as_string(), *name.as_string()}});
    return ok_status();
  }

  // NEWOBJ (cls, args) and REDUCE (callable, args) both become an Object to be BUILT.
  Status instantiate(const char* op) {
    CM_ASSIGN_OR_RETURN(Value args, pop(op));
    CM_ASSIGN_OR_RETURN(Value cls, pop(op));
    auto* tuple = std::get_if<List*>(&args.v);
    auto* global = std::get_if<Global>(&cls.v);
    if (!tuple || !(*tuple)->is_tuple || !global) {
      return fail(std::string(op) + " needs a class and an argument tuple, got " + cls.type_name() +
                  " and " + args.type_name());
    }
    arena_.objects.push_back(Object{*global, (*tuple)->items, Value{}});
    stack_.push_back(Value{&arena_.objects.back()});
    return ok_status();
  }

  Status build() {
    CM_ASSIGN_OR_RETURN(Value state, pop("BUILD"));
    CM_ASSIGN_OR_RETURN(Value * target, top("BUILD"));
    auto* object = std::get_if<Object*>(&target->v);
    if (!object) return fail(std::string("BUILD on a ") + target->type_name() + ", not an object");
    (*object)->state = std::move(state);
    return ok_status();
  }

  Status tuple_of(std::size_t n) {
    const std::size_t floor = marks_.empty() ? 0 : marks_.back();
    if (stack_.size() < floor + n) return fail("TUPLE" + std::to_string(n) + " on a short stack");
    std::vector<Value> items(std::make_move_iterator(stack_.end() - static_cast<long>(n)),
                             std::make_move_iterator(stack_.end()));
    stack_.resize(stack_.size() - n);
    stack_.push_back(new_list(true, std::move(items)));
    return ok_status();
  }

  Status step(unsigned char code) {
    switch (code) {
      case 0x80: {  // PROTO
        std::uint64_t version = 0;
        if (!in_.take_le(1, &version)) return truncated("PROTO");
        if (version > 5) return fail("pickle protocol " + std::to_string(version) + " (max 5)");
        return ok_status();
      }
      case 0x95: {  // FRAME: a length hint only
        std::uint64_t n = 0;
        if (!in_.take_le(8, &n)) return truncated("FRAME");
        if (n > in_.remaining()) return truncated("FRAME");
        return ok_status();
      }
      case '(':
        marks_.push_back(stack_.size());
        return ok_status();
      case '0': {
        CM_ASSIGN_OR_RETURN(Value discarded, pop("POP"));
        (void)discarded;
        return ok_status();
      }
      case '}':
        arena_.dicts.emplace_back();
        stack_.push_back(Value{&arena_.dicts.back()});
        return ok_status();
      case ']':
        stack_.push_back(new_list(false, {}));
        return ok_status();
      case ')':
        stack_.push_back(new_list(true, {}));
        return ok_status();
      case 't': {
        CM_ASSIGN_OR_RETURN(auto items, pop_to_mark("TUPLE"));
        stack_.push_back(new_list(true, std::move(items)));
        return ok_status();
      }
      case 0x85:
      case 0x86:
      case 0x87:
        return tuple_of(code - 0x84u);
      case 'N':
        stack_.push_back(Value{None{}});
        return ok_status();
      case 0x88:
      case 0x89:
        stack_.push_back(Value{code == 0x88});
        return ok_status();
      case 'J':
        return push_int("BININT", 4, true);
      case 'K':
        return push_int("BININT1", 1, false);
      case 'M':
        return push_int("BININT2", 2, false);
      case 0x8a:
        return push_long1();
      case 'G':
        return push_binfloat();
      case 'X':
        return push_string("BINUNICODE", 4, false);
      case 0x8c:
        return push_string("SHORT_BINUNICODE", 1, false);
      case 0x8d:
        return push_string("BINUNICODE8", 8, false);
      case 'C':
        return push_string("SHORT_BINBYTES", 1, true);
      case 'B':
        return push_string("BINBYTES", 4, true);
      case 0x94:
        return memo_put("MEMOIZE", 0);
      case 'q':
        return memo_put("BINPUT", 1);
      case 'r':
        return memo_put("LONG_BINPUT", 4);
      case 'h':
        return memo_get("BINGET", 1);
      case 'j':
        return memo_get("LONG_BINGET", 4);
      case 's': {
        CM_ASSIGN_OR_RETURN(Value value, pop("SETITEM"));
        CM_ASSIGN_OR_RETURN(Value key, pop("SETITEM"));
        std::vector<Value> pair;
        pair.push_back(std::move(key));
        pair.push_back(std::move(value));
        return set_items("SETITEM", std::move(pair));
      }
      case 'u': {
        CM_ASSIGN_OR_RETURN(auto items, pop_to_mark("SETITEMS"));
        return set_items("SETITEMS", std::move(items));
      }
      case 'a': {
        CM_ASSIGN_OR_RETURN(Value value, pop("APPEND"));
        std::vector<Value> one;
        one.push_back(std::move(value));
        return append("APPEND", std::move(one));
      }
      case 'e': {
        CM_ASSIGN_OR_RETURN(auto items, pop_to_mark("APPENDS"));
        return append("APPENDS", std::move(items));
      }
      case 'c':
        return push_global_from_lines();
      case 0x93:
        return stack_global();
      case 0x81:
        return instantiate("NEWOBJ");
      case 'R':
        return instantiate("REDUCE");
      case 'b':
        return build();
      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", code);
        return fail(std::string("unsupported pickle opcode ") + hex);
      }
    }
  }

  Cursor in_;
  Document::Arena& arena_;
  std::size_t op_offset_ = 0;
  std::vector<Value> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint64_t, Value> memo_;
};

}  // namespace

const Dict* Value::as_dict() const {
  auto* d = std::get_if<Dict*>(&v);
  return d ? *d : nullptr;
}

const Object* Value::as_object() const {
  auto* o = std::get_if<Object*>(&v);
  return o ? *o : nullptr;
}

const char* Value::type_name() const {
  if (auto* l = std::get_if<List*>(&v); l && (*l)->is_tuple) return "tuple";
  return kTypeNames[v.index()];
}

const Value* Dict::find(std::string_view key) const {
  for (const auto& [k, value] : items) {
    if (const auto* s = k.as_string(); s && *s == key) return &value;
  }
  return nullptr;
}

Result<Document> parse(std::string_view bytes) {
  Document doc;
  Machine machine(bytes, *doc.arena);
  CM_ASSIGN_OR_RETURN(doc.root, machine.run());
  return doc;
}

}  // namespace cm::pickle
