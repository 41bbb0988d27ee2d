// Sorting and selection along an axis. Each line (see axis_lines.hpp) is copied into a buffer of
// items (key, index), where the key is an unsigned integer that orders as the value does (NaN
// above +inf, -0.0 equal to 0.0; descending order flips the key's bits). Comparing items by
// (key, index) makes every result deterministic: equal values keep their order. Full sorts are
// LSD radix sorts on the key's bytes (stable, so the index order survives); selections are
// nth_element. Threads split the lines.
#include "nabla/tensor/sort.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "axis_lines.hpp"
#include "nabla/tensor/factories.hpp"
#include "nabla/tensor/threads.hpp"

namespace nabla::kernels {

namespace {

constexpr int64_t kSortGrain = 8192;  // elements per thread, at least

// A line's element for sorting: its ordered key and its index, compared as (key, index). Keys of
// at most 4 bytes (float32, uint8) pack with the index into one uint64 (key in the high half), which
// halves the memory a sort moves; 8-byte keys pair with the index in an Entry.
struct Entry {
  uint64_t key;
  int64_t index;
};
inline bool operator<(const Entry& a, const Entry& b) { return a.key < b.key || (a.key == b.key && a.index < b.index); }
using Packed = uint64_t;

inline uint64_t key_of(Packed item) { return item >> 32; }
inline uint64_t key_of(const Entry& item) { return item.key; }
inline int64_t index_of(Packed item) { return static_cast<int64_t>(item & 0xFFFFFFFFu); }
inline int64_t index_of(const Entry& item) { return item.index; }
template <class Item> Item make_item(uint64_t key, int64_t index);
template <> inline Packed make_item<Packed>(uint64_t key, int64_t index) { return key << 32 | static_cast<uint64_t>(index); }
template <> inline Entry make_item<Entry>(uint64_t key, int64_t index) { return {key, index}; }
// The bits radix sorting reads, and where the key starts in them.
inline uint64_t radix_bits(Packed item) { return item; }
inline uint64_t radix_bits(const Entry& item) { return item.key; }
template <class Item> constexpr int kKeyShift = 0;
template <> constexpr int kKeyShift<Packed> = 32;

// Keys that order as the values: for floats, the sign-magnitude bits made two's-complement-like
// (negative numbers flipped whole, positive ones above them), NaN as the largest key.
template <class T> struct KeyOf;
template <> struct KeyOf<float> {
  static constexpr int bytes = 4;
  static uint64_t of(float v) {
    if (std::isnan(v)) return 0xFFFFFFFFu;
    const uint32_t u = std::bit_cast<uint32_t>(v + 0.0f);  // -0.0 + 0.0 = +0.0
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
  }
};
template <> struct KeyOf<double> {
  static constexpr int bytes = 8;
  static uint64_t of(double v) {
    if (std::isnan(v)) return ~uint64_t(0);
    const uint64_t u = std::bit_cast<uint64_t>(v + 0.0);
    return (u >> 63) ? ~u : (u | (uint64_t(1) << 63));
  }
};
template <> struct KeyOf<int64_t> {
  static constexpr int bytes = 8;
  static uint64_t of(int64_t v) { return static_cast<uint64_t>(v) ^ (uint64_t(1) << 63); }
};
template <> struct KeyOf<int32_t> {
  static constexpr int bytes = 4;
  static uint64_t of(int32_t v) { return static_cast<uint32_t>(v) ^ 0x80000000u; }
};
template <> struct KeyOf<uint8_t> {
  static constexpr int bytes = 1;
  static uint64_t of(uint8_t v) { return v; }
};
template <> struct KeyOf<bool> {  // false < true, as torch.sort orders bool tensors
  static constexpr int bytes = 1;
  static uint64_t of(bool v) { return v ? 1 : 0; }
};
template <class T>
constexpr uint64_t key_mask() {
  return KeyOf<T>::bytes == 8 ? ~uint64_t(0) : (uint64_t(1) << (8 * KeyOf<T>::bytes)) - 1;
}

// Sorts items[0, n) by (key, index), given that they arrive in index order. Short lines use
// std::sort; longer ones an LSD radix sort over the key's bytes (stable, so equal keys stay in index
// order), skipping bytes that all keys share.
template <class Item>
void sort_items(Item* items, Item* scratch, int64_t n, int key_bytes) {
  if (n < 64) {
    std::sort(items, items + n);
    return;
  }
  uint32_t counts[8][256];
  std::memset(counts, 0, sizeof(uint32_t) * 256 * static_cast<size_t>(key_bytes));
  for (int64_t j = 0; j < n; ++j) {
    const uint64_t bits = radix_bits(items[j]) >> kKeyShift<Item>;
    for (int b = 0; b < key_bytes; ++b) ++counts[b][(bits >> (8 * b)) & 0xFF];
  }
  Item* from = items;
  Item* to = scratch;
  for (int b = 0; b < key_bytes; ++b) {
    const int shift = kKeyShift<Item> + 8 * b;
    uint32_t* count = counts[b];
    if (count[(radix_bits(from[0]) >> shift) & 0xFF] == static_cast<uint32_t>(n)) continue;  // one bucket: no move
    uint32_t offset = 0;
    for (int bucket = 0; bucket < 256; ++bucket) {
      const uint32_t c = count[bucket];
      count[bucket] = offset;
      offset += c;
    }
    for (int64_t j = 0; j < n; ++j) to[count[(radix_bits(from[j]) >> shift) & 0xFF]++] = from[j];
    std::swap(from, to);
  }
  if (from != items) std::memcpy(static_cast<void*>(items), from, sizeof(Item) * static_cast<size_t>(n));
}

// Runs fn(line, base, items, scratch) for every line of x along axis, where items holds the line's
// keys (xor `flip`) with their indices, in index order, and element r of the line is at
// base + r * inner in the contiguous input (and in any output of the input's [outer, n, inner]
// layout). Item is Packed for keys of at most 4 bytes on lines shorter than 2^32, else Entry.
template <class T, class Fn>
void for_each_line(const detail::AxisLines& lines, uint64_t flip, Fn&& fn) {
  const T* in = lines.input.data<T>();
  const int64_t R = lines.extent, I = lines.inner;
  if (lines.lines() == 0 || R == 0) return;
  auto run = [&](auto item_tag) {
    using Item = decltype(item_tag);
    parallel_for(0, lines.lines(), std::max<int64_t>(1, kSortGrain / std::max<int64_t>(R, 1)), [&](int64_t lo, int64_t hi) {
      std::vector<Item> items(static_cast<size_t>(R));
      std::vector<Item> scratch(static_cast<size_t>(R));
      for (int64_t line = lo; line < hi; ++line) {
        const int64_t base = (line / I) * R * I + line % I;
        const T* x = in + base;
        if (I == 1) {
          for (int64_t r = 0; r < R; ++r) items[static_cast<size_t>(r)] = make_item<Item>(KeyOf<T>::of(x[r]) ^ flip, r);
        } else {
          for (int64_t r = 0; r < R; ++r) items[static_cast<size_t>(r)] = make_item<Item>(KeyOf<T>::of(x[r * I]) ^ flip, r);
        }
        fn(line, base, items.data(), scratch.data());
      }
    });
  };
  if (KeyOf<T>::bytes <= 4 && R < (int64_t(1) << 32)) {
    run(Packed{});
  } else {
    run(Entry{});
  }
}

// The result shape of a reduction along `axis` (lines.axis), keepdim or not.
Shape reduced_shape(const Tensor& x, int64_t axis, bool keepdim) {
  Shape shape = x.shape();
  if (x.dim() == 0) return shape;
  if (keepdim) {
    shape[axis] = 1;
  } else {
    shape.erase(axis);
  }
  return shape;
}

ValuesIndices sorted(const Tensor& x, int64_t axis, bool descending, bool want_values, const char* op) {
  const detail::AxisLines lines = detail::lines_along(x, axis, op);
  ValuesIndices result;
  result.indices = Tensor::empty(x.shape(), DType::int64);
  if (want_values) result.values = Tensor::empty(x.shape(), x.dtype());
  const int64_t R = lines.extent, I = lines.inner;
  dispatch(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* in = lines.input.data<T>();
    T* values = want_values ? result.values.data<T>() : nullptr;
    int64_t* indices = result.indices.data<int64_t>();
    for_each_line<T>(lines, descending ? key_mask<T>() : 0, [&](int64_t, int64_t base, auto* items, auto* scratch) {
      sort_items(items, scratch, R, KeyOf<T>::bytes);
      for (int64_t j = 0; j < R; ++j) {
        const int64_t index = index_of(items[j]);
        indices[base + j * I] = index;
        if (values) values[base + j * I] = in[base + index * I];
      }
    });
  });
  return result;
}

// The index of the item of rank k (from 0) in (key, index) order, found by selection.
template <class Item>
int64_t select_rank(Item* items, int64_t n, int64_t k) {
  std::nth_element(items, items + k, items + n);
  return index_of(items[k]);
}

// One value per line: pick(items, scratch, n, line, stride) returns the chosen index along the line
// (whose elements are line[r * stride]); the result has the reduced shape.
template <class Pick>
ValuesIndices select_per_line(const Tensor& x, const detail::AxisLines& lines, bool keepdim, Pick&& pick) {
  const Shape shape = reduced_shape(x, lines.axis, keepdim);
  ValuesIndices result{Tensor::empty(shape, x.dtype()), Tensor::empty(shape, DType::int64)};
  const int64_t R = lines.extent, I = lines.inner;
  dispatch(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* in = lines.input.data<T>();
    T* values = result.values.data<T>();
    int64_t* indices = result.indices.data<int64_t>();
    for_each_line<T>(lines, 0, [&](int64_t line, int64_t base, auto* items, auto* scratch) {
      const int64_t index = pick(items, scratch, R, in + base, I);
      values[line] = in[base + index * I];
      indices[line] = index;
    });
  });
  return result;
}

