// Views (which share storage), copies, dtype conversion and in-place ops.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "reference.hpp"

using namespace nabla;
using namespace nabla::kernels;
using Catch::Contains;
using reference::check_elements;
using reference::check_values;
using reference::Index;
using reference::Layout;
using reference::read;

namespace {
// 0, 1, ..., n-1 in the given shape, float32.
Tensor iota(const Shape& shape, DType dtype = float32) {
  return arange(0.0, static_cast<double>(shape_numel(shape)), 1.0, dtype).reshape(shape);
}
}  // namespace

TEST_CASE("size, stride and dim accept negative axes", "[views]") {
  Tensor t = zeros({2, 3, 4});
  CHECK(t.size(0) == 2);
  CHECK(t.size(-1) == 4);
  CHECK(t.stride(-1) == 1);
  CHECK(t.stride(0) == 12);
  CHECK_THROWS_AS(t.size(3), Error);
  CHECK_THROWS_WITH(t.stride(-4), Contains("stride"));
}

TEST_CASE("copying a Tensor shares its data", "[views]") {
  Tensor a = zeros({3});
  Tensor b = a;
  b.fill_(2);
  CHECK(a.shares_storage(b));
  check_values(a, {3}, {2, 2, 2});
}

TEST_CASE("is_contiguous", "[views]") {
  Tensor t = iota({2, 3, 4});
  CHECK(t.is_contiguous());
  CHECK_FALSE(t.transpose(0, 2).is_contiguous());
  CHECK_FALSE(t.slice(2, 0, 4, 2).is_contiguous());
  CHECK(t.select(0, 1).is_contiguous());
  CHECK(t.narrow(0, 1, 1).is_contiguous());
  CHECK(t.unsqueeze(1).is_contiguous());
  CHECK_FALSE(zeros({3, 1}).expand({3, 4}).is_contiguous());
  CHECK(zeros({}).is_contiguous());
  CHECK(zeros({0, 3}).is_contiguous());
  CHECK(zeros({3, 3, 0}).is_contiguous());  // empty tensors are contiguous wherever the 0 is
  CHECK(zeros({2, 0}).contiguous().is_contiguous());
}

TEST_CASE("view reinterprets the shape over the same storage", "[views]") {
  Tensor base = iota({2, 6});
  Tensor v = base.view({3, 4});
  CHECK(v.shares_storage(base));
  CHECK(v.shape() == Shape{3, 4});
  CHECK(v.at<double>({2, 3}) == 11);
  CHECK(base.view({-1}).shape() == Shape{12});
  CHECK(base.view({4, -1}).shape() == Shape{4, 3});
  CHECK(base.view({2, 1, 6}).shape() == Shape{2, 1, 6});
  CHECK(zeros({}).view({1, 1}).shape() == Shape{1, 1});
  CHECK(zeros({1}).view({}).dim() == 0);
  // A view of a view of a slice: the offset carries through.
  Tensor row = base.select(0, 1).view({2, 3});
  CHECK(row.at<double>({1, 0}) == 9);
  // Writing through the view changes the base.
  v.fill_(-1);
  CHECK(base.at<double>({1, 5}) == -1);
}

TEST_CASE("view refuses incompatible shapes and strides", "[views][errors]") {
  Tensor base = iota({2, 6});
  CHECK_THROWS_AS(base.view({5, 2}), Error);
  CHECK_THROWS_WITH(base.view({5, 2}), Contains("view") && Contains("[2, 6]") && Contains("[5, 2]"));
  CHECK_THROWS_WITH(base.view({-1, -1}), Contains("view"));
  CHECK_THROWS_WITH(base.view({5, -1}), Contains("view") && Contains("[2, 6]"));
  // The transpose's axes cannot be merged without a copy.
  CHECK_THROWS_WITH(base.t().view({12}), Contains("view") && Contains("[6, 2]") && Contains("reshape"));
}

