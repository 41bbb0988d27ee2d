// Issue 13's ops as users call them: PyTorch's gradients where they are special (zeros in prod and
// cumprod, norms at 0, ties), the methods, what carries no gradient, einsum's values against naive
// loops and its errors, and the random in-place fills' autograd rules.
#include <catch2/catch.hpp>
#include <nabla/autograd.hpp>

#include <cmath>
#include <algorithm>
#include <cstdint>
#include <functional>
#include <random>
#include <limits>
#include <string>
#include <vector>

using namespace nabla;
using Catch::Contains;

namespace {

const double kInf = std::numeric_limits<double>::infinity();

// The gradient of sum(f(x)) at x.
template <class F>
std::vector<double> gradient(F f, std::initializer_list<double> values, const Shape& shape = {}) {
  const Tensor x = tensor(values, shape, float64).requires_grad_();
  f(x).sum().backward();
  return x.grad().to_vector<double>();
}

// The Hessian of sum(f(x)) at x, row by row, through create_graph.
template <class F>
std::vector<std::vector<double>> hessian(F f, std::initializer_list<double> values) {
  const Tensor x = tensor(values, {}, float64).requires_grad_();
  const Tensor g = autograd::grad({f(x).sum()}, {x}, {}, {.create_graph = true})[0];
  std::vector<std::vector<double>> rows;
  for (int64_t i = 0; i < x.numel(); ++i) {
    const Tensor row = autograd::grad({g.select(0, i)}, {x}, {}, {.retain_graph = true, .allow_unused = true})[0];
    rows.push_back(row.defined() ? row.to_vector<double>() : std::vector<double>(static_cast<size_t>(x.numel()), 0.0));
  }
  return rows;
}

}  // namespace

// ---- gradients PyTorch defines specially (expected values computed with torch 1.13 and pasted in)

TEST_CASE("prod's gradient with one zero and with several", "[autograd][reductions]") {
  CHECK(gradient([](const Tensor& x) { return prod(x); }, {2, 0, 3, 4}) == std::vector<double>{0, 24, 0, 0});
  CHECK(gradient([](const Tensor& x) { return prod(x); }, {2, 0, 3, 0}) == std::vector<double>{0, 0, 0, 0});
  CHECK(gradient([](const Tensor& x) { return prod(x, 1); }, {2, 0, 3, 0, 5, 0, 1, 2, 3}, {3, 3}) ==
        std::vector<double>{0, 6, 0, 0, 0, 0, 6, 3, 2});
  CHECK(gradient([](const Tensor& x) { return x.prod(0, true); }, {2, 4, 0, 5}, {2, 2}) == std::vector<double>{0, 5, 2, 4});
  CHECK(gradient([](const Tensor& x) { return prod(x); }, {2, 4}) == std::vector<double>{4, 2});
  // Second derivatives with a zero: torch.autograd.grad twice on prod([2, 0, 3]).
  CHECK(hessian([](const Tensor& x) { return prod(x); }, {2, 0, 3}) ==
        std::vector<std::vector<double>>{{0, 3, 0}, {3, 0, 2}, {0, 2, 0}});
}

TEST_CASE("cumprod's gradient with zeros, plain and recorded", "[autograd][scans]") {
  CHECK(gradient([](const Tensor& x) { return cumprod(x, 0); }, {2, 0, 3, 4}) == std::vector<double>{1, 32, 0, 0});
  CHECK(gradient([](const Tensor& x) { return cumprod(x, 0); }, {2, 0, 3, 0, 5}) == std::vector<double>{1, 8, 0, 0, 0});
  CHECK(gradient([](const Tensor& x) { return x.cumprod(1); }, {2, 0, 3, 0, 5, 0, 1, 2, 3}, {3, 3}) ==
        std::vector<double>{1, 8, 0, 6, 0, 0, 9, 4, 2});
  // With create_graph the formula differs (O(n^2), differentiable): same first derivative, and
  // torch's second derivatives.
  const std::vector<std::vector<double>> h = hessian([](const Tensor& x) { return cumprod(x, 0); }, {2, 0, 3, 0.5});
  CHECK(h == std::vector<std::vector<double>>{{0, 5.5, 0, 0}, {5.5, 0, 3, 6}, {0, 3, 0, 0}, {0, 6, 0, 0}});
  CHECK(gradient([](const Tensor& x) { return cumsum(x, 0); }, {1, 2, 3}) == std::vector<double>{3, 2, 1});
}

