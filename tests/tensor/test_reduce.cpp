// Reductions: known values, whole-tensor/single/multiple/negative axes, keepdim, ties, stability,
// errors, and every reduction compared with a naive loop on random shapes and layouts.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "reference.hpp"

using namespace nabla;
using namespace nabla::kernels;
using Catch::Contains;
using reference::check_elements;
using reference::check_reduction;
using reference::check_values;
using reference::Index;
using reference::Layout;
using reference::read;

namespace {

const double kInf = std::numeric_limits<double>::infinity();

// 0, 1, ..., 23 as [2, 3, 4].
Tensor iota234(DType dtype = float64) { return arange(0.0, 24.0, 1.0, dtype).reshape({2, 3, 4}); }

Layout random_layout(reference::Rng& rng) {
  return reference::all_layouts[static_cast<size_t>(
      rng.integer(0, static_cast<int64_t>(reference::all_layouts.size()) - 1))];
}

// A random set of axes of an ndim-d tensor, some written negative, in random order. Empty means
// "every axis".
Dims random_axes(int64_t ndim, reference::Rng& rng) {
  std::vector<int64_t> axes;
  for (int64_t i = 0; i < ndim; ++i) {
    if (rng.chance(0.5)) axes.push_back(rng.chance(0.5) ? i - ndim : i);
  }
  std::shuffle(axes.begin(), axes.end(), rng.engine);
  return Dims(axes);
}

int64_t reduced_count(const Shape& shape, const Dims& axes) {
  const std::vector<bool> reduced = reference::reduced_mask(axes, shape.size());
  int64_t count = 1;
  for (int64_t i = 0; i < shape.size(); ++i) {
    if (reduced[static_cast<size_t>(i)]) count *= shape[i];
  }
  return count;
}

struct ReductionCase {
  std::string name;
  std::function<Tensor(const Tensor&, const Dims&, bool)> op;
  std::function<double(const std::vector<double>&)> ref;
  int64_t min_count;  // the reduced groups must hold at least this many elements
};

}  // namespace

// ---- known values

TEST_CASE("sum: whole tensor, single, multiple and negative axes, keepdim", "[reduce]") {
  const Tensor x = iota234();
  const Tensor total = sum(x);
  CHECK(total.dim() == 0);
  CHECK(total.dtype() == float64);
  CHECK(total.item() == 276);
  check_values(sum(x, {}, true), {1, 1, 1}, {276});
  check_values(sum(x, {0, 1, 2}), {}, {276});
  check_values(sum(x, {0}), {3, 4}, {12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34});
  check_values(sum(x, {-1}), {2, 3}, {6, 22, 38, 54, 70, 86});
  check_values(sum(x, {2}), {2, 3}, {6, 22, 38, 54, 70, 86});
  check_values(sum(x, {1}, true), {2, 1, 4}, {12, 15, 18, 21, 48, 51, 54, 57});
  check_values(sum(x, {0, 2}, true), {1, 3, 1}, {60, 92, 124});
  check_values(sum(x, {2, 0}), {3}, {60, 92, 124});
  check_values(sum(x, {-3, -1}), {3}, {60, 92, 124});
  check_values(sum(x.transpose(0, 2), {0}), {3, 2}, {6, 54, 22, 70, 38, 86});
  check_values(sum(scalar_tensor(5)), {}, {5});
  check_values(sum(x.select(0, 1).slice(1, 0, 4, 3), {1}), {3}, {12 + 15, 16 + 19, 20 + 23});
}

TEST_CASE("sum over empty and size-1 axes", "[reduce]") {
  check_values(sum(zeros({2, 0, 3}), {1}), {2, 3}, {0, 0, 0, 0, 0, 0});
  check_values(sum(zeros({0})), {}, {0});
  CHECK(sum(zeros({0, 3}), {1}).shape() == Shape{0});
  CHECK(sum(zeros({0, 3}), {1}, true).shape() == Shape{0, 1});
  check_values(sum(tensor({1, 2, 3}, {3, 1}), {1}), {3}, {1, 2, 3});
  check_values(sum(tensor({1, 2, 3}, {3, 1}), {-1}, true), {3, 1}, {1, 2, 3});
  check_values(sum(tensor({1, 2, 3}, {1, 3, 1}), {0, 2}), {3}, {1, 2, 3});
}

