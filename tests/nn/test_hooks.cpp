// Module forward hooks and forward-pre hooks (PyTorch's register_forward_hook /
// register_forward_pre_hook): what they see, what they may replace, on which call paths they run,
// and their handles.
#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "nabla/nn.hpp"

using namespace nabla;
using Catch::Contains;

namespace {

// Two tensor inputs and a non-tensor one in between; a tuple of two tensors and a count out.
struct TwoHeads : nn::Module {
  std::tuple<Tensor, Tensor, int> forward(const Tensor& a, double scale, const Tensor& b) {
    ++calls;
    return {a * scale, a + b, 7};
  }
  int calls = 0;
};

// A result with no tensors in it.
struct Counter : nn::Module {
  int64_t forward(const Tensor& x, int64_t extra) { return x.numel() + extra; }
};

// Takes a tensor by value and one by rvalue reference.
struct ByValue : nn::Module {
  Tensor forward(Tensor x, Tensor&& y) { return x - y; }
};

Tensor values(std::vector<double> v) { return from_vector(v); }

}  // namespace

TEST_CASE("hooks: a forward hook sees the inputs and the output, and may replace the output", "[hooks]") {
  auto linear = nn::make<nn::Linear>(3, 2);
  linear->to(float64);
  const Tensor x = randn({4, 3}, float64);
  std::vector<Tensor> seen_inputs, seen_outputs;
  nn::Module* seen_module = nullptr;
  auto observer = linear->register_forward_hook(
      [&](nn::Module& module, const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs) {
        seen_module = &module;
        seen_inputs = inputs;
        seen_outputs = outputs;
      });
  const Tensor y = linear(x);
  CHECK(seen_module == linear.get());
  REQUIRE(seen_inputs.size() == 1);
  CHECK(seen_inputs[0].equal(x));
  REQUIRE(seen_outputs.size() == 1);
  CHECK(seen_outputs[0].equal(y));

  // A hook returning a Tensor replaces the output; the next hook sees the replacement.
  auto doubler = linear->register_forward_hook(
      [](nn::Module&, const std::vector<Tensor>&, const std::vector<Tensor>& outputs) { return outputs[0] * 2.0; });
  std::vector<Tensor> after_doubling;
  auto last = linear->register_forward_hook(
      [&](nn::Module&, const std::vector<Tensor>&, const std::vector<Tensor>& outputs) { after_doubling = outputs; });
  const Tensor doubled = linear(x);
  CHECK(doubled.allclose(linear->forward(x) * 2.0));
  CHECK(after_doubling[0].equal(doubled));
  CHECK(seen_outputs[0].allclose(linear->forward(x)));  // registered first: saw the original

  // An undefined Tensor keeps the output.
  doubler.remove();
  auto keeper = linear->register_forward_hook(
      [](nn::Module&, const std::vector<Tensor>&, const std::vector<Tensor>&) { return Tensor(); });
  CHECK(linear(x).equal(linear->forward(x)));
  observer.remove(), last.remove(), keeper.remove();
  CHECK_FALSE(linear->has_forward_hooks());
}

TEST_CASE("hooks: a pre-hook may replace the inputs forward receives", "[hooks]") {
  auto linear = nn::make<nn::Linear>(3, 2);
  const Tensor x = randn({2, 3});
  auto handle = linear->register_forward_pre_hook(
      [](nn::Module&, const std::vector<Tensor>& inputs) { return inputs[0] * 0.5; });
  CHECK(linear(x).allclose(linear->forward(x * 0.5)));
  std::vector<Tensor> forward_saw;
  auto observer = linear->register_forward_hook(
      [&](nn::Module&, const std::vector<Tensor>& inputs, const std::vector<Tensor>&) { forward_saw = inputs; });
  linear(x);
  CHECK(forward_saw[0].allclose(x * 0.5));  // forward hooks see the replaced inputs
  // std::optional<std::vector<Tensor>> works too, std::nullopt keeping them
  handle.remove();
  auto optional_hook = linear->register_forward_pre_hook(
      [](nn::Module&, const std::vector<Tensor>&) -> std::optional<std::vector<Tensor>> { return std::nullopt; });
  CHECK(linear(x).equal(linear->forward(x)));
}

TEST_CASE("hooks: gradients flow through replaced inputs and outputs", "[hooks]") {
  auto linear = nn::make<nn::Linear>(2, 1);
  linear->to(float64);
  Tensor x = values({1.0, -2.0}).reshape({1, 2}).requires_grad_();
  linear->register_forward_pre_hook([](nn::Module&, const std::vector<Tensor>& in) { return in[0] * 3.0; });
  linear->register_forward_hook(
      [](nn::Module&, const std::vector<Tensor>&, const std::vector<Tensor>& out) { return out[0] * 2.0; });
  linear(x).sum().backward();
  // d/dx of 2 * (W (3x) + b) = 6 W
  CHECK(x.grad().allclose(linear->weight.detach() * 6.0));
  CHECK(linear->bias.grad().item() == Approx(2.0));
}

