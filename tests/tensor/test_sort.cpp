// Sorting and selection (sort, argsort, topk, kthvalue, median, mode): PyTorch's values on small
// cases (NaN, infinities, -0.0, ties), and every op against a naive stable sort of each line, on
// random shapes, axes, layouts and dtypes, short lines (std::sort) and long ones (radix sort).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include "reference.hpp"

using namespace nabla;
using namespace nabla::kernels;
using Catch::Contains;
using reference::check_reduction;
using reference::check_values;
using reference::Index;
using reference::Layout;
using reference::read;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

// NaN-aware orders: NaN above everything, NaNs equal to each other, -0.0 equal to 0.0.
bool ascending(double a, double b) { return !std::isnan(a) && (std::isnan(b) || a < b); }
bool descending(double a, double b) { return !std::isnan(b) && (std::isnan(a) || a > b); }
bool same(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

// The positions of a line's values in stable sorted order.
std::vector<int64_t> stable_order(const std::vector<double>& values, bool down) {
  std::vector<int64_t> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return down ? descending(values[a], values[b]) : ascending(values[a], values[b]);
  });
  return order;
}

// Every line of x along axis: calls fn(index of the line's first element, the line's values).
template <class Fn>
void for_each_line(const Tensor& x, int64_t axis, Fn&& fn) {
  Shape outer = x.shape();
  outer[axis] = 1;
  reference::for_each_index(outer, [&](const Index& start) {
    std::vector<double> line;
    Index index = start;
    for (int64_t r = 0; r < x.size(axis); ++r) {
      index[static_cast<size_t>(axis)] = r;
      line.push_back(read(x, index));
    }
    fn(start, line);
  });
}

bool equal_or_both_nan(double a, double b) { return same(a, b) && std::signbit(a) == std::signbit(b); }

Layout random_layout(reference::Rng& rng) {
  return reference::all_layouts[static_cast<size_t>(rng.integer(0, static_cast<int64_t>(reference::all_layouts.size()) - 1))];
}

// A random shape with at least one axis, and an axis of it; long lines half the time (the radix sort).
struct Case {
  Shape shape;
  int64_t axis;
};
Case random_case(reference::Rng& rng) {
  Shape shape = reference::random_shape(rng, 3);
  if (shape.empty()) shape.push_back(rng.integer(1, 5));
  const int64_t axis = rng.integer(0, shape.size() - 1);
  if (rng.chance(0.5)) shape[axis] = rng.integer(60, 300);
  return {shape, axis};
}

// Values with many ties (small integers), and sometimes NaN and infinities.
Tensor random_values(const Shape& shape, DType dtype, Layout layout, reference::Rng& rng) {
  Tensor x = reference::random_tensor(shape, dtype, layout, rng, -4, 4, /*integral=*/rng.chance(0.5));
  if (is_floating(dtype) && rng.chance(0.5)) {
    Tensor packed = x.contiguous().clone();
    reference::for_each_index(shape, [&](const Index& index) {
      const double pick = rng.uniform(0, 1);
      if (pick < 0.05) reference::write(packed, index, kNaN);
      if (pick > 0.97) reference::write(packed, index, pick > 0.985 ? kInf : -kInf);
    });
    return packed;
  }
  return x;
}

const std::vector<DType> kDtypes = {float32, float64, int64, uint8, int32, bool_};

}  // namespace

// ---- known values (PyTorch 1.13's results, computed with torch and pasted in)

TEST_CASE("sort: NaN last, -0.0 equal to 0.0, equal values in their order", "[sort]") {
  // torch.sort(torch.tensor([3., nan, 1, -0.0, 0.0, inf, -inf, 1, nan]))
  const Tensor x = tensor({3, kNaN, 1, -0.0, 0.0, kInf, -kInf, 1, kNaN}, {9}, float64);
  const ValuesIndices up = sort(x);
  check_values(up.values, {9}, {-kInf, -0.0, 0.0, 1, 1, 3, kInf, kNaN, kNaN});
  check_values(up.indices, {9}, {6, 3, 4, 2, 7, 0, 5, 1, 8});
  CHECK(std::signbit(up.values.at<double>({1})));
  CHECK(up.indices.dtype() == int64);
  CHECK(up.values.dtype() == float64);
  const ValuesIndices down = sort(x, 0, true);
  check_values(down.values, {9}, {kNaN, kNaN, kInf, 3, 1, 1, -0.0, 0.0, -kInf});
  check_values(down.indices, {9}, {1, 8, 5, 0, 2, 7, 3, 4, 6});
  check_values(sort(x, -1, true, true).indices, {9}, {1, 8, 5, 0, 2, 7, 3, 4, 6});
  check_values(argsort(x), {9}, {6, 3, 4, 2, 7, 0, 5, 1, 8});
}

