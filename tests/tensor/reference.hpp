#pragma once
// Naive reference helpers for the tensor tests. They loop over every multi-index and read
// elements through the tensor's strides straight from its Storage, so they share no code with
// the kernels under test: a kernel that mishandles a stride, an offset or a broadcast axis
// disagrees with them.
#include <catch2/catch.hpp>
#include <nabla/tensor.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <numeric>
#include <random>
#include <string>
#include <vector>

namespace Catch {
template <>
struct StringMaker<nabla::Dims> {
  static std::string convert(const nabla::Dims& dims) { return nabla::to_string(dims); }
};
template <>
struct StringMaker<nabla::DType> {
  static std::string convert(nabla::DType dtype) { return std::string(nabla::dtype_name(dtype)); }
};
}  // namespace Catch

namespace reference {

using Index = std::vector<int64_t>;

inline std::string index_string(const Index& index) {
  std::string text = "(";
  for (size_t i = 0; i < index.size(); ++i) text += (i ? ", " : "") + std::to_string(index[i]);
  return text + ")";
}

// Calls fn(index) for every multi-index of shape in row-major order: once for a 0-d shape, never
// when an extent is 0.
inline void for_each_index(const nabla::Shape& shape, const std::function<void(const Index&)>& fn) {
  for (int64_t extent : shape) {
    if (extent == 0) return;
  }
  Index index(static_cast<size_t>(shape.size()), 0);
  while (true) {
    fn(index);
    int64_t axis = shape.size() - 1;
    for (; axis >= 0; --axis) {
      if (++index[static_cast<size_t>(axis)] < shape[axis]) break;
      index[static_cast<size_t>(axis)] = 0;
    }
    if (axis < 0) return;
  }
}

// Byte address of the element at index: storage base + (offset + sum index * stride) * itemsize.
inline char* element_address(const nabla::kernels::Tensor& t, const Index& index) {
  if (static_cast<int64_t>(index.size()) != t.dim()) {
    throw std::logic_error("reference: index " + index_string(index) + " does not match rank " +
                           std::to_string(t.dim()));
  }
  int64_t element = t.offset();
  for (size_t i = 0; i < index.size(); ++i) element += index[i] * t.strides()[static_cast<int64_t>(i)];
  return static_cast<char*>(t.storage()->data()) +
         element * static_cast<int64_t>(nabla::itemsize(t.dtype()));
}

inline double read(const nabla::kernels::Tensor& t, const Index& index) {
  const char* address = element_address(t, index);
  return nabla::dispatch(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T value;
    std::memcpy(&value, address, sizeof(T));
    return static_cast<double>(value);
  });
}

inline void write(const nabla::kernels::Tensor& t, const Index& index, double value) {
  char* address = element_address(t, index);
  nabla::dispatch(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T typed = static_cast<T>(value);
    std::memcpy(address, &typed, sizeof(T));
  });
}

// <a, b> over all elements, read through strides, summed in long double.
inline double inner_product(const nabla::kernels::Tensor& a, const nabla::kernels::Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  long double total = 0;
  for_each_index(a.shape(), [&](const Index& i) { total += static_cast<long double>(read(a, i)) * read(b, i); });
  return static_cast<double>(total);
}

// Every element in row-major order, read through strides.
inline std::vector<double> elements(const nabla::kernels::Tensor& t) {
  std::vector<double> values;
  for_each_index(t.shape(), [&](const Index& index) { values.push_back(read(t, index)); });
  return values;
}

// NumPy broadcasting, written out.
inline nabla::Shape broadcast_shape(const nabla::Shape& a, const nabla::Shape& b) {
  const int64_t ndim = std::max(a.size(), b.size());
  nabla::Shape out = nabla::Shape::filled(ndim, 1);
  for (int64_t i = 0; i < ndim; ++i) {
    const int64_t ai = i - (ndim - a.size());
    const int64_t bi = i - (ndim - b.size());
    const int64_t ae = ai >= 0 ? a[ai] : 1;
    const int64_t be = bi >= 0 ? b[bi] : 1;
    out[i] = ae == 1 ? be : ae;
  }
  return out;
}

