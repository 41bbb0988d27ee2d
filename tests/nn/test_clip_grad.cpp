// clip_grad_norm_ and clip_grad_value_ against torch.nn.utils: the total norm and the clipped
// gradients for every kind of norm. The expected values were computed with PyTorch 1.13 by
// tests/nn/reference/training_reference.py and pasted here as literals.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "nabla/nn.hpp"

using namespace nabla;
using Catch::Contains;

namespace {

struct Parameters {
  Tensor a = zeros({3}, float64).requires_grad_();
  Tensor b = zeros({2, 2}, float64).requires_grad_();
  Tensor c = zeros({4}, float64).requires_grad_();  // no gradient: skipped
  Parameters() {
    a.set_grad(Tensor(from_vector(std::vector<double>{0.5, -1.5, 2.0})));
    b.set_grad(Tensor(from_vector(std::vector<double>{0.25, -3.0, 1.0, 0.75}, {2, 2})));
  }
  std::vector<Tensor> all() const { return {a, b, c}; }
};

void check_values(const Tensor& actual, const std::vector<double>& expected) {
  const std::vector<double> values = actual.to_vector<double>();
  REQUIRE(values.size() == expected.size());
  for (size_t k = 0; k < values.size(); ++k) {
    INFO("element " << k);
    CHECK(values[k] == Approx(expected[k]).epsilon(1e-12).margin(1e-15));
  }
}

constexpr double kInf = std::numeric_limits<double>::infinity();

}  // namespace

TEST_CASE("clip_grad_norm_ follows torch for every norm", "[clip_grad][torch]") {
  struct Case {
    double norm_type, total;
    std::vector<double> a, b;
  };
  // torch.nn.utils.clip_grad_norm_([a, b, c], max_norm=1.5, norm_type=p)
  const std::vector<Case> cases = {
      {2.0, 4.138236339311712, {0.18123658420344324, -0.5437097526103297, 0.724946336813773},
       {0.09061829210172162, -1.0874195052206594, 0.3624731684068865, 0.27185487630516486}},
      {1.0, 9.0, {0.08333332407407512, -0.24999997222222536, 0.3333332962963005},
       {0.04166666203703756, -0.49999994444445073, 0.16666664814815024, 0.12499998611111268}},
      {kInf, 3.0, {0.24999991666669444, -0.7499997500000833, 0.9999996666667778},
       {0.12499995833334722, -1.4999995000001667, 0.4999998333333889, 0.37499987500004167}},
      {3.0, 3.41816973988146, {0.21941560474126856, -0.6582468142238057, 0.8776624189650742},
       {0.10970780237063428, -1.3164936284476114, 0.4388312094825371, 0.32912340711190285}},
      {0.5, 55.4152415748235, {0.01353418238650359, -0.04060254715951077, 0.05413672954601436},
       {0.006767091193251795, -0.08120509431902154, 0.02706836477300718, 0.020301273579755384}},
      // p = 0 counts non-zeros, and the norm of the two per-gradient counts counts them again: 2.
      {0.0, 2.0, {0.37499981250009373, -1.1249994375002812, 1.499999250000375},
       {0.18749990625004687, -2.2499988750005624, 0.7499996250001875, 0.5624997187501406}},
      // -inf: the smallest |g|, 0.25, is below max_norm: nothing changes.
      {-kInf, 0.25, {0.5, -1.5, 2.0}, {0.25, -3.0, 1.0, 0.75}},
  };
  for (const Case& c : cases) {
    INFO("norm_type " << c.norm_type);
    Parameters p;
    const double total = nn::utils::clip_grad_norm_(p.all(), 1.5, c.norm_type);
    CHECK(total == Approx(c.total).epsilon(1e-12));
    check_values(p.a.grad(), c.a);
    check_values(p.b.grad(), c.b);
    CHECK_FALSE(p.c.grad().defined());
  }
}

TEST_CASE("clip_grad_norm_: below max_norm nothing changes, and it returns the norm", "[clip_grad]") {
  Parameters p;
  CHECK(nn::utils::clip_grad_norm_(p.a, 100.0) == Approx(2.5495097567963922).epsilon(1e-14));
  CHECK(p.a.grad().to_vector<double>() == std::vector<double>{0.5, -1.5, 2.0});
  // no gradients at all: 0, as torch's tensor(0.)
  Tensor none = zeros({2}).requires_grad_();
  CHECK(nn::utils::clip_grad_norm_(std::vector<Tensor>{none}, 1.0) == 0.0);
}

TEST_CASE("clip_grad_norm_: float32 gradients, the clipped norm is max_norm", "[clip_grad]") {
  manual_seed(5);
  Tensor w = zeros({64, 32}).requires_grad_(), v = zeros({32}).requires_grad_();
  w.set_grad(Tensor(randn({64, 32})));
  v.set_grad(Tensor(randn({32})));
  const double before = nn::utils::clip_grad_norm_({w, v}, 0.5);
  CHECK(before > 0.5);
  const double after = nn::utils::clip_grad_norm_({w, v}, 1e9);
  CHECK(after == Approx(0.5 * before / (before + 1e-6)).epsilon(1e-6));
  CHECK(w.grad().dtype() == float32);
}

TEST_CASE("clip_grad_norm_: non-finite norms, with and without error_if_nonfinite", "[clip_grad]") {
  Tensor p = zeros({2}, float64).requires_grad_();
  p.set_grad(Tensor(from_vector(std::vector<double>{1.0, std::numeric_limits<double>::infinity()})));
  // torch's message: "The total norm of order 2.0 for gradients from `parameters` is non-finite, ..."
  CHECK_THROWS_WITH(nn::utils::clip_grad_norm_(p, 1.0, 2.0, true),
                    Contains("clip_grad_norm_") && Contains("total norm of order 2") && Contains("non-finite") &&
                        Contains("error_if_nonfinite = false"));
  CHECK(p.grad().to_vector<double>()[0] == 1.0);  // refused: untouched
  // without the flag, as torch: the coefficient is 0, so inf * 0 is NaN and 1 * 0 is 0
  CHECK(std::isinf(nn::utils::clip_grad_norm_(p, 1.0)));
  CHECK(p.grad().to_vector<double>()[0] == 0.0);
  CHECK(std::isnan(p.grad().to_vector<double>()[1]));
  // a NaN norm (the max norm too) makes every gradient NaN
  p.set_grad(Tensor(from_vector(std::vector<double>{1.0, std::nan("")})));
  CHECK(std::isnan(nn::utils::clip_grad_norm_(p, 1.0, nn::utils::inf)));
  CHECK(std::isnan(p.grad().to_vector<double>()[0]));
}

TEST_CASE("clip_grad_value_ clamps every element", "[clip_grad]") {
  Parameters p;
  nn::utils::clip_grad_value_(p.all(), 1.0);
  CHECK(p.a.grad().to_vector<double>() == std::vector<double>{0.5, -1.0, 1.0});
  CHECK(p.b.grad().to_vector<double>() == std::vector<double>{0.25, -1.0, 1.0, 0.75});
  CHECK_FALSE(p.c.grad().defined());
  CHECK_THROWS_WITH(nn::utils::clip_grad_value_(p.a, -1.0), Contains("clip_value") && Contains("-1"));
}