TEST_CASE("reshape views when it can and copies when it must", "[views]") {
  Tensor base = iota({2, 3, 4});
  Tensor r = base.reshape({6, 4});
  CHECK(r.shares_storage(base));
  check_values(base.reshape({4, -1}).select(0, 3), {6}, {18, 19, 20, 21, 22, 23});
  // Splitting and merging compatible axes of a permuted tensor is still a view.
  Tensor p = base.permute({2, 0, 1});  // [4, 2, 3]
  Tensor merged = p.reshape({4, 6});
  CHECK(merged.shares_storage(base));
  CHECK(merged.at<double>({3, 5}) == base.at<double>({1, 2, 3}));
  // Merging the transposed axes needs a copy with the logical order.
  Tensor copied = base.transpose(1, 2).reshape({2, 12});
  CHECK_FALSE(copied.shares_storage(base));
  CHECK(copied.is_contiguous());
  check_values(copied.select(0, 0), {12}, {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});
  CHECK_THROWS_WITH(base.reshape({7, -1}), Contains("reshape") && Contains("[2, 3, 4]"));
}

TEST_CASE("flatten merges a range of axes", "[views]") {
  Tensor base = iota({2, 3, 4});
  CHECK(base.flatten().shape() == Shape{24});
  CHECK(base.flatten(1).shape() == Shape{2, 12});
  CHECK(base.flatten(0, 1).shape() == Shape{6, 4});
  CHECK(base.flatten(-2, -1).shape() == Shape{2, 12});
  CHECK(base.flatten().shares_storage(base));
  check_values(base.transpose(0, 2).flatten().slice(0, 0, 4), {4}, {0, 12, 4, 16});
  CHECK(scalar_tensor(3).flatten().shape() == Shape{1});
}

TEST_CASE("transpose, t and permute reorder axes without copying", "[views]") {
  Tensor base = iota({2, 3, 4});
  Tensor tr = base.transpose(0, 2);
  CHECK(tr.shape() == Shape{4, 3, 2});
  CHECK(tr.strides() == Strides{1, 4, 12});
  CHECK(tr.shares_storage(base));
  CHECK(tr.at<double>({3, 2, 1}) == base.at<double>({1, 2, 3}));
  CHECK(base.transpose(-1, 0).shape() == Shape{4, 3, 2});
  CHECK(base.transpose(1, 1).shape() == Shape{2, 3, 4});

  Tensor m = iota({2, 3});
  check_values(m.t(), {3, 2}, {0, 3, 1, 4, 2, 5});
  CHECK(m.t().t().is_contiguous());

  Tensor p = base.permute({1, 2, 0});
  CHECK(p.shape() == Shape{3, 4, 2});
  CHECK(p.strides() == Strides{4, 1, 12});
  CHECK(p.at<double>({2, 1, 1}) == base.at<double>({1, 2, 1}));
  CHECK(base.permute({-1, 0, 1}).shape() == Shape{4, 2, 3});
  CHECK(base.permute({0, 1, 2}).is_contiguous());
}

TEST_CASE("transpose, t and permute refuse bad axes", "[views][errors]") {
  Tensor base = zeros({2, 3, 4});
  CHECK_THROWS_WITH(base.transpose(0, 3), Contains("transpose") && Contains("3"));
  CHECK_THROWS_WITH(base.t(), Contains("t") && Contains("[2, 3, 4]"));
  CHECK_THROWS_WITH(base.permute({0, 1}), Contains("permute") && Contains("[2, 3, 4]"));
  CHECK_THROWS_WITH(base.permute({0, 1, 1}), Contains("permute"));
  CHECK_THROWS_WITH(base.permute({0, 1, 5}), Contains("permute"));
}

