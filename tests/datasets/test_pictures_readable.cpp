// Issue 18's pictures: drawn at a scale factor so that text survives being shown at half size; the
// confusion matrix with a colour bar, larger labels and the accuracy; predictions without a
// misleading "N of M" (the caller says what its mistakes are a sample of).
#include <catch2/catch.hpp>

#include <nabla/datasets.hpp>
#include <nabla/datasets/picture_scale.hpp>
#include <nabla/nabla.hpp>

using namespace nabla;
namespace ds = nabla::datasets;
using Catch::Contains;

namespace {
int count_color(const ds::Canvas& canvas, ds::Color color) {
  int count = 0;
  for (int y = 0; y < canvas.height(); ++y) {
    for (int x = 0; x < canvas.width(); ++x) count += canvas.pixel(x, y) == color;
  }
  return count;
}
}  // namespace

TEST_CASE("pictures: scaled() makes every pixel a factor x factor block", "[png][charts]") {
  ds::Canvas small(7, 5, ds::colors::white);
  small.draw_text(1, 0, "1", ds::colors::black);
  small.set_pixel(6, 4, ds::colors::red);
  const ds::Canvas big = ds::scaled(small, 2);
  CHECK(big.width() == 14);
  CHECK(big.height() == 10);
  for (int y = 0; y < big.height(); ++y) {
    for (int x = 0; x < big.width(); ++x) {
      INFO(x << "," << y);
      CHECK(big.pixel(x, y) == small.pixel(x / 2, y / 2));
    }
  }
  CHECK(count_color(big, ds::colors::black) == 4 * count_color(small, ds::colors::black));
  CHECK(ds::scaled(small, 1).rgb() == small.rgb());
  CHECK_THROWS_WITH(ds::scaled(small, 0), Contains("factor must be at least 1"));
  // A heading banner as wide as asked (or its text).
  const ds::Canvas banner = ds::text_banner("mnist_cnn: conv32 on MNIST, 2026-12-05 20:00 UTC", 400);
  CHECK(banner.width() == 400);
  CHECK(count_color(banner, ds::colors::black) > 100);
  CHECK(ds::text_banner("a long heading that is wider than the width asked for", 50).width() > 50);
}

TEST_CASE("pictures: the confusion matrix has a colour bar, large labels and the accuracy", "[png][charts]") {
  // 3 classes: 8 of 10 right.
  const Tensor counts = tensor({3, 1, 0, 0, 3, 0, 0, 1, 2}, {3, 3}, int64);
  const ds::Canvas chart = ds::confusion_matrix_chart(counts, {"a", "b", "c"}, "test");
  // The colour bar holds the darkest shade (100 %) even though no cell is 100 %.
  constexpr ds::Color kDark{8, 48, 107};
  CHECK(count_color(chart, kDark) >= 16);
  // The accuracy is a line of the heading: a chart without its counts has the same height.
  const ds::Canvas all_right = ds::confusion_matrix_chart(tensor({4, 0, 0, 0, 4, 0, 0, 0, 2}, {3, 3}, int64), {"a", "b", "c"}, "test");
  CHECK(all_right.height() == chart.height());
  CHECK(chart.rgb() != all_right.rgb());
  const ds::Canvas empty = ds::confusion_matrix_chart(zeros({3, 3}, int64), {"a", "b", "c"}, "test");
  CHECK(empty.height() < chart.height());  // no examples: no accuracy line
  // The heading (at twice the font size) always fits: the canvas widens for a long title.
  const std::string long_title = "a confusion matrix with a title much longer than its three small columns";
  CHECK(ds::confusion_matrix_chart(counts, {"a", "b", "c"}, long_title).width() >= ds::Canvas::text_width(long_title, 2));
  // Long class names read upwards under their columns: a taller chart than one-letter names.
  CHECK(ds::confusion_matrix_chart(counts, {"sneaker", "sandal", "shirt"}, "test").height() > chart.height());
}
