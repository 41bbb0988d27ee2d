// bool and int32 (issue 13): names, sizes, PyTorch's type promotion (tensors and scalars), making
// and reading them, printing, casts between every pair of dtypes (a table of PyTorch's results),
// arithmetic on bool, integer wrap-around, sums that count in int64, and masks.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "reference.hpp"

using namespace nabla;
using namespace nabla::kernels;
using Catch::Contains;
using reference::check_values;

namespace {

const double kInf = std::numeric_limits<double>::infinity();
const double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

const std::vector<DType> kAllDtypes = {bool_, uint8, int32, int64, float32, float64};

}  // namespace

// ---- the dtypes themselves

TEST_CASE("bool and int32: sizes, names and C++ types", "[dtype]") {
  CHECK(itemsize(bool_) == 1);
  CHECK(itemsize(int32) == 4);
  CHECK(dtype_name(bool_) == "bool");  // as PyTorch's torch.bool
  CHECK(dtype_name(int32) == "int32");
  CHECK(fmt::format("{} {}", bool_, int32) == "bool int32");
  CHECK_FALSE(is_floating(bool_));
  CHECK_FALSE(is_floating(int32));
  CHECK(dtype_v<bool> == bool_);
  CHECK(dtype_v<int32_t> == int32);
  CHECK(Tensor::empty({2, 3}, int32).storage()->nbytes() >= 24);
}

TEST_CASE("promote_types follows PyTorch: bool < uint8 < int32 < int64 < float32 < float64", "[dtype]") {
  // Every pair: the later of the two in that order wins (PyTorch's table restricted to these six).
  for (size_t i = 0; i < kAllDtypes.size(); ++i) {
    for (size_t j = 0; j < kAllDtypes.size(); ++j) {
      INFO(dtype_name(kAllDtypes[i]) << " with " << dtype_name(kAllDtypes[j]));
      CHECK(promote_types(kAllDtypes[i], kAllDtypes[j]) == kAllDtypes[std::max(i, j)]);
    }
  }
  // The results of binary ops, checked against torch 1.13 (e.g. (torch.tensor([True]) +
  // torch.tensor([2], dtype=torch.uint8)).dtype is torch.uint8).
  CHECK(add(tensor({1}, {1}, bool_), tensor({2}, {1}, uint8)).dtype() == uint8);
  CHECK(add(tensor({1}, {1}, bool_), tensor({2}, {1}, int32)).dtype() == int32);
  CHECK(add(tensor({1}, {1}, int32), tensor({1}, {1}, uint8)).dtype() == int32);
  CHECK(add(tensor({1}, {1}, int32), tensor({1}, {1}, int64)).dtype() == int64);
  CHECK(add(tensor({1}, {1}, int64), tensor({1}, {1}, float32)).dtype() == float32);
  CHECK(mul(tensor({1}, {1}, int32), tensor({1}, {1}, float64)).dtype() == float64);
  CHECK(div(tensor({1}, {1}, int32), tensor({2}, {1}, int32)).dtype() == float32);
}

TEST_CASE("scalar operands decide the dtype only when their kind is higher, as in PyTorch", "[dtype]") {
  const Tensor flags = tensor({1, 0}, {2}, bool_);
  const Tensor i32 = tensor({1, 2}, {2}, int32);
  // torch.tensor([True, False]) + 1 -> int64 [2, 1]; * 2.5 -> float32; / 2 -> float32.
  CHECK(add(flags, 1.0).dtype() == int64);
  CHECK(add(flags, 1.0).to_vector<int64_t>() == std::vector<int64_t>{2, 1});
  CHECK(mul(flags, 2.5).dtype() == float32);
  check_values(mul(flags, 2.5), {2}, {2.5, 0});
  CHECK(div(flags, 2.0).dtype() == float32);
  // An int32 tensor stays int32 with an integral scalar; a fractional one makes float32.
  CHECK(add(i32, 2.0).dtype() == int32);
  CHECK(add(i32, 2.0).to_vector<int32_t>() == std::vector<int32_t>{3, 4});
  CHECK(mul(i32, 2.5).dtype() == float32);
  check_values(mul(i32, 2.5), {2}, {2.5, 5});
  // nabla widens rather than wraps a scalar that does not fit (PyTorch: int32 + 2**40 wraps).
  CHECK(add(i32, 1099511627776.0).dtype() == int64);
  CHECK(add(i32, 1099511627776.0).to_vector<int64_t>() == std::vector<int64_t>{1099511627777, 1099511627778});
  // An infinite scalar is a float scalar: comparing integers with it computes in float32.
  CHECK(lt(i32, kInf).to_vector<bool>() == std::vector<bool>{true, true});
  CHECK(gt(tensor({5}, {1}, int64), -kInf).to_vector<bool>() == std::vector<bool>{true});
  CHECK(eq(flags, 1.0).to_vector<bool>() == std::vector<bool>{true, false});
}

