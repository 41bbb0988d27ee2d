// split/chunk/unbind, flip, roll, repeat/tile, tril/triu and diag (issue 13): known values (those
// marked "torch" were computed with PyTorch 1.13 and pasted in), naive index loops on random
// shapes, dtypes and non-contiguous layouts, and the errors for bad calls.
#include <cstdint>
#include <string>
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

Tensor iota(const Shape& shape, DType dtype = float32) { return arange(0, static_cast<double>(shape_numel(shape)), 1, dtype).reshape(shape); }

DType random_dtype(reference::Rng& rng) {
  const DType dtypes[] = {float32, float64, int64, uint8, int32, bool_};
  return dtypes[rng.integer(0, 5)];
}

Layout random_layout(reference::Rng& rng) { return reference::all_layouts[static_cast<size_t>(rng.integer(0, 5))]; }

int64_t positive_mod(int64_t a, int64_t n) { return ((a % n) + n) % n; }

const reference::Tolerance exact{0, 0};

}  // namespace

// ---- split, chunk, unbind

TEST_CASE("split cuts pieces of a size, views of the input", "[shape_ops]") {
  const Tensor x = iota({5, 2});
  const std::vector<Tensor> pieces = split(x, 2);
  REQUIRE(pieces.size() == 3);
  check_values(pieces[0], {2, 2}, {0, 1, 2, 3});
  check_values(pieces[2], {1, 2}, {8, 9});
  for (const Tensor& piece : pieces) CHECK(piece.shares_storage(x));
  CHECK(split(x, 5).size() == 1);
  CHECK(split(x, 7).size() == 1);
  const std::vector<Tensor> columns = split(x, 1, -1);
  REQUIRE(columns.size() == 2);
  check_values(columns[1], {5, 1}, {1, 3, 5, 7, 9});
  // An empty axis gives one empty piece, even for split_size 0 (torch).
  CHECK(split(zeros({0, 2}), 3).size() == 1);
  CHECK(split(zeros({0, 2}), 0)[0].shape() == Shape{0, 2});
}

TEST_CASE("split by a list of sizes, and chunk", "[shape_ops]") {
  const Tensor x = iota({2, 6});
  const std::vector<Tensor> pieces = split(x, {1, 0, 5}, 1);
  REQUIRE(pieces.size() == 3);
  check_values(pieces[0], {2, 1}, {0, 6});
  CHECK(pieces[1].shape() == Shape{2, 0});
  check_values(pieces[2], {2, 5}, {1, 2, 3, 4, 5, 7, 8, 9, 10, 11});
  // A one-element brace list is a list of sizes, as Python's x.split([6], 1).
  CHECK(split(x, {6}, 1).size() == 1);
  CHECK(split_with_sizes(x, std::vector<int64_t>{2}, 0)[0].shares_storage(x));

  // chunk: ceil(extent / chunks) per piece, so possibly fewer pieces (torch: 6 in 4 -> 2, 2, 2).
  const std::vector<Tensor> chunks = chunk(iota({6}), 4);
  REQUIRE(chunks.size() == 3);
  check_values(chunks[2], {2}, {4, 5});
  std::vector<int64_t> sizes;
  for (const Tensor& piece : chunk(zeros({13}), 5)) sizes.push_back(piece.size(0));
  CHECK(sizes == std::vector<int64_t>{3, 3, 3, 3, 1});  // torch
  CHECK(chunk(zeros({0}), 3).size() == 3);               // torch: three empty pieces
  CHECK(chunk(x, 2, -1)[1].shares_storage(x));
}

TEST_CASE("unbind gives the slices along an axis", "[shape_ops]") {
  const Tensor x = iota({2, 3});
  const std::vector<Tensor> columns = unbind(x, 1);
  REQUIRE(columns.size() == 3);
  check_values(columns[2], {2}, {2, 5});
  CHECK(columns[0].shares_storage(x));
  CHECK(unbind(x).size() == 2);
  CHECK(unbind(zeros({0, 3})).empty());
}

