#pragma once
// The gradcheck table's machinery, shared by the files that hold its rows: samplers (where an op
// is evaluated, away from its kinks), rows (an op, a variant, a function, its inputs and a
// tolerance), and the runner. test_gradcheck_table.cpp holds the core ops' rows and the coverage
// test; each further area of ops keeps its rows in a gradcheck_rows_<area>.cpp of its own that
// registers a builder (register_rows) and runs its group in a TEST_CASE of its own.
#include <catch2/catch.hpp>
#include <nabla/autograd.hpp>
#include <nabla/autograd/detail/adjoints.hpp>

#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace gradcheck_table {

using namespace nabla;
using autograd::GradcheckOptions;
using autograd::GradcheckResult;

using Args = std::vector<Tensor>;
using Sampler = std::function<Tensor(const Shape&, Generator&)>;

// ---- samplers: where each op is evaluated, chosen so a +-eps step never crosses a kink.

inline Tensor normal_values(const Shape& shape, Generator& generator) { return randn(shape, float64, generator); }

// In [0.5, 2]: the domain of log, sqrt, pow with a fractional exponent, and safe denominators.
inline Tensor positive(const Shape& shape, Generator& generator) { return uniform(shape, 0.5, 2.0, float64, generator); }

// |x| in [0.5, 2] with a random sign: away from the kinks of relu, abs, sign and from 1/0.
inline Tensor away_from_zero(const Shape& shape, Generator& generator) {
  const Tensor magnitude = uniform(shape, 0.5, 2.0, float64, generator);
  const Tensor sign = sub(mul(bernoulli(shape, 0.5, float64, generator), 2.0), 1.0);
  return mul(magnitude, sign);
}

// In [-0.3, 0.3]: paired with away_from_zero, the two operands of maximum/minimum never tie.
inline Tensor near_zero(const Shape& shape, Generator& generator) { return uniform(shape, -0.3, 0.3, float64, generator); }

// In [-0.9, 0.9): inside the domains of asin and acos and away from tan's poles (issue 13: math).
inline Tensor inside_unit(const Shape& shape, Generator& generator) { return uniform(shape, -0.9, 0.9, float64, generator); }

// All elements at least 0.25 apart in a random order, so max/min/pooling never see a tie.
inline Tensor distinct(const Shape& shape, Generator& generator) {
  const int64_t n = shape_numel(shape);
  const Tensor rank = randperm(n, generator).to(float64);
  const Tensor jitter = uniform({n}, 0.0, 0.05, float64, generator);
  return add(mul(sub(rank, 0.5 * static_cast<double>(n - 1)), 0.3), jitter).reshape(shape);
}

// Inside (-0.8, 0.8) or outside +-1.2: at least 0.2 from clamp(-1, 1)'s bounds.
inline Tensor away_from_unit_bounds(const Shape& shape, Generator& generator) {
  const Tensor inside = uniform(shape, -0.8, 0.8, float64, generator);
  const Tensor outside = away_from_zero(shape, generator);  // |x| in [0.5, 2]
  const Tensor pushed_out = add(outside, mul(sign(outside), 0.7));  // |x| in [1.2, 2.7]
  return where(gt(uniform(shape, 0.0, 1.0, float64, generator), 0.5), inside, pushed_out);
}

// issue 13, activations: in [-8, 8] and at least 0.2 from every integer, so away from the kinks of
// relu6 (0, 6), hardsigmoid and hardswish (-3, 3), while reaching their flat sides.
inline Tensor off_integers(const Shape& shape, Generator& generator) {
  const std::vector<double> spread = uniform(shape, -8.0, 8.0, float64, generator).to_vector<double>();
  const std::vector<double> fraction = uniform(shape, 0.2, 0.8, float64, generator).to_vector<double>();
  std::vector<double> values(spread.size());
  for (size_t i = 0; i < values.size(); ++i) values[i] = std::floor(spread[i]) + fraction[i];
  return from_vector(values, shape);
}

// Exponents for pow(tensor, tensor), including negative and fractional ones.
inline Tensor exponents(const Shape& shape, Generator& generator) { return uniform(shape, -1.5, 1.5, float64, generator); }