// ---- making and reading

TEST_CASE("bool and int32 tensors: from_vector, tensor, to_vector, item and at", "[dtype][factories]") {
  const Tensor flags = from_vector(std::vector<bool>{true, false, true, true}, {2, 2});
  CHECK(flags.dtype() == bool_);
  CHECK(flags.shape() == Shape{2, 2});
  CHECK(flags.to_vector<bool>() == std::vector<bool>{true, false, true, true});
  CHECK(flags.at<bool>({0, 1}) == false);
  CHECK(flags.at<int64_t>({1, 1}) == 1);
  CHECK(flags.t().to_vector<bool>() == std::vector<bool>{true, true, false, true});  // non-contiguous
  CHECK(flags[1][0].item<bool>());
  CHECK(flags[0][1].item<double>() == 0.0);
  // tensor(): non-zero (NaN included) is true.
  CHECK(tensor({0, 2, -0.5, kNaN, -0.0}, {5}, bool_).to_vector<bool>() ==
        std::vector<bool>{false, true, true, true, false});

  const Tensor ints = from_vector(std::vector<int32_t>{7, -8, 2147483647, -2147483647 - 1});
  CHECK(ints.dtype() == int32);
  CHECK(ints.to_vector<int32_t>() == std::vector<int32_t>{7, -8, 2147483647, -2147483647 - 1});
  CHECK(ints.at<int32_t>({2}) == 2147483647);
  CHECK(ints[3].item<int64_t>() == -2147483648LL);
  CHECK(ints.to_vector<double>() == std::vector<double>{7, -8, 2147483647, -2147483648.0});
  CHECK(tensor({1, -2, 3}, {3}, int32).to_vector<int32_t>() == std::vector<int32_t>{1, -2, 3});
  CHECK(full({2}, -3, int32).to_vector<int32_t>() == std::vector<int32_t>{-3, -3});
  CHECK(arange(0, 4, 1, int32).to_vector<int32_t>() == std::vector<int32_t>{0, 1, 2, 3});
  CHECK(ones({3}, bool_).to_vector<bool>() == std::vector<bool>{true, true, true});
  CHECK(zeros({2}, bool_).to_vector<bool>() == std::vector<bool>{false, false});
  CHECK(eye(2, 2, bool_).to_vector<bool>() == std::vector<bool>{true, false, false, true});
  CHECK(from_vector(std::vector<bool>{}).numel() == 0);
}

TEST_CASE("bool prints True and False, int32 prints integers", "[dtype][format]") {
  const std::string flags = to_string(tensor({1, 0}, {2}, bool_));
  CHECK_THAT(flags, Contains("bool") && Contains("[True, False]"));
  CHECK_THAT(flags, !Contains("1"));
  const std::string ints = to_string(tensor({-7, 2147483647}, {2}, int32));
  CHECK_THAT(ints, Contains("int32") && Contains("-7") && Contains("2147483647") && !Contains("e+"));
}

// ---- casts

