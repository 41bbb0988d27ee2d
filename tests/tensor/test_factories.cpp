// Factories and element access: empty/zeros/ones/full, *_like, arange, linspace, eye,
// from_vector, tensor, item, at, to_vector, data.
#include <cmath>
#include <cstdint>
#include <vector>

#include "reference.hpp"

using namespace nabla;
using namespace nabla::kernels;
using Catch::Contains;
using reference::check_values;

namespace {
// Every dtype whose values 0..7 read back as themselves (bool has its own tests in test_dtypes.cpp).
const std::vector<DType> all_dtypes = {float32, float64, int64, int32, uint8};
}

TEST_CASE("a default Tensor is undefined", "[factories]") {
  Tensor t;
  CHECK_FALSE(t.defined());
  CHECK(t.storage() == nullptr);
  CHECK_THROWS_AS(t.raw_data(), Error);
}

TEST_CASE("empty makes a contiguous tensor of the shape and dtype", "[factories]") {
  for (DType dtype : all_dtypes) {
    Tensor t = empty({2, 3, 4}, dtype);
    CHECK(t.defined());
    CHECK(t.dtype() == dtype);
    CHECK(t.shape() == Shape{2, 3, 4});
    CHECK(t.strides() == Strides{12, 4, 1});
    CHECK(t.offset() == 0);
    CHECK(t.dim() == 3);
    CHECK(t.numel() == 24);
    CHECK(t.is_contiguous());
    CHECK(t.storage()->nbytes() >= 24 * itemsize(dtype));
  }
  CHECK(empty({}).dim() == 0);
  CHECK(empty({}).numel() == 1);
  CHECK(empty({3, 0}).numel() == 0);
}

TEST_CASE("empty refuses negative extents", "[factories][errors]") {
  CHECK_THROWS_AS(empty({2, -3}), Error);
  CHECK_THROWS_WITH(empty({2, -3}), Contains("[2, -3]"));
}

TEST_CASE("zeros, ones and full in every dtype", "[factories]") {
  for (DType dtype : all_dtypes) {
    INFO("dtype " << dtype_name(dtype));
    check_values(zeros({2, 2}, dtype), {2, 2}, {0, 0, 0, 0});
    check_values(ones({3}, dtype), {3}, {1, 1, 1});
    check_values(full({1, 2}, 7, dtype), {1, 2}, {7, 7});
    CHECK(zeros({2}, dtype).dtype() == dtype);
  }
  check_values(full({2}, -2.5, float64), {2}, {-2.5, -2.5});
  check_values(full({2}, 0.1, float32), {2}, {static_cast<float>(0.1), static_cast<float>(0.1)}, 0);
  CHECK(zeros({}).item() == 0.0);
  CHECK(zeros({0, 5}).shape() == Shape{0, 5});
  CHECK(ones({0}).numel() == 0);
}

TEST_CASE("*_like factories copy shape and dtype, not values", "[factories]") {
  Tensor like = full({2, 3}, 5.0, float64).transpose(0, 1);
  for (Tensor t : {empty_like(like), zeros_like(like), ones_like(like), full_like(like, 4.0)}) {
    CHECK(t.shape() == Shape{3, 2});
    CHECK(t.dtype() == float64);
    CHECK_FALSE(t.shares_storage(like));
  }
  check_values(zeros_like(like), {3, 2}, {0, 0, 0, 0, 0, 0});
  check_values(ones_like(like), {3, 2}, {1, 1, 1, 1, 1, 1});
  check_values(full_like(like, 4.0), {3, 2}, {4, 4, 4, 4, 4, 4});
  CHECK(zeros_like(arange(3)).dtype() == int64);
}

TEST_CASE("scalar_tensor is 0-d", "[factories]") {
  Tensor s = scalar_tensor(3.5);
  CHECK(s.dim() == 0);
  CHECK(s.numel() == 1);
  CHECK(s.shape() == Shape{});
  CHECK(s.dtype() == float32);
  CHECK(s.item() == 3.5);
  CHECK(scalar_tensor(-4, int64).item<int64_t>() == -4);
  CHECK(scalar_tensor(2.25, float64).item<float>() == 2.25f);
}

