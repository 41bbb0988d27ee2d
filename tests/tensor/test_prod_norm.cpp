// prod, std, norm, all and any: known values (PyTorch's where they are special: NaN, empty, the
// dtypes of results), errors, and each against a naive loop on random shapes, axes and layouts.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "reference.hpp"

using namespace nabla;
using namespace nabla::kernels;
using Catch::Contains;
using reference::check_reduction;
using reference::check_values;
using reference::Layout;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

Layout random_layout(reference::Rng& rng) {
  return reference::all_layouts[static_cast<size_t>(rng.integer(0, static_cast<int64_t>(reference::all_layouts.size()) - 1))];
}

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

double ref_prod(const std::vector<double>& v) {
  long double total = 1;
  for (double x : v) total *= x;
  return static_cast<double>(total);
}

double ref_norm(const std::vector<double>& v, double p) {
  if (std::isinf(p)) {
    double best = p > 0 ? 0.0 : kInf;
    for (double x : v) {
      if (std::isnan(x)) return kNaN;
      best = p > 0 ? std::max(best, std::abs(x)) : std::min(best, std::abs(x));
    }
    return best;
  }
  long double total = 0;
  for (double x : v) total += p == 0 ? (x != 0) : std::pow(static_cast<long double>(std::abs(x)), p);
  return p == 0 ? static_cast<double>(total) : static_cast<double>(std::pow(total, 1.0L / p));
}

Tensor iota234() { return arange(1.0, 25.0, 1.0, float64).reshape({2, 3, 4}); }

}  // namespace

TEST_CASE("prod: all elements and along an axis", "[reduce][prod]") {
  const Tensor x = tensor({3, 1, 2, 5, 4, 1}, {2, 3}, float64);
  CHECK(prod(x).dim() == 0);
  CHECK(prod(x).item() == 120);
  check_values(prod(x, 1), {2}, {6, 20});
  check_values(prod(x, 0), {3}, {15, 4, 2});
  check_values(prod(x, -1, true), {2, 1}, {6, 20});
  check_values(prod(x.t(), 1), {3}, {15, 4, 2});
  check_values(prod(iota234(), 1), {2, 4}, {1 * 5 * 9, 2 * 6 * 10, 3 * 7 * 11, 4 * 8 * 12, 13 * 17 * 21, 14 * 18 * 22,
                                           15 * 19 * 23, 16 * 20 * 24});
  check_values(prod(scalar_tensor(3)), {}, {3});
  check_values(prod(scalar_tensor(3), 0), {}, {3});
  // torch.prod(torch.tensor([])) = 1, torch.prod(torch.zeros(2, 0), 1) = [1, 1]
  check_values(prod(zeros({0})), {}, {1});
  check_values(prod(zeros({2, 0}), 1), {2}, {1, 1});
  CHECK(prod(zeros({0, 3}), 1).shape() == Shape{0});
  CHECK(std::isnan(prod(tensor({1, kNaN}, {2})).item()));
}

TEST_CASE("prod of integers is int64 and wraps as int64 does", "[reduce][prod][dtype]") {
  CHECK(prod(tensor({255, 255, 2}, {3}, uint8)).dtype() == int64);
  CHECK(prod(tensor({255, 255, 2}, {3}, uint8)).item<int64_t>() == 130050);
  CHECK(prod(arange(1.0, 21.0, 1.0, int64)).item<int64_t>() == 2432902008176640000LL);  // 20!
  CHECK(prod(tensor({1, 2, 3, 4}, {2, 2}, int64), 1).to_vector<int64_t>() == std::vector<int64_t>{2, 12});
  CHECK(prod(ones({3}, float32)).dtype() == float32);
  // float32 multiplies in double: a thousand factors near 1 keep float32 accuracy.
  CHECK(prod(full({1000}, 1.001)).item() == Approx(std::pow(static_cast<double>(1.001f), 1000)).epsilon(1e-6));
}

TEST_CASE("std: known values, correction, dtypes", "[reduce][std]") {
  const Tensor v = tensor({1, 2, 3, 4}, {4}, float64);
  CHECK(nabla::kernels::std(v).item() == Approx(std::sqrt(5.0 / 3.0)));
  CHECK(nabla::kernels::std(v, {}, false, 0).item() == Approx(std::sqrt(1.25)));
  check_values(nabla::kernels::std(iota234(), {2}, true), {2, 3, 1}, std::vector<double>(6, std::sqrt(5.0 / 3.0)), 1e-12);
  check_values(nabla::kernels::std(full({3, 2}, 7.0, float32), {0}), {2}, {0, 0});
  CHECK(nabla::kernels::std(ones({3}, float32)).dtype() == float32);
}