namespace {

struct CastRow {
  DType from;
  DType to;
  std::vector<double> expected;  // exact in double: integer results up to 2^53, INT64 limits as below
};

// A row whose expected values are integers beyond 2^53 (int64 results): compared as int64.
struct IntegerCastRow {
  DType from;
  DType to;
  std::vector<int64_t> expected;
};

// The sources the table converts, written as PyTorch's (torch.tensor(values, dtype=...)).
const std::vector<double> kFloatSources = {0.0,   -0.0,    0.5,           -0.5,         1.5,          -1.5,
                                           2.5,   -2.7,    127.9,         255.0,        256.0,        300.0,
                                           -1.0,  -129.0,  1e10 + 7,      -1e10 - 7,    2147483647.0, 2147483648.0,
                                           -2147483648.0, -2147483649.0, 9.3e18, -9.3e18, 1e30, kInf, -kInf, kNaN};
const std::vector<int64_t> kInt64Sources = {0,          1,          -1,           255,          256,
                                            -129,       2147483647, 2147483648LL, -2147483649LL, 1099511627781LL,
                                            9007199254740993LL,     kInt64Max,    kInt64Min};
const std::vector<int32_t> kInt32Sources = {0, 1, -1, 255, 256, -129, 2147483647, -2147483647 - 1};
const std::vector<uint8_t> kUint8Sources = {0, 1, 127, 128, 255};
const std::vector<bool> kBoolSources = {false, true};

Tensor sources(DType dtype) {
  switch (dtype) {
    case DType::float32:
    case DType::float64: return from_vector(kFloatSources).to(dtype);
    case DType::int64: return from_vector(kInt64Sources);
    case DType::int32: return from_vector(kInt32Sources);
    case DType::uint8: return from_vector(kUint8Sources);
    case DType::bool_: return from_vector(kBoolSources);
  }
  return {};
}

// The same values laid out non-contiguously: column 1 of a [n, 2] tensor (stride 2).
Tensor strided(const Tensor& x) {
  const Tensor pair = Tensor::empty({x.numel(), 2}, x.dtype());
  pair.select(1, 0).zero_();
  pair.select(1, 1).copy_(x);
  return pair.select(1, 1);
}

// PyTorch 1.13 on x86-64 (this machine), pasted: for each source dtype, `x.to(to).tolist()` of
// the sources above. Float to integer: truncation, and INT64_MIN / INT32_MIN for NaN, +-inf and
// values out of range; to uint8 the low byte of the int64 conversion.
const std::vector<IntegerCastRow> kFloatToInteger = {
    {float32, int64, {0, 0, 0, 0, 1, -1, 2, -2, 127, 255, 256, 300, -1, -129, 10000000000LL, -10000000000LL,
                      2147483648LL, 2147483648LL, -2147483648LL, -2147483648LL, kInt64Min, kInt64Min, kInt64Min,
                      kInt64Min, kInt64Min, kInt64Min}},
    {float32, int32, {0, 0, 0, 0, 1, -1, 2, -2, 127, 255, 256, 300, -1, -129, -2147483648LL, -2147483648LL,
                      -2147483648LL, -2147483648LL, -2147483648LL, -2147483648LL, -2147483648LL, -2147483648LL,
                      -2147483648LL, -2147483648LL, -2147483648LL, -2147483648LL}},
    {float32, uint8, {0, 0, 0, 0, 1, 255, 2, 254, 127, 255, 0, 44, 255, 127, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
    {float32, bool_, {0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
    {float64, int64, {0, 0, 0, 0, 1, -1, 2, -2, 127, 255, 256, 300, -1, -129, 10000000007LL, -10000000007LL,
                      2147483647, 2147483648LL, -2147483648LL, -2147483649LL, kInt64Min, kInt64Min, kInt64Min,
                      kInt64Min, kInt64Min, kInt64Min}},
    {float64, int32, {0, 0, 0, 0, 1, -1, 2, -2, 127, 255, 256, 300, -1, -129, -2147483648LL, -2147483648LL,
                      2147483647, -2147483648LL, -2147483648LL, -2147483648LL, -2147483648LL, -2147483648LL,
                      -2147483648LL, -2147483648LL, -2147483648LL, -2147483648LL}},
    {float64, uint8, {0, 0, 0, 0, 1, 255, 2, 254, 127, 255, 0, 44, 255, 127, 7, 249, 255, 0, 0, 255, 0, 0, 0, 0, 0, 0}},
    {float64, bool_, {0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
    // Integers to narrower integers keep the low bits; to bool, non-zero is true.
    {int64, int32, {0, 1, -1, 255, 256, -129, 2147483647, -2147483648LL, 2147483647, 5, 1, -1, 0}},
    {int64, uint8, {0, 1, 255, 255, 0, 127, 255, 0, 255, 5, 1, 255, 0}},
    {int64, bool_, {0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
    {int32, int64, {0, 1, -1, 255, 256, -129, 2147483647, -2147483648LL}},
    {int32, uint8, {0, 1, 255, 255, 0, 127, 255, 0}},
    {int32, bool_, {0, 1, 1, 1, 1, 1, 1, 1}},
    {uint8, int64, {0, 1, 127, 128, 255}},
    {uint8, int32, {0, 1, 127, 128, 255}},
    {uint8, bool_, {0, 1, 1, 1, 1}},
    {bool_, int64, {0, 1}},
    {bool_, int32, {0, 1}},
    {bool_, uint8, {0, 1}},
};

// Integer and bool sources to floats (round to nearest: 2^53 + 1 -> 2^53, 2^31 - 1 -> 2^31 in
// float32), and floats to floats (IEEE: beyond float32's range is inf).
const std::vector<CastRow> kToFloat = {
    {int64, float32, {0.0, 1.0, -1.0, 255.0, 256.0, -129.0, 2147483648.0, 2147483648.0, -2147483648.0,
                      1099511627776.0, 9007199254740992.0, 9.223372036854776e+18, -9.223372036854776e+18}},
    {int64, float64, {0.0, 1.0, -1.0, 255.0, 256.0, -129.0, 2147483647.0, 2147483648.0, -2147483649.0,
                      1099511627781.0, 9007199254740992.0, 9.223372036854776e+18, -9.223372036854776e+18}},
    {int32, float32, {0.0, 1.0, -1.0, 255.0, 256.0, -129.0, 2147483648.0, -2147483648.0}},
    {int32, float64, {0.0, 1.0, -1.0, 255.0, 256.0, -129.0, 2147483647.0, -2147483648.0}},
    {uint8, float32, {0.0, 1.0, 127.0, 128.0, 255.0}},
    {uint8, float64, {0.0, 1.0, 127.0, 128.0, 255.0}},
    {bool_, float32, {0.0, 1.0}},
    {bool_, float64, {0.0, 1.0}},
};

bool same_double(double a, double b) { return (a != a && b != b) || (a == b && std::signbit(a) == std::signbit(b)); }

}  // namespace

TEST_CASE("casts between every pair of dtypes give PyTorch's values", "[dtype][cast]") {
  for (const IntegerCastRow& row : kFloatToInteger) {
    for (bool contiguous : {true, false}) {
      INFO(dtype_name(row.from) << " -> " << dtype_name(row.to) << (contiguous ? "" : ", non-contiguous"));
      const Tensor x = contiguous ? sources(row.from) : strided(sources(row.from));
      const Tensor y = x.to(row.to);
      REQUIRE(y.dtype() == row.to);
      CHECK(y.to_vector<int64_t>() == row.expected);  // every integer and bool widens to int64 exactly
      // item<T>() and at<T>() read with the same conversion.
      std::vector<int64_t> read_one_by_one;
      for (int64_t i = 0; i < x.numel(); ++i) {
        read_one_by_one.push_back(row.to == int64   ? x.at<int64_t>({i})
                                  : row.to == int32 ? int64_t{x.at<int32_t>({i})}
                                  : row.to == uint8 ? int64_t{x[i].item<uint8_t>()}
                                                    : int64_t{x[i].item<bool>()});
      }
      CHECK(read_one_by_one == row.expected);
      // copy_ into a tensor of the target dtype converts the same way.
      const Tensor target = Tensor::empty(x.shape(), row.to);
      target.copy_(x);
      CHECK(target.to_vector<int64_t>() == row.expected);
    }
  }
  for (const CastRow& row : kToFloat) {
    for (bool contiguous : {true, false}) {
      INFO(dtype_name(row.from) << " -> " << dtype_name(row.to) << (contiguous ? "" : ", non-contiguous"));
      const Tensor x = contiguous ? sources(row.from) : strided(sources(row.from));
      const Tensor y = x.to(row.to);
      REQUIRE(y.dtype() == row.to);
      CHECK(y.to_vector<double>() == row.expected);
    }
  }
  // Floats to floats: float64 -> float32 rounds, and overflows to inf; float32 -> float64 is exact.
  const Tensor wide = tensor({0.1, 1e300, -1e300, 1e-300, -0.0, kInf, kNaN}, {7}, float64);
  const std::vector<double> narrowed = wide.to(float32).to_vector<double>();
  const std::vector<double> expected = {static_cast<double>(0.1f), kInf, -kInf, 0.0, -0.0, kInf, kNaN};
  for (size_t i = 0; i < expected.size(); ++i) {
    INFO("element " << i << ": " << narrowed[i]);
    CHECK(same_double(narrowed[i], expected[i]));
  }
  CHECK(tensor({0.1}, {1}, float32).to(float64).item() == static_cast<double>(0.1f));
  // Every pair round-trips the small values 0 and 1 (and .to of the same dtype is the tensor itself).
  for (DType from : kAllDtypes) {
    for (DType to : kAllDtypes) {
      INFO(dtype_name(from) << " -> " << dtype_name(to));
      const Tensor x = tensor({0, 1, 1, 0}, {2, 2}, from);
      CHECK(x.to(to).dtype() == to);
      CHECK(x.to(to).to_vector<double>() == std::vector<double>{0, 1, 1, 0});
      if (from == to) CHECK(x.to(to).shares_storage(x));
    }
  }
}

TEST_CASE("values that C++ leaves undefined are defined: NaN, infinities, out-of-range floats", "[dtype][cast]") {
  // The same rule everywhere a double meets an integer tensor: fill_, full, tensor, arange.
  CHECK(full({1}, kNaN, int64).item<int64_t>() == kInt64Min);
  CHECK(full({1}, kInf, int32).item<int32_t>() == std::numeric_limits<int32_t>::min());
  CHECK(full({1}, -1.0, uint8).item<int64_t>() == 255);
  CHECK(tensor({1e30}, {1}, int64).item<int64_t>() == kInt64Min);
  CHECK(scalar_tensor(kNaN, bool_).item<bool>());
  const Tensor filled = zeros({2}, int64);
  filled.fill_(-kInf);
  CHECK(filled.to_vector<int64_t>() == std::vector<int64_t>{kInt64Min, kInt64Min});
  // Reading a float as an integer: item and at give what .to() gives.
  CHECK(tensor({kNaN}, {1}).item<int64_t>() == kInt64Min);
  CHECK(tensor({-kInf}, {1}, float64).at<int32_t>({0}) == std::numeric_limits<int32_t>::min());
  // clamp of an integer tensor with an infinite bound (clamp_min / clamp_max pass one) is unbounded there.
  const Tensor ints = tensor({-5, 0, 5}, {3}, int64);
  CHECK(clamp(ints, 0, kInf).to_vector<int64_t>() == std::vector<int64_t>{0, 0, 5});
  CHECK(clamp(ints, -kInf, 1).to_vector<int64_t>() == std::vector<int64_t>{-5, 0, 1});
  const Tensor copy = ints.clone();
  copy.clamp_(-1, kInf);
  CHECK(copy.to_vector<int64_t>() == std::vector<int64_t>{-1, 0, 5});
  // An integer tensor refuses a non-integral in-place scalar, infinities included.
  CHECK_THROWS_WITH(ints.clone().add_(kInf), Contains("add_") && Contains("int64"));
  CHECK_THROWS_WITH(ints.clone().mul_(kNaN), Contains("mul_"));
}

// ---- arithmetic

TEST_CASE("arithmetic on bool follows PyTorch", "[dtype][elementwise]") {
  const Tensor a = tensor({1, 1, 0, 0}, {4}, bool_);
  const Tensor b = tensor({1, 0, 1, 0}, {4}, bool_);
  // torch: True + True == True (or), True * False == False (and), True / True == 1.0.
  CHECK(add(a, b).dtype() == bool_);
  CHECK(add(a, b).to_vector<bool>() == std::vector<bool>{true, true, true, false});
  CHECK(mul(a, b).to_vector<bool>() == std::vector<bool>{true, false, false, false});
  CHECK(div(a, tensor({1}, {1}, bool_)).dtype() == float32);
  check_values(div(a, tensor({1}, {1}, bool_)), {4}, {1, 1, 0, 0});
  CHECK(maximum(a, b).to_vector<bool>() == std::vector<bool>{true, true, true, false});
  CHECK(minimum(a, b).dtype() == bool_);
  // Subtraction and negation refuse bool, naming what inverts a mask.
  CHECK_THROWS_WITH(sub(a, b), Contains("sub") && Contains("bool") && Contains("logical_xor"));
  CHECK_THROWS_WITH(sub(a, tensor({1}, {1}, int64)), Contains("sub") && Contains("bool") && Contains("logical_not"));
  CHECK_THROWS_WITH(sub(1.0, a), Contains("sub") && Contains("logical_not"));
  CHECK_THROWS_WITH(a - 1.0, Contains("sub"));
  CHECK_THROWS_WITH(neg(a), Contains("neg") && Contains("bool") && Contains("logical_not"));
  CHECK_THROWS_WITH(-a, Contains("neg") && Contains("[4]"));
  // Ops PyTorch refuses on bool (abs, relu, floor, ...) say so and how to convert.
  CHECK_THROWS_WITH(abs(a), Contains("abs") && Contains("bool") && Contains(".to("));
  CHECK_THROWS_WITH(relu(a), Contains("relu") && Contains("bool"));
  CHECK_THROWS_WITH(floor(a), Contains("floor") && Contains("bool"));
  CHECK_THROWS_WITH(matmul(tensor({1, 0}, {1, 2}, bool_), tensor({1, 1}, {2, 1}, bool_)), Contains("matmul") && Contains("bool"));
  // Float math on bool computes in float32, like on integers.
  CHECK(exp(a).dtype() == float32);
  check_values(sign(a), {4}, {1, 1, 0, 0});
  CHECK(sign(a).dtype() == bool_);
}

TEST_CASE("integer arithmetic wraps around on overflow, as PyTorch's does", "[dtype][elementwise]") {
  const Tensor big = from_vector(std::vector<int32_t>{2147483647, -2147483647 - 1, 100000});
  CHECK(add(big, tensor({1}, {1}, int32)).to_vector<int32_t>() == std::vector<int32_t>{-2147483647 - 1, -2147483647, 100001});
  CHECK(sub(big, tensor({1}, {1}, int32)).to_vector<int32_t>() == std::vector<int32_t>{2147483646, 2147483647, 99999});
  CHECK(mul(big, big).to_vector<int32_t>() == std::vector<int32_t>{1, 0, 1410065408});
  CHECK(neg(big).to_vector<int32_t>() == std::vector<int32_t>{-2147483647, -2147483647 - 1, -100000});
  CHECK(abs(big).to_vector<int32_t>() == std::vector<int32_t>{2147483647, -2147483647 - 1, 100000});
  const Tensor extremes = from_vector(std::vector<int64_t>{kInt64Max, kInt64Min});
  CHECK(add(extremes, 1.0).to_vector<int64_t>() == std::vector<int64_t>{kInt64Min, kInt64Min + 1});
  CHECK(mul(extremes, 2.0).to_vector<int64_t>() == std::vector<int64_t>{-2, 0});
  CHECK(neg(extremes).to_vector<int64_t>() == std::vector<int64_t>{-kInt64Max, kInt64Min});
  // In place too.
  const Tensor accumulator = from_vector(std::vector<int32_t>{2147483647});
  accumulator.add_(tensor({1}, {1}, int32));
  CHECK(accumulator.item<int32_t>() == -2147483647 - 1);
  accumulator.mul_(3.0);
  CHECK(accumulator.item<int32_t>() == -2147483647 - 1);  // -2^31 * 3 = -3 * 2^31 wraps to -2^31
  // abs and neg of -0.0 give the signs IEEE gives: abs(-0.0) = +0.0, neg(0.0) = -0.0.
  CHECK_FALSE(std::signbit(abs(tensor({-0.0}, {1}, float64)).item()));
  CHECK(std::signbit(neg(tensor({0.0}, {1}, float64)).item()));
}

TEST_CASE("int32 tensors: arithmetic, comparisons and float math", "[dtype][elementwise]") {
  const Tensor a = tensor({7, -3, 5}, {3}, int32);
  const Tensor b = tensor({2, 2, -5}, {3}, int32);
  CHECK(add(a, b).dtype() == int32);
  CHECK(add(a, b).to_vector<int32_t>() == std::vector<int32_t>{9, -1, 0});
  CHECK(mul(a, b).to_vector<int32_t>() == std::vector<int32_t>{14, -6, -25});
  CHECK(maximum(a, b).to_vector<int32_t>() == std::vector<int32_t>{7, 2, 5});
  CHECK(relu(a).to_vector<int32_t>() == std::vector<int32_t>{7, 0, 5});
  CHECK(clamp(a, -1, 6).to_vector<int32_t>() == std::vector<int32_t>{6, -1, 5});
  CHECK(square(a).to_vector<int32_t>() == std::vector<int32_t>{49, 9, 25});
  CHECK(lt(a, b).to_vector<bool>() == std::vector<bool>{false, true, false});
  check_values(div(a, b), {3}, {3.5, -1.5, -1});
  CHECK(sqrt(a).dtype() == float32);
  CHECK(matmul(tensor({1, 2}, {1, 2}, int32), tensor({3, 4}, {2, 1}, int32)).to_vector<int32_t>() == std::vector<int32_t>{11});
}

TEST_CASE("sums of bools and integers count in int64, as PyTorch's", "[dtype][reduce]") {
  const Tensor flags = from_vector(std::vector<bool>(1000, true));
  CHECK(sum(flags).dtype() == int64);
  CHECK(sum(flags).item<int64_t>() == 1000);
  const Tensor grid = tensor({1, 0, 1, 1, 1, 0}, {2, 3}, bool_);
  CHECK(sum(grid, {0}).to_vector<int64_t>() == std::vector<int64_t>{2, 1, 1});
  CHECK(sum(grid.t(), {1}).to_vector<int64_t>() == std::vector<int64_t>{2, 1, 1});
  const Tensor ints = from_vector(std::vector<int32_t>{2147483647, 2147483647, 2});
  CHECK(sum(ints).dtype() == int64);
  CHECK(sum(ints).item<int64_t>() == 4294967296LL);  // no int32 overflow
  CHECK(amax(grid).dtype() == bool_);
  CHECK(amax(grid).item<bool>());
  CHECK_THROWS_WITH(mean(grid), Contains("mean") && Contains("bool"));
  // The MNIST accuracy idiom: argmax, eq, sum.
  const Tensor predicted = tensor({3, 1, 2}, {3}, int64);
  const Tensor labels = tensor({3, 0, 2}, {3}, uint8);
  CHECK(sum(eq(predicted, labels)).item<int64_t>() == 2);
}

// ---- masks

TEST_CASE("comparisons and logic give bool, and where reads bool and uint8 masks", "[dtype][compare]") {
  const Tensor x = tensor({-1, 0, 2, kNaN}, {4});
  const Tensor positive = gt(x, 0.0);
  CHECK(positive.dtype() == bool_);
  CHECK(positive.to_vector<bool>() == std::vector<bool>{false, false, true, false});
  check_values(where(positive, x, zeros({})), {4}, {0, 0, 2, 0});
  check_values(where(positive.to(uint8), x, zeros({})), {4}, {0, 0, 2, 0});
  // Comparing bools: False < True.
  CHECK(lt(tensor({0, 1}, {2}, bool_), tensor({1, 1}, {2}, bool_)).to_vector<bool>() == std::vector<bool>{true, false});
  CHECK(equal(tensor({1, 0}, {2}, bool_), tensor({1, 0}, {2}, bool_)));
  CHECK_FALSE(equal(tensor({1, 0}, {2}, bool_), tensor({1, 1}, {2}, bool_)));
  CHECK(allclose(tensor({1, 0}, {2}, bool_), tensor({1, 0}, {2}, float32)));
  CHECK_THROWS_WITH(check_mask(x, "masked_fill"), Contains("masked_fill") && Contains("float32") && Contains("[4]"));
  CHECK_THROWS_WITH(check_mask(Tensor(), "where"), Contains("where") && Contains("undefined"));
  CHECK_NOTHROW(check_mask(positive, "where"));
}