TEST_CASE("sort along each axis of a matrix, and of a 0-d tensor", "[sort]") {
  const Tensor x = tensor({3, 1, 2, 5, 4, 1}, {2, 3});
  const ValuesIndices rows = sort(x, 1);
  check_values(rows.values, {2, 3}, {1, 2, 3, 1, 4, 5});
  check_values(rows.indices, {2, 3}, {1, 2, 0, 2, 1, 0});
  const ValuesIndices columns = sort(x, 0, true);
  check_values(columns.values, {2, 3}, {5, 4, 2, 3, 1, 1});
  check_values(columns.indices, {2, 3}, {1, 1, 0, 0, 0, 1});
  check_values(sort(x.t(), 1).values, {3, 2}, {3, 5, 1, 4, 1, 2});
  check_values(argsort(x, -2), {2, 3}, {0, 0, 1, 1, 1, 0});
  const ValuesIndices scalar = sort(scalar_tensor(3));
  check_values(scalar.values, {}, {3});
  check_values(scalar.indices, {}, {0});
  CHECK(sort(zeros({2, 0}), 1).values.shape() == Shape{2, 0});
  CHECK(sort(zeros({0, 3}), 1).indices.shape() == Shape{0, 3});
}

TEST_CASE("sort of integers and bytes", "[sort][dtype]") {
  const Tensor big = from_vector(std::vector<int64_t>{INT64_MAX, -3, INT64_MIN, 0, -3});
  check_values(sort(big).indices, {5}, {2, 1, 4, 3, 0});
  CHECK(sort(big).values.to_vector<int64_t>() == std::vector<int64_t>{INT64_MIN, -3, -3, 0, INT64_MAX});
  const Tensor bytes = tensor({200, 3, 255, 0, 3}, {5}, uint8);
  CHECK(sort(bytes, 0, true).values.dtype() == uint8);
  check_values(sort(bytes, 0, true).values, {5}, {255, 200, 3, 3, 0});
  check_values(sort(bytes, 0, true).indices, {5}, {2, 0, 1, 4, 3});
}

TEST_CASE("topk: largest or smallest, NaN counts as largest", "[sort][topk]") {
  const Tensor x = tensor({3, kNaN, 1, -0.0, 0.0, kInf, -kInf, 1, kNaN}, {9}, float64);
  // torch.topk(x, 3) and torch.topk(x, 3, largest=False)
  const ValuesIndices top = topk(x, 3);
  check_values(top.values, {3}, {kNaN, kNaN, kInf});
  check_values(top.indices, {3}, {1, 8, 5});
  const ValuesIndices bottom = topk(x, 3, 0, false);
  check_values(bottom.values, {3}, {-kInf, -0.0, 0.0});
  check_values(bottom.indices, {3}, {6, 3, 4});
  const Tensor m = tensor({1, 5, 2, 4, 9, 0, 3, 3}, {2, 4});
  check_values(topk(m, 2, 1).values, {2, 2}, {5, 4, 9, 3});
  check_values(topk(m, 2, 1).indices, {2, 2}, {1, 3, 0, 2});
  check_values(topk(m, 1, 0, false).values, {1, 4}, {1, 0, 2, 3});
  CHECK(topk(m, 0, 1).values.shape() == Shape{2, 0});
  // Unsorted: the same set.
  std::vector<int64_t> chosen = topk(m, 3, 1, true, false).indices.select(0, 0).to_vector<int64_t>();
  std::sort(chosen.begin(), chosen.end());
  CHECK(chosen == std::vector<int64_t>{1, 2, 3});
}