TEST_CASE("split, chunk and unbind reassemble their input on random shapes", "[shape_ops][reference]") {
  reference::Rng rng(1301);
  for (int trial = 0; trial < 100; ++trial) {
    Shape shape = reference::random_shape(rng, 3, false, 6);
    if (shape.empty()) shape.push_back(4);
    const int64_t axis = rng.integer(0, shape.size() - 1);
    const Tensor x = reference::random_tensor(shape, random_dtype(rng), random_layout(rng), rng, 0, 50);
    INFO("trial " << trial << ": shape " << to_string(shape) << ", axis " << axis);
    const int64_t size = rng.integer(1, 4);
    CHECK(equal(concat(split(x, size, axis), axis), x));
    CHECK(equal(concat(chunk(x, rng.integer(1, 4), axis), axis), x));
    CHECK(equal(stack(unbind(x, axis), axis), x));
  }
}

TEST_CASE("split, chunk and unbind refuse bad calls", "[shape_ops][errors]") {
  const Tensor x = zeros({3, 4});
  CHECK_THROWS_WITH(split(x, 0), Contains("split") && Contains("split_size 0") && Contains("[3, 4]"));
  CHECK_THROWS_WITH(split(x, -1), Contains("split") && Contains("non-negative") && Contains("-1"));
  CHECK_THROWS_WITH(split(x, {1, 1}), Contains("split_with_sizes") && Contains("[1, 1]") && Contains("add up to 2") &&
                                          Contains("3 elements"));
  CHECK_THROWS_WITH(split(x, {4, -1}), Contains("split_with_sizes") && Contains("non-negative"));
  CHECK_THROWS_WITH(split(scalar_tensor(1), 1), Contains("split") && Contains("0-d"));
  CHECK_THROWS_WITH(split(x, 2, 2), Contains("split") && Contains("axis 2") && Contains("-2 to 1"));
  CHECK_THROWS_WITH(split(x, 2, -3), Contains("split") && Contains("axis -3"));  // -size - 1
  CHECK_THROWS_WITH(chunk(x, 0), Contains("chunk") && Contains("at least 1") && Contains("0"));
  CHECK_THROWS_WITH(chunk(x, 2, -3), Contains("chunk") && Contains("axis -3"));
  CHECK_THROWS_WITH(unbind(scalar_tensor(1)), Contains("unbind") && Contains("0-d"));
  CHECK_THROWS_WITH(unbind(x, -3), Contains("unbind") && Contains("axis -3"));
}

// ---- flip and roll

TEST_CASE("flip reverses the given axes", "[shape_ops]") {
  const Tensor x = iota({3, 4});
  check_values(flip(x, {-1}), {3, 4}, {3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8});  // torch
  check_values(flip(x, {0, 1}), {3, 4}, {11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0});
  check_values(flip(x, {}), {3, 4}, reference::elements(x));
  CHECK_FALSE(flip(x, {0}).shares_storage(x));  // a copy, as in PyTorch
  CHECK(flip(scalar_tensor(3), {0}).item() == 3);  // torch accepts axis 0 of a 0-d tensor
}

TEST_CASE("roll shifts with wrap-around, along axes or flattened", "[shape_ops]") {
  const Tensor x = iota({3, 4});
  check_values(roll(x, {1}), {3, 4}, {11, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10});   // torch, flattened
  check_values(roll(x, {1, 1}, {1, 1}), {3, 4}, {2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9});  // torch: shifts add
  check_values(roll(iota({5}, int64), {-7}, {0}), {5}, {2, 3, 4, 0, 1});        // torch
  check_values(roll(x, {1, -1}, {0, 1}), {3, 4}, {9, 10, 11, 8, 1, 2, 3, 0, 5, 6, 7, 4});
  CHECK(roll(scalar_tensor(1), {1}).item() == 1);
  CHECK(roll(zeros({0, 3}), {2}, {1}).shape() == Shape{0, 3});
}

