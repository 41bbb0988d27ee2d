// The shape and indexing ops of issue 13 on the Tensor users hold: methods agree with the free
// functions, split/chunk/unbind give views that share one gradient, gradients have the values
// PyTorch gives (marked "torch": computed with PyTorch 1.13 and pasted in), index_put_ and
// index_fill_ record in place, and bad calls fail naming the op and the fix.
#include <catch2/catch.hpp>
#include <nabla/autograd.hpp>

#include <string>
#include <vector>

using namespace nabla;
using Catch::Contains;

namespace {
std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }
Tensor ints(std::initializer_list<double> v, const Shape& shape = {}) { return tensor(v, shape, int64); }
}  // namespace

TEST_CASE("shape and indexing methods agree with the free functions", "[autograd][shape_index]") {
  Generator generator(13);
  const Tensor x = randn({3, 4}, float64, generator);
  CHECK(equal(x.flip({0}), flip(x, {0})));
  CHECK(equal(x.roll({1}, {1}), roll(x, {1}, {1})));
  CHECK(equal(x.roll(1, 1), roll(x, {1}, {1})));
  CHECK(equal(x.repeat({2, 1}), repeat(x, {2, 1})));
  CHECK(equal(x.tile({2}), tile(x, {2})));
  CHECK(equal(x.tril(-1), tril(x, -1)));
  CHECK(equal(x.triu(1), triu(x, 1)));
  CHECK(equal(x.diag(1), diag(x, 1)));
  const Tensor mask = gt(x, 0.0);
  CHECK(equal(x.masked_select(mask), masked_select(x, mask)));
  CHECK(equal(x.index({ints({2, 0})}), index(x, {ints({2, 0})})));
  CHECK(equal(x.index({ints({2, 0})}), index_select(x, 0, ints({2, 0}))));
  CHECK(equal(x.index_put({ints({1})}, zeros({}, float64)), index_put(x, {ints({1})}, zeros({}, float64))));
  CHECK(equal(x.index_fill(1, ints({0}), 2.0), index_fill(x, 1, ints({0}), 2.0)));
  CHECK(equal(x.take_along_dim(ints({1, 0, 2}, {3, 1}), 1), take_along_dim(x, ints({1, 0, 2}, {3, 1}), 1)));
  CHECK(equal(x.take_along_dim(ints({5})), take_along_dim(x, ints({5}))));
  CHECK(x.split(2).size() == 2);
  CHECK(x.split({1, 2}).size() == 2);
  CHECK(x.split_with_sizes({3, 1}, 1).size() == 2);
  CHECK(x.chunk(2, 1).size() == 2);
  CHECK(x.unbind(1).size() == 4);
  // Index results, like masks, need no gradient of their own; float results of a float input that
  // requires grad do.
  const Tensor w = x.detach().requires_grad_();
  CHECK(flip(w, {1}).requires_grad());
  CHECK(std::string(pad(w, {1, 1}).grad_fn()->name()) == "pad");
  CHECK_FALSE(flip(ints({1, 2}), {0}).requires_grad());
}

TEST_CASE("split, chunk and unbind give views whose gradients meet in the input", "[autograd][shape_index]") {
  const Tensor x = arange(0, 6, 1, float64).reshape({3, 2}).requires_grad_();
  const std::vector<Tensor> pieces = split(x, {1, 2});
  CHECK(pieces[0].raw().shares_storage(x.raw()));
  CHECK(std::string(pieces[1].grad_fn()->name()) == "narrow");
  (pieces[0].sum() * 2.0 + (pieces[1] * pieces[1]).sum()).backward();
  CHECK(values(x.grad()) == std::vector<double>{2, 2, 4, 6, 8, 10});

  const Tensor y = arange(0, 6, 1, float64).reshape({2, 3}).requires_grad_();
  const std::vector<Tensor> columns = unbind(y, 1);
  CHECK(columns[2].raw().shares_storage(y.raw()));
  (columns[0] * columns[2]).sum().backward();
  CHECK(values(y.grad()) == std::vector<double>{2, 0, 0, 5, 0, 3});

  // A view is refused as the target of a recorded in-place op (nabla does not record through views).
  const Tensor z = ones({4}, float64).requires_grad_() * 1.0;
  CHECK_THROWS_WITH(chunk(z, 2)[0].add_(z.slice(0, 0, 2)), Contains("view"));
}