TEST_CASE("sum of integer tensors is exact and does not wrap", "[reduce][dtype]") {
  CHECK(sum(arange(int64_t{5})).item<int64_t>() == 10);
  CHECK(sum(tensor({200, 200, 200}, {3}, uint8)).item<int64_t>() == 600);
  CHECK_FALSE(is_floating(sum(arange(int64_t{5})).dtype()));
  const Tensor big = from_vector(std::vector<int64_t>{(1LL << 53), 1});
  CHECK(sum(big).item<int64_t>() == (1LL << 53) + 1);
}

TEST_CASE("float32 sums accumulate accurately along every layout", "[reduce]") {
  // 0.1f added a million times drifts by ~1% with a naive float accumulator.
  const double tenth = static_cast<double>(0.1f);
  CHECK(sum(full({1000000}, 0.1)).item() == Approx(1e6 * tenth).epsilon(1e-5));
  CHECK(sum(full({1000, 1000}, 0.1), {1}).at<double>({7}) == Approx(1e3 * tenth).epsilon(1e-5));
  // The reduced axis outside the innermost one.
  const Tensor column_sums = sum(full({200000, 3}, 0.1), {0});
  CHECK(column_sums.at<double>({0}) == Approx(2e5 * tenth).epsilon(1e-5));
  CHECK(column_sums.at<double>({2}) == Approx(2e5 * tenth).epsilon(1e-5));
}

TEST_CASE("row sums of every length up to 100 match a naive sum (partial-sum lanes and their tail)", "[reduce]") {
  // Rows of length 1..100: shorter than, equal to and past the 32 partial sums, with every tail.
  for (int64_t length = 1; length <= 100; ++length) {
    std::vector<double> values(static_cast<size_t>(3 * length));
    for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<double>((i * 7919) % 61) - 30.25;
    for (DType dtype : {float32, float64, int32}) {
      const Tensor x = from_vector(values, Shape{3, length}).to(dtype);
      const Tensor row_sums = sum(x, {1});
      for (int64_t row = 0; row < 3; ++row) {
        double expected = 0;
        for (int64_t k = 0; k < length; ++k) expected += x.at<double>({row, k});
        INFO("length " << length << ", " << dtype_name(dtype) << ", row " << row);
        CHECK(row_sums.at<double>({row}) == expected);  // small integers and quarters: every sum is exact
      }
    }
  }
}

TEST_CASE("mean", "[reduce]") {
  const Tensor x = iota234();
  CHECK(mean(x).dim() == 0);
  CHECK(mean(x).item() == 11.5);
  check_values(mean(x, {1}), {2, 4}, {4, 5, 6, 7, 16, 17, 18, 19});
  check_values(mean(x, {-1}, true), {2, 3, 1}, {1.5, 5.5, 9.5, 13.5, 17.5, 21.5});
  check_values(mean(x, {0, 1}), {4}, {10, 11, 12, 13});
  check_values(mean(x.to(float32), {2, 0}), {3}, {7.5, 11.5, 15.5});
  CHECK(mean(x.to(float32)).dtype() == float32);
}

TEST_CASE("var with correction 1 and 0", "[reduce]") {
  const Tensor v = tensor({1, 2, 3, 4}, {4}, float64);
  CHECK(var(v).item() == Approx(5.0 / 3.0));
  CHECK(var(v, {}, false, 1).item() == Approx(5.0 / 3.0));
  CHECK(var(v, {}, false, 0).item() == Approx(1.25));
  const Tensor x = iota234();
  check_values(var(x, {2}), {2, 3}, std::vector<double>(6, 5.0 / 3.0), 1e-12);
  check_values(var(x, {2}, true, 0), {2, 3, 1}, std::vector<double>(6, 1.25), 1e-12);
  check_values(var(x, {0}), {3, 4}, std::vector<double>(12, 72.0), 1e-12);
  check_values(var(x, {0}, false, 0), {3, 4}, std::vector<double>(12, 36.0), 1e-12);
  CHECK(var(x).item() == Approx(50.0));  // 0..23: (24^2 - 1) / 12 = 47.92 population, 50 unbiased
  CHECK(var(x, {}, false, 0).item() == Approx(575.0 / 12.0));
  CHECK(var(x.to(float32), {-1}).dtype() == float32);
  // Constant input: exactly zero, never negative.
  check_values(var(full({5, 3}, 1e4, float32), {0}), {3}, {0, 0, 0});
}