TEST_CASE("squeeze and unsqueeze", "[views]") {
  Tensor base = zeros({1, 3, 1, 2});
  CHECK(base.squeeze().shape() == Shape{3, 2});
  CHECK(base.squeeze(0).shape() == Shape{3, 1, 2});
  CHECK(base.squeeze(-2).shape() == Shape{1, 3, 2});
  CHECK(base.squeeze(1).shape() == Shape{1, 3, 1, 2});  // not size 1: unchanged
  CHECK(base.squeeze().shares_storage(base));
  CHECK(zeros({1, 1}).squeeze().dim() == 0);

  Tensor v = iota({2, 3});
  CHECK(v.unsqueeze(0).shape() == Shape{1, 2, 3});
  CHECK(v.unsqueeze(1).shape() == Shape{2, 1, 3});
  CHECK(v.unsqueeze(2).shape() == Shape{2, 3, 1});
  CHECK(v.unsqueeze(-1).shape() == Shape{2, 3, 1});
  CHECK(v.unsqueeze(-3).shape() == Shape{1, 2, 3});
  CHECK(v.unsqueeze(1).at<double>({1, 0, 2}) == 5);
  CHECK(v.t().unsqueeze(1).at<double>({2, 0, 1}) == 5);
  CHECK(scalar_tensor(4).unsqueeze(0).shape() == Shape{1});
  CHECK_THROWS_WITH(v.unsqueeze(4), Contains("unsqueeze"));
  CHECK_THROWS_WITH(v.squeeze(2), Contains("squeeze"));
}

TEST_CASE("slice takes every step-th element and clamps like Python", "[views]") {
  Tensor base = iota({10});
  check_values(base.slice(0, 2, 8, 3), {2}, {2, 5});
  check_values(base.slice(0, 1, 10, 2), {5}, {1, 3, 5, 7, 9});
  check_values(base.slice(0, 7, 100), {3}, {7, 8, 9});       // end clamps
  check_values(base.slice(0, -3, 10), {3}, {7, 8, 9});       // negative start counts from the end
  check_values(base.slice(0, 0, -8), {2}, {0, 1});           // negative end too
  check_values(base.slice(0, -100, 2), {2}, {0, 1});         // start clamps
  CHECK(base.slice(0, 5, 5).shape() == Shape{0});
  CHECK(base.slice(0, 8, 2).shape() == Shape{0});
  CHECK(base.slice(0, 20, 30).shape() == Shape{0});
  Tensor m = iota({3, 4});
  Tensor cols = m.slice(1, 1, 4, 2);
  CHECK(cols.shape() == Shape{3, 2});
  CHECK(cols.shares_storage(m));
  check_values(cols, {3, 2}, {1, 3, 5, 7, 9, 11});
  check_values(m.slice(-2, 1, 3).slice(1, 0, 4, 3), {2, 2}, {4, 7, 8, 11});
  CHECK_THROWS_WITH(base.slice(0, 0, 5, 0), Contains("slice") && Contains("0"));
  CHECK_THROWS_AS(base.slice(0, 0, 5, -1), Error);
  CHECK_THROWS_WITH(base.slice(1, 0, 5), Contains("slice"));
}

TEST_CASE("narrow and select", "[views]") {
  Tensor m = iota({3, 4});
  check_values(m.narrow(1, 1, 2), {3, 2}, {1, 2, 5, 6, 9, 10});
  check_values(m.narrow(0, -1, 1), {1, 4}, {8, 9, 10, 11});
  CHECK(m.narrow(0, 3, 0).shape() == Shape{0, 4});
  check_values(m.select(0, 1), {4}, {4, 5, 6, 7});
  check_values(m.select(1, -1), {3}, {3, 7, 11});
  check_values(m[2], {4}, {8, 9, 10, 11});
  CHECK(m[1][2].dim() == 0);
  CHECK(m[1][2].item() == 6);
  CHECK(m.select(1, 2).shares_storage(m));
  CHECK_THROWS_WITH(m.narrow(1, 2, 3), Contains("narrow") && Contains("[3, 4]"));
  CHECK_THROWS_WITH(m.select(0, 3), Contains("select") && Contains("3"));
  CHECK_THROWS_AS(m.select(1, -5), Error);
  CHECK_THROWS_AS(m[7], Error);
}