TEST_CASE("gradients of flip, roll, repeat, triangles, diag and pad have PyTorch's values", "[autograd][shape_index]") {
  const Tensor weights = arange(1, 13, 1, float64).reshape({3, 4});
  SECTION("roll and flip send each gradient back to where the element came from") {
    const Tensor x = zeros({3, 4}, float64).requires_grad_();
    (roll(x, {1, -1}, {0, 1}) * weights).sum().backward();
    CHECK(values(x.grad()) == values(roll(weights, {-1, 1}, {0, 1})));
    x.zero_grad();
    (flip(x, {0, 1}) * weights).sum().backward();
    CHECK(values(x.grad()) == values(flip(weights, {0, 1})));
  }
  SECTION("repeat sums the copies") {
    const Tensor x = zeros({2}, float64).requires_grad_();
    (repeat(x, {3, 2}) * arange(1, 13, 1, float64).reshape({3, 4})).sum().backward();
    CHECK(values(x.grad()) == std::vector<double>{1 + 3 + 5 + 7 + 9 + 11, 2 + 4 + 6 + 8 + 10 + 12});  // torch
  }
  SECTION("diag of a tall matrix puts the gradient back on the diagonal") {
    const Tensor x = zeros({4, 2}, float64).requires_grad_();
    (diag(x, -1) * tensor({5, 7}, {2}, float64)).sum().backward();
    CHECK(values(x.grad()) == std::vector<double>{0, 0, 5, 0, 0, 7, 0, 0});  // torch
  }
  SECTION("reflect padding accumulates the reflected copies") {
    const Tensor x = zeros({1, 1, 3}, float64).requires_grad_();
    (pad(x, {2, 1}, PadMode::reflect) * tensor({1, 10, 100, 1000, 10000, 100000}, {1, 1, 6}, float64)).sum().backward();
    CHECK(values(x.grad()) == std::vector<double>{100, 101010, 10001});  // torch
    CHECK(std::string(pad(x, {2, 1}, PadMode::reflect).grad_fn()->name()) == "pad");
  }
  SECTION("triu keeps the gradient of the kept triangle") {
    const Tensor x = zeros({3, 4}, float64).requires_grad_();
    (triu(x, 1) * weights).sum().backward();
    CHECK(values(x.grad()) == values(triu(weights, 1)));
  }
}

TEST_CASE("gradients of masked_select, index_put, index_fill and take_along_dim", "[autograd][shape_index]") {
  SECTION("masked_select with a broadcast mask sums the gradient over the broadcast") {
    const Tensor x = zeros({4}, float64).requires_grad_();
    const Tensor mask = tensor({1, 0, 0, 1, 1, 1, 0, 1}, {2, 4}, uint8);
    (masked_select(x, mask) * tensor({1, 2, 3, 4, 5}, {5}, float64)).sum().backward();
    CHECK(values(x.grad()) == std::vector<double>{1 + 3, 4, 0, 2 + 5});  // torch
  }
  SECTION("index_put without accumulate: overwritten elements and overwritten values get no gradient") {
    const Tensor x = zeros({3}, float64).requires_grad_();
    const Tensor v = zeros({3}, float64).requires_grad_();
    const Tensor out = index_put(x, {ints({2, 0, 2})}, v);
    (out * tensor({10, 20, 30}, {3}, float64)).sum().backward();
    CHECK(values(x.grad()) == std::vector<double>{0, 20, 0});
    // Position 2 is written twice; the last value (v[2]) is what the output holds.
    CHECK(values(v.grad()) == std::vector<double>{0, 10, 30});
  }
  SECTION("index_put with accumulate passes the gradient to every value and to x") {
    const Tensor x = zeros({3}, float64).requires_grad_();
    const Tensor v = zeros({}, float64).requires_grad_();
    (index_put(x, {ints({2, 0, 2})}, v, true) * tensor({10, 20, 30}, {3}, float64)).sum().backward();
    CHECK(values(x.grad()) == std::vector<double>{10, 20, 30});
    CHECK(v.grad().item() == 30 + 10 + 30);  // a scalar value broadcast to three positions
  }
  SECTION("index_fill and take_along_dim") {
    const Tensor x = zeros({2, 3}, float64).requires_grad_();
    (index_fill(x, 1, ints({-1}), 5.0) * arange(1, 7, 1, float64).reshape({2, 3})).sum().backward();
    CHECK(values(x.grad()) == std::vector<double>{1, 2, 0, 4, 5, 0});
    x.zero_grad();
    take_along_dim(x, ints({2, 2, 0}, {1, 3}), 1).sum().backward();  // indices broadcast over the rows
    CHECK(values(x.grad()) == std::vector<double>{1, 0, 2, 1, 0, 2});
  }
}