void check_not_empty_axis(const Tensor& x, const detail::AxisLines& lines, const char* op) {
  if (lines.extent == 0) {
    fail("{}: axis {} of shape {} is empty, so there is nothing to select from", op, lines.axis, x.shape());
  }
}

// The index along the line of the first NaN, or -1 (always -1 for integer types).
template <class T>
int64_t first_nan(const T* line, int64_t n, int64_t stride) {
  if constexpr (std::is_floating_point_v<T>) {
    for (int64_t r = 0; r < n; ++r) {
      if (std::isnan(line[r * stride])) return r;
    }
  }
  return -1;
}

}  // namespace

ValuesIndices sort(const Tensor& x, int64_t axis, bool descending, bool /*stable*/) {
  return sorted(x, axis, descending, true, "sort");
}

Tensor argsort(const Tensor& x, int64_t axis, bool descending, bool /*stable*/) {
  return sorted(x, axis, descending, false, "argsort").indices;
}

ValuesIndices topk(const Tensor& x, int64_t k, int64_t axis, bool largest, bool sorted_result) {
  const detail::AxisLines lines = detail::lines_along(x, axis, "topk");
  const int64_t R = lines.extent, I = lines.inner;
  if (k < 0 || k > R) {
    fail("topk: k = {} is out of range for axis {} of size {} (shape {}); k must be in [0, {}]", k, lines.axis, R,
         x.shape(), R);
  }
  Shape shape = x.shape();
  if (x.dim() > 0) shape[lines.axis] = k;
  ValuesIndices result{Tensor::empty(shape, x.dtype()), Tensor::empty(shape, DType::int64)};
  if (k == 0) return result;
  dispatch(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* in = lines.input.data<T>();
    T* values = result.values.data<T>();
    int64_t* indices = result.indices.data<int64_t>();
    for_each_line<T>(lines, largest ? key_mask<T>() : 0, [&](int64_t line, int64_t base, auto* items, auto* scratch) {
      if (8 * k <= R) {
        // Few of many: one pass keeping the k best so far in a heap (best last on top); after the
        // first few, almost every item loses to the heap's top in one predictable comparison.
        std::make_heap(items, items + k);
        for (int64_t r = k; r < R; ++r) {
          if (items[r] < items[0]) {
            std::pop_heap(items, items + k);
            items[k - 1] = items[r];
            std::push_heap(items, items + k);
          }
        }
        if (sorted_result) std::sort_heap(items, items + k);
      } else if (sorted_result) {
        sort_items(items, scratch, R, KeyOf<T>::bytes);
      } else if (k < R) {
        std::nth_element(items, items + k - 1, items + R);
      }
      const int64_t out_base = (line / I) * k * I + line % I;
      for (int64_t j = 0; j < k; ++j) {
        const int64_t index = index_of(items[j]);
        indices[out_base + j * I] = index;
        values[out_base + j * I] = in[base + index * I];
      }
    });
  });
  return result;
}