TEST_CASE("expand broadcasts size-1 axes with stride 0", "[views]") {
  Tensor column = iota({3, 1});
  Tensor e = column.expand({3, 4});
  CHECK(e.shape() == Shape{3, 4});
  CHECK(e.stride(1) == 0);
  CHECK(e.shares_storage(column));
  check_values(e, {3, 4}, {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2});
  CHECK(column.expand({-1, 5}).shape() == Shape{3, 5});
  Tensor lead = column.expand({2, 3, 2});  // new leading axes
  CHECK(lead.shape() == Shape{2, 3, 2});
  CHECK(lead.stride(0) == 0);
  CHECK(lead.at<double>({1, 2, 1}) == 2);
  CHECK(scalar_tensor(7).expand({2, 2}).at<double>({1, 1}) == 7);
  CHECK(column.broadcast_to({3, 2}).shape() == Shape{3, 2});
  CHECK(zeros({1, 3}).expand({0, 3}).shape() == Shape{0, 3});
}

TEST_CASE("expand refuses shapes it cannot broadcast to", "[views][errors]") {
  Tensor t = zeros({3, 2});
  CHECK_THROWS_AS(t.expand({3, 4}), Error);
  CHECK_THROWS_WITH(t.expand({3, 4}), Contains("expand") && Contains("[3, 2]") && Contains("[3, 4]"));
  CHECK_THROWS_WITH(t.expand({2}), Contains("expand") && Contains("[3, 2]"));
}

TEST_CASE("every kind of view writes through to its base", "[views]") {
  Tensor base = zeros({4, 6}, float64);
  base.slice(1, 1, 6, 2).fill_(1);           // odd columns
  base.select(0, 2).narrow(0, 0, 2).fill_(5);
  base.t().select(0, 5).add_(10.0);          // column 5, via a transpose
  base.view({24}).slice(0, 0, 1).fill_(-3);  // element (0, 0)
  base.unsqueeze(0).permute({1, 2, 0}).select(0, 3).select(0, 4).fill_(7);
  check_values(base, {4, 6},
               {-3, 1, 0, 1, 0, 11,  //
                0, 1, 0, 1, 0, 11,   //
                5, 5, 0, 1, 0, 11,   //
                0, 1, 0, 1, 7, 11});
}

TEST_CASE("contiguous returns the same storage when already contiguous", "[views]") {
  Tensor base = iota({3, 4});
  Tensor same = base.contiguous();
  CHECK(same.shares_storage(base));
  CHECK(same.raw_data() == base.raw_data());
  CHECK(base.select(0, 1).contiguous().shares_storage(base));

  Tensor tr = base.t();
  Tensor packed = tr.contiguous();
  CHECK_FALSE(packed.shares_storage(base));
  CHECK(packed.is_contiguous());
  CHECK(packed.strides() == Strides{3, 1});
  check_values(packed, {4, 3}, {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});
  Tensor expanded = tensor({1, 2}, {2, 1}).expand({2, 3}).contiguous();
  CHECK(expanded.is_contiguous());
  check_values(expanded, {2, 3}, {1, 1, 1, 2, 2, 2});
}

TEST_CASE("clone always copies", "[views]") {
  Tensor base = iota({2, 3});
  Tensor copy = base.clone();
  CHECK_FALSE(copy.shares_storage(base));
  CHECK(copy.is_contiguous());
  CHECK(copy.dtype() == base.dtype());
  check_values(copy, {2, 3}, {0, 1, 2, 3, 4, 5});
  copy.fill_(9);
  check_values(base, {2, 3}, {0, 1, 2, 3, 4, 5});
  check_values(base.slice(1, 0, 3, 2).clone(), {2, 2}, {0, 2, 3, 5});
  CHECK(base.slice(1, 0, 3, 2).clone().offset() == 0);
  CHECK_FALSE(Tensor().clone().defined());
}

