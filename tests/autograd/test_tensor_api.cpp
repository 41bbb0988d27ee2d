// The one type users hold: Tensor's methods agree with the free functions, ops without a
// gradient return tensors that require none, in-place ops record or refuse, hooks see and may
// replace gradients, and a model's outputs support the accuracy code of libtorch's MNIST example.
#include <catch2/catch.hpp>
#include <nabla/autograd.hpp>

#include <sstream>
#include <string>
#include <vector>

using namespace nabla;
using Catch::Contains;

namespace {
std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }
}  // namespace

TEST_CASE("tensor api: libtorch's MNIST accuracy line works on a model's output", "[autograd][tensor]") {
  // Logits for 4 examples over 3 classes (a model output that requires grad), and the labels.
  const Tensor weight = tensor({1, 0, 0, 0, 1, 0, 0, 0, 1}, {3, 3}).requires_grad_();
  const Tensor input = tensor({5, 1, 0, 0, 2, 9, 1, 7, 3, 4, 4, 8}, {4, 3});
  const Tensor output = input.matmul(weight);
  REQUIRE(output.requires_grad());
  const Tensor target = tensor({0, 2, 1, 1}, {4}, int64);
  const Tensor pred = output.argmax(1);
  CHECK(values(pred) == std::vector<double>{0, 2, 1, 2});
  CHECK_FALSE(pred.requires_grad());
  CHECK(pred.dtype() == int64);
  CHECK(pred.eq(target).sum().item<int64_t>() == 3);
  CHECK_FALSE(pred.eq(target).requires_grad());
  // keepdim and the free-function spellings agree with the methods.
  CHECK(output.argmax(1, true).shape() == Shape{4, 1});
  CHECK(equal(argmax(output, 1), pred));
  CHECK(equal(eq(pred, target), pred.eq(target)));
}

TEST_CASE("tensor api: methods and free functions compute the same thing", "[autograd][tensor]") {
  Generator generator(5);
  const Tensor x = randn({3, 4}, float64, generator);
  const Tensor y = randn({4}, float64, generator);
  CHECK(equal(x.add(y), add(x, y)));
  CHECK(equal(x.sub(2.0), x - 2.0));
  CHECK(equal(x.mul(y), x * y));
  CHECK(equal(x.div(3.0), x / 3.0));
  CHECK(equal(x.pow(2.0), x * x));
  CHECK(equal(x.exp(), exp(x)));
  CHECK(equal(x.abs().sqrt(), sqrt(abs(x))));
  CHECK(equal(x.tanh(), tanh(x)));
  CHECK(equal(x.sigmoid(), sigmoid(x)));
  CHECK(equal(x.relu(), relu(x)));
  CHECK(equal(x.sum(), sum(x)));
  CHECK(equal(x.mean({1}, true), mean(x, {1}, true)));
  CHECK(equal(x.var({0}), var(x, {0})));
  CHECK(equal(x.amax({1}), amax(x, {1})));
  CHECK(equal(x.max(), max(x)));
  CHECK(equal(x.min(1).values, min(x, 1).values));
  CHECK(equal(x.min(1).indices, argmin(x, 1)));
  CHECK(equal(x.softmax(1), softmax(x, 1)));
  CHECK(equal(x.log_softmax(0), log_softmax(x, 0)));
  CHECK(equal(x.t().matmul(x), matmul(transpose(x, 0, 1), x)));
  CHECK(equal(x.view({2, 6}), reshape(x, {2, 6})));
  CHECK(equal(x.flatten(), x.reshape({12})));
  CHECK(equal(x.unsqueeze(0).squeeze(0), x));
  CHECK(equal(x.permute({1, 0}), x.t()));
  CHECK(equal(x[1], x.select(0, 1)));
  CHECK(equal(x[-1], x.select(0, 2)));
  CHECK(equal(x.narrow(1, 1, 2), x.slice(1, 1, 3)));
  CHECK(equal(x.clamp(-0.5, 0.5), clamp(x, -0.5, 0.5)));
  CHECK(equal(x.clamp_min(0.0), relu(x)));
  CHECK(equal(cat({x, x}, 0), concat({x, x}, 0)));
  CHECK(x.to(float32).dtype() == float32);
  CHECK(equal(x.gt(0.0).logical_not(), x.le(0.0)));
  CHECK(equal(x.gt(0.0).logical_and(x.lt(1.0)), x.gt(0.0).mul(x.lt(1.0))));
  CHECK(equal(x.gt(1.0).logical_or(x.lt(-1.0)), x.abs().gt(1.0)));
  CHECK(equal(x.gt(0.0).logical_xor(x.gt(0.0)), zeros({3, 4}, bool_)));
  CHECK(x.allclose(x + 1e-12));
  CHECK(x.equal(x.clone()));
  CHECK(zeros_like(x).dtype() == float64);
  CHECK(values(full_like(y, 2.5)) == std::vector<double>(4, 2.5));
}