TEST_CASE("norm's gradient at 0, at ties of the inf-norm, and for p < 1", "[autograd][reductions]") {
  CHECK(gradient([](const Tensor& x) { return norm(x); }, {0, 0, 0}) == std::vector<double>{0, 0, 0});
  CHECK(gradient([](const Tensor& x) { return norm(x, 3.0); }, {0, 0, 0}) == std::vector<double>{0, 0, 0});
  CHECK(gradient([](const Tensor& x) { return norm(x, 1.5); }, {0, 0, 0}) == std::vector<double>{0, 0, 0});
  CHECK(gradient([](const Tensor& x) { return norm(x, 1.0); }, {0, -2, 3}) == std::vector<double>{0, -1, 1});
  CHECK(gradient([](const Tensor& x) { return norm(x, kInf); }, {1, -3, 3, 2}) == std::vector<double>{0, -0.5, 0.5, 0});
  CHECK(gradient([](const Tensor& x) { return norm(x, -kInf); }, {1, -3, -1, 2}) == std::vector<double>{0.5, 0, -0.5, 0});
  const std::vector<double> half = gradient([](const Tensor& x) { return norm(x, 0.5); }, {0, 4, 1});
  CHECK(half[0] == 0);
  CHECK(half[1] == Approx(1.5));
  CHECK(half[2] == Approx(3.0));
  CHECK(gradient([](const Tensor& x) { return norm(x, 2.0, {1}); }, {3, 4, 0, 0}, {2, 2}) ==
        std::vector<double>{0.6, 0.8, 0, 0});
  CHECK(gradient([](const Tensor& x) { return x.norm("fro"); }, {3, 4}, {1, 2}) == std::vector<double>{0.6, 0.8});
  // std of a constant: 0, not NaN.
  CHECK(gradient([](const Tensor& x) { return x.std(); }, {2, 2, 2}) == std::vector<double>{0, 0, 0});
}

TEST_CASE("selections send the gradient to the selected elements", "[autograd][sorting]") {
  const Tensor weights = tensor({1, 2, 3, 4}, {4}, float64);
  CHECK(gradient([&](const Tensor& x) { return sort(x, 0).values * weights; }, {3, 1, 4, 2}) ==
        std::vector<double>{3, 1, 4, 2});
  CHECK(gradient([&](const Tensor& x) { return x.sort(0, true).values * weights; }, {3, 1, 4, 2}) ==
        std::vector<double>{2, 4, 1, 3});
  CHECK(gradient([](const Tensor& x) { return topk(x, 2).values; }, {3, 1, 4, 2}) == std::vector<double>{1, 0, 1, 0});
  CHECK(gradient([](const Tensor& x) { return x.kthvalue(2, 1).values; }, {3, 1, 4, 2, 0, 9}, {2, 3}) ==
        std::vector<double>{1, 0, 0, 1, 0, 0});
  CHECK(gradient([](const Tensor& x) { return median(x, 1, true).values; }, {3, 1, 4, 2, 0, 9}, {2, 3}) ==
        std::vector<double>{1, 0, 0, 1, 0, 0});
  // mode: the last occurrence of the most frequent value (torch.mode([5, 1, 5, 2, 5, 1, 0]) -> index 4).
  CHECK(gradient([](const Tensor& x) { return mode(x).values; }, {5, 1, 5, 2, 5, 1, 0}) ==
        std::vector<double>{0, 0, 0, 0, 1, 0, 0});
  // The median of all elements: equal elements share, as PyTorch's (torch.median([1, 3, 2, 2, 5])).
  CHECK(gradient([](const Tensor& x) { return x.median(); }, {1, 3, 2, 2, 5}) == std::vector<double>{0, 0, 0.5, 0.5, 0});
}

