// Issue 17: the wrong calls users make, in one table. Each row is a call that must throw a
// nabla::Error (not another exception, not a crash, not a wrong answer) whose message names the op
// and the offending values (shapes, dtypes, axes, indices), so that the user can fix the call from
// the message alone. Add a row for every mistake you see someone make.
//
// Overflowing shapes (zeros({3, 6148914691236517206}) and the like) are refused by the shape checks
// of issue 17's item 1, which another branch adds; their rows live with those checks.
#include <catch2/catch.hpp>

#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "nabla/nn.hpp"

using namespace nabla;
namespace F = nabla::nn::functional;

namespace {

struct BadCall {
  std::string what;                 // the mistake, as a user would describe it
  std::function<void()> call;
  std::vector<std::string> message;  // what the message must contain: the op and the offending values
};

Tensor f32(const Shape& shape) { return ones(shape); }
Tensor f64(const Shape& shape) { return ones(shape, float64); }
Tensor leaf(const Shape& shape) { return ones(shape).requires_grad_(); }
Tensor ints(std::initializer_list<double> values, const Shape& shape = {}) { return tensor(values, shape, int64); }

std::vector<BadCall> bad_calls() {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  std::vector<BadCall> rows = {
      // ---- shapes
      {"add of shapes that do not broadcast", [] { add(f32({2, 3}), f32({4})); }, {"add", "[2, 3]", "[4]"}},
      {"mul of shapes that do not broadcast", [] { mul(f32({2, 3}), f32({3, 2})); }, {"mul", "[2, 3]", "[3, 2]"}},
      {"sub of shapes that do not broadcast", [] { sub(f32({5}), f32({4})); }, {"sub", "[5]", "[4]"}},
      {"div of shapes that do not broadcast", [] { div(f32({2, 2}), f32({3})); }, {"div", "[2, 2]", "[3]"}},
      {"where of shapes that do not broadcast", [] { where(ones({2}, bool_), f32({3}), f32({3})); }, {"where", "[2]", "[3]"}},
      {"matmul of inner sizes that differ", [] { matmul(f32({2, 3}), f32({4, 5})); }, {"matmul", "[2, 3]", "[4, 5]"}},
      {"mm of a 3-d tensor", [] { mm(f32({2, 3, 4}), f32({4, 5})); }, {"mm", "[2, 3, 4]"}},
      {"matmul of a 0-d tensor", [] { matmul(f32({}), f32({3})); }, {"matmul", "[]"}},
      {"reshape to another element count", [] { reshape(f32({2, 3}), {4, 2}); }, {"reshape", "[2, 3]", "[4, 2]"}},
      {"reshape with two -1", [] { reshape(f32({2, 3}), {-1, -1}); }, {"reshape", "-1"}},
      {"view of a transposed tensor", [] { view(transpose(f32({2, 3}), 0, 1), {6}); }, {"view", "[3, 2]", "reshape"}},
      {"expand of a non-1 axis", [] { expand(f32({2, 3}), {4, 3}); }, {"expand", "[2, 3]", "[4, 3]"}},
      {"concat of mismatched shapes", [] { concat({f32({2, 3}), f32({2, 4})}, 0); }, {"concat", "[2, 3]", "[2, 4]"}},
      {"concat of nothing", [] { concat({}, 0); }, {"concat"}},
      {"stack of mismatched shapes", [] { stack({f32({2}), f32({3})}); }, {"stack", "[2]", "[3]"}},
      {"linear with in_features that differ", [] { F::linear(f32({4, 5}), f32({3, 6})); }, {"linear", "[4, 5]", "[3, 6]"}},
      {"Linear layer on the wrong width", [] { nn::Linear layer(10, 2); layer(f32({4, 7})); }, {"linear", "[4, 7]", "10"}},
      {"conv2d of a 3-d input", [] { conv2d(f32({1, 5, 5}), f32({2, 1, 3, 3})); }, {"conv2d", "[1, 5, 5]"}},
      {"conv2d with channels that differ", [] { conv2d(f32({1, 3, 5, 5}), f32({2, 1, 3, 3})); }, {"conv2d", "3", "[2, 1, 3, 3]"}},
      {"conv2d with a kernel larger than the input", [] { conv2d(f32({1, 1, 2, 2}), f32({1, 1, 3, 3})); }, {"conv2d", "3"}},
      {"Conv2d layer on the wrong channels", [] { nn::Conv2d layer(3, 4, 3); layer(f32({1, 1, 8, 8})); }, {"conv2d", "[1, 1, 8, 8]"}},
      {"BatchNorm2d on the wrong channels", [] { nn::BatchNorm2d layer(4); layer(f32({2, 3, 5, 5})); }, {"BatchNorm", "4", "[2, 3, 5, 5]"}},
      {"max_pool2d of a 2-d input", [] { max_pool2d(f32({4, 4}), Window2d{.kernel = 2}); }, {"max_pool2d", "[4, 4]"}},
      {"mse_loss of shapes that differ", [] { F::mse_loss(f32({4, 3}), f32({4, 2})); }, {"mse_loss", "[4, 3]", "[4, 2]"}},
      {"cross_entropy with targets of another batch", [] { F::cross_entropy(f32({4, 3}), ints({0, 1, 2})); }, {"cross_entropy", "[4, 3]", "[3]"}},
      {"binary_cross_entropy of shapes that differ", [] { F::binary_cross_entropy(full({4}, 0.5), f32({3})); }, {"binary_cross_entropy", "[4]", "[3]"}},
      {"index_select with a 2-d index", [] { index_select(f32({3, 4}), 0, ints({0, 1}, {1, 2})); }, {"index_select", "[1, 2]"}},
      {"gather with an index of another rank", [] { gather(f32({3, 4}), 0, ints({0, 1})); }, {"gather", "[2]", "[3, 4]"}},
      {"masked_fill with a mask that does not broadcast", [] { masked_fill(f32({2, 3}), ones({2}, bool_), 0.0); }, {"masked_fill", "[2]", "[2, 3]"}},
      {"backward of a non-scalar without a gradient", [] { mul(leaf({2, 3}), 2.0).backward(); }, {"backward", "[2, 3]"}},
      {"backward with a gradient of another shape", [] { mul(leaf({2, 3}), 2.0).backward(f32({3, 2})); }, {"backward", "[2, 3]", "[3, 2]"}},
      {"item of a tensor with several elements", [] { f32({2, 2}).item(); }, {"item", "[2, 2]"}},
      {"split_with_sizes that do not add up", [] { split_with_sizes(f32({5}), {2, 2}); }, {"split_with_sizes", "[2, 2]", "5"}},
      {"diag of a 3-d tensor", [] { diag(f32({2, 2, 2})); }, {"diag", "[2, 2, 2]"}},
      {"tril of a 1-d tensor", [] { tril(f32({3})); }, {"tril", "[3]"}},
      {"repeat with fewer counts than axes", [] { repeat(f32({2, 3}), {2}); }, {"repeat", "[2, 3]"}},
      {"einsum with a wrong operand count", [] { einsum("ij,jk->ik", {f32({2, 3})}); }, {"einsum", "ij,jk->ik"}},
      {"einsum with sizes that differ", [] { einsum("ij,jk->ik", {f32({2, 3}), f32({4, 5})}); }, {"einsum", "j"}},
      // ---- dtypes
      {"embedding of float indices", [] { nn::Embedding layer(10, 4); layer(f32({2})); }, {"embedding", "float32"}},
      {"masked_select with a float mask", [] { masked_select(f32({2}), f32({2})); }, {"masked_select", "float32"}},
      {"index_select with a float index", [] { index_select(f32({3}), 0, f32({1})); }, {"index_select", "int64", "float32"}},
      {"gather with an int32 index", [] { gather(f32({3}), 0, zeros({1}, int32)); }, {"gather", "int64", "int32"}},
      {"cross_entropy with float class targets", [] { F::cross_entropy(f32({4, 3}), f64({4})); }, {"cross_entropy", "float64"}},
      {"cross_entropy of integer logits", [] { F::cross_entropy(zeros({4, 3}, int64), ints({0, 1, 2, 0})); }, {"cross_entropy", "int64"}},
      {"requires_grad on an integer tensor", [] { zeros({2}, int64).requires_grad_(); }, {"requires_grad_", "int64"}},
      {"where with a float mask", [] { where(f32({2}), f32({2}), f32({2})); }, {"where", "float32"}},
      {"masked_fill with a float mask", [] { masked_fill(f32({2}), f32({2}), 0.0); }, {"masked_fill", "float32"}},
      {"take_along_dim with float indices", [] { take_along_dim(f32({3}), f32({1})); }, {"take_along_dim", "float32"}},
      {"randn of an integer dtype", [] { randn({2}, int64); }, {"randn", "int64"}},
      {"index_put with values of another dtype", [] { index_put(f32({3}), {ints({0})}, f64({1})); }, {"index_put", "float32", "float64"}},
      {"scatter_add with a float index", [] { scatter_add(f32({3}), 0, f32({1}), f32({1})); }, {"scatter_add", "float32"}},
      // ---- axes
      {"sum over an axis out of range", [] { sum(f32({2, 3}), {2}); }, {"sum", "axis 2", "2-d"}},
      {"mean over an axis out of range", [] { mean(f32({2, 3}), {-3}); }, {"mean", "-3"}},
      {"softmax over an axis out of range", [] { softmax(f32({2, 3}), 2); }, {"softmax", "axis 2"}},
      {"log_softmax over an axis out of range", [] { log_softmax(f32({2, 3}), -3); }, {"log_softmax", "-3"}},
      {"max over an axis out of range", [] { max(f32({2, 3}), 5); }, {"max", "5"}},
      {"argmax over an axis out of range", [] { argmax(f32({2, 3}), 2); }, {"argmax", "2"}},
      {"logsumexp over an axis out of range", [] { logsumexp(f32({2, 3}), {3}); }, {"logsumexp", "3"}},
      {"var over an axis out of range", [] { var(f32({2, 3}), {2}); }, {"var", "2"}},
      {"std over an axis out of range", [] { nabla::std(f32({2, 3}), {-4}); }, {"std", "-4"}},
      {"prod over an axis out of range", [] { prod(f32({2, 3}), 2); }, {"prod", "2"}},
      {"cumsum over an axis out of range", [] { cumsum(f32({2, 3}), 2); }, {"cumsum", "2"}},
      {"sort over an axis out of range", [] { sort(f32({2, 3}), 2); }, {"sort", "2"}},
      {"norm over an axis out of range", [] { norm(f32({2, 3}), 2.0, {2}); }, {"norm", "2"}},
      {"transpose of an axis out of range", [] { transpose(f32({2, 3}), 0, 2); }, {"transpose", "2"}},
      {"permute with a repeated axis", [] { permute(f32({2, 3}), {0, 0}); }, {"permute", "[0, 0]"}},
      {"permute with too few axes", [] { permute(f32({2, 3, 4}), {0, 1}); }, {"permute", "[0, 1]", "[2, 3, 4]"}},
      {"squeeze of an axis out of range", [] { squeeze(f32({2, 1}), 2); }, {"squeeze", "2"}},
      {"unsqueeze at an axis out of range", [] { unsqueeze(f32({2, 3}), 4); }, {"unsqueeze", "4"}},
      {"flatten with start after end", [] { flatten(f32({2, 3, 4}), 2, 1); }, {"flatten", "2", "1"}},
      {"concat along an axis out of range", [] { concat({f32({2}), f32({2})}, 1); }, {"concat", "1"}},
      {"flip of an axis out of range", [] { flip(f32({2, 3}), {2}); }, {"flip", "2"}},
      {"topk of more than the axis holds", [] { topk(f32({2, 3}), 4); }, {"topk", "4", "3"}},
      {"kthvalue with k = 0", [] { kthvalue(f32({2, 3}), 0); }, {"kthvalue", "0"}},
      // ---- indices
      {"select at -size - 1", [] { select(f32({3, 4}), 0, -4); }, {"select", "-4", "size 3"}},
      {"select at size", [] { select(f32({3, 4}), 1, 4); }, {"select", "index 4", "size 4"}},
      {"operator[] at size", [] { f32({3})[3]; }, {"select", "index 3", "size 3"}},
      {"at with an index out of range", [] { f32({3, 4}).at<float>({0, 4}); }, {"at", "4", "size 4"}},
      {"at with too few indices", [] { f32({3, 4}).at<float>({0}); }, {"at", "[3, 4]"}},
      {"narrow past the end", [] { narrow(f32({3, 4}), 0, 2, 2); }, {"narrow", "start 2", "length 2", "size 3"}},
      {"narrow at -size - 1", [] { narrow(f32({3, 4}), 0, -4, 1); }, {"narrow", "-4", "size 3"}},
      {"narrow with a huge length", [kMax] { narrow(f32({3, 4}), 0, 1, kMax); }, {"narrow", std::to_string(kMax)}},
      {"slice with step 0", [] { slice(f32({3}), 0, 0, 3, 0); }, {"slice", "step", "0"}},
      {"index_select of -1", [] { index_select(f32({3, 4}), 0, ints({-1})); }, {"index_select", "-1", "size 3"}},
      {"index_select of size", [] { index_select(f32({3, 4}), 1, ints({4})); }, {"index_select", "4", "size 4"}},
      {"gather of size", [] { gather(f32({3}), 0, ints({3})); }, {"gather", "3", "size 3"}},
      {"scatter_add of -1", [] { scatter_add(f32({3}), 0, ints({-1}), f32({1})); }, {"scatter_add", "-1"}},
      {"index of -size - 1", [] { nabla::index(f32({3, 4}), {ints({-4})}); }, {"index", "-4", "size 3"}},
      {"index_put of size", [] { index_put(f32({3}), {ints({3})}, f32({})); }, {"index_put", "3", "size 3"}},
      {"index_fill of -size - 1", [] { index_fill(f32({3, 4}), 1, ints({-5}), 0.0); }, {"index_fill", "-5", "size 4"}},
      {"take_along_dim of size", [] { take_along_dim(f32({2, 3}), ints({3}, {1, 1}), 1); }, {"take_along_dim", "3"}},
      {"cross_entropy with a class out of range", [] { F::cross_entropy(f32({2, 3}), ints({0, 3})); }, {"cross_entropy", "3"}},
      {"cross_entropy with a negative class", [] { F::cross_entropy(f32({2, 3}), ints({0, -1})); }, {"cross_entropy", "-1"}},
      {"nll_loss with a class out of range", [] { F::nll_loss(f32({2, 3}), ints({5, 0})); }, {"nll_loss", "5"}},
      {"embedding of an index out of range", [] { nn::Embedding layer(10, 4); layer(ints({3, 10})); }, {"embedding", "10"}},
      {"embedding of a negative index", [] { nn::Embedding layer(10, 4); layer(ints({-1})); }, {"embedding", "-1"}},
      {"diag of a 1-d tensor at an unsizeable diagonal", [kMax] { diag(f32({2}), kMax); }, {"diag", std::to_string(kMax)}},
      {"roll with more shifts than axes", [] { roll(f32({3}), {1, 2}, {0}); }, {"roll", "[1, 2]", "[0]"}},
      {"chunk into 0 pieces", [] { chunk(f32({4}), 0); }, {"chunk", "0"}},
      {"split into pieces of -1", [] { split(f32({4}), -1); }, {"split", "-1"}},
      {"randint with low >= high", [] { randint(5, 5, {2}); }, {"randint", "5"}},
      {"randperm of a negative count", [] { randperm(-1); }, {"randperm", "-1"}},
      {"multinomial of more samples than categories", [] { multinomial(full({3}, 1.0), 4); }, {"multinomial", "4", "3"}},
      // ---- empty tensors
      {"max of an empty tensor", [] { max(f32({0})); }, {"max", "[0]"}},
      {"argmin of an empty tensor", [] { argmin(f32({0, 3})); }, {"argmin", "[0, 3]"}},
      {"max along an empty axis", [] { max(f32({0, 3}), 0); }, {"max", "[0, 3]"}},
      {"item of an empty tensor", [] { f32({0}).item(); }, {"item", "[0]"}},
      {"kthvalue along an empty axis", [] { kthvalue(f32({3, 0}), 1, 1); }, {"kthvalue", "[3, 0]"}},
      // ---- non-contiguous views and in-place writes
      {"view of a non-contiguous slice", [] { view(slice(f32({4, 4}), 1, 0, 3), {12}); }, {"view", "[4, 3]"}},
      {"in-place add on a leaf that requires grad", [] { leaf({2}).add_(1.0); }, {"add_", "leaf"}},
      {"in-place mul on a leaf that requires grad", [] { leaf({2}).mul_(2.0); }, {"mul_", "leaf"}},
      {"in-place zero_ on a leaf that requires grad", [] { leaf({2}).zero_(); }, {"zero_", "leaf"}},
      {"in-place write into an expanded view", [] { expand(f32({1, 3}), {4, 3}).fill_(1.0); }, {"expanded", "[4, 3]"}},
      {"in-place add of an integer tensor with a fraction", [] { zeros({2}, int64).add_(0.5); }, {"add_", "0.5"}},
      {"requires_grad_(false) on a non-leaf", [] { exp(leaf({2})).requires_grad_(false); }, {"requires_grad_", "exp"}},
      // ---- backward
      {"backward twice through a freed graph", [] { const Tensor y = sum(exp(leaf({2}))); y.backward(); y.backward(); },
       {"backward", "retain_graph"}},
      {"backward of a tensor that requires no grad", [] { sum(f32({2})).backward(); }, {"backward", "requires_grad"}},
      // ---- state loads
      {"load_module_state of another architecture",
       [] { nn::Linear small(3, 2), big(4, 2); nn::load_module_state(big, nn::module_state(small)); },
       {"load_module_state", "[2, 3]", "[2, 4]"}},
      {"load_module_state with a missing entry",
       [] { nn::Linear layer(3, 2); nn::Archive a; a.put("weight", f32({2, 3})); nn::load_module_state(layer, a); },
       {"load_module_state", "bias"}},
      {"load_module_state with an entry of another dtype",
       [] { nn::Linear layer(3, 2); nn::Archive a = nn::module_state(layer); a.put("weight", f64({2, 3})); nn::load_module_state(layer, a); },
       {"load_module_state", "weight", "float64", "float32"}},
      {"optimiser state of another type",
       [] { nn::Linear layer(3, 2); nn::SGD sgd(layer.parameters(), 0.1); nn::Adam adam(layer.parameters(), 0.1); adam.load_state(sgd.state()); },
       {"Adam.load_state", "SGD"}},
      {"optimiser state of another model",
       [] { nn::Linear a(3, 2), b(4, 2); nn::Adam x(a.parameters(), 0.1), y(b.parameters(), 0.1); y.load_state(x.state()); },
       {"Adam.load_state", "[2, 3]", "[2, 4]"}},
      {"optimiser state with an unknown buffer",
       [] { nn::Linear a(3, 2); nn::Adam x(a.parameters(), 0.1); auto s = x.state(); s["0.velocity"] = f32({2, 3}); x.load_state(s); },
       {"Adam.load_state", "'0.velocity'", "exp_avg"}},
      {"optimiser state with a negative step",
       [] { nn::Linear a(3, 2); nn::Adam x(a.parameters(), 0.1); auto s = x.state(); s["step"] = scalar_tensor(-1, int64); x.load_state(s); },
       {"Adam.load_state", "'step'", "-1"}},
      {"optimiser state with a text-like lr of another dtype",
       [] { nn::Linear a(3, 2); nn::Adam x(a.parameters(), 0.1); auto s = x.state(); s["group.0.lr"] = scalar_tensor(1, int64); x.load_state(s); },
       {"Adam.load_state", "'group.0.lr'", "float64"}},
      {"optimiser state with a NaN lr",
       [] { nn::Linear a(3, 2); nn::Adam x(a.parameters(), 0.1); auto s = x.state(); s["group.0.lr"] = scalar_tensor(std::nan(""), float64); x.load_state(s); },
       {"Adam.load_state", "learning rate", "nan"}},
      // ---- crafted entries of checkpoints (the examples' own routine: tests/examples/test_checkpoint.cpp)
      {"generator state of all zeros", [] { Generator g; g.set_state("xoshiro256** 0 0 0 0 0 0"); }, {"set_state", "all zeros"}},
      {"generator state with trailing text", [] { Generator g; g.set_state(Generator(1).state() + " extra"); }, {"set_state", "8 fields"}},
      {"generator state with a negative word", [] { Generator g; g.set_state("xoshiro256** 1 -2 3 4 0 0"); }, {"set_state", "'-2'"}},
      {"archive entry read as the wrong kind", [] { nn::Archive a; a.put_text("epoch", "3"); a.tensor("epoch"); }, {"epoch", "text"}},
      {"archive entry that is missing", [] { nn::Archive a; a.text("rng"); }, {"rng"}},
      {"optimiser lr set to NaN", [] { nn::Linear a(3, 2); nn::SGD x(a.parameters(), 0.1); x.set_lr(std::nan("")); }, {"learning rate", "nan"}},
  };
  return rows;
}

}  // namespace

TEST_CASE("bad calls: each wrong call throws a nabla::Error naming the op and the offending values", "[errors][bad_calls]") {
  const std::vector<BadCall> rows = bad_calls();
  CHECK(rows.size() >= 80);
  int passed = 0;
  for (const BadCall& row : rows) {
    INFO("row: " << row.what);
    std::string message;
    bool threw_error = false;
    try {
      row.call();
    } catch (const Error& error) {
      threw_error = true;
      message = error.what();
    } catch (const std::exception& error) {
      message = std::string("(not a nabla::Error) ") + error.what();
    }
    INFO("message: " << message);
    CHECK(threw_error);
    bool all_parts = threw_error;
    for (const std::string& part : row.message) {
      CHECK_THAT(message, Catch::Contains(part));
      all_parts = all_parts && message.find(part) != std::string::npos;
    }
    passed += all_parts ? 1 : 0;
  }
  INFO(passed << " of " << rows.size() << " rows passed");
  CHECK(passed == static_cast<int>(rows.size()));
}
