// Issue 17: .nbl files a hostile or broken writer could make — shapes whose counts overflow behind a
// zero extent, corrupted size fields — refused with a clear message, read from memory
// (parse_archive, what the fuzz targets read) and from the committed reproducers.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "nabla/nn.hpp"
#include "nabla/nn/archive_bytes.hpp"

using namespace nabla;
using Catch::Contains;

namespace {

std::string le(uint64_t value, int bytes) {
  std::string out;
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
  return out;
}

// An independent CRC-32 (zlib's polynomial).
uint32_t crc32_of(const std::string& bytes) {
  uint32_t crc = 0xffffffffu;
  for (unsigned char byte : bytes) {
    crc ^= byte;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return crc ^ 0xffffffffu;
}

// An uncompressed file around `payload`; `stored` replaces the stored-size field when given.
std::string file_around(const std::string& payload, uint64_t stored = UINT64_MAX, uint64_t payload_size = UINT64_MAX) {
  return std::string("\x89NBL\r\n\x1a\n", 8) + le(1, 4) + le(0, 4) +
         le(payload_size == UINT64_MAX ? payload.size() : payload_size, 8) +
         le(stored == UINT64_MAX ? payload.size() : stored, 8) + le(crc32_of(payload), 4) + payload;
}

// One float32 tensor entry "w" of the given shape (no data: the shapes here hold no elements).
std::string one_entry(const std::vector<uint64_t>& shape) {
  std::string payload = le(1, 4) + le(1, 4) + "w" + le(0, 1) + le(0, 1) + le(shape.size(), 1);
  for (uint64_t extent : shape) payload += le(extent, 8);
  return payload;
}

nn::Archive parse(const std::string& bytes) {
  return nn::parse_archive(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), "hostile.nbl");
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::filesystem::path regressions() {
  const char* source = std::getenv("NABLA_SOURCE_DIR");
  REQUIRE(source != nullptr);
  return std::filesystem::path(source) / "tests" / "fuzz" / "regressions";
}

constexpr uint64_t k2to62 = uint64_t{1} << 62;

}  // namespace

TEST_CASE("archive: a zero extent does not let the other extents overflow", "[serialize][hostile]") {
  // Before: accepted (no data needed), then contiguous_strides overflowed (signed-overflow UB).
  for (const std::vector<uint64_t>& shape : {std::vector<uint64_t>{0, k2to62, k2to62},
                                             std::vector<uint64_t>{k2to62, k2to62, 0},
                                             std::vector<uint64_t>{0, 4294967295u, 4294967295u}}) {
    CHECK_THROWS_WITH(parse(file_around(one_entry(shape))),
                      Contains("hostile.nbl") && Contains("entry 'w'") && Contains("too large") && Contains("corrupt"));
  }
  // The same shapes as committed reproducers (valid CRC), as the fuzz targets replay them.
  for (const char* name : {"shape-0-2p62-2p62.nbl", "shape-2p62-2p62-0.nbl"}) {
    CHECK_THROWS_WITH(nn::read_archive((regressions() / "nbl" / name).string()),
                      Contains(name) && Contains("4611686018427387904, 4611686018427387904") && Contains("too large"));
  }
  // An empty tensor with sane extents still reads.
  const nn::Archive ok = parse(file_around(one_entry({0, 1 << 20, 3})));
  CHECK(ok.tensor("w").shape() == Shape{0, 1 << 20, 3});
}

TEST_CASE("archive: a corrupted size field is a corrupt header, not a truncated file", "[serialize][hostile]") {
  const std::string payload = le(0, 4);
  // Before: "truncated at byte 40 of 12249790986447775457 (the write was interrupted ...)".
  CHECK_THROWS_WITH(parse(file_around(payload, 12249790986447775457ull)),
                    Contains("corrupt header") && Contains("12249790986447775457") && !Contains("truncated"));
  CHECK_THROWS_WITH(parse(file_around(payload, 4, 12249790986447775457ull)), Contains("corrupt header"));
  CHECK_THROWS_WITH(nn::read_archive((regressions() / "nbl" / "corrupt-stored-size.nbl").string()),
                    Contains("corrupt header"));
  // A file really cut short still says so.
  const std::string whole = file_around(le(0, 4) + "");
  const std::string longer = file_around(one_entry({2}) + std::string(8, '\0'));
  CHECK_THROWS_WITH(parse(longer.substr(0, longer.size() - 3)), Contains("truncated at byte"));
  CHECK(parse(whole).entries().empty());
}

TEST_CASE("archive: a compressed file's sizes must be plausible for deflate", "[serialize][hostile]") {
  std::string header = std::string("\x89NBL\r\n\x1a\n", 8) + le(1, 4) + le(1, 4);
  // 10 stored bytes claiming to inflate to 1 TB.
  const std::string stored(10, 'x');
  CHECK_THROWS_WITH(parse(header + le(uint64_t{1} << 40, 8) + le(10, 8) + le(crc32_of(stored), 4) + stored),
                    Contains("corrupt header"));
  // 4000 stored bytes claiming to inflate to 4.
  const std::string big(4000, 'x');
  CHECK_THROWS_WITH(parse(header + le(4, 8) + le(4000, 8) + le(crc32_of(big), 4) + big), Contains("corrupt header"));
}

TEST_CASE("archive: parse_archive reads what write_archive wrote", "[serialize][hostile]") {
  const std::string path = (std::filesystem::temp_directory_path() / "nabla-parse-archive-test.nbl").string();
  nn::Archive archive;
  archive.put("x", tensor({1.0, 2.0, 3.0}));
  archive.put_text("note", "hi");
  for (bool compress : {false, true}) {
    nn::write_archive(path, archive, {.compress = compress});
    const std::string bytes = read_file(path);
    const nn::Archive back = parse(bytes);
    CHECK(back.tensor("x").raw().to_vector<float>() == std::vector<float>{1, 2, 3});
    CHECK(back.text("note") == "hi");
    CHECK(back.source == "hostile.nbl");
  }
  std::filesystem::remove(path);
}