TEST_CASE("to() converts dtypes and is a no-op for the same dtype", "[views]") {
  Tensor f = tensor({1.5, -2.75, 3, 255}, {2, 2});
  CHECK(f.to(float32).shares_storage(f));
  Tensor d = f.to(float64);
  CHECK(d.dtype() == float64);
  CHECK_FALSE(d.shares_storage(f));
  check_values(d, {2, 2}, {1.5, -2.75, 3, 255}, 0);
  Tensor i = tensor({2.7, -2.7, 0.2, 7}, {4}, float64).to(int64);
  CHECK(i.dtype() == int64);
  CHECK(i.to_vector<int64_t>() == std::vector<int64_t>{2, -2, 0, 7});  // truncates toward zero
  Tensor back = arange(int64_t{4}).to(float32);
  CHECK(back.dtype() == float32);
  check_values(back, {4}, {0, 1, 2, 3});
  Tensor bytes = tensor({0, 1, 200, 255}, {4}).to(uint8);
  CHECK(bytes.dtype() == uint8);
  check_values(bytes, {4}, {0, 1, 200, 255});
  check_values(bytes.to(float64), {4}, {0, 1, 200, 255});
  // A non-contiguous source keeps its logical order.
  check_values(f.t().to(int64), {2, 2}, {1, 3, -2, 255});
  CHECK(f.to(float64).to(float32).shape() == Shape{2, 2});
}

TEST_CASE("fill_ and zero_ write every element and bump the version", "[views][inplace]") {
  Tensor t = empty({2, 3}, float64);
  const uint64_t v0 = t.storage()->version();
  t.fill_(2.5);
  CHECK(t.storage()->version() > v0);
  check_values(t, {2, 3}, {2.5, 2.5, 2.5, 2.5, 2.5, 2.5});
  const uint64_t v1 = t.storage()->version();
  t.zero_();
  CHECK(t.storage()->version() > v1);
  check_values(t, {2, 3}, {0, 0, 0, 0, 0, 0});
  Tensor ints = zeros({3}, int64);
  ints.fill_(-4);
  check_values(ints, {3}, {-4, -4, -4});
  const Tensor& self = t.fill_(1);
  CHECK(&self == &t);
}

TEST_CASE("in-place ops compute correctly and bump the version", "[views][inplace]") {
  Tensor t = tensor({1, 2, 3, 4, 5, 6}, {2, 3}, float64);
  auto check_bumped = [&](auto&& op, const std::vector<double>& expected) {
    const uint64_t before = t.storage()->version();
    op();
    CHECK(t.storage()->version() > before);
    check_values(t, {2, 3}, expected);
  };
  check_bumped([&] { t.add_(tensor({10, 20, 30}, {3}, float64)); }, {11, 22, 33, 14, 25, 36});
  check_bumped([&] { t.add_(tensor({1, 1, 1}, {3}, float64), -2.0); }, {9, 20, 31, 12, 23, 34});
  check_bumped([&] { t.add_(1.0); }, {10, 21, 32, 13, 24, 35});
  check_bumped([&] { t.sub_(tensor({10, 20}, {2, 1}, float64)); }, {0, 11, 22, -7, 4, 15});
  check_bumped([&] { t.sub_(1.0); }, {-1, 10, 21, -8, 3, 14});
  check_bumped([&] { t.mul_(tensor({2}, {1}, float64)); }, {-2, 20, 42, -16, 6, 28});
  check_bumped([&] { t.mul_(0.5); }, {-1, 10, 21, -8, 3, 14});
  check_bumped([&] { t.div_(tensor({1, 2, 7}, {3}, float64)); }, {-1, 5, 3, -8, 1.5, 2});
  check_bumped([&] { t.div_(2.0); }, {-0.5, 2.5, 1.5, -4, 0.75, 1});
  check_bumped([&] { t.clamp_(-1, 2); }, {-0.5, 2, 1.5, -1, 0.75, 1});
  check_bumped([&] { t.copy_(tensor({7, 8, 9}, {3})); }, {7, 8, 9, 7, 8, 9});  // converts float32
  check_bumped([&] { t.copy_(scalar_tensor(3, int64)); }, {3, 3, 3, 3, 3, 3});
}