TEST_CASE("index_put_ and index_fill_ record in place", "[autograd][shape_index]") {
  const Tensor w = ones({3}, float64).requires_grad_();
  const Tensor v = full({}, 4.0, float64).requires_grad_();
  const Tensor y = w * 2.0;
  y.index_put_({ints({1})}, v);
  CHECK(values(y) == std::vector<double>{2, 4, 2});
  CHECK(std::string(y.grad_fn()->name()) == "index_put");
  y.index_fill_(0, ints({0}), -1.0);
  CHECK(values(y) == std::vector<double>{-1, 4, 2});
  (y * tensor({1, 2, 3}, {3}, float64)).sum().backward();
  CHECK(values(w.grad()) == std::vector<double>{0, 0, 6});
  CHECK(v.grad().item() == 2);
  // A leaf that requires grad is refused, as for every in-place op; without grad it just writes.
  CHECK_THROWS_WITH(w.index_fill_(0, ints({0}), 0.0), Contains("index_fill_") && Contains("leaf"));
  const Tensor plain = zeros({2}, float64);
  plain.index_put_({ints({-1})}, ones({}, float64));
  CHECK(values(plain) == std::vector<double>{0, 1});
}

TEST_CASE("bad shape and index calls name the op and the fix", "[autograd][shape_index][errors]") {
  const Tensor x = zeros({3, 4}, float64).requires_grad_();
  // PyTorch refuses x[::-1]; nabla's slice says what to use instead.
  CHECK_THROWS_WITH(slice(x, 0, 0, 3, -1), Contains("slice") && Contains("step must be positive") && Contains("-1") &&
                                               Contains("flip(x, {0})"));
  CHECK_THROWS_WITH(x.slice(1, 0, 4, 0), Contains("slice") && Contains("flip(x, {1})"));
  CHECK_THROWS_WITH(x[-4], Contains("select") && Contains("-4") && Contains("-3 to 2"));
  CHECK_THROWS_WITH(x.narrow(0, -4, 1), Contains("narrow") && Contains("-4"));
  CHECK_THROWS_WITH(select(x, 1, 4), Contains("select") && Contains("index 4"));
  CHECK_THROWS_WITH(index_select(x, 0, ints({-4})), Contains("index_select") && Contains("-4"));
  CHECK_THROWS_WITH(gather(x, 1, ints({4}, {1, 1})), Contains("gather") && Contains("index 4"));
  CHECK_THROWS_WITH(index(x, {ints({-4})}), Contains("index") && Contains("-4") && Contains("axis 0 of size 3"));
  CHECK_THROWS_WITH(index_put(x, {ints({3})}, zeros({}, float64)), Contains("index_put") && Contains("index 3"));
  CHECK_THROWS_WITH(index_fill(x, 0, ints({-4}), 0.0), Contains("index_fill") && Contains("-4"));
  CHECK_THROWS_WITH(take_along_dim(x, ints({-1}, {1, 1}), 0), Contains("take_along_dim") && Contains("-1"));
  CHECK_THROWS_WITH(pad(x, {5, 0}, PadMode::reflect), Contains("reflect padding must be smaller"));
  CHECK_THROWS_WITH(split(x, {2, 2}), Contains("split_with_sizes") && Contains("add up to 4") && Contains("3 elements"));
  CHECK_THROWS_WITH(repeat(x, {2}), Contains("repeat") && Contains("tile"));
  CHECK_THROWS_WITH(masked_select(x, ones({2}, uint8)), Contains("masked_select") && Contains("[2]"));
  CHECK_THROWS_WITH(index_put(x, {ints({0})}, ones({4}, float32)), Contains("index_put") && Contains("float32"));
}
