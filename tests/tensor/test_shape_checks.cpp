// Issue 17, item 1: every shape is checked once (check_shape), with overflow-checked products of
// max(extent, 1), so no tensor's element count, strides or offsets can wrap around.
#include <cstdint>

#include "reference.hpp"

#include "nabla/tensor/shape_check.hpp"

using namespace nabla;
using namespace nabla::kernels;
using Catch::Contains;

namespace {
constexpr int64_t kWraps = 6148914691236517206;  // 3 * this wraps to 2 in 64 bits
constexpr int64_t k2to62 = int64_t{1} << 62;
}  // namespace

TEST_CASE("check_shape accepts ordinary and empty shapes", "[shape_checks]") {
  CHECK_NOTHROW(check_shape({}));
  CHECK_NOTHROW(check_shape({0}));
  CHECK_NOTHROW(check_shape({3, 0, 5}));
  CHECK_NOTHROW(check_shape({int64_t{1} << 30, int64_t{1} << 30}));
  CHECK_NOTHROW(check_shape({kMaxShapeElements}));
  CHECK_NOTHROW(check_shape({0, kMaxShapeElements}));
}

TEST_CASE("check_shape refuses negative and overflowing shapes, naming the shape", "[shape_checks][errors]") {
  CHECK_THROWS_WITH(check_shape({2, -3}), Contains("[2, -3]") && Contains("negative"));
  CHECK_THROWS_WITH(check_shape({3, kWraps}), Contains("[3, 6148914691236517206]") && Contains("too large"));
  CHECK_THROWS_WITH(check_shape({kMaxShapeElements + 1}), Contains("too large"));
  // A zero extent does not excuse the others: their strides would still overflow.
  CHECK_THROWS_WITH(check_shape({0, k2to62, k2to62}), Contains("too large"));
  CHECK_THROWS_WITH(check_shape({k2to62, k2to62, 0}), Contains("too large"));
  CHECK_THROWS_WITH(check_shape({0, 4294967295, 4294967295}), Contains("[0, 4294967295, 4294967295]"));
}

TEST_CASE("shape_numel and contiguous_strides refuse shapes whose counts overflow", "[shape_checks][errors]") {
  CHECK(shape_numel({3, 0, 5}) == 0);
  CHECK(shape_numel({}) == 1);
  CHECK(contiguous_strides({2, 0, 3}) == Strides{3, 3, 1});
  CHECK_THROWS_WITH(shape_numel({3, kWraps}), Contains("too large"));
  CHECK_THROWS_WITH(contiguous_strides({k2to62, k2to62, 0}), Contains("too large"));
  CHECK_THROWS_WITH(contiguous_strides({0, 4294967295, 4294967295}), Contains("too large"));
}

TEST_CASE("factories refuse a shape whose count wraps around", "[shape_checks][errors]") {
  // Before: zeros({3, 6148914691236517206}) made a "2-element" tensor and indexing it read wild memory.
  CHECK_THROWS_WITH(zeros({3, kWraps}), Contains("[3, 6148914691236517206]"));
  CHECK_THROWS_WITH(empty({0, k2to62, k2to62}), Contains("too large"));
  CHECK_THROWS_WITH(full({k2to62, k2to62, 0}, 1.0), Contains("too large"));
  CHECK_THROWS_AS(empty({2, -3}), Error);
}

TEST_CASE("views refuse shapes whose count wraps around", "[shape_checks][errors]") {
  const Tensor x = zeros({2, 3});
  CHECK_THROWS_WITH(x.expand({kWraps, 2, 3}), Contains("too large"));
  CHECK_THROWS_WITH(x.reshape({3, kWraps, -1}), Contains("reshape") && Contains("too large"));
  const Tensor none = zeros({0});
  CHECK_THROWS_WITH(none.reshape({k2to62, k2to62, 0}), Contains("too large"));
  CHECK_THROWS_WITH(none.view({0, k2to62, k2to62}), Contains("too large"));
  CHECK_THROWS_WITH(repeat(x, {kWraps, 1}), Contains("too large"));
  CHECK_THROWS_WITH(repeat(zeros({1}), {k2to62}), Contains("too large"));  // no index map of 2^62 entries
}