TEST_CASE("indices, truth values and argsort carry no gradient", "[autograd][sorting]") {
  const Tensor x = tensor({3, 1, 2}, {3}, float64).requires_grad_();
  const ValuesIndices sorted = sort(x);
  CHECK(sorted.values.requires_grad());
  CHECK(std::string(sorted.values.grad_fn()->name()) == "sort");
  CHECK_FALSE(sorted.indices.requires_grad());
  CHECK(sorted.indices.dtype() == int64);
  CHECK_FALSE(argsort(x).requires_grad());
  CHECK_FALSE(all(x).requires_grad());
  CHECK_FALSE(x.any().requires_grad());
  CHECK(all(x).dtype() == eq(x, x).dtype());
  CHECK(x.all().item() == 1);
  CHECK(std::string(topk(x, 1).values.grad_fn()->name()) == "topk");
  CHECK(std::string(prod(x).grad_fn()->name()) == "prod");
  CHECK(std::string(cumsum(x, 0).grad_fn()->name()) == "cumsum");
  CHECK(std::string(norm(x).grad_fn()->name()) == "norm");
  CHECK(std::string(nabla::std(x).grad_fn()->name()) == "std");
  // Integer inputs compute but have nothing to differentiate.
  CHECK(prod(Tensor(kernels::arange(int64_t{4}) + int64_t{1})).item<int64_t>() == 24);
}

TEST_CASE("methods are their functions", "[autograd][reductions]") {
  Generator generator(3);
  const Tensor x = randn({3, 4}, float64, generator);
  CHECK(x.prod().equal(prod(x)));
  CHECK(x.prod(1).equal(prod(x, 1)));
  CHECK(x.std({1}).equal(nabla::std(x, {1})));
  CHECK(x.norm(1.0, {0}).equal(norm(x, 1.0, {0})));
  CHECK(x.cumsum(0).equal(cumsum(x, 0)));
  CHECK(x.sort(1, true).values.equal(sort(x, 1, true).values));
  CHECK(x.argsort(0).equal(argsort(x, 0)));
  CHECK(x.topk(2, 0, false).indices.equal(topk(x, 2, 0, false).indices));
  CHECK(x.median(0).values.equal(median(x, 0).values));
  CHECK(x.mode(1).indices.equal(mode(x, 1).indices));
  CHECK(x.kthvalue(3).values.equal(kthvalue(x, 3).values));
  Generator a(4), b(4);
  const Tensor weights = abs(x);
  CHECK(weights.multinomial(2, false, a).equal(multinomial(weights, 2, false, b)));
}

// ---- einsum

namespace {

// A naive einsum for the equations below: out[o...] = sum over the other labels of the product.
Tensor naive_matmul(const Tensor& a, const Tensor& b) {
  const int64_t m = a.size(0), k = a.size(1), n = b.size(1);
  std::vector<double> out(static_cast<size_t>(m * n), 0.0);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      for (int64_t l = 0; l < k; ++l) out[static_cast<size_t>(i * n + j)] += a.at<double>({i, l}) * b.at<double>({l, j});
    }
  }
  return from_vector(out, {m, n});
}

}  // namespace