TEST_CASE("hooks: modules of any signature (tensor arguments, tuple results)", "[hooks]") {
  auto heads = nn::make<TwoHeads>();
  const Tensor a = values({1.0, 2.0}), b = values({10.0, 20.0});
  std::vector<Tensor> pre_saw, post_inputs, post_outputs;
  heads->register_forward_pre_hook([&](nn::Module&, const std::vector<Tensor>& inputs) {
    pre_saw = inputs;
    return std::optional<std::vector<Tensor>>(std::vector<Tensor>{inputs[0], inputs[1] * 2.0});
  });
  heads->register_forward_hook(
      [&](nn::Module&, const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs) {
        post_inputs = inputs;
        post_outputs = outputs;
        return std::optional<std::vector<Tensor>>(std::vector<Tensor>{outputs[0] + 1.0, outputs[1]});
      });
  auto [scaled, summed, count] = heads(a, 3.0, b);
  // the pre-hook saw the two tensors (not the double) and doubled b
  REQUIRE(pre_saw.size() == 2);
  CHECK(pre_saw[1].equal(b));
  CHECK(post_inputs[1].equal(b * 2.0));
  // the forward hook saw the tuple's two tensors and replaced the first; the int passes through
  REQUIRE(post_outputs.size() == 2);
  CHECK(scaled.to_vector<double>() == std::vector<double>{4.0, 7.0});
  CHECK(summed.to_vector<double>() == std::vector<double>{21.0, 42.0});
  CHECK(count == 7);
  CHECK(heads->calls == 1);
  CHECK(heads->last_output_shape() == "[2], [2]");  // summary() still sees the call
}

TEST_CASE("hooks: Tensor arguments by value and by rvalue reference", "[hooks]") {
  auto module = nn::make<ByValue>();
  module->register_forward_pre_hook([](nn::Module&, const std::vector<Tensor>& in) {
    return std::optional<std::vector<Tensor>>(std::vector<Tensor>{in[0] * 10.0, in[1]});
  });
  Tensor x = values({1.0}), y = values({0.5});
  CHECK(module(x, std::move(y)).item() == Approx(9.5));
}

TEST_CASE("hooks: they run on every call path except ->forward", "[hooks]") {
  nn::Shared<nn::Sequential> model = nn::Sequential{nn::Linear(4, 8), nn::ReLU(), nn::Linear(8, 3)};
  std::vector<std::string> shapes;
  std::vector<nn::HookHandle> handles;
  for (const auto& [name, module] : model->named_modules()) {
    if (name.empty()) continue;
    handles.push_back(module->register_forward_hook(
        [&shapes, name = name](nn::Module& m, const std::vector<Tensor>&, const std::vector<Tensor>& out) {
          shapes.push_back(name + " " + m.type_name() + " " + to_string(out[0].shape()));
        }));
  }
  const Tensor x = randn({5, 4});
  model(x);  // Sequential calls each child through Module::operator()
  CHECK(shapes == std::vector<std::string>{"0 Linear [5, 8]", "1 ReLU [5, 8]", "2 Linear [5, 3]"});
  shapes.clear();
  (*model)[0]->operator()(x);  // a plain Module& call
  CHECK(shapes.size() == 1);
  shapes.clear();
  model->forward(x);  // forward itself runs the children's hooks (it calls them), not the model's own
  CHECK(shapes.size() == 3);
  auto own = model->register_forward_hook([&](nn::Module&, const std::vector<Tensor>&, const std::vector<Tensor>&) {
    shapes.push_back("model");
  });
  shapes.clear();
  model->forward(x);
  CHECK(shapes.size() == 3);  // ->forward: not the model's hook
  model(x);
  CHECK(shapes.back() == "model");
  for (auto& handle : handles) handle.remove();
}

TEST_CASE("hooks: handles", "[hooks]") {
  auto linear = nn::make<nn::Linear>(2, 2);
  int calls = 0;
  auto handle = linear->register_forward_hook(
      [&](nn::Module&, const std::vector<Tensor>&, const std::vector<Tensor>&) { ++calls; });
  CHECK(handle.active());
  linear(randn({1, 2}));
  handle.remove();
  CHECK_FALSE(handle.active());
  handle.remove();  // twice: nothing
  linear(randn({1, 2}));
  CHECK(calls == 1);

  // a hook may remove itself while it runs
  nn::HookHandle self;
  self = linear->register_forward_pre_hook([&](nn::Module&, const std::vector<Tensor>&) {
    ++calls;
    self.remove();
  });
  linear(randn({1, 2}));
  linear(randn({1, 2}));
  CHECK(calls == 2);

  // a handle outliving its module does nothing
  nn::HookHandle orphan;
  {
    auto temporary = nn::make<nn::Linear>(2, 2);
    orphan = temporary->register_forward_hook(
        [](nn::Module&, const std::vector<Tensor>&, const std::vector<Tensor>&) {});
  }
  CHECK_FALSE(orphan.active());
  CHECK_NOTHROW(orphan.remove());

  // hooks move with the module, and their handles still reach them
  nn::Linear original(2, 2);
  auto moved_handle = original.register_forward_hook(
      [&](nn::Module&, const std::vector<Tensor>&, const std::vector<Tensor>&) { calls += 100; });
  nn::Linear moved = std::move(original);
  moved(randn({1, 2}));
  CHECK(calls == 102);
  moved_handle.remove();
  CHECK_FALSE(moved.has_forward_hooks());
}

TEST_CASE("hooks: wrong replacements are refused with what is wrong", "[hooks]") {
  auto linear = nn::make<nn::Linear>(2, 2);
  auto handle = linear->register_forward_pre_hook([](nn::Module&, const std::vector<Tensor>& in) {
    return std::optional<std::vector<Tensor>>(std::vector<Tensor>{in[0], in[0]});
  });
  CHECK_THROWS_WITH(linear(randn({1, 2})), Contains("Linear") && Contains("pre-hook returned 2 tensors") &&
                                               Contains("1 tensor arguments"));
  handle.remove();

  auto counter = nn::make<Counter>();
  counter->register_forward_hook(
      [](nn::Module&, const std::vector<Tensor>&, const std::vector<Tensor>&) { return zeros({1}); });
  CHECK_THROWS_WITH(counter(randn({3}), 1), Contains("Counter") && Contains("forward hook returned 1 tensors") &&
                                             Contains("can replace only Tensors"));
}
