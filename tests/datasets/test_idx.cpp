// The IDX reader: every supported type code, raw and gzip files, and a clear error (never a crash
// or a partial tensor) for each way a file can be broken.
#include <catch2/catch.hpp>

#include <nabla/datasets/idx.hpp>
#include <nabla/nabla.hpp>

#include "helpers.hpp"

using namespace nabla;
using namespace test_helpers;
using Catch::Contains;
namespace ds = nabla::datasets;

TEST_CASE("read_idx reads raw and gzip uint8 files", "[idx]") {
  TempDir dir;
  const std::vector<uint8_t> payload{0, 1, 2, 127, 128, 255};
  const std::vector<uint8_t> file = idx_bytes(0x08, {2, 3}, payload);
  write_bytes(dir / "raw-idx", file);
  write_bytes(dir / "packed-idx.gz", gzip(file));
  for (const char* name : {"raw-idx", "packed-idx.gz"}) {
    const Tensor t = ds::read_idx(dir / name);
    CHECK(t.dtype() == uint8);
    CHECK(t.shape() == Shape{2, 3});
    CHECK(t.to_vector<uint8_t>() == payload);
  }
}

TEST_CASE("read_idx converts every IDX element type", "[idx]") {
  TempDir dir;
  // int8: sign-extended to int64.
  write_bytes(dir / "int8", idx_bytes(0x09, {3}, {0x00, 0x7f, 0x80}));
  CHECK(ds::read_idx(dir / "int8").to_vector<int64_t>() == std::vector<int64_t>{0, 127, -128});
  CHECK(ds::read_idx(dir / "int8").dtype() == int64);
  // int16 big-endian: 0x0102 = 258, 0xFFFE = -2.
  write_bytes(dir / "int16", idx_bytes(0x0B, {2}, {0x01, 0x02, 0xff, 0xfe}));
  CHECK(ds::read_idx(dir / "int16").to_vector<int64_t>() == std::vector<int64_t>{258, -2});
  // int32 big-endian.
  write_bytes(dir / "int32", idx_bytes(0x0C, {2}, {0x00, 0x01, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff}));
  CHECK(ds::read_idx(dir / "int32").to_vector<int64_t>() == std::vector<int64_t>{65536, -1});
  // float32 1.5 = 0x3FC00000; float64 -2.25 = 0xC002000000000000.
  write_bytes(dir / "f32", idx_bytes(0x0D, {1}, {0x3f, 0xc0, 0x00, 0x00}));
  CHECK(ds::read_idx(dir / "f32").dtype() == float32);
  CHECK(ds::read_idx(dir / "f32").item<float>() == 1.5f);
  write_bytes(dir / "f64", idx_bytes(0x0E, {1, 1}, {0xc0, 0x02, 0, 0, 0, 0, 0, 0}));
  CHECK(ds::read_idx(dir / "f64").dtype() == float64);
  CHECK(ds::read_idx(dir / "f64").item<double>() == -2.25);
}

TEST_CASE("write_idx round-trips through read_idx", "[idx]") {
  TempDir dir;
  const Tensor bytes = from_vector<uint8_t>({3, 1, 4, 1, 5, 9, 2, 6}, {2, 2, 2});
  const Tensor floats = tensor({0.5, -1.25, 3e10}, {3}, float32);
  const Tensor doubles = tensor({1.0 / 3.0, -7.0}, {1, 2}, float64);
  const Tensor integers = from_vector<int64_t>({-2147483648LL, 0, 2147483647LL}, {3});
  for (const char* extension : {"", ".gz"}) {
    const auto file = [&](const char* stem) { return dir / (std::string(stem) + extension); };
    ds::write_idx(file("bytes"), bytes);
    ds::write_idx(file("floats"), floats);
    ds::write_idx(file("doubles"), doubles);
    ds::write_idx(file("integers"), integers);
    CHECK(equal(ds::read_idx(file("bytes")), bytes));
    CHECK(equal(ds::read_idx(file("floats")), floats));
    CHECK(equal(ds::read_idx(file("doubles")), doubles));
    CHECK(equal(ds::read_idx(file("integers")), integers));
  }
  // The .gz file really is compressed (starts with the gzip magic), the other is not.
  CHECK(read_bytes(dir / "bytes.gz")[0] == 0x1f);
  CHECK(read_bytes(dir / "bytes")[0] == 0x00);
  // A non-contiguous view is written in its logical order.
  const Tensor transposed = from_vector<uint8_t>({1, 2, 3, 4, 5, 6}, {2, 3}).t();
  ds::write_idx(dir / "transposed", transposed);
  CHECK(ds::read_idx(dir / "transposed").to_vector<uint8_t>() == std::vector<uint8_t>{1, 4, 2, 5, 3, 6});
  // int64 values beyond int32 are refused rather than truncated.
  CHECK_THROWS_WITH(ds::write_idx(dir / "big", from_vector<int64_t>({1, 1LL << 40})),
                    Contains("does not fit IDX's int32"));
  // int32 tensors are IDX's int32 (read back as int64, like every IDX integer); bool has no IDX type.
  ds::write_idx(dir / "int32", from_vector<int32_t>({-2147483647 - 1, 7, 2147483647}));
  CHECK(read_bytes(dir / "int32")[2] == 0x0C);
  CHECK(ds::read_idx(dir / "int32").to_vector<int64_t>() == std::vector<int64_t>{-2147483648LL, 7, 2147483647LL});
  CHECK_THROWS_WITH(ds::write_idx(dir / "mask", tensor({1, 0}, {2}, bool_)), Contains("bool") && Contains("uint8"));
  // No temporary files are left behind.
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    CHECK_THAT(entry.path().filename().string(), !Contains(".tmp."));
  }
}

