// GroupNorm, InstanceNorm1d/2d/3d and LocalResponseNorm against PyTorch (torch 1.13's numbers,
// tests/nn/reference/layers_reference.py): outputs and gradients of inputs and parameters, the
// running statistics of a tracking InstanceNorm and its evaluation; plus the fused group_norm and
// native_batch_norm (BatchNorm's training forward) against their definitions in plain ops
// (float32 included), parameters and buffers, gradchecks and
// errors.
#include <string>
#include <vector>

#include "layers_reference.hpp"
#include "nn_test_support.hpp"

using namespace nabla;
using Catch::Contains;
using nn_test::Args;
namespace F = nabla::nn::functional;
using layers_reference::check_close;
using layers_reference::reference_loss;
using layers_reference::tensor_of;
using layers_reference::values;

namespace {

// Group normalisation by the book: per (sample, group) mean and biased variance, in plain ops.
Tensor group_norm_by_the_book(const Tensor& x, int64_t groups, const Tensor& weight, const Tensor& bias, double eps) {
  const Tensor grouped = x.reshape({x.size(0), groups, -1});
  const Tensor centered = grouped - grouped.mean({2}, true);
  Tensor out = (centered / sqrt((centered * centered).mean({2}, true) + eps)).reshape(x.shape());
  Shape per_channel = Dims::filled(x.dim() - 1, 1);
  per_channel[0] = x.size(1);
  if (weight.defined()) out = out * weight.reshape(per_channel);
  if (bias.defined()) out = out + bias.reshape(per_channel);
  return out;
}

// Batch normalisation with batch statistics by the book: per channel mean and biased variance.
Tensor batch_norm_by_the_book(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  Dims axes{0};
  Shape per_channel = Dims::filled(x.dim(), 1);
  per_channel[1] = x.size(1);
  for (int64_t i = 2; i < x.dim(); ++i) axes.push_back(i);
  const Tensor centered = x - x.mean(axes, true);
  Tensor out = centered / sqrt((centered * centered).mean(axes, true) + eps);
  if (weight.defined()) out = out * weight.reshape(per_channel);
  if (bias.defined()) out = out + bias.reshape(per_channel);
  return out;
}

}  // namespace

TEST_CASE("normalization: GroupNorm, InstanceNorm and LocalResponseNorm match PyTorch", "[normalization]") {
  struct Case {
    std::string label;
    std::shared_ptr<nn::Module> layer;
    Shape input;
  };
  const std::vector<Case> cases{
      {"group_norm 3 groups of [2, 6, 3, 2]", std::make_shared<nn::GroupNorm>(3, 6), {2, 6, 3, 2}},
      {"group_norm 1 group of [3, 4, 5]", std::make_shared<nn::GroupNorm>(1, 4, 1e-3), {3, 4, 5}},
      {"group_norm 4 groups of [2, 4, 3] without affine", std::make_shared<nn::GroupNorm>(4, 4, 1e-5, false), {2, 4, 3}},
      {"group_norm 2 groups of [3, 4]", std::make_shared<nn::GroupNorm>(2, 4), {3, 4}},
      {"instance_norm1d", std::make_shared<nn::InstanceNorm1d>(3), {2, 3, 5}},
      {"instance_norm1d unbatched affine",
       std::make_shared<nn::InstanceNorm1d>(nn::InstanceNormOptions{.num_features = 3, .affine = true}), {3, 5}},
      {"instance_norm2d affine",
       std::make_shared<nn::InstanceNorm2d>(nn::InstanceNormOptions{.num_features = 3, .affine = true}), {2, 3, 3, 2}},
      {"local_response_norm size 3 of [2, 5, 4]", std::make_shared<nn::LocalResponseNorm>(3, 0.3, 0.75, 2.0), {2, 5, 4}},
      {"local_response_norm size 4 of [2, 6, 3, 3]", std::make_shared<nn::LocalResponseNorm>(4, 0.5, 0.6, 1.0),
       {2, 6, 3, 3}},
      {"local_response_norm size 2 of [1, 3, 2, 2, 2]", std::make_shared<nn::LocalResponseNorm>(2), {1, 3, 2, 2, 2}},
  };
  for (const Case& c : cases) {
    INFO(c.label);
    const layers_reference::Case& torch = layers_reference::get(c.label);
    c.layer->to(float64);
    layers_reference::fill_parameters(*c.layer);
    const Tensor x = tensor_of(torch, "input", c.input).requires_grad_();
    const Tensor y = (*c.layer)(x);
    CHECK(y.shape() == c.input);
    reference_loss(y).backward();
    check_close(y, values(torch, "output"), "output");
    check_close(x.grad(), values(torch, "grad input"), "grad input");
    for (const auto& [name, parameter] : c.layer->named_parameters()) {
      check_close(parameter.grad(), values(torch, "grad " + name), "grad " + name);
    }
  }
}