TEST_CASE("flip and roll agree with index loops on random layouts", "[shape_ops][reference]") {
  reference::Rng rng(1302);
  for (int trial = 0; trial < 150; ++trial) {
    Shape shape = reference::random_shape(rng, 4, true, 5);
    if (shape.empty()) shape.push_back(3);
    const Tensor x = reference::random_tensor(shape, random_dtype(rng), random_layout(rng), rng, 0, 100);
    std::vector<bool> flipped(static_cast<size_t>(shape.size()));
    Dims axes;
    for (int64_t a = 0; a < shape.size(); ++a) {
      if (rng.chance(0.5)) {
        flipped[static_cast<size_t>(a)] = true;
        axes.push_back(rng.chance(0.5) ? a : a - shape.size());
      }
    }
    INFO("trial " << trial << ": shape " << to_string(shape) << ", axes " << to_string(axes));
    check_elements(flip(x, axes), shape, [&](const Index& o) {
      Index i = o;
      for (size_t a = 0; a < i.size(); ++a) {
        if (flipped[a]) i[a] = shape[static_cast<int64_t>(a)] - 1 - o[a];
      }
      return read(x, i);
    }, exact);

    Dims shifts, roll_axes;
    std::vector<int64_t> total(static_cast<size_t>(shape.size()), 0);
    const int64_t count = rng.integer(1, 3);
    for (int64_t k = 0; k < count; ++k) {
      const int64_t a = rng.integer(0, shape.size() - 1);
      const int64_t s = rng.integer(-9, 9);
      roll_axes.push_back(a);
      shifts.push_back(s);
      total[static_cast<size_t>(a)] += s;
    }
    INFO("shifts " << to_string(shifts) << " on axes " << to_string(roll_axes));
    check_elements(roll(x, shifts, roll_axes), shape, [&](const Index& o) {
      Index i = o;
      for (size_t a = 0; a < i.size(); ++a) {
        const int64_t n = shape[static_cast<int64_t>(a)];
        i[a] = positive_mod(o[a] - total[a], n);
      }
      return read(x, i);
    }, exact);

    // Flattened: position p of the row-major order reads position p - shift.
    const int64_t shift = rng.integer(-20, 20);
    const std::vector<double> flat = reference::elements(x);
    const std::vector<double> rolled = reference::elements(roll(x, {shift}));
    bool all_match = rolled.size() == flat.size();
    for (size_t p = 0; all_match && p < flat.size(); ++p) {
      all_match = rolled[p] == flat[static_cast<size_t>(positive_mod(static_cast<int64_t>(p) - shift, static_cast<int64_t>(flat.size())))];
    }
    CHECK(all_match);
  }
}

TEST_CASE("flip and roll refuse bad axes", "[shape_ops][errors]") {
  const Tensor x = zeros({2, 3});
  CHECK_THROWS_WITH(flip(x, {0, -2}), Contains("flip") && Contains("axis 0 appears more than once"));
  CHECK_THROWS_WITH(flip(x, {2}), Contains("flip") && Contains("axis 2"));
  CHECK_THROWS_WITH(flip(x, {-3}), Contains("flip") && Contains("axis -3"));
  CHECK_THROWS_WITH(roll(x, {1, 2}), Contains("roll") && Contains("exactly one shift") && Contains("[1, 2]"));
  CHECK_THROWS_WITH(roll(x, {1, 2}, {0}), Contains("roll") && Contains("same length"));
  CHECK_THROWS_WITH(roll(x, {1}, {-3}), Contains("roll") && Contains("axis -3"));
}

// ---- repeat and tile

