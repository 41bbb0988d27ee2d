// Issue 17, item 2: every op that takes an index or a range checks the caller's index once, as
// -size <= index < size, and wraps it once. For each op: index -size and -1 give the right values
// and gradients; -size - 1 and size are refused with a message naming the op and the index. Ops
// that PyTorch makes refuse negative indices (index_select, gather, scatter_add, index_add,
// take_along_dim) refuse -1 here too; index, index_put and index_fill wrap them, as PyTorch's.
#include <catch2/catch.hpp>
#include <nabla/autograd.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

using namespace nabla;
using Catch::Contains;

namespace {
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }
Tensor ints(std::initializer_list<double> v, const Shape& shape = {}) { return tensor(v, shape, int64); }
// Exact int64 indices (a double cannot hold INT64_MAX).
Tensor exact(std::vector<int64_t> v, const Shape& shape) { return from_vector(v, shape); }
Tensor exact(int64_t v) { return from_vector(std::vector<int64_t>{v}, {1}); }
// [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]], float64, a leaf that requires grad.
Tensor matrix() { return arange(0.0, 12.0, 1.0, float64).reshape({3, 4}).detach().requires_grad_(); }

// The gradient of sum(f(x) * weights) with respect to x, weights 1, 2, 3, ... so that a wrong
// row or column in backward cannot hide behind equal values.
std::vector<double> weighted_gradient(const Tensor& x, const Tensor& y) {
  const Tensor weights = arange(1.0, static_cast<double>(y.numel()) + 1.0, 1.0, float64).reshape(y.shape());
  sum(mul(y, weights)).backward();
  return values(x.grad());
}
}  // namespace

TEST_CASE("select and operator[] wrap a negative index once", "[autograd][negative_index]") {
  for (const auto& [index, row] : std::vector<std::pair<int64_t, int64_t>>{{-3, 0}, {-1, 2}, {0, 0}, {2, 2}}) {
    const Tensor x = matrix();
    const Tensor y = select(x, 0, index);
    CHECK(values(y) == std::vector<double>{4.0 * row, 4.0 * row + 1, 4.0 * row + 2, 4.0 * row + 3});
    std::vector<double> expected(12, 0.0);
    for (int j = 0; j < 4; ++j) expected[static_cast<size_t>(4 * row + j)] = j + 1.0;
    CHECK(weighted_gradient(x, y) == expected);
    CHECK(values(matrix()[index]) == values(y));
  }
  const Tensor x = matrix();
  CHECK(values(select(x, 1, -4)) == std::vector<double>{0, 4, 8});
  CHECK(values(select(x, -1, -1)) == std::vector<double>{3, 7, 11});
  for (int64_t bad : {int64_t{-4}, int64_t{3}, int64_t{-5}, kMin, kMax}) {
    INFO("index " << bad);
    CHECK_THROWS_WITH(select(x, 0, bad), Contains("select") && Contains(std::to_string(bad)) && Contains("size 3"));
    CHECK_THROWS_WITH(x[bad], Contains("select") && Contains(std::to_string(bad)));
    CHECK_THROWS_WITH(x.select(0, bad), Contains("select") && Contains(std::to_string(bad)));
  }
  CHECK_THROWS_WITH(select(x, 1, -5), Contains("select") && Contains("-5") && Contains("size 4"));
  CHECK_THROWS_WITH(select(x, 1, 4), Contains("select") && Contains("4"));
  CHECK_THROWS_WITH(select(x, 2, 0), Contains("select") && Contains("axis") && Contains("2"));
  CHECK_THROWS_WITH(select(x, -3, 0), Contains("select") && Contains("-3"));
}

TEST_CASE("at wraps a negative index once and refuses -size - 1 and size", "[autograd][negative_index]") {
  const Tensor x = matrix();
  CHECK(x.at<double>({-1, -1}) == 11.0);
  CHECK(x.at<double>({-3, -4}) == 0.0);
  CHECK(x.at<double>({2, 3}) == 11.0);
  CHECK_THROWS_WITH(x.at<double>({-4, 0}), Contains("at") && Contains("-4") && Contains("size 3"));
  CHECK_THROWS_WITH(x.at<double>({3, 0}), Contains("at") && Contains("3"));
  CHECK_THROWS_WITH(x.at<double>({0, -5}), Contains("at") && Contains("-5") && Contains("size 4"));
  CHECK_THROWS_WITH(x.at<double>({0, kMin}), Contains("at") && Contains(std::to_string(kMin)));
  CHECK_THROWS_WITH(x.at<double>({0}), Contains("at"));
}