TEST_CASE("einsum computes what naive loops compute", "[autograd][einsum]") {
  Generator generator(8);
  const Tensor a = randn({3, 4}, float64, generator);
  const Tensor b = randn({4, 5}, float64, generator);
  const Tensor c = randn({5, 2}, float64, generator);
  const Tensor square = randn({3, 3}, float64, generator);
  const Tensor batch_a = randn({2, 3, 4}, float64, generator);
  const Tensor batch_b = randn({2, 4, 5}, float64, generator);
  CHECK(einsum("ij,jk->ik", {a, b}).allclose(naive_matmul(a, b), 1e-12, 1e-12));
  CHECK(einsum("ij,jk", {a, b}).allclose(naive_matmul(a, b), 1e-12, 1e-12));
  CHECK(einsum(" i j , j k -> k i ", {a, b}).allclose(naive_matmul(a, b).t(), 1e-12, 1e-12));
  CHECK(einsum("ij,jk,kl->il", {a, b, c}).allclose(naive_matmul(naive_matmul(a, b), c), 1e-12, 1e-12));
  CHECK(einsum("ij->ji", {a}).equal(a.t()));
  CHECK(einsum("ij->", {a}).allclose(sum(a), 1e-12, 1e-12));
  CHECK(einsum("ij->j", {a}).allclose(sum(a, {0}), 1e-12, 1e-12));
  CHECK(einsum("ii->i", {square}).equal(tensor({square.at<double>({0, 0}), square.at<double>({1, 1}), square.at<double>({2, 2})}, {}, float64)));
  CHECK(einsum("ii", {square}).item() == Approx(square.at<double>({0, 0}) + square.at<double>({1, 1}) + square.at<double>({2, 2})));
  // torch.einsum('bii->bi', torch.arange(18.).reshape(2, 3, 3)) = [[0, 4, 8], [9, 13, 17]]
  CHECK(einsum("bii->bi", {arange(0, 18, 1, float64).reshape({2, 3, 3})}).equal(tensor({0, 4, 8, 9, 13, 17}, {2, 3}, float64)));
  CHECK(einsum("i,i->", {a.select(0, 0), a.select(0, 1)}).allclose(sum(a.select(0, 0) * a.select(0, 1)), 1e-12, 1e-12));
  CHECK(einsum("i,j->ij", {a.select(0, 0), b.select(0, 0)}).allclose(a.select(0, 0).unsqueeze(1) * b.select(0, 0), 1e-12, 1e-12));
  const Tensor batched = einsum("bij,bjk->bik", {batch_a, batch_b});
  for (int64_t i = 0; i < 2; ++i) CHECK(batched.select(0, i).allclose(naive_matmul(batch_a.select(0, i), batch_b.select(0, i)), 1e-12, 1e-12));
  // Ellipses broadcast like matmul's batch axes; a size-1 labelled axis broadcasts too.
  CHECK(einsum("...ij,...jk->...ik", {batch_a, b}).allclose(matmul(batch_a, b), 1e-12, 1e-12));
  CHECK(einsum("...ij,jk", {batch_a.unsqueeze(0), b}).shape() == Shape{1, 2, 3, 5});
  CHECK(einsum("ij,ij->ij", {a.narrow(1, 0, 1), a}).allclose(a.narrow(1, 0, 1) * a, 1e-12, 1e-12));
  // torch.einsum('ij,jk->ik', torch.ones(2, 1), torch.ones(3, 4)) = 3 everywhere.
  CHECK(einsum("ij,jk->ik", {ones({2, 1}, float64), ones({3, 4}, float64)}).equal(full({2, 4}, 3, float64)));
  // An ellipsis missing from an explicit output is summed.
  CHECK(einsum("...ij->ij", {batch_a}).allclose(sum(batch_a, {0}), 1e-12, 1e-12));
  // Implicit output: upper case before lower case (torch.einsum('bA,ba', ...) has shape [A, a]).
  CHECK(einsum("bA,ba", {ones({2, 3}), ones({2, 4})}).shape() == Shape{3, 4});
  // A scalar operand.
  CHECK(einsum("i,->i", {a.select(0, 0), scalar_tensor(2.0, float64)}).allclose(a.select(0, 0) * 2.0, 1e-12, 1e-12));
  CHECK(einsum("ij,jk->ik", {a.to(float32), b.to(float32)}).dtype() == float32);
}