// The operand index an output index reads under broadcasting (right-aligned; size-1 axes read 0).
inline Index broadcast_index(const Index& out, const nabla::Shape& operand) {
  Index index(static_cast<size_t>(operand.size()));
  const size_t lead = out.size() - static_cast<size_t>(operand.size());
  for (size_t i = 0; i < index.size(); ++i) {
    index[i] = operand[static_cast<int64_t>(i)] == 1 ? 0 : out[lead + i];
  }
  return index;
}

inline bool close(double actual, double expected, double rtol, double atol) {
  if (std::isnan(expected)) return std::isnan(actual);
  if (std::isinf(expected)) return actual == expected;
  return std::abs(actual - expected) <= atol + rtol * std::abs(expected);
}

// Tolerances for results computed in a dtype, compared against a double reference.
struct Tolerance {
  double rtol;
  double atol;
};
inline Tolerance elementwise_tolerance(nabla::DType dtype) {
  return dtype == nabla::float64 ? Tolerance{1e-12, 1e-14} : Tolerance{1e-5, 1e-6};
}
inline Tolerance reduction_tolerance(nabla::DType dtype) {
  return dtype == nabla::float64 ? Tolerance{1e-10, 1e-10} : Tolerance{1e-4, 1e-4};
}

// Checks result's shape, then every element against expected(index). Reports the first mismatch
// and the mismatch count as one assertion, so a broken kernel does not print thousands of lines.
inline void check_elements(const nabla::kernels::Tensor& result, const nabla::Shape& shape,
                           const std::function<double(const Index&)>& expected, Tolerance tolerance) {
  REQUIRE(result.defined());
  REQUIRE(result.shape() == shape);
  int64_t mismatches = 0;
  std::string first;
  for_each_index(shape, [&](const Index& index) {
    const double actual = read(result, index);
    const double want = expected(index);
    if (!close(actual, want, tolerance.rtol, tolerance.atol) && mismatches++ == 0) {
      first = "at " + index_string(index) + ": got " + std::to_string(actual) + ", expected " +
              std::to_string(want);
    }
  });
  INFO(first);
  CHECK(mismatches == 0);
}

// Checks shape and the row-major values of a tensor against a literal list.
inline void check_values(const nabla::kernels::Tensor& t, const nabla::Shape& shape,
                         const std::vector<double>& values, double tolerance = 1e-6) {
  REQUIRE(t.defined());
  REQUIRE(t.shape() == shape);
  const std::vector<double> actual = elements(t);
  REQUIRE(actual.size() == values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    INFO("element " << i << ": got " << actual[i] << ", expected " << values[i]);
    CHECK(close(actual[i], values[i], tolerance, tolerance));
  }
}

// ---- random test data (std::mt19937_64, independent of nabla's own generator)

struct Rng {
  explicit Rng(uint64_t seed) : engine(seed) {}
  double uniform(double low, double high) { return std::uniform_real_distribution<double>(low, high)(engine); }
  int64_t integer(int64_t low, int64_t high) {  // inclusive
    return std::uniform_int_distribution<int64_t>(low, high)(engine);
  }
  bool chance(double p) { return uniform(0.0, 1.0) < p; }
  std::mt19937_64 engine;
};

// A shape of 0..max_dims axes; extents are often 1 (to exercise broadcasting) and, when
// allow_empty, sometimes 0.
inline nabla::Shape random_shape(Rng& rng, int64_t max_dims = 4, bool allow_empty = false,
                                 int64_t max_extent = 5) {
  nabla::Shape shape;
  const int64_t ndim = rng.integer(0, max_dims);
  for (int64_t i = 0; i < ndim; ++i) {
    const int64_t pick = rng.integer(0, 9);
    if (pick == 0 && allow_empty) {
      shape.push_back(0);
    } else if (pick <= 2) {
      shape.push_back(1);
    } else {
      shape.push_back(rng.integer(2, max_extent));
    }
  }
  return shape;
}

// Two shapes that broadcast to `out`: each drops some leading axes and sets some axes to 1, so
// broadcasting happens on both sides.
inline nabla::Shape broadcastable_from(const nabla::Shape& out, Rng& rng) {
  nabla::Shape shape;
  const int64_t dropped = rng.chance(0.3) ? rng.integer(0, out.size()) : 0;
  for (int64_t i = dropped; i < out.size(); ++i) shape.push_back(rng.chance(0.3) ? 1 : out[i]);
  return shape;
}

