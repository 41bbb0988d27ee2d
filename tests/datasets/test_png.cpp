// The PNG writer, checked by decoding its output independently (signature, chunk CRCs with
// zlib's crc32, inflated IDAT against the pixels), plus the canvas and the chart pictures.
#include <catch2/catch.hpp>

#include <cmath>

#include <nabla/datasets.hpp>
#include <nabla/nabla.hpp>

#include "helpers.hpp"

using namespace nabla;
using namespace test_helpers;
using Catch::Contains;
namespace ds = nabla::datasets;

namespace {

std::vector<uint8_t> pattern(size_t n) {
  std::vector<uint8_t> bytes(n);
  for (size_t i = 0; i < n; ++i) bytes[i] = static_cast<uint8_t>((i * 37 + 11) % 256);
  return bytes;
}

int count_pixels(const ds::Canvas& canvas, ds::Color color) {
  int count = 0;
  for (int y = 0; y < canvas.height(); ++y)
    for (int x = 0; x < canvas.width(); ++x) count += canvas.pixel(x, y) == color;
  return count;
}

}  // namespace

TEST_CASE("encode_png writes valid grayscale and RGB PNGs", "[png]") {
  SECTION("grayscale") {
    const std::vector<uint8_t> pixels = pattern(7 * 5);
    const DecodedPng png = decode_png(ds::encode_png(pixels, 7, 5, ds::PngColor::gray));
    CHECK(png.width == 7);
    CHECK(png.height == 5);
    CHECK(png.color_type == 0);
    CHECK(png.pixels == pixels);
    CHECK(png.chunk_types == std::vector<std::string>{"IHDR", "IDAT", "IEND"});
  }
  SECTION("RGB") {
    const std::vector<uint8_t> pixels = pattern(4 * 3 * 3);
    const DecodedPng png = decode_png(ds::encode_png(pixels, 4, 3, ds::PngColor::rgb));
    CHECK(png.width == 4);
    CHECK(png.height == 3);
    CHECK(png.color_type == 2);
    CHECK(png.pixels == pixels);
  }
  SECTION("a large image compresses and still decodes") {
    std::vector<uint8_t> pixels(300 * 200 * 3, 255);
    pixels[12345] = 7;
    const std::vector<uint8_t> bytes = ds::encode_png(pixels, 300, 200, ds::PngColor::rgb);
    CHECK(bytes.size() < pixels.size() / 20);
    CHECK(decode_png(bytes).pixels == pixels);
  }
  SECTION("a corrupted byte is caught by the chunk CRC") {
    std::vector<uint8_t> bytes = ds::encode_png(pattern(16), 4, 4, ds::PngColor::gray);
    bytes[20] ^= 1;  // inside IHDR's data
    CHECK_THROWS_WITH(decode_png(bytes), Contains("CRC mismatch in chunk IHDR"));
  }
  CHECK_THROWS_WITH(ds::encode_png(pattern(10), 4, 3, ds::PngColor::gray),
                    Contains("4x3 gray image needs 12 bytes") && Contains("got 10"));
  CHECK_THROWS_WITH(ds::encode_png({}, 0, 3, ds::PngColor::gray), Contains("0x3"));
}

TEST_CASE("write_png writes atomically and names the file on failure", "[png]") {
  TempDir dir;
  const Tensor image = from_vector(pattern(6 * 4 * 3), {4, 6, 3});
  ds::write_png(dir / "picture.png", image);
  const DecodedPng png = decode_png(read_bytes(dir / "picture.png"));
  CHECK(png.width == 6);
  CHECK(png.height == 4);
  CHECK(png.pixels == pattern(6 * 4 * 3));
  // Overwriting replaces the file; no temporary file stays behind.
  ds::write_png(dir / "picture.png", from_vector(pattern(4), {2, 2}));
  CHECK(decode_png(read_bytes(dir / "picture.png")).color_type == 0);
  int files = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path())) ++files;
  CHECK(files == 1);

  CHECK_THROWS_WITH(ds::write_png(dir / "missing" / "x.png", image), Contains("missing/x.png") && Contains("write_png"));
  CHECK_THROWS_WITH(ds::write_png(dir / "y.png", zeros({2, 2})), Contains("uint8") && Contains("float32"));
}

TEST_CASE("Canvas draws rectangles, lines and text, clipped to its size", "[png][canvas]") {
  ds::Canvas canvas(40, 20, ds::colors::white);
  canvas.fill_rect(2, 3, 4, 5, ds::colors::red);
  CHECK(count_pixels(canvas, ds::colors::red) == 20);
  CHECK(canvas.pixel(2, 3) == ds::colors::red);
  CHECK(canvas.pixel(6, 3) == ds::colors::white);
  canvas.fill_rect(-10, -10, 1000, 1, ds::colors::black);  // entirely outside: clipped away
  canvas.fill_rect(35, 15, 100, 100, ds::colors::blue);   // partly outside
  CHECK(count_pixels(canvas, ds::colors::blue) == 25);
  canvas.draw_line(0, 19, 39, 0, ds::colors::green);
  CHECK(canvas.pixel(0, 19) == ds::colors::green);
  CHECK(canvas.pixel(39, 0) == ds::colors::green);
  CHECK_THROWS_WITH(canvas.pixel(40, 0), Contains("outside the 40x20 canvas"));

  // "1" in the 5x8 font: a vertical stroke in the middle column from the top row to the base.
  ds::Canvas text(10, 10, ds::colors::white);
  text.draw_text(1, 1, "1", ds::colors::black);
  for (int row = 0; row < 7; ++row) CHECK(text.pixel(1 + 2, 1 + row) == ds::colors::black);
  CHECK(text.pixel(1 + 2, 1 + 7) == ds::colors::white);
  CHECK(ds::Canvas::text_width("abc") == 17);
  CHECK(ds::Canvas::text_width("ab\nlonger") == 35);
  CHECK(ds::Canvas::text_height("a\nb") == 18);
  text.draw_text(-100, 500, "clipped \x01 \xff", ds::colors::black);  // off-canvas and unprintable: no crash
  CHECK_THROWS_WITH(ds::Canvas(0, 5), Contains("0x5"));
}