TEST_CASE("read_idx rejects a file that is missing, empty or not IDX", "[idx][errors]") {
  TempDir dir;
  CHECK_THROWS_WITH(ds::read_idx(dir / "nowhere"), Contains("nowhere") && Contains("does not exist"));
  CHECK_THROWS_WITH(ds::read_idx(dir.path()), Contains("is a directory"));
  write_bytes(dir / "empty", {});
  CHECK_THROWS_WITH(ds::read_idx(dir / "empty"), Contains("empty") && Contains("too short"));
  write_bytes(dir / "html", {'<', '!', 'D', 'O', 'C', 'T', 'Y', 'P', 'E'});
  CHECK_THROWS_WITH(ds::read_idx(dir / "html"),
                    Contains("html") && Contains("not an IDX file") && Contains("0x3C 0x21"));
  write_bytes(dir / "code", idx_bytes(0x0A, {1}, {0}));
  CHECK_THROWS_WITH(ds::read_idx(dir / "code"), Contains("unknown IDX type code 0x0A") && Contains("0x08"));
  write_bytes(dir / "zero-dims", {0, 0, 0x08, 0});
  CHECK_THROWS_WITH(ds::read_idx(dir / "zero-dims"), Contains("declares 0 dimensions"));
  write_bytes(dir / "nine-dims", idx_bytes(0x08, {1, 1, 1, 1, 1, 1, 1, 1, 1}, {0}));
  CHECK_THROWS_WITH(ds::read_idx(dir / "nine-dims"), Contains("declares 9 dimensions") && Contains("1 to 8"));
}

TEST_CASE("read_idx checks the data length against the header", "[idx][errors]") {
  TempDir dir;
  // Header [10] uint8 (8 bytes of header) but only 7 elements: 15 of 18 bytes.
  write_bytes(dir / "short", idx_bytes(0x08, {10}, std::vector<uint8_t>(7, 1)));
  CHECK_THROWS_WITH(ds::read_idx(dir / "short"), Contains("short") && Contains("truncated at byte 15 of 18") &&
                                                     Contains("unsigned byte [10]"));
  // The same inside a gzip file.
  write_bytes(dir / "short.gz", gzip(idx_bytes(0x08, {10}, std::vector<uint8_t>(7, 1))));
  CHECK_THROWS_WITH(ds::read_idx(dir / "short.gz"),
                    Contains("truncated at byte 15 of 18 (decompressed;"));
  // Two dimensions announced, only one present.
  write_bytes(dir / "header", {0, 0, 0x08, 2, 0, 0, 0, 5});
  CHECK_THROWS_WITH(ds::read_idx(dir / "header"), Contains("truncated at byte 8 of its 12-byte header"));
  // Three bytes too many.
  write_bytes(dir / "long", idx_bytes(0x08, {4}, std::vector<uint8_t>(7, 1)));
  CHECK_THROWS_WITH(ds::read_idx(dir / "long"), Contains("3 bytes of trailing data") && Contains("12 bytes"));
  // A wrong element size: 3 int32 need 12 bytes, 10 given.
  write_bytes(dir / "int32", idx_bytes(0x0C, {3}, std::vector<uint8_t>(10, 0)));
  CHECK_THROWS_WITH(ds::read_idx(dir / "int32"), Contains("truncated at byte 18 of 20"));
}

TEST_CASE("read_idx never allocates what an unchecked header claims", "[idx][errors]") {
  TempDir dir;
  // 4 GiB promised, 3 bytes delivered: fails as truncated, without allocating gigabytes first.
  write_bytes(dir / "liar", idx_bytes(0x08, {0xffffffffu}, {1, 2, 3}));
  CHECK_THROWS_WITH(ds::read_idx(dir / "liar"), Contains("truncated at byte 11 of 4294967303"));
  // Dimensions whose product is beyond any file.
  write_bytes(dir / "huge", idx_bytes(0x0E, {0xffffffffu, 0xffffffffu, 0xffffffffu}, {}));
  CHECK_THROWS_WITH(ds::read_idx(dir / "huge"), Contains("too large for any real file"));
  // A zero dimension is a valid, empty tensor.
  write_bytes(dir / "empty-tensor", idx_bytes(0x08, {0, 28, 28}, {}));
  CHECK(ds::read_idx(dir / "empty-tensor").shape() == Shape{0, 28, 28});
}

TEST_CASE("read_idx reports a corrupt or cut-off gzip stream with zlib's message", "[idx][errors]") {
  TempDir dir;
  std::vector<uint8_t> payload(5000);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i * 7 % 251);
  const std::vector<uint8_t> good = gzip(idx_bytes(0x08, {5000}, payload));

  // Cut in half: the stream ends before its end-of-stream marker.
  write_bytes(dir / "cut.gz", std::vector<uint8_t>(good.begin(), good.begin() + static_cast<long>(good.size() / 2)));
  CHECK_THROWS_WITH(ds::read_idx(dir / "cut.gz"), Contains("cut.gz") && Contains("cut off") && Contains("zlib"));

  // The CRC in the trailer does not match the data.
  std::vector<uint8_t> bad_crc = good;
  bad_crc[bad_crc.size() - 8] ^= 0xff;
  write_bytes(dir / "crc.gz", bad_crc);
  CHECK_THROWS_WITH(ds::read_idx(dir / "crc.gz"), Contains("crc.gz") && Contains("corrupt gzip stream") &&
                                                      Contains("incorrect data check"));

  // Garbage in the middle of the deflate data.
  std::vector<uint8_t> garbled = good;
  for (size_t i = 20; i < 60; ++i) garbled[i] = 0xff;
  write_bytes(dir / "garbled.gz", garbled);
  CHECK_THROWS_WITH(ds::read_idx(dir / "garbled.gz"), Contains("garbled.gz") && Contains("zlib"));
}