TEST_CASE("in-place ops on a view bump the base's version and write the base", "[views][inplace]") {
  Tensor base = zeros({3, 4}, float64);
  Tensor column = base.select(1, 2);
  const uint64_t before = base.storage()->version();
  column.add_(tensor({1, 2, 3}, {3}, float64));
  CHECK(base.storage()->version() > before);
  CHECK(base.at<double>({2, 2}) == 3);
  base.t().copy_(iota({4, 3}, float64));
  check_values(base, {3, 4}, {0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11});
  // copy_ between rows of one storage, then from a view that overlaps the target itself.
  Tensor row = base.select(0, 0);
  base.select(0, 1).copy_(row);
  row.copy_(base.select(0, 2));
  check_values(base, {3, 4}, {2, 5, 8, 11, 0, 3, 6, 9, 2, 5, 8, 11});
  Tensor m = iota({3, 3}, float64);
  m.copy_(m.t());
  check_values(m, {3, 3}, {0, 3, 6, 1, 4, 7, 2, 5, 8});
}

TEST_CASE("in-place ops match a reference on random non-contiguous targets", "[views][inplace]") {
  reference::Rng rng(17);
  for (int trial = 0; trial < 40; ++trial) {
    for (DType dtype : {float32, float64}) {
      const Shape shape = reference::random_shape(rng, 4, true);
      // Targets must not be expanded (they would write one element many times).
      Layout layout = reference::all_layouts[static_cast<size_t>(rng.integer(0, 5))];
      if (layout == Layout::expanded) layout = Layout::permuted;
      Tensor target = reference::random_tensor(shape, dtype, layout, rng);
      const Tensor before = target.clone();
      const Tensor other = reference::random_tensor(reference::broadcastable_from(shape, rng), dtype,
                                                    Layout::expanded, rng, 0.5, 2.0);
      const double alpha = rng.uniform(-2, 2);
      INFO("trial " << trial << " shape " << to_string(shape) << " other " << to_string(other.shape())
                    << " layout " << reference::layout_name(layout) << " dtype " << dtype_name(dtype));
      const auto tolerance = reference::elementwise_tolerance(dtype);
      auto other_at = [&](const Index& i) { return read(other, reference::broadcast_index(i, other.shape())); };

      Tensor t = target;
      t.copy_(before);
      t.add_(other, alpha);
      check_elements(t, shape, [&](const Index& i) {
        return read(before, i) + static_cast<double>(dtype == float32 ? static_cast<float>(alpha) : alpha) * other_at(i);
      }, {1e-5, 1e-5});
      t.copy_(before);
      t.mul_(other);
      check_elements(t, shape, [&](const Index& i) { return read(before, i) * other_at(i); }, tolerance);
      t.copy_(before);
      t.div_(other);
      check_elements(t, shape, [&](const Index& i) { return read(before, i) / other_at(i); }, tolerance);
      t.copy_(other);
      check_elements(t, shape, other_at, tolerance);
    }
  }
}