TEST_CASE("kthvalue, median and mode: PyTorch's values", "[sort][median]") {
  const Tensor y = tensor({2, 1, 2, 1, 2, 3, 1}, {7}, float64);
  CHECK(kthvalue(y, 2).values.item() == 1);
  CHECK(kthvalue(y, 5).values.item() == 2);
  CHECK(kthvalue(y, 5).indices.item<int64_t>() == 2);  // torch.kthvalue(y, 5): (2., 2)
  CHECK(kthvalue(y, 7).values.item() == 3);
  CHECK(median(y).item() == 2);
  CHECK(median(y, 0).values.item() == 2);
  CHECK(median(y, 0).indices.item<int64_t>() == 0);
  // The lower median of an even count.
  CHECK(median(tensor({4, 1, 3, 2}, {4})).item() == 2);
  CHECK(median(tensor({1, 2, 3, 4}, {4}, int64)).dtype() == int64);
  // NaN: the median is NaN, its index the first NaN's.
  CHECK(std::isnan(median(tensor({1, kNaN, 2, kNaN}, {4})).item()));
  const ValuesIndices with_nan = median(tensor({1, kNaN, 2, kNaN}, {1, 4}), 1);
  CHECK(std::isnan(with_nan.values.item()));
  CHECK(with_nan.indices.item<int64_t>() == 1);
  // mode: the most frequent, the smallest of equally frequent ones, at its last occurrence.
  // torch.mode(y) = (1., 6); torch.mode(torch.tensor([3., 1, 3, 1, 2])) = (1., 3)
  CHECK(mode(y).values.item() == 1);
  CHECK(mode(y).indices.item<int64_t>() == 6);
  CHECK(mode(tensor({3, 1, 3, 1, 2}, {5})).values.item() == 1);
  CHECK(mode(tensor({3, 1, 3, 1, 2}, {5})).indices.item<int64_t>() == 3);
  CHECK(mode(tensor({3, 1, 3, 1, 2}, {5}, int64)).values.dtype() == int64);
  const ValuesIndices rows = mode(tensor({5, 1, 5, 2, 2, 7}, {2, 3}), 1, true);
  check_values(rows.values, {2, 1}, {5, 2});
  check_values(rows.indices, {2, 1}, {2, 1});
  // 0-d tensors are one line of one element.
  CHECK(kthvalue(scalar_tensor(3), 1).values.item() == 3);
  CHECK(median(scalar_tensor(3), 0).indices.item<int64_t>() == 0);
  // torch.median(torch.tensor([])) is nan.
  CHECK(std::isnan(median(zeros({0})).item()));
}

TEST_CASE("sorting errors name the op, the k and the shape", "[sort][errors]") {
  const Tensor x = zeros({2, 3});
  CHECK_THROWS_WITH(sort(x, 2), Contains("sort") && Contains("2"));
  CHECK_THROWS_WITH(argsort(x, -3), Contains("argsort"));
  CHECK_THROWS_WITH(topk(x, 4, 1), Contains("topk") && Contains("out of range") && Contains("[2, 3]"));
  CHECK_THROWS_WITH(topk(x, -1), Contains("topk") && Contains("-1"));
  CHECK_THROWS_WITH(kthvalue(x, 0), Contains("kthvalue") && Contains("out of range") && Contains("[2, 3]"));
  CHECK_THROWS_WITH(kthvalue(x, 4, 1), Contains("kthvalue") && Contains("4"));
  CHECK_THROWS_WITH(median(zeros({2, 0}), 1), Contains("median") && Contains("[2, 0]") && Contains("empty"));
  CHECK_THROWS_WITH(mode(zeros({2, 0}), 1), Contains("mode") && Contains("empty"));
  CHECK_THROWS_WITH(median(zeros({0}, int64)), Contains("median") && Contains("empty"));
  CHECK_THROWS_WITH(sort(Tensor()), Contains("sort") && Contains("undefined"));
}

// ---- against a naive stable sort of each line

