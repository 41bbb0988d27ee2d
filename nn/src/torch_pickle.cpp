// The pickle reader behind read_torch: a small stack machine over the opcodes a state_dict's pickle
// uses. It builds plain values (numbers, strings, tuples, lists, dicts) and, through three known
// functions only, tensors: collections.OrderedDict(), torch._utils._rebuild_tensor_v2(storage,
// offset, size, stride, ...) and torch._utils._rebuild_parameter(tensor, ...). Storages arrive as
// persistent ids ('storage', torch.<Type>Storage, key, location, numel) and are read by the caller.
#include "torch_pickle.hpp"

#include <bit>
#include <limits>
#include <unordered_map>

namespace nabla::nn::detail::pickle {

const char* Value::kind_name() const {
  switch (kind) {
    case Kind::none: return "None";
    case Kind::boolean: return "bool";
    case Kind::integer: return "int";
    case Kind::floating: return "float";
    case Kind::string: return "str";
    case Kind::bytes: return "bytes";
    case Kind::tuple: return "tuple";
    case Kind::list: return "list";
    case Kind::dict: return "dict";
    case Kind::global: return "global";
    case Kind::storage: return "storage";
    case Kind::tensor: return "tensor";
  }
  return "?";
}

namespace {

// Deep enough for any state_dict (a checkpoint dict -> a state_dict -> its _metadata -> ...).
constexpr int kMaxDepth = 32;

constexpr const char* kOrderedDict = "collections.OrderedDict";
constexpr const char* kRebuildTensor = "torch._utils._rebuild_tensor_v2";
constexpr const char* kRebuildParameter = "torch._utils._rebuild_parameter";

class Machine {
 public:
  Machine(const unsigned char* data, size_t size, const std::string& where, const StorageLoader& load_storage)
      : data_(data), size_(size), where_(where), load_storage_(load_storage) {}

  Ref run();

 private:
  template <class... Args>
  [[noreturn]] void refuse(fmt::format_string<Args...> format, Args&&... args) const {
    fail("read_torch: {}: data.pkl {} (at byte {}); the file is corrupt or not a state_dict", quoted(where_),
         fmt::format(format, std::forward<Args>(args)...), opcode_at_);
  }

  // ---- reading the opcode stream
  const unsigned char* take(uint64_t count) {
    if (count > size_ - position_) refuse("ends in the middle of an opcode");
    const unsigned char* start = data_ + position_;
    position_ += static_cast<size_t>(count);
    return start;
  }
  uint64_t unsigned_le(int bytes) {
    const unsigned char* p = take(static_cast<uint64_t>(bytes));
    uint64_t value = 0;
    for (int i = 0; i < bytes; ++i) value |= static_cast<uint64_t>(p[i]) << (8 * i);
    return value;
  }
  std::string text(uint64_t count) {
    const unsigned char* p = take(count);
    return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(count));
  }
  std::string line() {
    std::string out;
    while (true) {
      const char c = static_cast<char>(*take(1));
      if (c == '\n') return out;
      out.push_back(c);
    }
  }

  // ---- values
  static Ref make(Value::Kind kind) {
    auto value = std::make_shared<Value>();
    value->kind = kind;
    return value;
  }
  Ref pop() {
    if (stack_.size() <= floor()) refuse("pops from an empty stack");
    Ref value = std::move(stack_.back());
    stack_.pop_back();
    return value;
  }
  Ref& top() {
    if (stack_.size() <= floor()) refuse("reads an empty stack");
    return stack_.back();
  }
  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  // The values since the last MARK, which is removed.
  std::vector<Ref> pop_mark() {
    if (marks_.empty()) refuse("closes a MARK that was never opened");
    const size_t start = marks_.back();
    marks_.pop_back();
    std::vector<Ref> items(std::make_move_iterator(stack_.begin() + static_cast<std::ptrdiff_t>(start)),
                           std::make_move_iterator(stack_.end()));
    stack_.resize(start);
    return items;
  }
  // Places `child` inside `parent`: the child can no longer change, and the depth stays bounded.
  void adopt(Value& parent, const Ref& child) {
    child->frozen = true;
    if (parent.frozen) refuse("changes a {} after it was placed in another (a cycle)", parent.kind_name());
    parent.depth = std::max(parent.depth, child->depth + 1);
    if (parent.depth > kMaxDepth) refuse("nests values more than {} deep", kMaxDepth);
  }
  Ref tuple(std::vector<Ref> items) {
    Ref value = make(Value::Kind::tuple);
    for (const Ref& item : items) adopt(*value, item);
    value->items = std::move(items);
    return value;
  }
  void append(const Ref& list, Ref item) {
    if (list->kind != Value::Kind::list) refuse("appends to a {}, not a list", list->kind_name());
    adopt(*list, item);
    list->items.push_back(std::move(item));
  }
  void set_item(const Ref& dict, Ref key, Ref value) {
    if (dict->kind != Value::Kind::dict) refuse("sets an item of a {}, not a dict", dict->kind_name());
    adopt(*dict, key);
    adopt(*dict, value);
    dict->entries.emplace_back(std::move(key), std::move(value));
  }
  int64_t integer(const Ref& value, const char* what) {
    if (value->kind != Value::Kind::integer) refuse("gives {} as a {}, not an int", what, value->kind_name());
    return value->integer;
  }