TEST_CASE("tensor api: masked_fill puts a value where the mask is set, broadcasting it", "[autograd][tensor]") {
  const Tensor x = tensor({1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor mask = tensor({1, 0, 1}, {3}, uint8);
  CHECK(values(x.masked_fill(mask, -1.0)) == std::vector<double>{-1, 2, -1, -1, 5, -1});
  Tensor y = x.clone();
  y.masked_fill_(x.gt(3.0), 0.0);
  CHECK(values(y) == std::vector<double>{1, 2, 3, 0, 0, 0});
  CHECK_THROWS_WITH(x.masked_fill(tensor({1, 0}, {2}, uint8), 1.0), Contains("masked_fill") && Contains("[2]"));
}

TEST_CASE("tensor api: ops without a gradient return tensors that require none", "[autograd][tensor]") {
  const Tensor x = tensor({1.0, -2.0, 3.0}, {3}, float64).requires_grad_();
  for (const Tensor& result : {x.eq(1.0), x.ne(x), x.lt(0.0), x.le(x), x.gt(0.0), x.ge(x), x.argmax(), x.argmin(0),
                               x.gt(0.0).logical_not(), x.to(int64)}) {
    CHECK_FALSE(result.requires_grad());
    CHECK(result.is_leaf());
  }
  // A differentiable op on the same input does require grad.
  CHECK(x.abs().requires_grad());
}

TEST_CASE("tensor api: factories hand out leaves, requires_grad_ chains", "[autograd][tensor]") {
  const Tensor w = randn({3, 4}).requires_grad_();
  CHECK(w.requires_grad());
  CHECK(w.is_leaf());
  CHECK_THROWS_WITH(arange(5).requires_grad_(), Contains("only float tensors"));
  CHECK_FALSE(ones({2}).requires_grad());
}

TEST_CASE("tensor api: in-place ops on tracked tensors record, and refuse leaves and views", "[autograd][tensor]") {
  const Tensor x = tensor({1.0, 2.0, 3.0}, {3}, float64).requires_grad_();
  SECTION("recorded on a non-leaf: later uses see the new history") {
    Tensor y = x * 2.0;
    y.mul_(x);  // y = 2 x^2
    y += 1.0;   // operators are in place too
    sum(y).backward();
    CHECK(values(x.grad()) == std::vector<double>{4, 8, 12});
    CHECK(values(y) == std::vector<double>{3, 9, 19});
  }
  SECTION("a leaf that requires grad refuses, with the fix in the message") {
    CHECK_THROWS_WITH(x.add_(1.0), Contains("add_") && Contains("NoGradGuard"));
    NoGradGuard no_grad;
    x.add_(1.0);
    CHECK(values(x) == std::vector<double>{2, 3, 4});
  }
  SECTION("a view of a tracked tensor refuses a recorded in-place change") {
    const Tensor y = x * 1.0;
    CHECK_THROWS_WITH(y.select(0, 1).mul_(2.0), Contains("view") && Contains("clone()"));
    CHECK_THROWS_WITH(y.reshape({3, 1}).copy_(zeros({3, 1}, float64)), Contains("view"));
  }
  SECTION("copy_ records the source's gradient and cuts the old values'") {
    const Tensor target = zeros({3}, float64) * x;  // depends on x, but copy_ overwrites it
    const Tensor source = x * x;
    Tensor result = target;
    result.copy_(source);
    sum(result).backward();
    CHECK(values(x.grad()) == std::vector<double>{2, 4, 6});
  }
  SECTION("untracked tensors are written directly, views included") {
    const Tensor buffer = zeros({2, 3}, float64);
    buffer.select(0, 1).fill_(7.0);
    buffer[0].copy_(tensor({1, 2, 3}, {3}, float64));
    CHECK(values(buffer) == std::vector<double>{1, 2, 3, 7, 7, 7});
    buffer.clamp_(2.0, 5.0).div_(2.0);
    CHECK(values(buffer) == std::vector<double>{1, 1, 1.5, 2.5, 2.5, 2.5});
  }
}

TEST_CASE("tensor api: hooks see gradients and may replace them", "[autograd][tensor][hooks]") {
  const Tensor x = tensor({1.0, 2.0}, {2}, float64).requires_grad_();
  SECTION("on a leaf, before accumulation") {
    std::vector<double> seen;
    const int64_t handle = x.register_hook([&](const Tensor& grad) {
      seen = values(grad);
      return grad * 10.0;
    });
    sum(x * 3.0).backward();
    CHECK(seen == std::vector<double>{3, 3});
    CHECK(values(x.grad()) == std::vector<double>{30, 30});
    x.remove_hook(handle);
    x.zero_grad();
    sum(x * 3.0).backward();
    CHECK(values(x.grad()) == std::vector<double>{3, 3});
    CHECK_THROWS_WITH(x.remove_hook(handle), Contains("no hook"));
  }
  SECTION("on a non-leaf, before its gradient flows on") {
    const Tensor y = x * x;
    y.register_hook([](const Tensor& grad) { return grad * 0.5; });
    sum(y * 4.0).backward();
    CHECK(values(x.grad()) == std::vector<double>{4, 8});  // 0.5 * 4 * 2x
  }
  SECTION("a hook returning an undefined tensor keeps the gradient") {
    x.register_hook([](const Tensor&) { return Tensor(); });
    sum(x).backward();
    CHECK(values(x.grad()) == std::vector<double>{1, 1});
  }
  SECTION("post-accumulate hooks run after the leaf's grad() holds the sum") {
    std::vector<std::vector<double>> calls;
    x.register_post_accumulate_grad_hook([&](Tensor& leaf) { calls.push_back(values(leaf.grad())); });
    sum(x * 2.0 + x).backward();  // two paths into x: the hook sees the total once per accumulation
    REQUIRE_FALSE(calls.empty());
    CHECK(calls.back() == std::vector<double>{3, 3});
    CHECK_THROWS_WITH((x * 2.0).register_post_accumulate_grad_hook([](Tensor&) {}), Contains("leaf"));
  }
  CHECK_THROWS_WITH(ones({2}).register_hook([](const Tensor& g) { return g; }), Contains("does not require grad"));
}

TEST_CASE("tensor api: set_data replaces a leaf's values for every handle", "[autograd][tensor]") {
  const Tensor parameter = ones({2}, float32).requires_grad_();
  const Tensor alias = parameter;
  parameter.set_data(tensor({1.5, 2.5}, {2}, float64));
  CHECK(alias.dtype() == float64);
  CHECK(values(alias) == std::vector<double>{1.5, 2.5});
  CHECK(alias.requires_grad());
  CHECK_THROWS_WITH((parameter * 2.0).set_data(ones({2})), Contains("leaf"));
}

TEST_CASE("tensor api: printing shows values, dtype and autograd state", "[autograd][tensor]") {
  const Tensor x = tensor({1, 2, 3, 4}, {2, 2}).requires_grad_();
  const std::string leaf = fmt::format("{}", x);
  CHECK(Catch::contains(leaf, "float32"));
  CHECK(Catch::contains(leaf, "[2, 2]"));
  CHECK(Catch::contains(leaf, "requires_grad"));
  std::ostringstream stream;
  stream << x * 2.0;
  CHECK(Catch::contains(stream.str(), "grad_fn: mul"));
  CHECK(Catch::contains(stream.str(), "[[2, 4],"));
  CHECK(fmt::format("{}", Tensor()) == "tensor(undefined)");
}

TEST_CASE("tensor api: negative indices wrap once, and one past either end is an error", "[autograd][tensor]") {
  const Tensor x = arange(0.0, 12.0, 1.0, float64).reshape({3, 4}).requires_grad_();
  CHECK(values(x.select(0, -1)) == values(x.select(0, 2)));
  CHECK(values(x.select(0, -3)) == values(x.select(0, 0)));
  CHECK_THROWS_WITH(x.select(0, -4), Contains("select") && Contains("-4") && Contains("-3 to 2"));
  CHECK_THROWS_WITH(x.select(0, 3), Contains("select") && Contains("3"));
  CHECK(values(x.narrow(1, -2, 2)) == values(x.slice(1, 2, 4)));
  CHECK_THROWS_WITH(x.narrow(1, -5, 1), Contains("narrow") && Contains("-5"));
  // The gradient of select(-1) lands on the last row.
  sum(x.select(0, -1)).backward();
  CHECK(values(x.grad()) == std::vector<double>{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1});
}

TEST_CASE("tensor api: a forward computed on recorded Tensors is refused by record()", "[autograd][tensor]") {
  const Tensor x = ones({2}, float64).requires_grad_();
  auto doubled = [](const Tensor& input, bool unrecorded) {
    Tensor out;
    if (unrecorded) {
      NoGradGuard no_grad;
      out = input * 2.0;
    } else {
      out = input * 2.0;
    }
    return record("doubled", {input}, out, [](const Tensor& grad) { return Gradients{grad * 2.0}; });
  };
  sum(doubled(x, true)).backward();
  CHECK(values(x.grad()) == std::vector<double>{2, 2});
  CHECK_THROWS_WITH(doubled(x, false), Contains("doubled") && Contains("NoGradGuard"));
}