TEST_CASE("repeat tiles whole copies and tile pads the counts", "[shape_ops]") {
  const Tensor x = iota({2, 2});
  check_values(repeat(x, {1, 2}), {2, 4}, {0, 1, 0, 1, 2, 3, 2, 3});
  check_values(repeat(x, {2, 1, 1}), {2, 2, 2}, {0, 1, 2, 3, 0, 1, 2, 3});
  check_values(repeat(iota({3}), {2}), {6}, {0, 1, 2, 0, 1, 2});
  CHECK(repeat(iota({3, 4}), {2, 0}).shape() == Shape{6, 0});  // torch
  CHECK(repeat(scalar_tensor(3), {}).item() == 3);
  CHECK(tile(iota({3, 4}), {2}).shape() == Shape{3, 8});        // torch
  CHECK(tile(iota({3, 4}), {}).shape() == Shape{3, 4});         // torch
  check_values(tile(x, {2, 1}), {4, 2}, {0, 1, 2, 3, 0, 1, 2, 3});
}

TEST_CASE("repeat agrees with an index loop on random layouts", "[shape_ops][reference]") {
  reference::Rng rng(1303);
  for (int trial = 0; trial < 100; ++trial) {
    const Shape shape = reference::random_shape(rng, 3, true, 4);
    const Tensor x = reference::random_tensor(shape, random_dtype(rng), random_layout(rng), rng, 0, 100);
    Dims repeats;
    const int64_t extra = rng.integer(0, 2);
    for (int64_t a = 0; a < shape.size() + extra; ++a) repeats.push_back(rng.integer(0, 3));
    Shape out_shape;
    for (int64_t a = 0; a < repeats.size(); ++a) {
      const int64_t n = a < extra ? 1 : shape[a - extra];
      out_shape.push_back(n * repeats[a]);
    }
    INFO("trial " << trial << ": shape " << to_string(shape) << ", repeats " << to_string(repeats));
    check_elements(repeat(x, repeats), out_shape, [&](const Index& o) {
      Index i;
      for (int64_t a = extra; a < repeats.size(); ++a) i.push_back(o[static_cast<size_t>(a)] % shape[a - extra]);
      return read(x, i);
    }, exact);
  }
}

TEST_CASE("repeat refuses too few or negative counts", "[shape_ops][errors]") {
  const Tensor x = zeros({3, 4});
  CHECK_THROWS_WITH(repeat(x, {2}), Contains("repeat") && Contains("[2]") && Contains("[3, 4]") && Contains("tile"));
  CHECK_THROWS_WITH(repeat(x, {2, -1}), Contains("repeat") && Contains("negative count -1"));
  CHECK_THROWS_WITH(tile(x, {2, -1}), Contains("repeat") && Contains("negative count -1"));
}

// ---- tril, triu, diag

TEST_CASE("tril and triu keep a triangle of the last two axes", "[shape_ops]") {
  const Tensor x = iota({3, 4}) + 1.0;
  check_values(tril(x), {3, 4}, {1, 0, 0, 0, 5, 6, 0, 0, 9, 10, 11, 0});
  check_values(tril(x, 1), {3, 4}, {1, 2, 0, 0, 5, 6, 7, 0, 9, 10, 11, 12});
  check_values(triu(x, -1), {3, 4}, {1, 2, 3, 4, 5, 6, 7, 8, 0, 10, 11, 12});
  check_values(triu(x, 2), {3, 4}, {0, 0, 3, 4, 0, 0, 0, 8, 0, 0, 0, 0});
  check_values(tril(x, 10), {3, 4}, reference::elements(x));    // torch
  check_values(triu(x, -10), {3, 4}, reference::elements(x));   // torch
  CHECK(reference::elements(tril(x, -10)) == std::vector<double>(12, 0.0));
}