// The same values laid out transposed in memory: the input tensor itself is non-contiguous.
inline Sampler transposed(Sampler inner) {
  return [inner](const Shape& shape, Generator& generator) {
    Shape swapped = shape;
    std::swap(swapped[swapped.size() - 1], swapped[swapped.size() - 2]);
    return inner(swapped, generator).transpose(-1, -2);
  };
}

// ---- the table

struct Input {
  Shape shape;
  Sampler sample = normal_values;
};

struct Tolerance {
  double eps = 1e-6;
  double atol = 1e-5;
  double rtol = 1e-3;
};

struct OpCase {
  std::string group;    // the TEST_CASE that runs it
  std::string op;       // the function of functions.hpp this row checks
  std::string variant;  // what this row adds: broadcasting, a layout, an axis, ...
  autograd::DifferentiableFunction fn;
  std::vector<Input> inputs;
  Tolerance tolerance{};
  bool zero_gradient = false;  // the op's gradient is 0 everywhere (sign, pow(x, 0))

  std::string label() const { return variant.empty() ? op : op + " (" + variant + ")"; }
};

class Table {
 public:
  void group(std::string name) { group_ = std::move(name); }
  OpCase& row(std::string op, std::string variant, autograd::DifferentiableFunction fn, std::vector<Input> inputs,
              Tolerance tolerance = {}) {
    rows_.push_back(OpCase{group_, std::move(op), std::move(variant), std::move(fn), std::move(inputs), tolerance});
    return rows_.back();
  }
  const std::vector<OpCase>& rows() const { return rows_; }

 private:
  std::string group_;
  std::vector<OpCase> rows_;
};

// Row builders of other files: each adds first-order rows to `rows` and second-order rows to
// `second_order`, in groups of its own. Register one from a file with
//   namespace { const bool registered = gradcheck_table::register_rows(&my_rows); }
using RowBuilder = void (*)(Table& rows, Table& second_order);
inline std::vector<RowBuilder>& row_builders() {
  static std::vector<RowBuilder> builders;
  return builders;
}
inline bool register_rows(RowBuilder builder) {
  row_builders().push_back(builder);
  return true;
}

// Every row: the core table's and every registered builder's (defined in test_gradcheck_table.cpp).
std::vector<OpCase> build_op_table();
std::vector<OpCase> build_gradgrad_table();

inline std::vector<Tensor> sample_inputs(const OpCase& row, uint64_t seed) {
  Generator generator(seed);
  std::vector<Tensor> inputs;
  for (const Input& input : row.inputs) inputs.push_back(input.sample(input.shape, generator));
  return inputs;
}

using Checker = GradcheckResult (*)(const autograd::DifferentiableFunction&, const std::vector<Tensor>&, GradcheckOptions);

// Runs one row; failures name the row and carry gradcheck's report.
inline void check_row(const OpCase& row, uint64_t seed, Checker checker) {
  INFO("op: " << row.label());
  const GradcheckOptions options{.eps = row.tolerance.eps,
                                 .atol = row.tolerance.atol,
                                 .rtol = row.tolerance.rtol,
                                 .raise_on_failure = false};
  GradcheckResult result;
  try {
    result = checker(row.fn, sample_inputs(row, seed), options);
  } catch (const std::exception& e) {
    FAIL_CHECK("threw: " << e.what());
    return;
  }
  INFO("report: " << result.report);
  CHECK(result.passed);
  if (row.zero_gradient) {
    CHECK(result.max_abs_analytic == 0.0);
  } else {
    INFO("every analytic gradient was zero");
    CHECK(result.max_abs_analytic > 0.0);
  }
}

inline void run_group(const std::vector<OpCase>& table, const std::string& group, Checker checker) {
  int count = 0;
  for (size_t i = 0; i < table.size(); ++i) {
    if (table[i].group != group) continue;
    check_row(table[i], 1000 + i, checker);
    ++count;
  }
  CHECK(count > 0);
}

inline GradcheckResult run_gradcheck(const autograd::DifferentiableFunction& fn, const std::vector<Tensor>& inputs,
                              GradcheckOptions options) {
  return autograd::gradcheck(fn, inputs, options);
}
inline GradcheckResult run_gradgradcheck(const autograd::DifferentiableFunction& fn, const std::vector<Tensor>& inputs,
                                  GradcheckOptions options) {
  return autograd::gradgradcheck(fn, inputs, options);
}

}  // namespace gradcheck_table