TEST_CASE("logsumexp known values and stability", "[reduce]") {
  const Tensor x = tensor({1, 2, 3}, {3}, float64);
  CHECK(logsumexp(x).item() == Approx(3.0 + std::log(1.0 + std::exp(-1.0) + std::exp(-2.0))));
  CHECK(logsumexp(x).dim() == 0);
  for (DType dtype : {float32, float64}) {
    INFO(dtype_name(dtype));
    // Large inputs: exp(1000) overflows, the shifted form does not.
    CHECK(logsumexp(tensor({1000, 1000}, {2}, dtype)).item() == Approx(1000 + std::log(2.0)));
    CHECK(logsumexp(tensor({-1000, -1000}, {2}, dtype)).item() == Approx(-1000 + std::log(2.0)));
    CHECK(logsumexp(tensor({1000, 0}, {2}, dtype)).item() == Approx(1000));
    const Tensor rows = logsumexp(tensor({1000, 1000, -1000, -1000, 0, 0}, {3, 2}, dtype), {1});
    check_values(rows, {3}, {1000 + std::log(2.0), -1000 + std::log(2.0), std::log(2.0)}, 1e-6);
    check_values(logsumexp(tensor({1000, 1000, -1000, -1000}, {2, 2}, dtype), {-1}, true), {2, 1},
                 {1000 + std::log(2.0), -1000 + std::log(2.0)}, 1e-6);
    // -inf entries contribute nothing; an all -inf slice gives -inf, not NaN.
    check_values(logsumexp(tensor({-kInf, 0}, {2}, dtype)), {}, {0});
    check_values(logsumexp(tensor({-kInf, -kInf}, {2}, dtype)), {}, {-kInf});
    check_values(logsumexp(tensor({-kInf, -kInf, 1, 1}, {2, 2}, dtype), {1}), {2}, {-kInf, 1 + std::log(2.0)});
  }
}

TEST_CASE("amax and amin over axes", "[reduce]") {
  const Tensor x = iota234();
  CHECK(amax(x).item() == 23);
  CHECK(amin(x).item() == 0);
  CHECK(amax(x).dim() == 0);
  check_values(amax(x, {1}), {2, 4}, {8, 9, 10, 11, 20, 21, 22, 23});
  check_values(amin(x, {0, 2}), {3}, {0, 4, 8});
  check_values(amin(x, {-1, 0}, true), {1, 3, 1}, {0, 4, 8});
  check_values(amax(x.transpose(1, 2), {-1}), {2, 4}, {8, 9, 10, 11, 20, 21, 22, 23});
  const Tensor m = tensor({3, -1, 7, 7, 2, -5}, {2, 3}, int64);
  CHECK(amax(m, {1}).dtype() == int64);
  check_values(amax(m, {1}), {2}, {7, 7});
  check_values(amin(m, {0}), {3}, {3, -1, -5});
  CHECK(amax(zeros({0, 3}), {1}).shape() == Shape{0});
}

TEST_CASE("max and min along an axis return values and first indices", "[reduce]") {
  const Tensor t = tensor({1, 3, 3, 2, 2, 0}, {2, 3});
  auto [values, indices] = max(t, 1);
  CHECK(values.dtype() == float32);
  CHECK(indices.dtype() == int64);
  check_values(values, {2}, {3, 2});
  check_values(indices, {2}, {1, 0});  // ties resolve to the first index
  const ValuesIndices low = min(t, 1);
  check_values(low.values, {2}, {1, 0});
  check_values(low.indices, {2}, {0, 2});
  const ValuesIndices down = max(t, 0);
  check_values(down.values, {3}, {2, 3, 3});
  check_values(down.indices, {3}, {1, 0, 0});
  const ValuesIndices down_min = min(t, -2, true);
  check_values(down_min.values, {1, 3}, {1, 2, 0});
  check_values(down_min.indices, {1, 3}, {0, 1, 1});
  check_values(max(t, -1, true).indices, {2, 1}, {1, 0});
  // Over a size-1 axis every index is 0.
  check_values(max(t.unsqueeze(1), 1).indices, {2, 3}, {0, 0, 0, 0, 0, 0});
  check_values(max(t.unsqueeze(1), 1).values, {2, 3}, {1, 3, 3, 2, 2, 0});
  // A non-contiguous input.
  check_values(max(t.t(), 1).indices, {3}, {1, 0, 0});
  check_values(max(t.t(), 0).indices, {2}, {1, 0});
}