TEST_CASE("narrow wraps a negative start once", "[autograd][negative_index]") {
  for (const auto& [start, row] : std::vector<std::pair<int64_t, int64_t>>{{-3, 0}, {-1, 2}, {-2, 1}}) {
    const Tensor x = matrix();
    const Tensor y = narrow(x, 0, start, 1);
    REQUIRE(y.shape() == Shape{1, 4});
    CHECK(values(y)[0] == 4.0 * row);
    std::vector<double> expected(12, 0.0);
    for (int j = 0; j < 4; ++j) expected[static_cast<size_t>(4 * row + j)] = j + 1.0;
    CHECK(weighted_gradient(x, y) == expected);
  }
  const Tensor x = matrix();
  CHECK(narrow(x, 0, -3, 3).shape() == Shape{3, 4});
  CHECK(narrow(x, 0, 3, 0).shape() == Shape{0, 4});  // an empty narrow at the end, as PyTorch's
  CHECK(narrow(x, 1, -4, 2).shape() == Shape{3, 2});
  CHECK_THROWS_WITH(narrow(x, 0, -4, 1), Contains("narrow") && Contains("-4") && Contains("size 3"));
  CHECK_THROWS_WITH(narrow(x, 0, 4, 0), Contains("narrow") && Contains("4"));
  CHECK_THROWS_WITH(narrow(x, 0, -1, 2), Contains("narrow") && Contains("length 2"));
  CHECK_THROWS_WITH(narrow(x, 0, 1, -1), Contains("narrow") && Contains("-1"));
  CHECK_THROWS_WITH(narrow(x, 0, 1, kMax), Contains("narrow") && Contains(std::to_string(kMax)));
  CHECK_THROWS_WITH(narrow(x, 0, kMin, 1), Contains("narrow") && Contains(std::to_string(kMin)));
  CHECK_THROWS_WITH(x.raw().narrow(0, 2, kMax), Contains("narrow") && Contains(std::to_string(kMax)));
}

TEST_CASE("slice clamps its range like Python and never overflows", "[autograd][negative_index]") {
  const Tensor x = matrix();
  CHECK(values(slice(x, 0, -1, 3)) == std::vector<double>{8, 9, 10, 11});
  CHECK(slice(x, 0, -4, 10).shape() == Shape{3, 4});  // clamped, as x[-4:10] in Python
  CHECK(slice(x, 0, kMin, kMax).shape() == Shape{3, 4});
  CHECK(slice(x, 0, 3, 1).shape() == Shape{0, 4});
  CHECK(values(slice(x, 1, -4, 4, kMax)) == std::vector<double>{0, 4, 8});
  CHECK(values(slice(x, 1, 1, kMax, 2)) == std::vector<double>{1, 3, 5, 7, 9, 11});
  const Tensor y = slice(x, 0, -2, kMax);
  std::vector<double> expected(12, 0.0);
  for (int j = 0; j < 8; ++j) expected[static_cast<size_t>(4 + j)] = j + 1.0;
  CHECK(weighted_gradient(x, y) == expected);
  CHECK_THROWS_WITH(slice(x, 0, 0, 3, 0), Contains("slice") && Contains("step"));
  CHECK_THROWS_WITH(slice(x, 0, 0, 3, -1), Contains("slice") && Contains("-1"));
  CHECK_THROWS_WITH(slice(x, 2, 0, 3), Contains("slice") && Contains("2"));
}

TEST_CASE("index_select gather scatter_add index_add and take_along_dim refuse negative indices as PyTorch",
          "[autograd][negative_index]") {
  const Tensor x = matrix();
  for (int64_t bad : {int64_t{-1}, int64_t{-3}, int64_t{-4}, int64_t{3}, kMin, kMax}) {
    INFO("index " << bad);
    const std::string b = std::to_string(bad);
    const Tensor index = exact(bad);
    CHECK_THROWS_WITH(index_select(x, 0, index), Contains("index_select") && Contains(b) && Contains("size 3"));
    CHECK_THROWS_WITH(x.index_select(0, index), Contains("index_select") && Contains(b));
    const Tensor column = exact({0, bad, 0, 0}, {1, 4});
    CHECK_THROWS_WITH(gather(x, 0, column), Contains("gather") && Contains(b) && Contains("size 3"));
    CHECK_THROWS_WITH(scatter_add(zeros({3, 4}, float64), 0, column, ones({1, 4}, float64)),
                      Contains("scatter_add") && Contains(b));
    CHECK_THROWS_WITH(index_add(zeros({3, 4}, float64), 0, index, ones({1, 4}, float64)),
                      Contains("index_add") && Contains(b));
    CHECK_THROWS_WITH(take_along_dim(x, column, 0), Contains("take_along_dim") && Contains(b));
  }
  CHECK_THROWS_WITH(take_along_dim(x, ints({12})), Contains("take_along_dim") && Contains("12"));
  CHECK_THROWS_WITH(take_along_dim(x, ints({-1})), Contains("take_along_dim") && Contains("-1"));
  // In range: the values and gradients of the last row.
  const Tensor y = index_select(x, 0, ints({2}));
  CHECK(values(y) == std::vector<double>{8, 9, 10, 11});
  CHECK(weighted_gradient(x, y) == std::vector<double>{0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4});
}