TEST_CASE("the chart pictures are drawn and saved as valid PNGs", "[png][charts]") {
  TempDir dir;
  // 12 fake digits 28x28: image i is a bright square whose size grows with i.
  Tensor images = zeros({12, 28, 28}, uint8);
  for (int64_t i = 0; i < 12; ++i) images[i].narrow(0, 4, 8 + i).narrow(1, 4, 8 + i).fill_(255);
  std::vector<std::string> captions;
  for (int i = 0; i < 12; ++i) captions.push_back(std::to_string(i % 10));

  const ds::Canvas grid = ds::image_grid(images, captions, {.columns = 5, .title = "samples"});
  CHECK(grid.width() > 5 * 56);
  CHECK(grid.height() > 3 * 56);
  grid.save_png(dir / "grid.png");
  const DecodedPng png = decode_png(read_bytes(dir / "grid.png"));
  CHECK(png.width == static_cast<uint32_t>(grid.width()));
  CHECK(png.pixels == grid.rgb());
  CHECK_THROWS_WITH(ds::image_grid(images, std::vector<std::string>{"a"}), Contains("1 captions for 12 images"));
  CHECK_THROWS_WITH(ds::image_grid(zeros({2, 3}), captions), Contains("[N, H, W]"));
  // Normalised float inputs [N, 1, H, W] draw too.
  CHECK(ds::image_grid(randn({3, 1, 28, 28}), std::vector<std::string>{}).width() > 0);

  const Tensor truth = from_vector<int64_t>({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1});
  const Tensor predicted = from_vector<int64_t>({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 7, 1});  // one mistake
  const ds::Canvas predictions = ds::predictions_grid(images, predicted, truth, ds::mnist_class_names(), {.columns = 6});
  CHECK(count_pixels(predictions, ds::colors::red) > 0);  // the mistake is marked
  predictions.save_png(dir / "predictions.png");
  const ds::Canvas fashion = ds::predictions_grid(images, predicted, truth, ds::fashion_mnist_class_names());
  CHECK(fashion.width() > predictions.width());  // long names: wider cells
  CHECK_THROWS_WITH(ds::predictions_grid(images, predicted, truth.narrow(0, 0, 11), ds::mnist_class_names()),
                    Contains("truth holds 11 entries but there are 12 images"));

  const Tensor counts = ds::confusion_matrix(predicted, truth, 10);
  CHECK(counts.shape() == Shape{10, 10});
  CHECK(counts.at<int64_t>({0, 7}) == 1);
  CHECK(counts.at<int64_t>({0, 0}) == 1);
  CHECK(counts.at<int64_t>({1, 1}) == 2);
  CHECK(sum(counts).item<int64_t>() == 12);
  CHECK_THROWS_WITH(ds::confusion_matrix(from_vector<int64_t>({10}), from_vector<int64_t>({0}), 10),
                    Contains("predicted[0] = 10 is not a class index in 0..9"));
  const ds::Canvas heat = ds::confusion_matrix_chart(counts, ds::fashion_mnist_class_names());
  heat.save_png(dir / "confusion.png");
  CHECK(decode_png(read_bytes(dir / "confusion.png")).pixels == heat.rgb());
  CHECK_THROWS_WITH(ds::confusion_matrix_chart(counts, {"a", "b"}), Contains("[2, 2]"));

  const ds::Canvas loss = ds::line_chart({{"train", {2.3, 0.9, 0.5, 0.4}}, {"test", {2.0, 1.0, 0.6, std::nan("")}}},
                                         {.title = "Loss", .y_label = "cross-entropy"});
  CHECK(loss.width() == 640);
  CHECK(count_pixels(loss, ds::palette_color(0)) > 20);
  CHECK(count_pixels(loss, ds::palette_color(1)) > 20);
  const ds::Canvas accuracy = ds::line_chart({{"test", {0.9, 0.95, 0.97}, {}, ds::colors::green}},
                                             {.title = "Accuracy", .y_min = 0.8, .y_max = 1.0});
  const ds::Canvas both = ds::hstack({loss, accuracy}, 10);
  CHECK(both.width() == 640 * 2 + 10);
  both.save_png(dir / "curves.png");
  CHECK(decode_png(read_bytes(dir / "curves.png")).width == 1290);
  CHECK(ds::line_chart({}).height() == 400);  // no data: empty axes, no crash
  CHECK_THROWS_WITH(ds::line_chart({{"a", {1, 2}}}, {.y_min = 3, .y_max = 3}), Contains("y range [3, 3] is empty"));
}