TEST_CASE("argmax, argmin and whole-tensor max/min", "[reduce]") {
  const Tensor t = tensor({1, 3, 3, 2, 2, 0}, {2, 3});
  CHECK(argmax(t, 1).dtype() == int64);
  check_values(argmax(t, 1), {2}, {1, 0});
  check_values(argmin(t, 1), {2}, {0, 2});
  check_values(argmax(t, 0, true), {1, 3}, {1, 0, 0});
  check_values(argmin(t, -2), {3}, {0, 1, 1});
  const Tensor flat = argmax(t);
  CHECK(flat.dim() == 0);
  CHECK(flat.dtype() == int64);
  CHECK(flat.item<int64_t>() == 1);                // the first of the two 3s
  CHECK(argmax(t.t()).item<int64_t>() == 2);       // flat index in the view's own order
  CHECK(argmax(tensor({5}, {1})).item<int64_t>() == 0);
  const Tensor largest = max(t);
  CHECK(largest.dim() == 0);
  CHECK(largest.item() == 3);
  CHECK(min(t).item() == 0);
  CHECK(max(tensor({-kInf, -1}, {2})).item() == -1);
}

TEST_CASE("reduction errors name the op, the axes and the shape", "[reduce][errors]") {
  const Tensor x = zeros({2, 3, 4});
  CHECK_THROWS_AS(sum(x, {3}), Error);
  CHECK_THROWS_WITH(sum(x, {3}), Contains("sum") && Contains("3"));
  CHECK_THROWS_WITH(sum(x, {-4}), Contains("sum") && Contains("-4"));
  CHECK_THROWS_WITH(sum(x, {0, 0}), Contains("sum"));
  CHECK_THROWS_WITH(sum(x, {1, -2}), Contains("sum"));  // the same axis written two ways
  CHECK_THROWS_WITH(mean(x, {5}), Contains("mean"));
  CHECK_THROWS_WITH(mean(zeros({3}, int64)), Contains("mean") && Contains("int64"));
  CHECK_THROWS_WITH(var(x, {7}), Contains("var"));
  CHECK_THROWS_WITH(logsumexp(x, {3}), Contains("logsumexp"));
  CHECK_THROWS_WITH(amax(x, {3}), Contains("amax"));
  CHECK_THROWS_WITH(amin(zeros({0})), Contains("amin"));
  CHECK_THROWS_WITH(max(x, 3), Contains("max") && Contains("3"));
  CHECK_THROWS_WITH(max(zeros({2, 0}), 1), Contains("max") && Contains("[2, 0]"));
  CHECK_THROWS_WITH(argmin(zeros({0, 2}), 0), Contains("argmin") && Contains("[0, 2]"));
  CHECK_THROWS_WITH(argmax(zeros({0})), Contains("argmax"));
  CHECK_THROWS_AS(max(zeros({0})), Error);
  CHECK_THROWS_WITH(sum(Tensor()), Contains("sum"));
}

TEST_CASE("sum_to: known values", "[reduce][sum_to]") {
  const Tensor x = iota234();
  check_values(sum_to(x, {3, 1}), {3, 1}, {60, 92, 124});
  check_values(sum_to(x, {4}), {4}, {60, 66, 72, 78});
  check_values(sum_to(x, {1, 4}), {1, 4}, {60, 66, 72, 78});
  check_values(sum_to(x, {2, 1, 1}), {2, 1, 1}, {66, 210});
  check_values(sum_to(x, {}), {}, {276});
  check_values(sum_to(x, {1, 1, 1}), {1, 1, 1}, {276});
  check_values(sum_to(x, {2, 3, 4}), {2, 3, 4}, reference::elements(x));
  check_values(sum_to(tensor({1, 2, 3}, {3, 1}), {3, 1}), {3, 1}, {1, 2, 3});
  check_values(sum_to(zeros({2, 0}), {2, 1}), {2, 1}, {0, 0});
}

