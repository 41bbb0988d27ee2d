// The fused cross-entropy kernels against the formula written out in double, and their errors.
#include <nabla/tensor.hpp>

#include "reference.hpp"

using namespace nabla;
using namespace nabla::kernels;
using Catch::Matchers::Contains;

namespace {

// Both kernels on random [rows, classes] logits against the formulas evaluated in double.
void check_cross_entropy_rows(reference::Rng& rng, DType dtype, double eps, int64_t rows, int64_t classes) {
  CAPTURE(dtype, eps, rows, classes);
  Tensor x = Tensor::empty({rows, classes}, dtype);
  Tensor target = Tensor::empty({rows}, int64);
  Tensor grad = Tensor::empty({rows}, dtype);
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < classes; ++j) reference::write(x, {i, j}, rng.uniform(-30, 30));
    reference::write(target, {i}, static_cast<double>(rng.integer(0, classes - 1)));
    reference::write(grad, {i}, rng.uniform(-2, 2));
  }
  auto lse = [&](int64_t i) {
    double top = -1e300, total = 0;
    for (int64_t j = 0; j < classes; ++j) top = std::max(top, reference::read(x, {i, j}));
    for (int64_t j = 0; j < classes; ++j) total += std::exp(reference::read(x, {i, j}) - top);
    return std::log(total) + top;
  };
  const reference::Tolerance tolerance = reference::reduction_tolerance(dtype);
  reference::check_elements(cross_entropy_rows(x, target, eps), {rows}, [&](const reference::Index& i) {
    const int64_t t = static_cast<int64_t>(reference::read(target, {i[0]}));
    double mean = 0;
    for (int64_t j = 0; j < classes; ++j) mean += reference::read(x, {i[0], j}) / classes;
    return lse(i[0]) - (1 - eps) * reference::read(x, {i[0], t}) - eps * mean;
  }, tolerance);
  reference::check_elements(cross_entropy_rows_backward(x, target, grad, eps), {rows, classes},
                            [&](const reference::Index& i) {
    const int64_t t = static_cast<int64_t>(reference::read(target, {i[0]}));
    const double q = eps / classes + (i[1] == t ? 1 - eps : 0.0);
    return (std::exp(reference::read(x, i) - lse(i[0])) - q) * reference::read(grad, {i[0]});
  }, tolerance);
}

}  // namespace

TEST_CASE("cross_entropy_rows matches logsumexp minus the smoothed target score", "[loss]") {
  reference::Rng rng(4);
  for (DType dtype : {float64, float32}) {
    for (double eps : {0.0, 0.1}) {
      // The kernels take exponentials 1024 logits at a time: one block, many blocks, rows wider than one.
      check_cross_entropy_rows(rng, dtype, eps, 37, 7);
      check_cross_entropy_rows(rng, dtype, eps, 300, 11);
      check_cross_entropy_rows(rng, dtype, eps, 3, 1500);
    }
  }
}

TEST_CASE("cross_entropy_rows reduced to a mean or sum equals the reduced per-row values", "[loss]") {
  reference::Rng rng(9);
  for (DType dtype : {float64, float32}) {
    CAPTURE(dtype);
    const int64_t rows = 13, classes = 5;
    Tensor x = Tensor::empty({rows, classes}, dtype);
    Tensor target = Tensor::empty({rows}, int64);
    for (int64_t i = 0; i < rows; ++i) {
      for (int64_t j = 0; j < classes; ++j) reference::write(x, {i, j}, rng.uniform(-5, 5));
      reference::write(target, {i}, static_cast<double>(rng.integer(0, classes - 1)));
    }
    const std::vector<double> per_row = reference::elements(cross_entropy_rows(x, target, 0.1));
    double total = 0;
    for (double value : per_row) total += value;
    const double tolerance = dtype == float64 ? 1e-12 : 1e-5;
    reference::check_values(cross_entropy_rows(x, target, 0.1, Reduction::sum), {}, {total}, tolerance);
    reference::check_values(cross_entropy_rows(x, target, 0.1, Reduction::mean), {}, {total / rows}, tolerance);
    // The reduced loss's gradient g is shared out: g to every row for a sum, g / N for a mean.
    const double g = 0.75;
    const Tensor summed = cross_entropy_rows_backward(x, target, full({}, g, dtype), 0.1, Reduction::sum);
    const Tensor averaged = cross_entropy_rows_backward(x, target, full({1}, g, dtype), 0.1, Reduction::mean);
    reference::check_values(summed, {rows, classes},
                            reference::elements(cross_entropy_rows_backward(x, target, full({rows}, g, dtype), 0.1)),
                            tolerance);
    reference::check_values(averaged, {rows, classes},
                            reference::elements(cross_entropy_rows_backward(x, target, full({rows}, g / rows, dtype), 0.1)),
                            tolerance);
  }
  // The mean of no rows is NaN (0 / 0), their sum 0.
  CHECK(std::isnan(cross_entropy_rows(zeros({0, 3}), zeros({0}, int64), 0.0, Reduction::mean).item()));
  CHECK(cross_entropy_rows(zeros({0, 3}), zeros({0}, int64), 0.0, Reduction::sum).item() == 0.0);
}

TEST_CASE("cross_entropy_rows of a known row, and of extreme logits", "[loss]") {
  // logits [0, ln 3]: softmax [1/4, 3/4]; loss for class 1 = -ln(3/4).
  const Tensor x = tensor({0.0, std::log(3.0)}, {1, 2}, float64);
  const Tensor target = tensor({1}, {1}, int64);
  reference::check_values(cross_entropy_rows(x, target), {1}, {-std::log(0.75)}, 1e-12);
  reference::check_values(cross_entropy_rows_backward(x, target, ones({1}, float64)), {1, 2}, {0.25, -0.25}, 1e-12);
  // Huge logits do not overflow (shifted by the row max).
  const Tensor big = tensor({1000.0, 0.0}, {1, 2});
  reference::check_values(cross_entropy_rows(big, tensor({0}, {1}, int64)), {1}, {0.0}, 1e-6);
}

TEST_CASE("cross_entropy_rows refuses bad targets and shapes", "[loss][errors]") {
  const Tensor x = zeros({3, 4});
  CHECK_THROWS_WITH(cross_entropy_rows(x, tensor({0, 4, 1}, {3}, int64)),
                    Contains("target contains class 4, but the scores have 4 classes (valid: 0 to 3); first at row 1"));
  CHECK_THROWS_WITH(cross_entropy_rows(x, tensor({0, -1, 1}, {3}, int64)), Contains("class -1"));
  CHECK_THROWS_WITH(cross_entropy_rows(x, zeros({3})), Contains("int64 class indices of shape [3]"));
  CHECK_THROWS_WITH(cross_entropy_rows(zeros({3, 4, 1}), zeros({3}, int64)), Contains("[N, C]"));
  CHECK_THROWS_WITH(cross_entropy_rows_backward(x, zeros({3}, int64), zeros({2})), Contains("one value per row"));
  CHECK_THROWS_WITH(cross_entropy_rows_backward(x, zeros({3}, int64), zeros({3}), 0.0, Reduction::mean),
                    Contains("grad must be float32 of shape [] (the reduced loss's gradient), got float32 [3]"));
}