TEST_CASE("normalization: a tracking InstanceNorm2d updates its running statistics and evaluates with them",
          "[normalization]") {
  const layers_reference::Case& torch = layers_reference::get("instance_norm2d running stats");
  nn::InstanceNorm2d norm({.num_features = 3, .momentum = 0.3, .affine = true, .track_running_stats = true});
  norm.to(float64);
  layers_reference::fill_parameters(norm);
  const Tensor x = tensor_of(torch, "input", {2, 3, 2, 3}).requires_grad_();
  const Tensor out = norm(x);
  reference_loss(out).backward();
  check_close(out, values(torch, "output"), "training output");
  check_close(x.grad(), values(torch, "grad input"), "training grad input");
  check_close(norm.running_mean, values(torch, "running_mean"), "running_mean");
  check_close(norm.running_var, values(torch, "running_var"), "running_var (unbiased)");
  CHECK(norm.num_batches_tracked.item<int64_t>() == 0);  // as PyTorch's InstanceNorm: only BatchNorm counts
  norm.eval();
  const Tensor x_eval = tensor_of(torch, "eval input", {2, 3, 2, 3}).requires_grad_();
  const Tensor out_eval = norm(x_eval);
  reference_loss(out_eval).backward();
  check_close(out_eval, values(torch, "eval output"), "eval output");
  check_close(x_eval.grad(), values(torch, "eval grad input"), "eval grad input");
  check_close(norm.running_mean, values(torch, "running_mean"), "running_mean unchanged in eval");
}

TEST_CASE("normalization: the fused native_batch_norm is its definition, in float64 and float32, any layout",
          "[normalization]") {
  Generator generator(11);
  for (const Shape& shape : {Shape{16, 5}, Shape{8, 6, 7}, Shape{16, 8, 5, 5}}) {
    INFO("shape " << to_string(shape));
    const int64_t c = shape[1];
    const Tensor x = (randn(shape, float64, generator) * 3.0 + 1.0).requires_grad_();
    const Tensor w = randn({c}, float64, generator).requires_grad_(), b = randn({c}, float64, generator).requires_grad_();
    const NativeBatchNorm fused = native_batch_norm(x, w, b, 1e-5);
    const Tensor book = batch_norm_by_the_book(x, w, b, 1e-5);
    CHECK(nn_test::max_abs_difference(fused.output, book) < 1e-12);
    Dims axes{0};
    for (int64_t i = 2; i < x.dim(); ++i) axes.push_back(i);
    CHECK(nn_test::max_abs_difference(fused.mean, x.detach().mean(axes)) < 1e-12);
    CHECK(nn_test::max_abs_difference(fused.var, x.detach().var(axes, false, 0)) < 1e-11);
    const Tensor u = randn(x.shape(), float64, generator);
    const auto g1 = autograd::grad({(fused.output * u).sum()}, {x, w, b});
    const auto g2 = autograd::grad({(book * u).sum()}, {x, w, b});
    for (size_t i = 0; i < 3; ++i) CHECK(nn_test::max_abs_difference(g1[i], g2[i]) < 1e-10);
    // float32 (forward and backward), and a non-contiguous input.
    const Tensor x32 = x.detach().to(float32).requires_grad_();
    const Tensor w32 = w.detach().to(float32).requires_grad_();
    const Tensor out32 = native_batch_norm(x32, w32, b.detach().to(float32)).output;
    CHECK(nn_test::max_abs_difference(out32.to(float64), book.detach()) < 1e-5);
    const auto g32 = autograd::grad({(out32 * u.to(float32)).sum()}, {x32, w32});
    CHECK(nn_test::max_abs_difference(g32[0].to(float64), g2[0]) < 1e-4);
    CHECK(nn_test::max_abs_difference(g32[1].to(float64), g2[1]) < 1e-3);
    const Tensor transposed = x.detach().transpose(0, 1).contiguous().transpose(0, 1);
    REQUIRE_FALSE(transposed.is_contiguous());
    CHECK(nn_test::max_abs_difference(native_batch_norm(transposed, w, b).output, fused.output) < 1e-12);
  }
  CHECK_THROWS_WITH(native_batch_norm(zeros({4, 3}), zeros({2})), Contains("weight has shape [2], expected [3]"));
  CHECK_THROWS_WITH(native_batch_norm(zeros({4})), Contains("batch_norm: input must be [N, C, ...]"));
}