TEST_CASE("tril and triu agree with an index loop on random batches and layouts", "[shape_ops][reference]") {
  reference::Rng rng(1304);
  for (int trial = 0; trial < 100; ++trial) {
    Shape shape = reference::random_shape(rng, 2, true, 4);
    shape.push_back(rng.integer(0, 5));
    shape.push_back(rng.integer(0, 5));
    const Tensor x = reference::random_tensor(shape, random_dtype(rng), random_layout(rng), rng, 1, 100);
    const int64_t diagonal = rng.integer(-5, 5);
    INFO("trial " << trial << ": shape " << to_string(shape) << ", diagonal " << diagonal);
    const size_t r = static_cast<size_t>(shape.size() - 2), c = r + 1;
    check_elements(tril(x, diagonal), shape, [&](const Index& o) {
      return o[c] - o[r] <= diagonal ? read(x, o) : 0.0;
    }, exact);
    check_elements(triu(x, diagonal), shape, [&](const Index& o) {
      return o[c] - o[r] >= diagonal ? read(x, o) : 0.0;
    }, exact);
  }
}

TEST_CASE("diag makes a matrix from a vector and takes a diagonal of a matrix", "[shape_ops]") {
  check_values(diag(tensor({1, 2})), {2, 2}, {1, 0, 0, 2});
  check_values(diag(tensor({1, 2}), -2), {4, 4}, {0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 2, 0, 0});  // torch
  check_values(diag(tensor({1, 2}), 1), {3, 3}, {0, 1, 0, 0, 0, 2, 0, 0, 0});
  const Tensor x = iota({3, 4});
  check_values(diag(x), {3}, {0, 5, 10});
  check_values(diag(x, -1), {2}, {4, 9});  // torch
  check_values(diag(x, 2), {2}, {2, 7});
  check_values(diag(x.t(), 1), {2}, {4, 9});
  // A diagonal outside the matrix is empty (torch 1.13 fails with an overflow here; later versions agree).
  CHECK(diag(zeros({2, 3}), 5).shape() == Shape{0});
  CHECK(diag(zeros({2, 3}), -2).shape() == Shape{0});
  CHECK_FALSE(diag(x).shares_storage(x));  // a copy, as torch.diag
}

TEST_CASE("diag agrees with an index loop on random layouts", "[shape_ops][reference]") {
  reference::Rng rng(1305);
  for (int trial = 0; trial < 100; ++trial) {
    const Shape shape{rng.integer(0, 5), rng.integer(0, 5)};
    const Tensor x = reference::random_tensor(shape, random_dtype(rng), random_layout(rng), rng, 1, 100);
    const int64_t k = rng.integer(-5, 5);
    INFO("trial " << trial << ": shape " << to_string(shape) << ", diagonal " << k);
    const Tensor d = diag(x, k);
    std::vector<double> expected;
    for (int64_t i = 0; i < shape[0]; ++i) {
      for (int64_t j = 0; j < shape[1]; ++j) {
        if (j - i == k) expected.push_back(read(x, {i, j}));
      }
    }
    check_values(d, {static_cast<int64_t>(expected.size())}, expected, 0);
    // And back: the vector on diagonal k of a square of side n + |k|.
    const int64_t n = d.size(0), side = n + (k < 0 ? -k : k);
    check_elements(diag(d, k), {side, side}, [&](const Index& o) {
      return o[1] - o[0] == k ? expected[static_cast<size_t>(k >= 0 ? o[0] : o[1])] : 0.0;
    }, exact);
  }
}

TEST_CASE("tril, triu and diag refuse tensors of the wrong rank", "[shape_ops][errors]") {
  CHECK_THROWS_WITH(tril(ones({3})), Contains("tril") && Contains("at least 2 axes") && Contains("[3]"));
  CHECK_THROWS_WITH(triu(scalar_tensor(1)), Contains("triu") && Contains("at least 2 axes"));
  CHECK_THROWS_WITH(diag(zeros({2, 2, 2})), Contains("diag") && Contains("1-d") && Contains("2-d") && Contains("[2, 2, 2]"));
  CHECK_THROWS_WITH(diag(scalar_tensor(1)), Contains("diag") && Contains("[]"));
}