TEST_CASE("norm: every p, axes, keepdim, NaN", "[reduce][norm]") {
  const Tensor v = tensor({3, -4, 0}, {3}, float64);
  CHECK(norm(v).item() == Approx(5));
  CHECK(norm(v, 2.0).item() == Approx(5));
  CHECK(norm(v, 1.0).item() == Approx(7));
  CHECK(norm(v, kInf).item() == 4);
  CHECK(norm(v, -kInf).item() == 0);
  CHECK(norm(v, 0.0).item() == 2);
  CHECK(norm(v, 3.0).item() == Approx(std::cbrt(27.0 + 64.0)));
  CHECK(norm(v, 0.5).item() == Approx(std::pow(std::sqrt(3.0) + 2.0, 2.0)));
  // torch.norm(torch.tensor([1., -2, 0]), -1) = 0 and torch.norm(torch.tensor([1., -2, 3]), -2) = 0.8571
  CHECK(norm(tensor({1, -2, 0}, {3}, float64), -1.0).item() == 0);
  CHECK(norm(tensor({1, -2, 3}, {3}, float64), -2.0).item() == Approx(0.857142857).epsilon(1e-6));
  const Tensor x = iota234();
  check_values(norm(x, 1.0, {1}), {2, 4}, {15, 18, 21, 24, 51, 54, 57, 60});
  check_values(norm(x, kInf, {0, 2}, true), {1, 3, 1}, {16, 20, 24});
  check_values(norm(x, "fro", {0, 1}), {4},
               {std::sqrt(1. + 25 + 81 + 169 + 289 + 441), std::sqrt(4. + 36 + 100 + 196 + 324 + 484),
                std::sqrt(9. + 49 + 121 + 225 + 361 + 529), std::sqrt(16. + 64 + 144 + 256 + 400 + 576)},
               1e-12);
  CHECK(norm(x, "fro").item() == Approx(norm(x).item()));
  CHECK(norm(ones({2}, float32)).dtype() == float32);
  CHECK(std::isnan(norm(tensor({1, kNaN}, {2}), kInf).item()));
  CHECK(std::isnan(norm(tensor({1, kNaN}, {2})).item()));
  CHECK(norm(zeros({0})).item() == 0);
}

TEST_CASE("all and any: truth values in the comparisons' dtype", "[reduce][logic]") {
  const Tensor x = tensor({1, 0, 2, 3, 4, 5}, {2, 3});
  const DType truth = eq(x, x).dtype();
  CHECK(all(x).dtype() == truth);
  CHECK(any(x).dtype() == truth);
  CHECK(all(x).item() == 0);
  CHECK(any(x).item() == 1);
  check_values(all(x, {1}), {2}, {0, 1});
  check_values(any(x, {0}, true), {1, 3}, {1, 1, 1});
  check_values(all(x, {-2}), {3}, {1, 0, 1});
  check_values(any(zeros({2, 2}), {1}), {2}, {0, 0});
  // NaN is true; an empty all is true and an empty any false (as torch.all/torch.any).
  CHECK(all(tensor({kNaN}, {1})).item() == 1);
  CHECK(any(tensor({kNaN}, {1})).item() == 1);
  CHECK(all(zeros({0})).item() == 1);
  CHECK(any(zeros({0})).item() == 0);
  check_values(all(zeros({2, 0}), {1}), {2}, {1, 1});
  // torch.all of a uint8 tensor is uint8.
  CHECK(all(tensor({1, 2}, {2}, uint8)).dtype() == uint8);
  CHECK(any(tensor({0, 2}, {2}, int64)).item() == 1);
}