TEST_CASE("normalization: the fused group_norm is its definition, in float64 and float32, any layout",
          "[normalization]") {
  Generator generator(7);
  for (const int64_t groups : {1, 2, 4, 8}) {
    INFO("groups " << groups);
    const Tensor x = (randn({3, 8, 5, 2}, float64, generator) * 3.0 + 1.0).requires_grad_();
    const Tensor w = randn({8}, float64, generator).requires_grad_(), b = randn({8}, float64, generator).requires_grad_();
    const Tensor fused = group_norm(x, groups, w, b, 1e-5);
    const Tensor book = group_norm_by_the_book(x, groups, w, b, 1e-5);
    CHECK(nn_test::max_abs_difference(fused, book) < 1e-12);
    const Tensor u = randn(x.shape(), float64, generator);
    const auto g1 = autograd::grad({(fused * u).sum()}, {x, w, b});
    const auto g2 = autograd::grad({(book * u).sum()}, {x, w, b});
    for (size_t i = 0; i < 3; ++i) CHECK(nn_test::max_abs_difference(g1[i], g2[i]) < 1e-11);
    // float32, and a non-contiguous input.
    const Tensor x32 = x.detach().to(float32);
    CHECK(nn_test::max_abs_difference(group_norm(x32, groups, w.detach().to(float32), b.detach().to(float32)),
                                      book.detach()) < 1e-5);
    const Tensor permuted = x.detach().permute({0, 2, 3, 1}).contiguous().permute({0, 3, 1, 2});
    REQUIRE_FALSE(permuted.is_contiguous());
    CHECK(nn_test::max_abs_difference(group_norm(permuted, groups, w, b), fused) < 1e-12);
  }
}

TEST_CASE("normalization: parameters, buffers and defaults are PyTorch's", "[normalization]") {
  nn::GroupNorm group(2, 6);
  CHECK(group.weight.to_vector<double>() == std::vector<double>(6, 1.0));
  CHECK(group.bias.to_vector<double>() == std::vector<double>(6, 0.0));
  CHECK(group.extra_repr() == "2, 6, eps=1e-05, affine=true");
  CHECK(nn::GroupNorm(2, 6, 1e-5, false).parameters().empty());
  // InstanceNorm: no affine and no running statistics by default.
  nn::InstanceNorm2d plain(4);
  CHECK(plain.parameters().empty());
  CHECK(plain.buffers().empty());
  CHECK(plain.type_name() == "InstanceNorm2d");
  nn::InstanceNorm1d tracked({.num_features = 4, .affine = true, .track_running_stats = true});
  std::vector<std::string> names;
  for (const auto& [name, tensor] : tracked.named_buffers()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"running_mean", "running_var", "num_batches_tracked"});
  CHECK(tracked.named_parameters().size() == 2);
  // Without statistics to track, evaluation still normalises each instance by its own.
  Generator generator(3);
  const Tensor x = randn({2, 4, 6}, float64, generator) * 2.0 + 5.0;
  nn::InstanceNorm1d instance(4);
  instance.eval();
  const Tensor y = instance(x);
  CHECK(y.mean({2}).abs().max().item() < 1e-12);
  CHECK((y.var({2}, false, 0) - 1.0).abs().max().item() < 1e-4);
  // Unbatched and 3d.
  CHECK(nn::InstanceNorm3d(2)(randn({2, 3, 2, 2}, float64, generator)).shape() == Shape{2, 3, 2, 2});
  CHECK(nn::LocalResponseNorm(3).extra_repr() == "3, alpha=0.0001, beta=0.75, k=1");
}