TEST_CASE("arange", "[factories]") {
  check_values(arange(0.0, 5.0), {5}, {0, 1, 2, 3, 4});
  CHECK(arange(0.0, 5.0).dtype() == float32);
  check_values(arange(1.0, 2.0, 0.25, float64), {4}, {1, 1.25, 1.5, 1.75});
  check_values(arange(0.0, 1.0, 0.3, float64), {4}, {0, 0.3, 0.6, 0.9}, 1e-12);
  check_values(arange(-3.0, 3.0, 2.0), {3}, {-3, -1, 1});
  Tensor ints = arange(int64_t{5});
  CHECK(ints.dtype() == int64);
  check_values(ints, {5}, {0, 1, 2, 3, 4});
  CHECK(arange(int64_t{4}, float64).dtype() == float64);
  CHECK(arange(0.0, 0.0).shape() == Shape{0});
  CHECK(arange(5.0, 1.0).shape() == Shape{0});
  CHECK(arange(int64_t{0}).numel() == 0);
}

TEST_CASE("arange refuses a zero step", "[factories][errors]") {
  CHECK_THROWS_AS(arange(0.0, 1.0, 0.0), Error);
  CHECK_THROWS_WITH(arange(0.0, 1.0, 0.0), Contains("arange"));
}

TEST_CASE("linspace includes both ends", "[factories]") {
  check_values(linspace(0, 1, 5), {5}, {0, 0.25, 0.5, 0.75, 1});
  check_values(linspace(-1, 1, 3, float64), {3}, {-1, 0, 1});
  check_values(linspace(2, 2, 1), {1}, {2});
  check_values(linspace(3, 7, 1), {1}, {3});
  CHECK(linspace(0, 1, 0).shape() == Shape{0});
  Tensor fine = linspace(0.0, 0.7, 8, float64);
  CHECK(fine.at<double>({-1}) == 0.7);  // the last value is exactly end
  CHECK(fine.at<double>({0}) == 0.0);
  CHECK(fine.at<double>({1}) == Approx(0.1));
  CHECK_THROWS_WITH(linspace(0, 1, -1), Contains("linspace"));
}

TEST_CASE("eye", "[factories]") {
  check_values(eye(3), {3, 3}, {1, 0, 0, 0, 1, 0, 0, 0, 1});
  check_values(eye(2, 3), {2, 3}, {1, 0, 0, 0, 1, 0});
  check_values(eye(3, 2, int64), {3, 2}, {1, 0, 0, 1, 0, 0});
  CHECK(eye(2, -1, float64).dtype() == float64);
  CHECK(eye(0).shape() == Shape{0, 0});
}