namespace {

// A random einsum: 1 to 3 operands over labels a-d and A (upper case sorts first in an implicit
// output), repeated labels (diagonals), size-1 axes that broadcast, sometimes an ellipsis covering
// 0 to 2 right-aligned axes; the output explicit (a random subset, in random order, with or without
// the ellipsis) or implicit.
struct RandomEinsum {
  std::string equation;
  std::vector<Tensor> operands;
  // The labels of each operand's axes and of the output's axes; ellipsis axis k (of the widest
  // ellipsis, right-aligned) is label 100 + k.
  std::vector<std::vector<int>> operand_labels;
  std::vector<int> output_labels;
  std::vector<int64_t> size;  // per label (0-51 letters, 100+ ellipsis axes), before size-1 axes broadcast
};

RandomEinsum random_einsum(std::mt19937_64& rng) {
  auto pick = [&](int64_t low, int64_t high) { return std::uniform_int_distribution<int64_t>(low, high)(rng); };
  const std::string letters = "abcdA";
  RandomEinsum e;
  e.size.assign(110, 1);
  for (char c : letters) e.size[static_cast<size_t>(c >= 'a' ? c - 'a' + 26 : c - 'A')] = pick(1, 3);
  const int64_t ellipsis_rank = pick(0, 3) == 0 ? pick(1, 2) : 0;
  for (int64_t k = 0; k < ellipsis_rank; ++k) e.size[static_cast<size_t>(100 + k)] = pick(1, 3);
  const int64_t count = pick(1, 3);
  int64_t widest = 0;  // the most axes an operand's ellipsis covers: the output's ellipsis axes
  std::vector<bool> used(110, false);
  std::vector<int> uses(110, 0);
  for (int64_t i = 0; i < count; ++i) {
    std::string term;
    std::vector<int> labels;
    const int64_t rank = pick(0, 3);
    const int64_t ellipsis_at = ellipsis_rank > 0 && pick(0, 1) ? pick(0, rank) : -1;
    const int64_t ellipsis_axes = ellipsis_at >= 0 ? pick(0, ellipsis_rank) : 0;
    widest = std::max(widest, ellipsis_axes);
    for (int64_t axis = 0; axis <= rank; ++axis) {
      if (axis == ellipsis_at) {
        term += "...";
        for (int64_t k = 0; k < ellipsis_axes; ++k) labels.push_back(static_cast<int>(100 + ellipsis_rank - ellipsis_axes + k));
      }
      if (axis == rank) break;
      const char c = letters[static_cast<size_t>(pick(0, static_cast<int64_t>(letters.size()) - 1))];
      term += c;
      labels.push_back(c >= 'a' ? c - 'a' + 26 : c - 'A');
    }
    Shape shape;
    for (int label : labels) {
      used[static_cast<size_t>(label)] = true;
      ++uses[static_cast<size_t>(label)];
      shape.push_back(label < 100 && pick(0, 5) == 0 ? 1 : e.size[static_cast<size_t>(label)]);  // sometimes broadcast
    }
    // A repeated label must have one size within its operand.
    for (size_t a = 0; a < labels.size(); ++a) {
      for (size_t b = 0; b < a; ++b) {
        if (labels[a] == labels[b]) shape[static_cast<int64_t>(a)] = shape[static_cast<int64_t>(b)];
      }
    }
    std::normal_distribution<double> normal;
    std::vector<double> values(static_cast<size_t>(shape_numel(shape)));
    for (double& v : values) v = normal(rng);
    e.operands.push_back(from_vector(values, shape.empty() ? Shape{1} : shape).reshape(shape));
    e.operand_labels.push_back(labels);
    e.equation += (i ? "," : "") + term;
  }
  if (pick(0, 1)) {
    for (int64_t k = ellipsis_rank - widest; k < ellipsis_rank; ++k) e.output_labels.push_back(static_cast<int>(100 + k));
    for (int label = 0; label < 52; ++label) {
      if (uses[static_cast<size_t>(label)] == 1) e.output_labels.push_back(label);
    }
  } else {
    std::vector<int> candidates;
    for (int label = 0; label < 52; ++label) {
      if (used[static_cast<size_t>(label)] && pick(0, 1)) candidates.push_back(label);
    }
    std::shuffle(candidates.begin(), candidates.end(), rng);
    const int64_t ellipsis_at = ellipsis_rank > 0 && pick(0, 2) ? pick(0, static_cast<int64_t>(candidates.size())) : -1;
    std::string out;
    for (int64_t i = 0; i <= static_cast<int64_t>(candidates.size()); ++i) {
      if (i == ellipsis_at) {
        out += "...";
        for (int64_t k = ellipsis_rank - widest; k < ellipsis_rank; ++k) e.output_labels.push_back(static_cast<int>(100 + k));
      }
      if (i == static_cast<int64_t>(candidates.size())) break;
      const int label = candidates[static_cast<size_t>(i)];
      out += static_cast<char>(label < 26 ? 'A' + label : 'a' + label - 26);
      e.output_labels.push_back(label);
    }
    e.equation += "->" + out;
  }
  return e;
}

// out[output labels] = sum over every other label of the product of the operands, by enumerating
// every assignment of values to the labels (an operand's size-1 axis reads index 0).
Tensor naive_einsum(const RandomEinsum& e) {
  std::vector<int> labels;
  for (const auto& operand : e.operand_labels) {
    for (int label : operand) {
      if (std::find(labels.begin(), labels.end(), label) == labels.end()) labels.push_back(label);
    }
  }
  // A label's size: its operands' (size-1 axes broadcast).
  std::vector<int64_t> size(110, 1);
  for (size_t i = 0; i < e.operands.size(); ++i) {
    for (size_t axis = 0; axis < e.operand_labels[i].size(); ++axis) {
      int64_t& extent = size[static_cast<size_t>(e.operand_labels[i][axis])];
      extent = std::max(extent, e.operands[i].size(static_cast<int64_t>(axis)));
    }
  }
  Shape out_shape;
  for (int label : e.output_labels) out_shape.push_back(size[static_cast<size_t>(label)]);
  std::vector<double> out(static_cast<size_t>(shape_numel(out_shape)), 0.0);
  std::vector<int64_t> value(110, 0);
  std::function<void(size_t)> visit = [&](size_t depth) {
    if (depth == labels.size()) {
      double product = 1.0;
      for (size_t i = 0; i < e.operands.size(); ++i) {
        std::vector<int64_t> index;
        for (size_t axis = 0; axis < e.operand_labels[i].size(); ++axis) {
          index.push_back(e.operands[i].size(static_cast<int64_t>(axis)) == 1 ? 0 : value[static_cast<size_t>(e.operand_labels[i][axis])]);
        }
        int64_t flat = 0;
        for (size_t axis = 0; axis < index.size(); ++axis) flat = flat * e.operands[i].size(static_cast<int64_t>(axis)) + index[axis];
        product *= e.operands[i].to_vector<double>()[static_cast<size_t>(flat)];
      }
      int64_t flat = 0;
      for (size_t axis = 0; axis < e.output_labels.size(); ++axis) {
        flat = flat * out_shape[static_cast<int64_t>(axis)] + value[static_cast<size_t>(e.output_labels[axis])];
      }
      out[static_cast<size_t>(flat)] += product;
      return;
    }
    for (int64_t v = 0; v < size[static_cast<size_t>(labels[depth])]; ++v) {
      value[static_cast<size_t>(labels[depth])] = v;
      visit(depth + 1);
    }
  };
  visit(0);
  return from_vector(out, out_shape.empty() ? Shape{1} : out_shape).reshape(out_shape);
}

}  // namespace