TEST_CASE("in-place ops refuse bad targets and operands", "[views][inplace][errors]") {
  Tensor t = zeros({2, 3});
  CHECK_THROWS_AS(t.add_(zeros({4})), Error);
  CHECK_THROWS_WITH(t.add_(zeros({4})), Contains("add_") && Contains("[2, 3]") && Contains("[4]"));
  // The operand broadcasts to the target, never the other way round.
  CHECK_THROWS_WITH(zeros({3}).add_(zeros({2, 3})), Contains("add_") && Contains("[2, 3]") && Contains("[3]"));
  CHECK_THROWS_WITH(t.copy_(zeros({3, 2})), Contains("copy_") && Contains("[3, 2]") && Contains("[2, 3]"));
  CHECK_THROWS_WITH(t.mul_(zeros({2, 2})), Contains("mul_") && Contains("[2, 2]"));
  // Writing through an expanded view would write one element several times.
  Tensor expanded = zeros({3, 1}).expand({3, 4});
  CHECK_THROWS_WITH(expanded.fill_(1), Contains("fill_") && Contains("[3, 4]"));
  CHECK_THROWS_AS(expanded.add_(1.0), Error);
  CHECK_THROWS_WITH(t.clamp_(2, 1), Contains("clamp_"));
  CHECK_THROWS_AS(Tensor().fill_(1), Error);
}

TEST_CASE("in-place ops refuse fractional scalars on integer tensors", "[views][inplace][errors]") {
  // The result would be truncated to an integer silently: 4 / 2 must not become 4 * int64(0.5) = 0.
  Tensor t = tensor({4, 6}, {2}, int64);
  CHECK_THROWS_AS(t.div_(2.0), Error);
  CHECK_THROWS_WITH(t.mul_(0.5), Contains("mul_") && Contains("int64"));
  CHECK_THROWS_WITH(t.add_(0.5), Contains("add_") && Contains("int64"));
  CHECK_THROWS_AS(t.div_(tensor({2, 2}, {2}, int64)), Error);
  CHECK(t.to_vector<int64_t>() == std::vector<int64_t>{4, 6});  // untouched
  t.mul_(2.0);  // integral scalars are fine
  CHECK(t.to_vector<int64_t>() == std::vector<int64_t>{8, 12});
}

TEST_CASE("in-place ops on integer tensors stay exact", "[views][inplace]") {
  Tensor t = tensor({1, 2, 3}, {3}, int64);
  t.add_(tensor({10, 20, 30}, {3}, int64));
  t.mul_(3.0);
  t.sub_(1.0);
  CHECK(t.to_vector<int64_t>() == std::vector<int64_t>{32, 65, 98});
  CHECK(t.dtype() == int64);
  Tensor bytes = tensor({250, 3}, {2}, uint8);
  bytes.add_(2.0);
  CHECK(bytes.to_vector<uint8_t>() == std::vector<uint8_t>{252, 5});
}