ValuesIndices kthvalue(const Tensor& x, int64_t k, int64_t axis, bool keepdim) {
  const detail::AxisLines lines = detail::lines_along(x, axis, "kthvalue");
  if (k < 1 || k > lines.extent) {
    fail("kthvalue: k = {} is out of range for axis {} of size {} (shape {}); k counts from 1 to {}", k, lines.axis,
         lines.extent, x.shape(), lines.extent);
  }
  return select_per_line(x, lines, keepdim, [k](auto* items, auto*, int64_t n, const auto*, int64_t) {
    return select_rank(items, n, k - 1);
  });
}

ValuesIndices median(const Tensor& x, int64_t axis, bool keepdim) {
  const detail::AxisLines lines = detail::lines_along(x, axis, "median");
  check_not_empty_axis(x, lines, "median");
  return select_per_line(x, lines, keepdim, [](auto* items, auto*, int64_t n, const auto* line, int64_t stride) {
    const int64_t nan = first_nan(line, n, stride);
    return nan >= 0 ? nan : select_rank(items, n, (n - 1) / 2);
  });
}

Tensor median(const Tensor& x) {
  if (!x.defined()) fail("median: the input tensor is undefined");
  if (x.numel() == 0) {
    // PyTorch's median of nothing is NaN; an integer has no NaN to give.
    if (is_floating(x.dtype())) return full({}, std::numeric_limits<double>::quiet_NaN(), x.dtype());
    fail("median: the {} tensor of shape {} is empty, so it has no median", x.dtype(), x.shape());
  }
  return median(x.reshape({-1}), 0, false).values;
}

ValuesIndices mode(const Tensor& x, int64_t axis, bool keepdim) {
  const detail::AxisLines lines = detail::lines_along(x, axis, "mode");
  check_not_empty_axis(x, lines, "mode");
  return select_per_line(x, lines, keepdim, [&](auto* items, auto* scratch, int64_t n, const auto* line, int64_t) {
    using T = std::remove_cv_t<std::remove_pointer_t<decltype(line)>>;
    sort_items(items, scratch, n, KeyOf<T>::bytes);
    // The longest run of equal keys; the first (smallest value) wins among equally long runs, and
    // its last entry (the largest index) is the one returned.
    int64_t best_end = 0, best_length = 0;
    for (int64_t start = 0; start < n;) {
      int64_t end = start;
      while (end + 1 < n && key_of(items[end + 1]) == key_of(items[start])) ++end;
      if (end - start + 1 > best_length) {
        best_length = end - start + 1;
        best_end = end;
      }
      start = end + 1;
    }
    return index_of(items[best_end]);
  });
}

}  // namespace nabla::kernels