TEST_CASE("prod, std, norm, all and any match a naive loop on random shapes, axes and layouts",
          "[reduce][reference]") {
  reference::Rng rng(1900);
  for (int trial = 0; trial < 240; ++trial) {
    const DType dtype = trial % 2 ? float32 : float64;
    const Shape shape = reference::random_shape(rng, 4, true);
    const Dims axes = random_axes(shape.size(), rng);
    const bool keepdim = rng.chance(0.5);
    const Layout layout = random_layout(rng);
    const Tensor x = reference::random_tensor(shape, dtype, layout, rng, -2, 2, /*integral=*/trial % 3 == 0);
    const int64_t count = reduced_count(shape, axes);
    INFO("trial " << trial << ": " << to_string(shape) << " " << dtype_name(dtype) << " " << reference::layout_name(layout)
                  << ", axes " << to_string(axes) << (keepdim ? ", keepdim" : ""));
    const reference::Tolerance tolerance = reference::reduction_tolerance(dtype);
    for (double p : {2.0, 1.0, 3.0, 0.5, 0.0}) {
      INFO("p " << p);
      check_reduction(norm(x, p, axes, keepdim), x, axes, keepdim, [p](const std::vector<double>& v) { return ref_norm(v, p); },
                      tolerance);
    }
    if (count > 0) {
      for (double p : {kInf, -kInf}) {
        check_reduction(norm(x, p, axes, keepdim), x, axes, keepdim,
                        [p](const std::vector<double>& v) { return ref_norm(v, p); }, reference::Tolerance{0, 0});
      }
    }
    if (count > 1) {
      check_reduction(nabla::kernels::std(x, axes, keepdim), x, axes, keepdim,
                      [](const std::vector<double>& v) { return std::sqrt(reference::ref_var(v, 1)); }, tolerance);
    }
    auto truth = [](bool every) {
      return [every](const std::vector<double>& v) {
        for (double x : v) {
          if ((x != 0) != every) return every ? 0.0 : 1.0;
        }
        return every ? 1.0 : 0.0;
      };
    };
    check_reduction(all(x, axes, keepdim), x, axes, keepdim, truth(true), reference::Tolerance{0, 0});
    check_reduction(any(x, axes, keepdim), x, axes, keepdim, truth(false), reference::Tolerance{0, 0});
    // prod along each axis.
    if (x.dim() > 0) {
      const int64_t axis = rng.integer(0, x.dim() - 1);
      check_reduction(prod(x, axis, keepdim), x, Dims{axis}, keepdim, ref_prod, tolerance);
    }
    check_reduction(prod(x), x, {}, false, ref_prod, tolerance);
  }
}

TEST_CASE("large products (the multi-threaded paths) match a naive loop", "[reduce][prod][threads]") {
  reference::Rng rng(2000);
  for (const Shape& shape : {Shape{64, 1000}, Shape{1000, 64}, Shape{3, 3000, 5}}) {
    const Tensor x = reference::random_tensor(shape, float64, Layout::contiguous, rng, 0.999, 1.001);
    for (int64_t axis = 0; axis < shape.size(); ++axis) {
      INFO(to_string(shape) << ", axis " << axis);
      check_reduction(prod(x, axis), x, Dims{axis}, false, ref_prod, reference::Tolerance{1e-12, 1e-12});
    }
  }
}

TEST_CASE("prod, std, norm, all and any errors name the op and what is wrong", "[reduce][errors]") {
  const Tensor x = zeros({2, 3});
  CHECK_THROWS_WITH(prod(x, 2), Contains("prod") && Contains("2"));
  CHECK_THROWS_WITH(prod(Tensor()), Contains("prod") && Contains("undefined"));
  CHECK_THROWS_WITH(nabla::kernels::std(x, {3}), Contains("std") && Contains("3"));
  CHECK_THROWS_WITH(nabla::kernels::std(tensor({1}, {1})), Contains("std") && Contains("degrees of freedom"));
  CHECK_THROWS_WITH(nabla::kernels::std(zeros({3}, int64)), Contains("std") && Contains("int64"));
  CHECK_THROWS_WITH(norm(zeros({3}, int64)), Contains("norm") && Contains("int64") && Contains("float"));
  CHECK_THROWS_WITH(norm(x, 2.0, {0, 0}), Contains("norm") && Contains("twice"));
  CHECK_THROWS_WITH(norm(x, 2.0, {-3}), Contains("norm") && Contains("-3"));
  CHECK_THROWS_WITH(norm(x, "nuc"), Contains("norm") && Contains("nuc"));
  CHECK_THROWS_WITH(norm(x, "max"), Contains("norm") && Contains("max") && Contains("fro"));
  CHECK_THROWS_WITH(norm(zeros({2, 3, 4}), "fro", {0, 1, 2}), Contains("norm") && Contains("fro") && Contains("2 axes"));
  CHECK_THROWS_WITH(norm(zeros({0, 3}), kInf, {0}), Contains("norm") && Contains("empty") && Contains("[0, 3]"));
  CHECK_THROWS_WITH(all(x, {2}), Contains("all") && Contains("2"));
  CHECK_THROWS_WITH(any(x, {1, -1}), Contains("any"));
}