TEST_CASE("sum_to refuses shapes x was not broadcast from", "[reduce][sum_to][errors]") {
  const Tensor x = zeros({2, 3});
  CHECK_THROWS_AS(sum_to(x, {4}), Error);
  CHECK_THROWS_WITH(sum_to(x, {4}), Contains("sum_to") && Contains("[2, 3]") && Contains("[4]"));
  CHECK_THROWS_WITH(sum_to(x, {5, 2, 3}), Contains("sum_to") && Contains("[5, 2, 3]"));
  CHECK_THROWS_WITH(sum_to(x, {2, 2}), Contains("sum_to") && Contains("[2, 2]"));
}

// ---- random shapes and layouts against a naive loop

TEST_CASE("reductions match a naive loop on random shapes, axes and layouts", "[reduce][reference]") {
  const std::vector<ReductionCase> cases = {
      {"sum", [](const Tensor& x, const Dims& a, bool k) { return sum(x, a, k); }, reference::ref_sum, 0},
      {"mean", [](const Tensor& x, const Dims& a, bool k) { return mean(x, a, k); }, reference::ref_mean, 1},
      {"var (correction 1)", [](const Tensor& x, const Dims& a, bool k) { return var(x, a, k, 1); },
       [](const std::vector<double>& v) { return reference::ref_var(v, 1); }, 2},
      {"var (correction 0)", [](const Tensor& x, const Dims& a, bool k) { return var(x, a, k, 0); },
       [](const std::vector<double>& v) { return reference::ref_var(v, 0); }, 1},
      {"logsumexp", [](const Tensor& x, const Dims& a, bool k) { return logsumexp(x, a, k); }, reference::ref_logsumexp, 1},
      {"amax", [](const Tensor& x, const Dims& a, bool k) { return amax(x, a, k); }, reference::ref_max, 1},
      {"amin", [](const Tensor& x, const Dims& a, bool k) { return amin(x, a, k); }, reference::ref_min, 1},
  };
  reference::Rng rng(800);
  for (const ReductionCase& c : cases) {
    for (DType dtype : {float32, float64}) {
      int checked = 0;
      for (int trial = 0; checked < 40 && trial < 400; ++trial) {
        const Shape shape = reference::random_shape(rng, 4, /*allow_empty=*/c.min_count == 0);
        const Dims axes = random_axes(shape.size(), rng);
        if (reduced_count(shape, axes) < c.min_count) continue;
        const bool keepdim = rng.chance(0.5);
        const Layout layout = random_layout(rng);
        const Tensor x = reference::random_tensor(shape, dtype, layout, rng, -3, 3);
        INFO(c.name << " trial " << trial << ": " << to_string(shape) << " " << dtype_name(dtype) << " "
                    << reference::layout_name(layout) << ", axes " << to_string(axes)
                    << (keepdim ? ", keepdim" : ""));
        const Tensor result = c.op(x, axes, keepdim);
        CHECK(result.dtype() == dtype);
        check_reduction(result, x, axes, keepdim, c.ref, reference::reduction_tolerance(dtype));
        ++checked;
      }
      CHECK(checked == 40);
    }
  }
}