TEST_CASE("sort and argsort match a naive stable sort on random shapes, axes, layouts and dtypes",
          "[sort][reference]") {
  reference::Rng rng(1300);
  for (int trial = 0; trial < 160; ++trial) {
    const DType dtype = kDtypes[static_cast<size_t>(trial % kDtypes.size())];
    const auto [shape, axis] = random_case(rng);
    const bool down = rng.chance(0.5);
    const Layout layout = random_layout(rng);
    const Tensor x = random_values(shape, dtype, layout, rng);
    const int64_t written_axis = rng.chance(0.5) ? axis - shape.size() : axis;
    INFO("trial " << trial << ": " << to_string(shape) << " " << dtype_name(dtype) << " " << reference::layout_name(layout)
                  << ", axis " << written_axis << (down ? ", descending" : ""));
    const ValuesIndices result = sort(x, written_axis, down);
    const Tensor indices = argsort(x, written_axis, down);
    REQUIRE(result.values.shape() == shape);
    REQUIRE(result.values.dtype() == dtype);
    int64_t mismatches = 0;
    for_each_line(x, axis, [&](const Index& start, const std::vector<double>& line) {
      const std::vector<int64_t> order = stable_order(line, down);
      Index at = start;
      for (size_t j = 0; j < order.size(); ++j) {
        at[static_cast<size_t>(axis)] = static_cast<int64_t>(j);
        const bool ok = read(result.indices, at) == static_cast<double>(order[j]) &&
                        read(indices, at) == static_cast<double>(order[j]) &&
                        equal_or_both_nan(read(result.values, at), line[static_cast<size_t>(order[j])]);
        mismatches += ok ? 0 : 1;
      }
    });
    CHECK(mismatches == 0);
  }
}

TEST_CASE("topk matches the first k of a naive stable sort", "[sort][topk][reference]") {
  reference::Rng rng(1400);
  for (int trial = 0; trial < 160; ++trial) {
    const DType dtype = kDtypes[static_cast<size_t>(trial % kDtypes.size())];
    const auto [shape, axis] = random_case(rng);
    const int64_t n = shape[axis];
    // Small k (the heap), large k (the sort), all and none.
    const int64_t k = std::vector<int64_t>{1, n / 10, n / 2, n, 0}[static_cast<size_t>(rng.integer(0, 4))];
    const bool largest = rng.chance(0.5);
    const bool sorted = rng.chance(0.7);
    const Layout layout = random_layout(rng);
    const Tensor x = random_values(shape, dtype, layout, rng);
    INFO("trial " << trial << ": " << to_string(shape) << " " << dtype_name(dtype) << " " << reference::layout_name(layout)
                  << ", axis " << axis << ", k " << k << (largest ? ", largest" : ", smallest")
                  << (sorted ? ", sorted" : ", unsorted"));
    const ValuesIndices result = topk(x, k, axis, largest, sorted);
    Shape expected_shape = shape;
    expected_shape[axis] = k;
    REQUIRE(result.values.shape() == expected_shape);
    int64_t mismatches = 0;
    for_each_line(x, axis, [&](const Index& start, const std::vector<double>& line) {
      std::vector<int64_t> order = stable_order(line, largest);
      order.resize(static_cast<size_t>(k));
      std::vector<int64_t> got;
      Index at = start;
      for (int64_t j = 0; j < k; ++j) {
        at[static_cast<size_t>(axis)] = j;
        const int64_t index = static_cast<int64_t>(read(result.indices, at));
        got.push_back(index);
        mismatches += equal_or_both_nan(read(result.values, at), line[static_cast<size_t>(index)]) ? 0 : 1;
      }
      if (!sorted) {
        std::sort(order.begin(), order.end());
        std::sort(got.begin(), got.end());
      }
      mismatches += got == order ? 0 : 1;
    });
    CHECK(mismatches == 0);
  }
}

