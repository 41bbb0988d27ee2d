// Printing: fmt::format("{}", t), to_string and operator<< show dtype, shape and values, and
// abbreviate long axes.
#include <sstream>
#include <string>

#include "reference.hpp"

using namespace nabla;
using namespace nabla::kernels;
using Catch::Contains;
using Catch::StartsWith;

namespace {
// The text after the "tensor(dtype, shape)" header: the values.
std::string body(const std::string& text) { return text.substr(text.find(')') + 1); }

size_t count(const std::string& text, const std::string& piece) {
  size_t n = 0;
  for (size_t at = text.find(piece); at != std::string::npos; at = text.find(piece, at + 1)) ++n;
  return n;
}
}  // namespace

TEST_CASE("a small tensor prints dtype, shape and every value", "[format]") {
  const std::string text = fmt::format("{}", tensor({1, 2, 3, 4}, {2, 2}));
  CHECK_THAT(text, StartsWith("tensor("));
  CHECK_THAT(text, Contains("float32") && Contains("[2, 2]"));
  for (const char* value : {"1", "2", "3", "4"}) CHECK_THAT(text, Contains(value));
  CHECK_THAT(text, !Contains("..."));
  const std::string values = body(text);
  CHECK(values.find('1') < values.find('2'));
  CHECK(values.find('2') < values.find('3'));
  CHECK(values.find('3') < values.find('4'));
  CHECK(text == to_string(tensor({1, 2, 3, 4}, {2, 2})));
}

TEST_CASE("every dtype prints its name and values", "[format]") {
  CHECK_THAT(to_string(tensor({1.5, -2.25}, {2}, float64)), Contains("float64") && Contains("1.5") && Contains("-2.25"));
  CHECK_THAT(to_string(tensor({7, -8}, {2}, int64)), Contains("int64") && Contains("7") && Contains("-8"));
  CHECK_THAT(to_string(tensor({255, 0}, {2}, uint8)), Contains("uint8") && Contains("255"));
  // Integers print as integers, not as floating-point text.
  CHECK_THAT(to_string(tensor({7}, {1}, int64)), !Contains("7.0") && !Contains("e+"));
  CHECK_THAT(to_string(tensor({123456789012}, {1}, int64)), Contains("123456789012"));
}

TEST_CASE("0-d, empty and undefined tensors print", "[format]") {
  const std::string scalar = to_string(scalar_tensor(2.5));
  CHECK_THAT(scalar, Contains("float32") && Contains("[]") && Contains("2.5"));
  const std::string empty_text = to_string(zeros({0, 3}));
  CHECK_THAT(empty_text, Contains("[0, 3]"));
  CHECK_FALSE(to_string(Tensor()).empty());
}

TEST_CASE("non-contiguous tensors print in logical order", "[format]") {
  const Tensor m = tensor({1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK(to_string(m.t()) == to_string(m.t().contiguous()));
  CHECK(to_string(m.slice(1, 0, 3, 2)) == to_string(tensor({1, 3, 4, 6}, {2, 2})));
  CHECK(to_string(tensor({9}, {1}).expand({2, 2})) == to_string(full({2, 2}, 9)));
  const std::string values = body(to_string(m.t()));
  CHECK(values.find('4') < values.find('2'));  // [[1, 4], [2, 5], [3, 6]]
}

TEST_CASE("long axes are abbreviated with ...", "[format]") {
  CHECK_THAT(to_string(arange(int64_t{6})), !Contains("..."));  // 6 entries: all shown
  const std::string long_row = to_string(arange(int64_t{1000}));
  CHECK_THAT(long_row, Contains("...") && Contains("[1000]") && Contains("999") && Contains("0"));
  CHECK_THAT(long_row, !Contains("500"));
  CHECK(long_row.size() < 200);
  const std::string grid = fmt::format("{}", zeros({100, 100}));
  CHECK_THAT(grid, Contains("...") && Contains("[100, 100]"));
  CHECK(grid.size() < 1000);
  CHECK(count(grid, "...") >= 2);  // rows and columns both abbreviated
  const std::string cube = to_string(arange(0.0, 8000.0, 1.0, float64).reshape({20, 20, 20}));
  CHECK(cube.size() < 3000);
  CHECK_THAT(cube, Contains("7999"));
}

TEST_CASE("operator<< prints the same text as to_string", "[format]") {
  const Tensor t = tensor({1, 2, 3}, {3}, float64);
  std::ostringstream out;
  out << t;
  CHECK(out.str() == to_string(t));
  CHECK(fmt::format("{}", t) == to_string(t));
}