// How a test tensor's elements are laid out in memory. Every layout but `contiguous` gives a
// non-contiguous view with the requested logical shape.
enum class Layout { contiguous, transposed, permuted, strided, expanded, strided_transposed };
inline const std::vector<Layout> all_layouts = {Layout::contiguous, Layout::transposed,
                                                Layout::permuted,   Layout::strided,
                                                Layout::expanded,   Layout::strided_transposed};
inline const char* layout_name(Layout layout) {
  switch (layout) {
    case Layout::contiguous: return "contiguous";
    case Layout::transposed: return "transposed";
    case Layout::permuted: return "permuted";
    case Layout::strided: return "strided slice";
    case Layout::expanded: return "expanded";
    case Layout::strided_transposed: return "strided slice of a transpose";
  }
  return "?";
}

// A contiguous tensor of random values in [low, high); integral (or integer dtypes) rounds down.
inline nabla::kernels::Tensor random_contiguous(const nabla::Shape& shape, nabla::DType dtype, Rng& rng,
                                       double low, double high, bool integral) {
  nabla::kernels::Tensor t = nabla::kernels::Tensor::empty(shape, dtype);
  if (dtype == nabla::uint8) low = std::max(low, 0.0);
  if (dtype == nabla::bool_) low = 0.0, high = 2.0;  // as many false as true, whatever the range
  integral = integral || !nabla::is_floating(dtype);
  for_each_index(shape, [&](const Index& index) {
    double value = rng.uniform(low, high);
    write(t, index, integral ? std::floor(value) : value);
  });
  return t;
}

// A tensor of `shape` laid out as `layout`, filled with random values in [low, high).
inline nabla::kernels::Tensor random_tensor(const nabla::Shape& shape, nabla::DType dtype, Layout layout,
                                   Rng& rng, double low = -2.0, double high = 2.0,
                                   bool integral = false) {
  const int64_t ndim = shape.size();
  auto fill = [&](const nabla::Shape& base_shape) {
    return random_contiguous(base_shape, dtype, rng, low, high, integral);
  };
  switch (layout) {
    case Layout::contiguous: break;
    case Layout::transposed:
      if (ndim >= 2) {
        nabla::Shape base_shape = shape;
        std::swap(base_shape[0], base_shape[ndim - 1]);
        return fill(base_shape).transpose(0, ndim - 1);
      }
      break;
    case Layout::permuted:
      if (ndim >= 2) {
        // base axis i holds logical axis permutation[i]; permute(inverse) puts it back.
        std::vector<int64_t> permutation(static_cast<size_t>(ndim));
        std::iota(permutation.begin(), permutation.end(), 0);
        std::shuffle(permutation.begin(), permutation.end(), rng.engine);
        if (std::is_sorted(permutation.begin(), permutation.end())) {
          std::rotate(permutation.begin(), permutation.begin() + 1, permutation.end());
        }
        nabla::Shape base_shape = shape;
        nabla::Dims inverse = nabla::Dims::filled(ndim, 0);
        for (int64_t i = 0; i < ndim; ++i) {
          base_shape[i] = shape[permutation[static_cast<size_t>(i)]];
          inverse[permutation[static_cast<size_t>(i)]] = i;
        }
        return fill(base_shape).permute(inverse);
      }
      break;
    case Layout::strided:
      if (ndim >= 1) {
        // Every other element of a longer axis, starting at 1 (so the offset is non-zero too).
        const int64_t axis = rng.integer(0, ndim - 1);
        nabla::Shape base_shape = shape;
        base_shape[axis] = 2 * shape[axis] + 1;
        return fill(base_shape).slice(axis, 1, base_shape[axis], 2);
      }
      break;
    case Layout::expanded: {
      // One axis of extent > 1 read from a size-1 axis (stride 0).
      std::vector<int64_t> candidates;
      for (int64_t i = 0; i < ndim; ++i) {
        if (shape[i] > 1) candidates.push_back(i);
      }
      if (!candidates.empty()) {
        const int64_t axis =
            candidates[static_cast<size_t>(rng.integer(0, static_cast<int64_t>(candidates.size()) - 1))];
        nabla::Shape base_shape = shape;
        base_shape[axis] = 1;
        return fill(base_shape).expand(shape);
      }
      break;
    }
    case Layout::strided_transposed:
      if (ndim >= 2) {
        nabla::Shape base_shape = shape;
        std::swap(base_shape[0], base_shape[ndim - 1]);
        base_shape[0] = 2 * base_shape[0] + 1;
        return fill(base_shape).slice(0, 1, base_shape[0], 2).transpose(0, ndim - 1);
      }
      break;
  }
  return fill(shape);
}

