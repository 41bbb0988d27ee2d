// Issue 13's ops as users call them: PyTorch's gradients where they are special (zeros in prod and
// cumprod, norms at 0, ties), the methods, what carries no gradient, einsum's values against naive
// loops and its errors, and the random in-place fills' autograd rules.
#include <catch2/catch.hpp>
#include <nabla/autograd.hpp>

#include <cmath>
#include <cstdint>
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