TEST_CASE("index index_put and index_fill wrap negative indices once, as PyTorch", "[autograd][negative_index]") {
  for (const auto& [index, row] : std::vector<std::pair<int64_t, int64_t>>{{-3, 0}, {-1, 2}}) {
    INFO("index " << index);
    const Tensor idx = ints({static_cast<double>(index)});
    {
      const Tensor x = matrix();
      const Tensor y = nabla::index(x, {idx});
      CHECK(values(y)[0] == 4.0 * row);
      std::vector<double> expected(12, 0.0);
      for (int j = 0; j < 4; ++j) expected[static_cast<size_t>(4 * row + j)] = j + 1.0;
      CHECK(weighted_gradient(x, y) == expected);
    }
    {
      const Tensor x = matrix();
      const Tensor y = index_put(x, {idx}, full({}, -1.0, float64));
      std::vector<double> expected_values = values(x);
      std::vector<double> expected(12);
      for (int k = 0; k < 12; ++k) expected[static_cast<size_t>(k)] = k + 1.0;
      for (int j = 0; j < 4; ++j) {
        expected_values[static_cast<size_t>(4 * row + j)] = -1.0;
        expected[static_cast<size_t>(4 * row + j)] = 0.0;  // overwritten: no gradient to x there
      }
      CHECK(values(y) == expected_values);
      CHECK(weighted_gradient(x, y) == expected);
    }
    {
      const Tensor x = matrix();
      const Tensor y = index_fill(x, 0, idx, 7.0);
      CHECK(values(y)[static_cast<size_t>(4 * row)] == 7.0);
      std::vector<double> expected(12);
      for (int k = 0; k < 12; ++k) expected[static_cast<size_t>(k)] = k + 1.0;
      for (int j = 0; j < 4; ++j) expected[static_cast<size_t>(4 * row + j)] = 0.0;
      CHECK(weighted_gradient(x, y) == expected);
    }
    {
      const Tensor x = matrix().detach();
      x.index_put_({idx}, full({}, 5.0, float64));
      CHECK(x.at<double>({row, 3}) == 5.0);
      x.index_fill_(0, idx, 6.0);
      CHECK(x.at<double>({row, 0}) == 6.0);
    }
  }
  const Tensor x = matrix();
  CHECK(values(nabla::index(x, {ints({-1}), ints({-4})})) == std::vector<double>{8});
  for (int64_t bad : {int64_t{-4}, int64_t{3}, kMin, kMax}) {
    INFO("index " << bad);
    const std::string b = std::to_string(bad);
    const Tensor idx = exact(bad);
    CHECK_THROWS_WITH(nabla::index(x, {idx}), Contains("index") && Contains(b) && Contains("size 3"));
    CHECK_THROWS_WITH(index_put(x, {idx}, zeros({}, float64)), Contains("index_put") && Contains(b));
    CHECK_THROWS_WITH(index_fill(x, 0, idx, 1.0), Contains("index_fill") && Contains(b));
    CHECK_THROWS_WITH(matrix().detach().index_put_({idx}, zeros({}, float64)), Contains("index_put") && Contains(b));
    CHECK_THROWS_WITH(matrix().detach().index_fill_(0, idx, 1.0), Contains("index_fill") && Contains(b));
  }
  CHECK_THROWS_WITH(nabla::index(x, {ints({0}), ints({-5})}), Contains("index") && Contains("-5") && Contains("size 4"));
}