TEST_CASE("views agree with index arithmetic on random shapes and layouts", "[views][reference]") {
  reference::Rng rng(1200);
  const reference::Tolerance exact{0, 0};
  for (int trial = 0; trial < 150; ++trial) {
    Shape shape = reference::random_shape(rng, 4, true);
    if (shape.empty()) shape.push_back(rng.integer(0, 4));
    const int64_t ndim = shape.size();
    const Layout layout = reference::all_layouts[static_cast<size_t>(rng.integer(0, 5))];
    const Tensor base = reference::random_tensor(shape, float64, layout, rng);
    INFO("trial " << trial << ": " << to_string(shape) << " " << reference::layout_name(layout));
    const int64_t axis = rng.integer(0, ndim - 1);
    const int64_t written_axis = rng.chance(0.5) ? axis - ndim : axis;
    const int64_t extent = shape[axis];

    {  // permute
      std::vector<int64_t> order(static_cast<size_t>(ndim));
      std::iota(order.begin(), order.end(), 0);
      std::shuffle(order.begin(), order.end(), rng.engine);
      const Tensor p = base.permute(Dims(order));
      Shape expected_shape;
      for (int64_t k : order) expected_shape.push_back(shape[k]);
      check_elements(p, expected_shape, [&](const Index& j) {
        Index i(static_cast<size_t>(ndim));
        for (size_t k = 0; k < order.size(); ++k) i[static_cast<size_t>(order[k])] = j[k];
        return read(base, i);
      }, exact);
      CHECK(p.shares_storage(base));
    }
    {  // transpose
      const int64_t other = rng.integer(0, ndim - 1);
      Shape expected_shape = shape;
      std::swap(expected_shape[axis], expected_shape[other]);
      check_elements(base.transpose(written_axis, other), expected_shape, [&](const Index& j) {
        Index i = j;
        std::swap(i[static_cast<size_t>(axis)], i[static_cast<size_t>(other)]);
        return read(base, i);
      }, exact);
    }
    {  // slice, with Python's clamping of start and end
      const int64_t start = rng.integer(-extent - 2, extent + 2);
      const int64_t end = rng.integer(-extent - 2, extent + 2);
      const int64_t step = rng.integer(1, 3);
      auto clamp_index = [&](int64_t i) { return std::clamp<int64_t>(i < 0 ? i + extent : i, 0, extent); };
      const int64_t lo = clamp_index(start);
      const int64_t hi = std::max(lo, clamp_index(end));
      Shape expected_shape = shape;
      expected_shape[axis] = (hi - lo + step - 1) / step;
      INFO("slice(" << written_axis << ", " << start << ", " << end << ", " << step << ")");
      check_elements(base.slice(written_axis, start, end, step), expected_shape, [&](const Index& j) {
        Index i = j;
        i[static_cast<size_t>(axis)] = lo + j[static_cast<size_t>(axis)] * step;
        return read(base, i);
      }, exact);
    }
    {  // narrow and select
      const int64_t start = rng.integer(0, extent);
      const int64_t length = rng.integer(0, extent - start);
      Shape narrowed = shape;
      narrowed[axis] = length;
      check_elements(base.narrow(written_axis, start, length), narrowed, [&](const Index& j) {
        Index i = j;
        i[static_cast<size_t>(axis)] += start;
        return read(base, i);
      }, exact);
      if (extent > 0) {
        const int64_t index = rng.integer(-extent, extent - 1);
        Shape selected = shape;
        selected.erase(axis);
        check_elements(base.select(written_axis, index), selected, [&](const Index& j) {
          Index i = j;
          i.insert(i.begin() + axis, index < 0 ? index + extent : index);
          return read(base, i);
        }, exact);
      }
    }
    {  // unsqueeze and squeeze keep the row-major elements
      const int64_t position = rng.integer(-(ndim + 1), ndim);
      const Tensor u = base.unsqueeze(position);
      Shape expected_shape = shape;
      expected_shape.insert(position < 0 ? position + ndim + 1 : position, 1);
      CHECK(u.shape() == expected_shape);
      CHECK(reference::elements(u) == reference::elements(base));
      Shape squeezed;
      for (int64_t e : shape) {
        if (e != 1) squeezed.push_back(e);
      }
      CHECK(base.squeeze().shape() == squeezed);
      CHECK(reference::elements(base.squeeze()) == reference::elements(base));
    }
    {  // expand size-1 axes and add a leading axis
      Shape target;
      target.push_back(2);
      for (int64_t e : shape) target.push_back(e == 1 ? rng.integer(0, 3) : e);
      check_elements(base.expand(target), target, [&](const Index& j) {
        return read(base, reference::broadcast_index(j, shape));
      }, exact);
    }
    {  // reshape, flatten, contiguous, clone and to keep the row-major elements
      const std::vector<double> values = reference::elements(base);
      CHECK(reference::elements(base.reshape({-1})) == values);
      CHECK(reference::elements(base.flatten()) == values);
      Shape with_ones = shape;
      with_ones.insert(0, 1);
      with_ones.push_back(1);
      CHECK(reference::elements(base.reshape(with_ones)) == values);
      const Tensor packed = base.contiguous();
      CHECK(packed.is_contiguous());
      CHECK(reference::elements(packed) == values);
      const Tensor copy = base.clone();
      CHECK_FALSE(copy.shares_storage(base));
      CHECK(reference::elements(copy) == values);
      std::vector<double> rounded;
      for (double v : values) rounded.push_back(static_cast<float>(v));
      CHECK(reference::elements(base.to(float32)) == rounded);
    }
  }
}
