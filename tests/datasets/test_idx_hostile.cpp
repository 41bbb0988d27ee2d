// Issue 17: IDX files a hostile or broken source could give — shapes whose counts overflow behind
// a zero extent, data after the gzip stream, a gzip stream missing only its trailer — refused with
// a clear message; parse_idx (what the fuzz targets read) behaves as read_idx.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>

#include <nabla/datasets/idx.hpp>
#include <nabla/datasets/idx_bytes.hpp>
#include <nabla/nabla.hpp>

#include "helpers.hpp"

using namespace nabla;
using namespace test_helpers;
using Catch::Contains;
namespace ds = nabla::datasets;

namespace {
Tensor parse(const std::vector<uint8_t>& bytes) { return ds::parse_idx(bytes.data(), bytes.size(), "hostile-idx"); }

std::filesystem::path regressions() {
  const char* source = std::getenv("NABLA_SOURCE_DIR");
  REQUIRE(source != nullptr);
  return std::filesystem::path(source) / "tests" / "fuzz" / "regressions";
}
}  // namespace

TEST_CASE("read_idx refuses a header whose extents overflow behind a zero extent", "[idx][hostile]") {
  // The 16-byte reproducer: 00 00 08 03 | 0 | 0xffffffff | 0xffffffff. Before: accepted as an empty
  // tensor whose strides overflowed.
  const std::vector<uint8_t> reproducer = idx_bytes(0x08, {0, 0xffffffffu, 0xffffffffu}, {});
  REQUIRE(reproducer.size() == 16);
  CHECK_THROWS_WITH(parse(reproducer), Contains("hostile-idx") && Contains("[0, 4294967295, 4294967295]") &&
                                           Contains("too large for any real file"));
  CHECK_THROWS_WITH(parse(gzip(reproducer)), Contains("too large for any real file"));
  CHECK_THROWS_WITH(ds::read_idx(regressions() / "idx" / "shape-0-4294967295-4294967295"),
                    Contains("shape-0-4294967295-4294967295") && Contains("too large"));
  // Sane empty tensors still read.
  CHECK(parse(idx_bytes(0x08, {0, 28, 28}, {})).shape() == Shape{0, 28, 28});
  CHECK(parse(idx_bytes(0x0E, {65536, 0, 65536}, {})).shape() == Shape{65536, 0, 65536});
}

TEST_CASE("read_idx refuses data after the end of a gzip stream", "[idx][hostile]") {
  const std::vector<uint8_t> file = idx_bytes(0x08, {4}, {1, 2, 3, 4});
  std::vector<uint8_t> junk = gzip(file);
  const size_t stream_size = junk.size();
  junk.insert(junk.end(), {'j', 'u', 'n', 'k'});
  // Before: loaded, the junk silently ignored.
  CHECK_THROWS_WITH(parse(junk), Contains("hostile-idx") && Contains("after the end of its gzip stream") &&
                                     Contains("compressed byte " + std::to_string(stream_size)));
  CHECK_THROWS_WITH(ds::read_idx(regressions() / "idx_gzip" / "junk-after-gzip-stream.gz"),
                    Contains("after the end of its gzip stream"));
  // A single stray byte, and a lone first byte of the gzip magic, are junk too.
  std::vector<uint8_t> one = gzip(file);
  one.push_back(0);
  CHECK_THROWS_WITH(parse(one), Contains("after the end of its gzip stream"));
  std::vector<uint8_t> half_magic = gzip(file);
  half_magic.push_back(0x1f);
  CHECK_THROWS(parse(half_magic));
  // Concatenated gzip members (what `cat a.gz b.gz` makes) are one valid stream, as gzip reads them.
  std::vector<uint8_t> members = gzip(std::vector<uint8_t>(file.begin(), file.begin() + 5));
  const std::vector<uint8_t> second = gzip(std::vector<uint8_t>(file.begin() + 5, file.end()));
  members.insert(members.end(), second.begin(), second.end());
  CHECK(parse(members).to_vector<uint8_t>() == std::vector<uint8_t>{1, 2, 3, 4});
  CHECK(ds::read_idx(regressions() / "idx_gzip" / "two-members.gz").to_vector<uint8_t>() ==
        std::vector<uint8_t>{1, 2, 3, 4});
}

TEST_CASE("read_idx reports how much was decompressed when only the gzip trailer is missing", "[idx][hostile]") {
  std::vector<uint8_t> payload(10000);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i * 13 % 256);
  std::vector<uint8_t> cut = gzip(idx_bytes(0x08, {10000}, payload));
  cut.resize(cut.size() - 8);  // the CRC and length trailer
  // Before: "after 4 decompressed bytes" although all 10,008 were decompressed.
  CHECK_THROWS_WITH(parse(cut), Contains("cut off") && Contains("after 10008 decompressed bytes"));
  CHECK_THROWS_WITH(ds::read_idx(regressions() / "idx_gzip" / "missing-trailer.gz"),
                    Contains("cut off") && Contains("after 12 decompressed bytes"));
}

TEST_CASE("parse_idx reads what write_idx wrote, raw and gzip", "[idx][hostile]") {
  TempDir dir;
  const Tensor values = arange(0, 24).reshape({2, 3, 4});
  for (const char* name : {"floats", "floats.gz"}) {
    ds::write_idx(dir / name, values);
    const std::vector<uint8_t> bytes = read_bytes(dir / name);
    CHECK(parse(bytes).to_vector<float>() == values.to_vector<float>());
    CHECK(parse(bytes).shape() == Shape{2, 3, 4});
  }
  CHECK_THROWS_WITH(parse({}), Contains("hostile-idx") && Contains("too short"));
}