  Ref global(const std::string& module, const std::string& name);
  Ref persistent(const Ref& id);
  Ref reduce(const Ref& callable, const Ref& arguments);
  Ref rebuild_tensor(const std::vector<Ref>& arguments);

  const unsigned char* data_;
  size_t size_;
  size_t position_ = 0;
  size_t opcode_at_ = 0;
  const std::string& where_;
  const StorageLoader& load_storage_;
  std::vector<Ref> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Ref> memo_;
};

Ref Machine::global(const std::string& module, const std::string& name) {
  const std::string full = module + "." + name;
  const bool known = full == kOrderedDict || full == kRebuildTensor || full == kRebuildParameter ||
                     (module == "torch" && (find_torch_storage(name) || find_torch_dtype(name)));
  if (!known) {
    fail("read_torch: {}: data.pkl refers to '{}', which a state_dict never holds; nabla runs no code from a .pt file "
         "and reads only collections.OrderedDict, torch._utils._rebuild_tensor_v2 and torch storage types (save "
         "model.state_dict() itself, or the weights as .safetensors)",
         quoted(where_), full);
  }
  Ref value = make(Value::Kind::global);
  value->text = full;
  return value;
}

// ('storage', torch.<Type>Storage, key, location, numel) -> a storage value (read when used).
Ref Machine::persistent(const Ref& id) {
  if (id->kind != Value::Kind::tuple || id->items.size() != 5 || id->items[0]->kind != Value::Kind::string ||
      id->items[0]->text != "storage") {
    refuse("has a persistent id that is not ('storage', type, key, location, numel)");
  }
  const Ref& type = id->items[1];
  const ForeignDType* row = nullptr;
  if (type->kind == Value::Kind::global && type->text.rfind("torch.", 0) == 0) {
    const std::string name = type->text.substr(6);
    row = find_torch_storage(name);
    if (!row) row = find_torch_dtype(name);  // newer files may name the dtype
  }
  if (!row) refuse("has a storage of type {}, not a torch storage type", type->kind_name());
  if (id->items[2]->kind != Value::Kind::string) refuse("has a storage key that is not a string");
  Ref storage = make(Value::Kind::storage);
  storage->row = row;
  storage->text = id->items[2]->text;
  storage->storage_numel = integer(id->items[4], "a storage size");
  if (storage->storage_numel < 0) refuse("has a storage of negative size {}", storage->storage_numel);
  return storage;
}

// _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]):
// a strided view of the storage, checked to lie inside it.
Ref Machine::rebuild_tensor(const std::vector<Ref>& arguments) {
  if (arguments.size() < 4 || arguments.size() > 7) refuse("calls _rebuild_tensor_v2 with {} arguments", arguments.size());
  const Ref& storage = arguments[0];
  if (storage->kind != Value::Kind::storage) refuse("rebuilds a tensor from a {}, not a storage", storage->kind_name());
  if (storage->row->conversion == Conversion::unsupported) {
    fail("read_torch: {}: a tensor has dtype torch.{}, which nabla does not have (it reads float32, float64, int64, "
         "int32, uint8, bool, and float16/bfloat16 as float32); convert it in PyTorch first",
         quoted(where_), storage->row->torch_dtype);
  }
  const int64_t offset = integer(arguments[1], "a storage offset");
  const Ref& size = arguments[2];
  const Ref& stride = arguments[3];
  if (size->kind != Value::Kind::tuple || stride->kind != Value::Kind::tuple || size->items.size() != stride->items.size()) {
    refuse("rebuilds a tensor whose size and stride are not tuples of one length");
  }
  if (size->items.size() > static_cast<size_t>(Dims::kMaxDims)) {
    refuse("rebuilds a tensor of {} axes, more than the {} nabla has", size->items.size(), Dims::kMaxDims);
  }
  Shape shape;
  Strides strides;
  bool empty = false;
  // The last element's index, offset + sum (size - 1) * stride, must lie inside the storage.
  unsigned __int128 last = static_cast<uint64_t>(std::max<int64_t>(offset, 0));
  for (size_t axis = 0; axis < size->items.size(); ++axis) {
    const int64_t extent = integer(size->items[axis], "a tensor extent");
    const int64_t step = integer(stride->items[axis], "a tensor stride");
    if (extent < 0 || step < 0) refuse("rebuilds a tensor with extent {} and stride {}", extent, step);
    shape.push_back(extent);
    strides.push_back(step);
    if (extent == 0) empty = true;
    if (extent > 0) last += static_cast<unsigned __int128>(extent - 1) * static_cast<uint64_t>(step);
  }
  if (offset < 0) refuse("rebuilds a tensor at storage offset {}", offset);
  if (!empty && last >= static_cast<unsigned __int128>(storage->storage_numel)) {
    refuse("rebuilds a tensor of shape {} (strides {}, offset {}) that reaches past its storage of {} elements", shape,
           strides, offset, storage->storage_numel);
  }
  if (empty && offset > storage->storage_numel) refuse("rebuilds an empty tensor past its storage");

  std::shared_ptr<Storage> values = load_storage_(storage->text, *storage->row, storage->storage_numel);
  Ref tensor = make(Value::Kind::tensor);
  if (empty) {
    tensor->tensor = kernels::Tensor::empty(shape, storage->row->dtype);
  } else {
    tensor->tensor = kernels::Tensor(std::move(values), storage->row->dtype, shape, strides, offset);
  }
  return tensor;
}

Ref Machine::reduce(const Ref& callable, const Ref& arguments) {
  if (callable->kind != Value::Kind::global) refuse("calls a {}, not a known function", callable->kind_name());
  if (arguments->kind != Value::Kind::tuple) refuse("calls {} with a {}, not a tuple", callable->text, arguments->kind_name());
  const std::string& name = callable->text;
  if (name == kOrderedDict) {
    if (!arguments->items.empty()) refuse("calls OrderedDict with arguments");
    return make(Value::Kind::dict);
  }
  if (name == kRebuildTensor) return rebuild_tensor(arguments->items);
  if (name == kRebuildParameter) {
    if (arguments->items.empty() || arguments->items[0]->kind != Value::Kind::tensor) {
      refuse("calls _rebuild_parameter without a tensor");
    }
    return arguments->items[0];
  }
  refuse("calls {}, which is a type, not a function a state_dict calls", name);
}

Ref Machine::run() {
  using K = Value::Kind;
  while (position_ < size_) {
    opcode_at_ = position_;
    const unsigned char op = *take(1);
    switch (op) {
      case 0x80: take(1); break;  // PROTO
      case 0x95: take(8); break;  // FRAME: a hint for buffering
      case '.': {                 // STOP
        if (!marks_.empty()) refuse("stops inside a MARK");
        if (stack_.size() != 1) refuse("stops with {} values on the stack, not 1", stack_.size());
        return stack_.back();
      }
      case '(': marks_.push_back(stack_.size()); break;  // MARK
      case '0': pop(); break;                            // POP
      case '1': pop_mark(); break;                       // POP_MARK
      case '2': stack_.push_back(top()); break;          // DUP
      case 'N': stack_.push_back(make(K::none)); break;
      case 0x88:
      case 0x89: {  // NEWTRUE, NEWFALSE
        Ref value = make(K::boolean);
        value->boolean = op == 0x88;
        stack_.push_back(value);
        break;
      }
      case 'J':  // BININT: 4-byte signed
      case 'K':  // BININT1
      case 'M': {  // BININT2
        Ref value = make(K::integer);
        value->integer = op == 'J' ? static_cast<int32_t>(unsigned_le(4)) : static_cast<int64_t>(unsigned_le(op == 'K' ? 1 : 2));
        stack_.push_back(value);
        break;
      }
      case 0x8a: {  // LONG1: n bytes, little-endian two's complement
        const int count = *take(1);
        if (count > 8) refuse("holds an integer of {} bytes, more than 64 bits", count);
        uint64_t bits = count ? unsigned_le(count) : 0;
        if (count > 0 && count < 8 && (bits >> (8 * count - 1)) & 1) bits |= ~uint64_t{0} << (8 * count);
        Ref value = make(K::integer);
        value->integer = static_cast<int64_t>(bits);
        stack_.push_back(value);
        break;
      }
      case 'G': {  // BINFLOAT: big-endian double
        const unsigned char* p = take(8);
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | p[i];
        Ref value = make(K::floating);
        value->floating = std::bit_cast<double>(bits);
        stack_.push_back(value);
        break;
      }
      case 'X':     // BINUNICODE
      case 0x8c:    // SHORT_BINUNICODE
      case 0x8d:    // BINUNICODE8
      case 'T':     // BINSTRING
      case 'U':     // SHORT_BINSTRING
      case 'B':     // BINBYTES
      case 'C':     // SHORT_BINBYTES
      case 0x8e: {  // BINBYTES8
        const int width = (op == 0x8c || op == 'U' || op == 'C') ? 1 : (op == 0x8d || op == 0x8e) ? 8 : 4;
        Ref value = make((op == 'B' || op == 'C' || op == 0x8e) ? K::bytes : K::string);
        value->text = text(unsigned_le(width));
        stack_.push_back(value);
        break;
      }
      case ')': stack_.push_back(make(K::tuple)); break;  // EMPTY_TUPLE
      case 0x85:
      case 0x86:
      case 0x87: {  // TUPLE1..3
        const size_t count = op - 0x84u;
        if (stack_.size() < floor() + count) refuse("builds a tuple of {} from fewer values", count);
        std::vector<Ref> items(stack_.end() - static_cast<std::ptrdiff_t>(count), stack_.end());
        stack_.resize(stack_.size() - count);
        stack_.push_back(tuple(std::move(items)));
        break;
      }
      case 't': stack_.push_back(tuple(pop_mark())); break;  // TUPLE
      case ']': stack_.push_back(make(K::list)); break;      // EMPTY_LIST
      case '}': stack_.push_back(make(K::dict)); break;      // EMPTY_DICT
      case 'l': {                                            // LIST
        std::vector<Ref> items = pop_mark();
        Ref list = make(K::list);
        for (Ref& item : items) append(list, std::move(item));
        stack_.push_back(list);
        break;
      }
      case 'd': {  // DICT
        std::vector<Ref> items = pop_mark();
        if (items.size() % 2) refuse("builds a dict from an odd number of values");
        Ref dict = make(K::dict);
        for (size_t i = 0; i < items.size(); i += 2) set_item(dict, items[i], items[i + 1]);
        stack_.push_back(dict);
        break;
      }
      case 'a': {  // APPEND
        Ref item = pop();
        append(top(), std::move(item));
        break;
      }
      case 'e': {  // APPENDS
        std::vector<Ref> items = pop_mark();
        Ref list = top();
        for (Ref& item : items) append(list, std::move(item));
        break;
      }
      case 's': {  // SETITEM
        Ref value = pop();
        Ref key = pop();
        set_item(top(), std::move(key), std::move(value));
        break;
      }
      case 'u': {  // SETITEMS
        std::vector<Ref> items = pop_mark();
        if (items.size() % 2) refuse("sets items from an odd number of values");
        Ref dict = top();
        for (size_t i = 0; i < items.size(); i += 2) set_item(dict, items[i], items[i + 1]);
        break;
      }
      case 'q': memo_[unsigned_le(1)] = top(); break;  // BINPUT
      case 'r': memo_[unsigned_le(4)] = top(); break;  // LONG_BINPUT
      case 0x94: {                                     // MEMOIZE
        const uint64_t index = memo_.size();
        memo_[index] = top();
        break;
      }
      case 'h':
      case 'j': {  // BINGET, LONG_BINGET
        const uint64_t index = unsigned_le(op == 'h' ? 1 : 4);
        auto it = memo_.find(index);
        if (it == memo_.end()) refuse("reads memo slot {}, which was never written", index);
        stack_.push_back(it->second);
        break;
      }
      case 'c': {  // GLOBAL "module\nname\n"
        const std::string module = line();
        const std::string name = line();
        stack_.push_back(global(module, name));
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        Ref name = pop();
        Ref module = pop();
        if (module->kind != K::string || name->kind != K::string) refuse("names a global with non-strings");
        stack_.push_back(global(module->text, name->text));
        break;
      }
      case 'Q': {  // BINPERSID
        Ref id = pop();
        stack_.push_back(persistent(id));
        break;
      }
      case 'R': {  // REDUCE
        Ref arguments = pop();
        Ref callable = pop();
        arguments->frozen = true;
        stack_.push_back(reduce(callable, arguments));
        break;
      }
      case 'b': {  // BUILD: sets attributes; a state_dict's OrderedDict gets its _metadata, not needed here
        Ref state = pop();
        Ref& object = top();
        if (object->kind != K::dict && object->kind != K::tensor) refuse("sets the state of a {}", object->kind_name());
        if (object->frozen) refuse("changes a {} after it was placed in another (a cycle)", object->kind_name());
        break;
      }
      default:
        refuse("has opcode 0x{:02x} ('{}'), which a state_dict's pickle does not use", op,
               op >= 32 && op < 127 ? std::string(1, static_cast<char>(op)) : std::string("?"));
    }
  }
  opcode_at_ = position_;
  refuse("ends without STOP");
}

}  // namespace

Ref unpickle(const unsigned char* data, size_t size, const std::string& where, const StorageLoader& load_storage) {
  return Machine(data, size, where, load_storage).run();
}

}  // namespace nabla::nn::detail::pickle