TEST_CASE("normalization: gradcheck of the normalisation layers", "[normalization][gradcheck]") {
  Generator generator(17);
  using nn_test::check_gradients;
  check_gradients("group_norm 3 groups, affine", [](const Args& a) { return F::group_norm(a[0], 3, a[1], a[2]); },
                  {randn({2, 6, 2}, float64, generator), randn({6}, float64, generator), randn({6}, float64, generator)});
  check_gradients("instance_norm with input statistics and affine",
                  [](const Args& a) { return F::instance_norm(a[0], {}, {}, a[1], a[2]); },
                  {randn({2, 3, 4}, float64, generator), randn({3}, float64, generator), randn({3}, float64, generator)});
  const Tensor running_mean = randn({3}, float64, generator), running_var = uniform({3}, 0.5, 2.0, float64, generator);
  check_gradients("instance_norm with running statistics",
                  [running_mean, running_var](const Args& a) {
                    return F::instance_norm(a[0], running_mean, running_var, a[1], a[2], false);
                  },
                  {randn({2, 3, 4}, float64, generator), randn({3}, float64, generator), randn({3}, float64, generator)});
  check_gradients("local_response_norm size 3", [](const Args& a) { return F::local_response_norm(a[0], 3, 0.5, 0.75, 1.0); },
                  {randn({2, 4, 3}, float64, generator)});
  check_gradients("local_response_norm size 4 of a transposed input",
                  [](const Args& a) { return F::local_response_norm(a[0].transpose(1, 2), 4, 0.5, 0.6, 2.0); },
                  {randn({1, 3, 5, 2}, float64, generator)});
  const auto lrn = [](const Args& a) { return F::local_response_norm(a[0], 2, 0.4, 0.75, 1.0); };
  CHECK(autograd::gradgradcheck(lrn, {randn({1, 3, 2}, float64, generator)}).passed);
}

TEST_CASE("normalization: bad calls name the layer, the shapes and the fix", "[normalization][errors]") {
  CHECK_THROWS_WITH(nn::GroupNorm(4, 6), Contains("GroupNorm") && Contains("6") && Contains("divisible"));
  CHECK_THROWS_WITH(nn::GroupNorm(0, 6), Contains("GroupNorm") && Contains("positive"));
  CHECK_THROWS_WITH(F::group_norm(zeros({2, 6, 3}), 4), Contains("group_norm") && Contains("[2, 6, 3]") && Contains("4"));
  CHECK_THROWS_WITH(F::group_norm(zeros({6}), 2), Contains("group_norm") && Contains("[6]"));
  CHECK_THROWS_WITH(F::group_norm(zeros({2, 6}), 2, ones({4})), Contains("weight") && Contains("[4]"));
  CHECK_THROWS_WITH(nn::GroupNorm(2, 6)(zeros({2, 4, 3})), Contains("GroupNorm") && Contains("[2, 4, 3]"));
  CHECK_THROWS_WITH(nn::InstanceNorm2d(3)(zeros({3, 4})), Contains("InstanceNorm2d") && Contains("[3, 4]"));
  CHECK_THROWS_WITH(nn::InstanceNorm1d({.num_features = 3, .affine = true})(zeros({2, 4, 5})),
                    Contains("InstanceNorm1d") && Contains("[2, 4, 5]") && Contains("3"));
  CHECK_THROWS_WITH(F::instance_norm(zeros({2, 3, 1})), Contains("instance_norm") && Contains("[2, 3, 1]"));
  CHECK_THROWS_WITH(F::instance_norm(zeros({2, 3, 4}), zeros({3}), Tensor()),
                    Contains("running_mean") && Contains("running_var"));
  CHECK_THROWS_WITH(F::instance_norm(zeros({2, 3, 4}), zeros({4}), ones({4})), Contains("running_mean") && Contains("[4]"));
  CHECK_THROWS_WITH(F::instance_norm(zeros({2, 3, 4}), {}, {}, {}, {}, false), Contains("running statistics"));
  CHECK_THROWS_WITH(F::local_response_norm(zeros({2, 3}), 2), Contains("local_response_norm") && Contains("[2, 3]"));
  CHECK_THROWS_WITH(nn::LocalResponseNorm(0), Contains("LocalResponseNorm") && Contains("size"));
}