TEST_CASE("einsum matches a naive sum over every assignment of its labels, on random equations",
          "[autograd][einsum][reference]") {
  std::mt19937_64 rng(1313);
  for (int trial = 0; trial < 300; ++trial) {
    const RandomEinsum e = random_einsum(rng);
    std::string shapes;
    for (const Tensor& x : e.operands) shapes += to_string(x.shape()) + " ";
    INFO("trial " << trial << ": einsum(\"" << e.equation << "\") on " << shapes);
    Tensor result;
    REQUIRE_NOTHROW(result = einsum(e.equation, e.operands));
    const Tensor expected = naive_einsum(e);
    REQUIRE(result.shape() == expected.shape());
    CHECK(result.allclose(expected, 1e-10, 1e-10));
  }
}

TEST_CASE("einsum's gradient through a diagonal and a trace", "[autograd][einsum]") {
  CHECK(gradient([](const Tensor& x) { return einsum("ii", {x}); }, {1, 2, 3, 4}, {2, 2}) == std::vector<double>{1, 0, 0, 1});
  CHECK(gradient([](const Tensor& x) { return einsum("ii->i", {x * x}); }, {1, 2, 3, 4}, {2, 2}) ==
        std::vector<double>{2, 0, 0, 8});
}

TEST_CASE("einsum's errors name the equation and the operand that does not fit", "[autograd][einsum][errors]") {
  const Tensor a = ones({2, 3}), b = ones({4, 5});
  CHECK_THROWS_WITH(einsum("ij,jk->ik", {a, b}),
                    Contains("einsum") && Contains("ij,jk->ik") && Contains("'j'") && Contains("[2, 3]") && Contains("[4, 5]"));
  CHECK_THROWS_WITH(einsum("ijk,jk", {a, b}), Contains("ijk,jk") && Contains("operand 0") && Contains("[2, 3]") && Contains("'ijk'"));
  CHECK_THROWS_WITH(einsum("ij,jk", {a}), Contains("ij,jk") && Contains("2 operands") && Contains("1 tensor"));
  CHECK_THROWS_WITH(einsum("ij->ii", {a}), Contains("ij->ii") && Contains("'i'") && Contains("more than once"));
  CHECK_THROWS_WITH(einsum("ij->k", {a}), Contains("ij->k") && Contains("'k'") && Contains("any operand"));
  CHECK_THROWS_WITH(einsum("i%j", {a}), Contains("i%j") && Contains("'%'"));
  CHECK_THROWS_WITH(einsum("ii->i", {a}), Contains("ii->i") && Contains("repeated") && Contains("[2, 3]"));
  CHECK_THROWS_WITH(einsum("i..j", {a}), Contains("i..j") && Contains("..."));
  CHECK_THROWS_WITH(einsum("ij", {}), Contains("einsum") && Contains("at least one operand"));
  CHECK_THROWS_WITH(einsum("...ij,...jk", {ones({2, 2, 3}), ones({3, 3, 4})}), Contains("'...'") && Contains("[2, 2, 3]"));
}