// ---- reductions

// Normalised, de-duplicated reduced-axis mask for `axes` (empty: every axis).
inline std::vector<bool> reduced_mask(const nabla::Dims& axes, int64_t ndim) {
  std::vector<bool> reduced(static_cast<size_t>(ndim), axes.empty());
  for (int64_t axis : axes) reduced[static_cast<size_t>(axis < 0 ? axis + ndim : axis)] = true;
  return reduced;
}

inline nabla::Shape reduced_shape(const nabla::Shape& shape, const std::vector<bool>& reduced,
                                  bool keepdim) {
  nabla::Shape out;
  for (int64_t i = 0; i < shape.size(); ++i) {
    if (!reduced[static_cast<size_t>(i)]) {
      out.push_back(shape[i]);
    } else if (keepdim) {
      out.push_back(1);
    }
  }
  return out;
}

// The elements of x that reduce into one output position (given as a keepdim index), row-major.
inline std::vector<double> reduced_values(const nabla::kernels::Tensor& x, const std::vector<bool>& reduced,
                                          const Index& keepdim_index) {
  nabla::Shape sub = nabla::Shape::filled(x.dim(), 1);
  for (int64_t i = 0; i < x.dim(); ++i) {
    if (reduced[static_cast<size_t>(i)]) sub[i] = x.size(i);
  }
  std::vector<double> values;
  for_each_index(sub, [&](const Index& offset) {
    Index index = keepdim_index;
    for (size_t i = 0; i < index.size(); ++i) {
      if (reduced[i]) index[i] = offset[i];
    }
    values.push_back(read(x, index));
  });
  return values;
}

// Checks result = reduce(x over axes) element by element, with f applied to each group of values.
inline void check_reduction(const nabla::kernels::Tensor& result, const nabla::kernels::Tensor& x,
                            const nabla::Dims& axes, bool keepdim,
                            const std::function<double(const std::vector<double>&)>& f,
                            Tolerance tolerance) {
  const std::vector<bool> reduced = reduced_mask(axes, x.dim());
  check_elements(
      result, reduced_shape(x.shape(), reduced, keepdim),
      [&](const Index& out) {
        Index keepdim_index;
        size_t next = 0;
        for (size_t i = 0; i < reduced.size(); ++i) {
          if (reduced[i]) {
            keepdim_index.push_back(0);
            if (keepdim) ++next;
          } else {
            keepdim_index.push_back(out[next++]);
          }
        }
        return f(reduced_values(x, reduced, keepdim_index));
      },
      tolerance);
}

inline double ref_sum(const std::vector<double>& v) {
  long double total = 0;
  for (double x : v) total += x;
  return static_cast<double>(total);
}
inline double ref_mean(const std::vector<double>& v) { return ref_sum(v) / static_cast<double>(v.size()); }
inline double ref_var(const std::vector<double>& v, int64_t correction) {
  const double mu = ref_mean(v);
  long double squares = 0;
  for (double x : v) squares += (x - mu) * (x - mu);
  return static_cast<double>(squares / static_cast<long double>(static_cast<int64_t>(v.size()) - correction));
}
inline double ref_logsumexp(const std::vector<double>& v) {
  const double top = *std::max_element(v.begin(), v.end());
  if (std::isinf(top)) return top;
  long double total = 0;
  for (double x : v) total += std::exp(static_cast<long double>(x - top));
  return top + static_cast<double>(std::log(total));
}
inline double ref_max(const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); }
inline double ref_min(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }
// Index of the first largest / smallest element (std::max_element returns the first on ties).
inline double ref_argmax(const std::vector<double>& v) {
  return static_cast<double>(std::max_element(v.begin(), v.end()) - v.begin());
}
inline double ref_argmin(const std::vector<double>& v) {
  return static_cast<double>(std::min_element(v.begin(), v.end()) - v.begin());
}

}  // namespace reference