TEST_CASE("kthvalue, median and mode match a naive loop, ties and NaN included", "[sort][median][reference]") {
  reference::Rng rng(1500);
  const reference::Tolerance exact{0, 0};
  for (int trial = 0; trial < 160; ++trial) {
    const DType dtype = kDtypes[static_cast<size_t>(trial % kDtypes.size())];
    const auto [shape, axis] = random_case(rng);
    const int64_t n = shape[axis];
    const int64_t k = rng.integer(1, n);
    const bool keepdim = rng.chance(0.5);
    const Layout layout = random_layout(rng);
    const Tensor x = random_values(shape, dtype, layout, rng);
    INFO("trial " << trial << ": " << to_string(shape) << " " << dtype_name(dtype) << " " << reference::layout_name(layout)
                  << ", axis " << axis << ", k " << k << (keepdim ? ", keepdim" : ""));
    const Dims axes{axis};
    // kthvalue: the k-th of the stable order.
    const ValuesIndices kth = kthvalue(x, k, axis, keepdim);
    auto kth_index = [k](const std::vector<double>& v) { return static_cast<double>(stable_order(v, false)[static_cast<size_t>(k - 1)]); };
    check_reduction(kth.indices, x, axes, keepdim, kth_index, exact);
    check_reduction(kth.values, x, axes, keepdim, [&](const std::vector<double>& v) { return v[static_cast<size_t>(kth_index(v))]; },
                    exact);
    // median: the lower median, or the first NaN.
    auto median_index = [](const std::vector<double>& v) {
      for (size_t i = 0; i < v.size(); ++i) {
        if (std::isnan(v[i])) return static_cast<double>(i);
      }
      return static_cast<double>(stable_order(v, false)[(v.size() - 1) / 2]);
    };
    const ValuesIndices med = median(x, axis, keepdim);
    check_reduction(med.indices, x, axes, keepdim, median_index, exact);
    check_reduction(med.values, x, axes, keepdim, [&](const std::vector<double>& v) { return v[static_cast<size_t>(median_index(v))]; },
                    exact);
    // mode: count every value; the most frequent, the smallest on equal counts, its last index.
    auto mode_index = [](const std::vector<double>& v) {
      int64_t best = -1, best_count = 0;
      for (size_t i = 0; i < v.size(); ++i) {
        int64_t count = 0, last = 0;
        for (size_t j = 0; j < v.size(); ++j) {
          if (same(v[j], v[i])) ++count, last = static_cast<int64_t>(j);
        }
        if (count > best_count || (count == best_count && ascending(v[i], v[static_cast<size_t>(best)]))) {
          best = last;
          best_count = count;
        }
      }
      return static_cast<double>(best);
    };
    const ValuesIndices mod = mode(x, axis, keepdim);
    check_reduction(mod.indices, x, axes, keepdim, mode_index, exact);
    check_reduction(mod.values, x, axes, keepdim, [&](const std::vector<double>& v) { return v[static_cast<size_t>(mode_index(v))]; },
                    exact);
    if (x.numel() > 0) {
      const std::vector<double> all = reference::elements(x);
      const double expected = all[static_cast<size_t>(median_index(all))];
      CHECK(equal_or_both_nan(median(x).item(), expected));
    }
  }
}

TEST_CASE("sorting a [64, 1000] float32 tensor (the multi-threaded radix path) matches std::stable_sort",
          "[sort][reference][threads]") {
  Generator generator(21);
  const Tensor x = randn({64, 1000}, float32, generator);
  const ValuesIndices result = sort(x, 1);
  const std::vector<float> values = x.to_vector<float>();
  const std::vector<float> sorted_values = result.values.to_vector<float>();
  const std::vector<int64_t> indices = result.indices.to_vector<int64_t>();
  int64_t mismatches = 0;
  for (int64_t row = 0; row < 64; ++row) {
    std::vector<int64_t> order(1000);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return values[static_cast<size_t>(row * 1000 + a)] < values[static_cast<size_t>(row * 1000 + b)]; });
    for (int64_t j = 0; j < 1000; ++j) {
      const size_t at = static_cast<size_t>(row * 1000 + j);
      mismatches += indices[at] == order[static_cast<size_t>(j)] && sorted_values[at] == values[static_cast<size_t>(row * 1000 + order[static_cast<size_t>(j)])] ? 0 : 1;
    }
  }
  CHECK(mismatches == 0);
  // Along the other axis (strided lines) too.
  const ValuesIndices columns = sort(x, 0, true);
  CHECK(equal(columns.values.select(0, 0), amax(x, {0})));
  CHECK(equal(columns.values.select(0, 63), amin(x, {0})));
}