TEST_CASE("from_vector takes its dtype from the element type", "[factories]") {
  Tensor f = from_vector(std::vector<float>{1.5f, 2.5f});
  CHECK(f.dtype() == float32);
  check_values(f, {2}, {1.5, 2.5});
  Tensor d = from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK(d.dtype() == float64);
  check_values(d, {2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor i = from_vector(std::vector<int64_t>{-7, 1LL << 40});
  CHECK(i.dtype() == int64);
  CHECK(i.at<int64_t>({1}) == (1LL << 40));
  Tensor u = from_vector(std::vector<uint8_t>{0, 255}, {2, 1});
  CHECK(u.dtype() == uint8);
  CHECK(u.at<int64_t>({1, 0}) == 255);
  CHECK(from_vector(std::vector<double>{}).shape() == Shape{0});
  CHECK(from_vector(std::vector<double>{}, {0, 3}).shape() == Shape{0, 3});
}

TEST_CASE("from_vector and tensor refuse a shape that does not match the values", "[factories][errors]") {
  CHECK_THROWS_AS(from_vector(std::vector<float>{1, 2, 3}, {2, 2}), Error);
  CHECK_THROWS_WITH(from_vector(std::vector<float>{1, 2, 3}, {2, 2}),
                    Contains("from_vector") && Contains("[2, 2]") && Contains("3"));
  CHECK_THROWS_WITH(tensor({1, 2, 3}, {4, 2}), Contains("tensor") && Contains("[4, 2]"));
}

TEST_CASE("tensor() literals in any dtype", "[factories]") {
  Tensor a = tensor({1, 2, 3, 4}, {2, 2});
  CHECK(a.dtype() == float32);
  check_values(a, {2, 2}, {1, 2, 3, 4});
  check_values(tensor({1, 2, 3}), {3}, {1, 2, 3});
  CHECK(tensor({1.5}, {}, float64).dtype() == float64);
  check_values(tensor({9, 8, 7, 6, 5, 4}, {3, 1, 2}, int64), {3, 1, 2}, {9, 8, 7, 6, 5, 4});
  check_values(tensor({200, 3}, {2}, uint8), {2}, {200, 3});
  Tensor s = tensor({4}, {1});
  CHECK(s.shape() == Shape{1});
}

TEST_CASE("item, at and to_vector convert to the requested type", "[factories]") {
  Tensor t = tensor({1, 2, 3, 4, 5, 6}, {2, 3}, float64);
  CHECK(t.at<double>({0, 0}) == 1);
  CHECK(t.at<double>({1, 2}) == 6);
  CHECK(t.at<double>({-1, -1}) == 6);  // negative indices count from the end
  CHECK(t.at<double>({-2, 1}) == 2);
  CHECK(t.at<int64_t>({1, 0}) == 4);
  CHECK(t.at<float>({0, 2}) == 3.0f);
  CHECK(t.at({1, 1}) == 5.0);  // default T = double
  CHECK(tensor({7}, {1, 1}).item() == 7.0);
  CHECK(tensor({7}, {1, 1}).item<int64_t>() == 7);
  CHECK(scalar_tensor(2.5, float64).item<float>() == 2.5f);
  CHECK(t.to_vector<double>() == std::vector<double>{1, 2, 3, 4, 5, 6});
  CHECK(t.to_vector<int64_t>() == std::vector<int64_t>{1, 2, 3, 4, 5, 6});
  CHECK(t.to_vector<float>() == std::vector<float>{1, 2, 3, 4, 5, 6});
  CHECK(t.t().to_vector<double>() == std::vector<double>{1, 4, 2, 5, 3, 6});
  CHECK(tensor({1, 0, 255}, {3}, uint8).to_vector<uint8_t>() == std::vector<uint8_t>{1, 0, 255});
  CHECK(zeros({0}).to_vector<double>().empty());
}

TEST_CASE("data<T>() points at the first element and checks the dtype", "[factories][errors]") {
  Tensor t = tensor({1, 2, 3, 4, 5, 6}, {2, 3});
  float* p = t.data<float>();
  CHECK(p[4] == 5.0f);
  Tensor row = t.select(0, 1);
  CHECK(row.data<float>()[0] == 4.0f);  // data() includes the view's offset
  CHECK(row.raw_data() == static_cast<void*>(p + 3));
  CHECK_THROWS_AS(t.data<double>(), Error);
  CHECK_THROWS_WITH(t.data<double>(), Contains("float32") && Contains("float64"));
  CHECK_THROWS_WITH(t.data<int64_t>(), Contains("data"));
}

TEST_CASE("item and at refuse bad calls", "[factories][errors]") {
  Tensor t = zeros({2, 3});
  CHECK_THROWS_AS(t.item(), Error);
  CHECK_THROWS_WITH(t.item(), Contains("item") && Contains("[2, 3]"));
  CHECK_THROWS_WITH(zeros({0}).item(), Contains("item"));
  CHECK_THROWS_WITH(t.at<double>({1}), Contains("at") && Contains("[2, 3]"));
  CHECK_THROWS_WITH(t.at<double>({0, 3}), Contains("at") && Contains("3"));
  CHECK_THROWS_AS(t.at<double>({-3, 0}), Error);
  CHECK_THROWS_AS(t.at<double>({0, 0, 0}), Error);
}