TEST_CASE("max/min/argmax/argmin along one axis match a naive loop, ties included",
          "[reduce][reference]") {
  reference::Rng rng(900);
  for (int trial = 0; trial < 120; ++trial) {
    const DType dtype = std::vector<DType>{float32, float64, int64}[static_cast<size_t>(trial % 3)];
    Shape shape = reference::random_shape(rng, 4, true);
    if (shape.empty()) shape.push_back(rng.integer(1, 5));
    int64_t axis = rng.integer(0, shape.size() - 1);
    if (shape[axis] == 0) shape[axis] = 3;
    const bool keepdim = rng.chance(0.5);
    const int64_t written_axis = rng.chance(0.5) ? axis - shape.size() : axis;
    const bool integral = trial % 2 == 0;  // small integers: many ties
    const Layout layout = random_layout(rng);
    const Tensor x = reference::random_tensor(shape, dtype, layout, rng, -2, 2, integral);
    INFO("trial " << trial << ": " << to_string(shape) << " " << dtype_name(dtype) << " "
                  << reference::layout_name(layout) << ", axis " << written_axis << (keepdim ? ", keepdim" : ""));
    const Dims axes{axis};
    const reference::Tolerance exact{0, 0};
    const ValuesIndices high = max(x, written_axis, keepdim);
    const ValuesIndices low = min(x, written_axis, keepdim);
    CHECK(high.values.dtype() == dtype);
    CHECK(high.indices.dtype() == int64);
    check_reduction(high.values, x, axes, keepdim, reference::ref_max, exact);
    check_reduction(high.indices, x, axes, keepdim, reference::ref_argmax, exact);
    check_reduction(low.values, x, axes, keepdim, reference::ref_min, exact);
    check_reduction(low.indices, x, axes, keepdim, reference::ref_argmin, exact);
    check_reduction(argmax(x, written_axis, keepdim), x, axes, keepdim, reference::ref_argmax, exact);
    check_reduction(argmin(x, written_axis, keepdim), x, axes, keepdim, reference::ref_argmin, exact);
    if (x.numel() > 0) {
      const std::vector<double> all = reference::elements(x);
      CHECK(argmax(x).item<int64_t>() == static_cast<int64_t>(reference::ref_argmax(all)));
      CHECK(max(x).item() == reference::ref_max(all));
      CHECK(min(x).item() == reference::ref_min(all));
    }
  }
}

TEST_CASE("sum_to matches a naive loop on random broadcasts", "[reduce][sum_to][reference]") {
  reference::Rng rng(1000);
  for (int trial = 0; trial < 60; ++trial) {
    const DType dtype = trial % 2 ? float64 : float32;
    const Shape shape = reference::random_shape(rng, 4, true);
    const Shape target = reference::broadcastable_from(shape, rng);
    const Layout layout = random_layout(rng);
    const Tensor x = reference::random_tensor(shape, dtype, layout, rng);
    INFO("trial " << trial << ": " << to_string(shape) << " -> " << to_string(target) << " "
                  << reference::layout_name(layout));
    // Reference: add every element of x into the target position it broadcasts from.
    const Tensor expected = zeros(target, float64);
    reference::for_each_index(shape, [&](const Index& i) {
      const Index j = reference::broadcast_index(i, target);
      reference::write(expected, j, read(expected, j) + read(x, i));
    });
    const Tensor result = sum_to(x, target);
    CHECK(result.dtype() == dtype);
    check_elements(result, target, [&](const Index& j) { return read(expected, j); },
                   reference::reduction_tolerance(dtype));
  }
}

TEST_CASE("large reductions (the multi-threaded path) match a naive loop", "[reduce][reference][threads]") {
  reference::Rng rng(1100);
  const int saved = get_num_threads();
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    INFO("threads " << threads);
    const Tensor x = reference::random_tensor({257, 301}, float64, Layout::transposed, rng);
    check_reduction(sum(x, {0}), x, {0}, false, reference::ref_sum, reference::reduction_tolerance(float64));
    check_reduction(sum(x, {1}, true), x, {1}, true, reference::ref_sum, reference::reduction_tolerance(float64));
    check_reduction(amax(x, {0}), x, {0}, false, reference::ref_max, {0, 0});
    check_reduction(argmin(x, 1), x, {1}, false, reference::ref_argmin, {0, 0});
    check_reduction(logsumexp(x, {1}), x, {1}, false, reference::ref_logsumexp,
                    reference::reduction_tolerance(float64));
    const Tensor y = reference::random_tensor({64, 300, 3}, float32, Layout::contiguous, rng);
    check_reduction(sum(y, {1}), y, {1}, false, reference::ref_sum, reference::reduction_tolerance(float32));
    check_reduction(var(y, {0, 2}), y, {0, 2}, false,
                    [](const std::vector<double>& v) { return reference::ref_var(v, 1); },
                    reference::reduction_tolerance(float32));
  }
  set_num_threads(saved);
}