// ---- random fills

TEST_CASE("random in-place fills follow the in-place rules of autograd", "[autograd][random]") {
  const Tensor leaf = zeros({3}, float64).requires_grad_();
  CHECK_THROWS_WITH(leaf.uniform_(), Contains("uniform_") && Contains("leaf"));
  CHECK_THROWS_WITH(leaf.normal_(), Contains("normal_") && Contains("leaf"));
  CHECK_THROWS_WITH(leaf.bernoulli_(0.5), Contains("bernoulli_") && Contains("leaf"));
  {
    NoGradGuard no_grad;  // how initialisers write into parameters
    Generator a(1), b(1);
    leaf.uniform_(-1, 1, a);
    CHECK(leaf.equal(uniform({3}, -1, 1, float64, b)));
    CHECK(leaf.requires_grad());
  }
  // A non-leaf becomes a constant: its new values have no history.
  const Tensor y = leaf * 2.0;
  y.normal_(0, 1);
  CHECK_FALSE(y.requires_grad());
  CHECK(y.grad_fn() == nullptr);
  // Plain tensors just change, reproducibly.
  Generator a(2), b(2);
  const Tensor x = zeros({2, 3}, float32);
  x.bernoulli_(tensor({0.2, 0.5, 0.9}, {3}, float32), a);
  const Tensor expected = zeros({2, 3}, float32);
  expected.bernoulli_(tensor({0.2, 0.5, 0.9}, {3}, float32), b);
  CHECK(x.equal(expected));
  CHECK(x.uniform_(0, 1, a).is_same(x));
  CHECK_THROWS_WITH(x.uniform_(2, 1), Contains("uniform_"));
  // Factories shaped like a tensor.
  CHECK(rand_like(x).shape() == Shape{2, 3});
  CHECK(randn_like(x).dtype() == float32);
  CHECK(randint_like(x, 10).dtype() == float32);
  CHECK_FALSE(rand_like(leaf).requires_grad());
}