TEST_CASE("split chunk and unbind check their sizes and axes", "[autograd][negative_index]") {
  const Tensor x = matrix();
  CHECK(split(x, 2, -1).size() == 2);
  CHECK(chunk(x, 2, -2).size() == 2);
  CHECK(unbind(x, -1).size() == 4);
  CHECK(values(unbind(x, -2)[2]) == std::vector<double>{8, 9, 10, 11});
  CHECK_THROWS_WITH(split(x, 2, 2), Contains("split") && Contains("2"));
  CHECK_THROWS_WITH(split(x, 2, -3), Contains("split") && Contains("-3"));
  CHECK_THROWS_WITH(split(x, -1, 0), Contains("split") && Contains("-1"));
  CHECK_THROWS_WITH(split(x, {1, 1}, 0), Contains("split") && Contains("3"));
  CHECK_THROWS_WITH(split(x, {4, -1}, 0), Contains("split") && Contains("-1"));
  CHECK_THROWS_WITH(chunk(x, 0, 0), Contains("chunk") && Contains("0"));
  CHECK_THROWS_WITH(chunk(x, 2, 2), Contains("chunk") && Contains("2"));
  CHECK_THROWS_WITH(unbind(x, 2), Contains("unbind") && Contains("2"));
  CHECK_THROWS_WITH(unbind(x, -3), Contains("unbind") && Contains("-3"));
}

TEST_CASE("roll wraps any shift and checks its axes", "[autograd][negative_index]") {
  // torch: x.roll(5, 1) and x.roll(-9, 1) of arange(12).reshape(3, 4)
  const Tensor x = matrix();
  CHECK(values(roll(x, 5, 1)) == std::vector<double>{3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10});
  CHECK(values(roll(x, -9, 1)) == std::vector<double>{1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8});
  CHECK(values(roll(x, -1, -2)) == values(roll(x, 2, 0)));
  CHECK(equal(roll(x, kMin, 1), roll(x, 0, 1)));  // -2^63 is a multiple of 4
  CHECK(equal(roll(x, kMax, 1), roll(x, 3, 1)));
  CHECK(equal(roll(x, Dims{kMax, kMax}, Dims{1, 1}), roll(x, 2, 1)));  // shifts along one axis add, without overflow
  CHECK(equal(roll(x, Dims{kMin}), roll(x, Dims{kMin % 12})));  // flat: 12 elements
  {
    const Tensor leaf = matrix();
    std::vector<double> expected = values(roll(arange(1.0, 13.0, 1.0, float64).reshape({3, 4}), -1, 1));
    CHECK(weighted_gradient(leaf, roll(leaf, kMin + 1, 1)) == expected);  // kMin + 1 = 1 (mod 4) backwards
  }
  CHECK_THROWS_WITH(roll(x, 1, 2), Contains("roll") && Contains("2"));
  CHECK_THROWS_WITH(roll(x, 1, -3), Contains("roll") && Contains("-3"));
  CHECK_THROWS_WITH(roll(x, Dims{1, 2}, Dims{0}), Contains("roll") && Contains("[1, 2]"));
}

TEST_CASE("diag tril and triu take any diagonal without overflow", "[autograd][negative_index]") {
  const Tensor x = matrix();
  CHECK(values(diag(x, -2)) == std::vector<double>{8});
  CHECK(values(diag(x, 3)) == std::vector<double>{3});
  CHECK(diag(x, 4).numel() == 0);   // torch: x.diag(4) is empty
  CHECK(diag(x, -3).numel() == 0);  // torch: x.diag(-3) is empty
  CHECK(diag(x, kMax).numel() == 0);
  CHECK(diag(x, kMin).numel() == 0);
  {
    const Tensor leaf = matrix();
    CHECK(weighted_gradient(leaf, diag(leaf, -1)) == std::vector<double>{0, 0, 0, 0, 1, 0, 0, 0, 0, 2, 0, 0});
  }
  // 1-d: torch.ones(2).diag(-5) is 7 x 7 with ones at [5, 0] and [6, 1].
  const Tensor d = diag(ones({2}, float64), -5);
  CHECK(d.shape() == Shape{7, 7});
  CHECK(d.at<double>({5, 0}) == 1.0);
  CHECK(d.at<double>({6, 1}) == 1.0);
  CHECK(sum(d).item() == 2.0);
  CHECK_THROWS_WITH(diag(ones({2}, float64), kMin), Contains("diag") && Contains(std::to_string(kMin)));
  CHECK_THROWS_WITH(diag(ones({2}, float64), kMax), Contains("diag") && Contains(std::to_string(kMax)));
  CHECK(equal(tril(x, kMax), x));
  CHECK(sum(tril(x, kMin)).item() == 0.0);
  CHECK(equal(triu(x, kMin), x));
  CHECK(sum(triu(x, kMax)).item() == 0.0);
  CHECK(values(tril(x, -2)) == std::vector<double>{0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0});
  CHECK(values(triu(x, 3)) == std::vector<double>{0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0});
}
