// Transforms against results computed by hand: Normalize per channel, RandomCrop with zero
// padding, RandomHorizontalFlip, RandomTranslate; Compose; functions as transforms; the
// randomness contract (row r draws from key.generator(r), so a batch equals its rows done one by
// one); and the errors.
#include <catch2/catch.hpp>

#include <cmath>
#include <set>

#include <nabla/datasets.hpp>
#include <nabla/nabla.hpp>

using namespace nabla;
using Catch::Contains;
namespace ds = nabla::datasets;
namespace T = nabla::datasets::transforms;

namespace {

// rows [B, C, H, W] with element (b, c, y, x) = 1000 b + 100 c + 10 y + x + 1 (never 0, so the
// zeros of padding stand out).
Tensor numbered_images(int64_t batch, int64_t channels, int64_t height, int64_t width, DType dtype = float32) {
  std::vector<double> values;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t y = 0; y < height; ++y)
        for (int64_t x = 0; x < width; ++x) values.push_back(double(1000 * b + 100 * c + 10 * y + x + 1));
  return from_vector(values, {batch, channels, height, width}).to(dtype);
}

// The plain definition of a shifted window: out(y, x) = image(y + top, x + left), 0 outside.
double window_value(const Tensor& images, int64_t b, int64_t c, int64_t y, int64_t x, int64_t top, int64_t left) {
  const int64_t source_y = y + top, source_x = x + left;
  if (source_y < 0 || source_y >= images.size(2) || source_x < 0 || source_x >= images.size(3)) return 0.0;
  return images.at<double>({b, c, source_y, source_x});
}

bool same_values(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() && a.to_vector<double>() == b.to_vector<double>();
}

}  // namespace

TEST_CASE("Normalize standardises each channel", "[transforms]") {
  // rows [2, 3, 1, 2]: channel c of row b holds {10 b + c, 10 b + c + 4}.
  std::vector<float> values;
  for (int b = 0; b < 2; ++b)
    for (int c = 0; c < 3; ++c) values.insert(values.end(), {float(10 * b + c), float(10 * b + c + 4)});
  const Tensor rows = from_vector(values, {2, 3, 1, 2});
  const T::Normalize normalize({1.0, 2.0, 3.0}, {2.0, 4.0, 0.5});
  const Tensor out = normalize(rows);
  CHECK(out.dtype() == float32);
  CHECK(out.shape() == Shape{2, 3, 1, 2});
  // (x - mean[c]) / std[c], by hand.
  CHECK(out.to_vector<float>() == std::vector<float>{
                                      (0 - 1) / 2.f, (4 - 1) / 2.f, (1 - 2) / 4.f, (5 - 2) / 4.f, (2 - 3) / .5f, (6 - 3) / .5f,
                                      (10 - 1) / 2.f, (14 - 1) / 2.f, (11 - 2) / 4.f, (15 - 2) / 4.f, (12 - 3) / .5f, (16 - 3) / .5f});
  CHECK(rows.at<float>({1, 2, 0, 1}) == 16.0f);  // the input is left alone

  // One mean and std for everything; float64 stays float64; rows [B, F] are features.
  const Tensor features = from_vector<double>({1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK(T::Normalize({2.0}, {0.5})(features).to_vector<double>() == std::vector<double>{-2, 0, 2, 4, 6, 8});
  CHECK(T::Normalize({1.0, 2.0, 3.0}, {1.0, 2.0, 4.0})(features).to_vector<double>() ==
        std::vector<double>{0, 0, 0, 3, 1.5, 0.75});
  // A non-contiguous input (a transposed view) is read correctly.
  const Tensor transposed = from_vector<float>({1, 3, 2, 4}, {2, 2}).t();  // [[1, 2], [3, 4]]
  CHECK(T::Normalize({1.0, 2.0}, {1.0, 1.0})(transposed).to_vector<float>() == std::vector<float>{0, 0, 2, 2});
}

TEST_CASE("Normalize names bad statistics and rows", "[transforms][errors]") {
  CHECK_THROWS_WITH(T::Normalize({0.5, 0.5}, {0.2}), Contains("Normalize") && Contains("2 means and 1 stds"));
  CHECK_THROWS_WITH(T::Normalize({}, {}), Contains("0 means"));
  CHECK_THROWS_WITH(T::Normalize({0.5, 0.5}, {0.2, 0.0}), Contains("channel 1 has mean 0.5 and std 0"));
  const T::Normalize three({0.5, 0.5, 0.5}, {0.2, 0.2, 0.2});
  CHECK_THROWS_WITH(three(zeros({4, 1, 8, 8})), Contains("3 channel means but the rows have shape [4, 1, 8, 8]"));
  CHECK_THROWS_WITH(three(zeros({4, 3, 8, 8}, uint8)), Contains("float32 or float64") && Contains("uint8"));
}

TEST_CASE("RandomCrop pads with zeros and cuts the window it draws", "[transforms]") {
  // The window as big as the padded image has one place only: the padded image itself.
  const Tensor image = from_vector<float>({1, 2, 3, 4}, {1, 1, 2, 2});
  const Tensor padded = T::RandomCrop(4, /*padding=*/1)(image, {});
  CHECK(padded.shape() == Shape{1, 1, 4, 4});
  CHECK(padded.to_vector<float>() == std::vector<float>{0, 0, 0, 0,  //
                                                        0, 1, 2, 0,  //
                                                        0, 3, 4, 0,  //
                                                        0, 0, 0, 0});
  // Without padding, a window of the whole image is the image.
  const Tensor images = numbered_images(3, 2, 5, 6);
  CHECK(same_values(T::RandomCrop(5, 6, 0)(images, {.seed = 4}), images));

  // A 4x3 window of 5x6 images padded by 2: row r's window starts at the (top, left) its
  // generator draws, top first, in [0, 5 + 4 - 4] x [0, 6 + 4 - 3] of the padded image.
  const ds::RandomKey key{.seed = 17, .epoch = 2, .position = 40};
  const Tensor many = numbered_images(64, 2, 5, 6);
  const Tensor crops = T::RandomCrop(4, 3, 2)(many, key);
  CHECK(crops.shape() == Shape{64, 2, 4, 3});
  std::set<int64_t> tops, lefts;
  for (int64_t b = 0; b < 64; ++b) {
    Generator generator = key.generator(b);
    const int64_t top = static_cast<int64_t>(generator.below(6));
    const int64_t left = static_cast<int64_t>(generator.below(8));
    tops.insert(top);
    lefts.insert(left);
    for (int64_t c = 0; c < 2; ++c)
      for (int64_t y = 0; y < 4; ++y)
        for (int64_t x = 0; x < 3; ++x)
          REQUIRE(crops.at<double>({b, c, y, x}) == window_value(many, b, c, y, x, top - 2, left - 2));
  }
  CHECK(tops.size() == 6);  // every start row and column occurs in 64 draws
  CHECK(lefts.size() == 8);
}

TEST_CASE("RandomCrop moves elements of any dtype and any number of channel axes", "[transforms]") {
  const ds::RandomKey key{.seed = 3, .epoch = 0, .position = 0};
  for (DType dtype : {uint8, int64, float64}) {
    const Tensor images = arange(64).to(dtype).reshape({4, 4, 4});  // [B, H, W], values 0..63
    const Tensor crops = T::RandomCrop(3, 1)(images, key);
    CHECK(crops.dtype() == dtype);
    CHECK(crops.shape() == Shape{4, 3, 3});
    const Tensor as_channels = T::RandomCrop(3, 1)(images.unsqueeze(1), key);
    CHECK(same_values(crops, as_channels.squeeze(1)));  // [B, H, W] and [B, 1, H, W] crop alike
  }
}

TEST_CASE("RandomHorizontalFlip mirrors the rows its draws pick", "[transforms]") {
  const Tensor image = from_vector<float>({1, 2, 3, 4, 5, 6}, {1, 1, 2, 3});
  CHECK(T::RandomHorizontalFlip(1.0)(image, {}).to_vector<float>() == std::vector<float>{3, 2, 1, 6, 5, 4});
  CHECK(T::RandomHorizontalFlip(0.0)(image, {}).to_vector<float>() == std::vector<float>{1, 2, 3, 4, 5, 6});
  // Every channel of a flipped row flips; uint8 and int64 too.
  for (DType dtype : {uint8, int64, float32}) {
    const Tensor rgb = numbered_images(1, 3, 2, 2, dtype);
    CHECK(T::RandomHorizontalFlip(1.0)(rgb, {}).to_vector<double>() ==
          std::vector<double>{2, 1, 12, 11, 102, 101, 112, 111, 202, 201, 212, 211});
  }
  // p = 0.5: row r flips when key.generator(r).uniform() < 0.5; about half do.
  const ds::RandomKey key{.seed = 8, .epoch = 1, .position = 100};
  const int64_t rows = 2000;
  const Tensor images = numbered_images(rows, 1, 1, 3);
  const Tensor flipped = T::RandomHorizontalFlip(0.5)(images, key);
  int64_t count = 0;
  for (int64_t b = 0; b < rows; ++b) {
    const bool flips = key.generator(b).uniform() < 0.5;
    count += flips;
    const double base = double(1000 * b);
    REQUIRE(flipped.at<double>({b, 0, 0, 0}) == base + (flips ? 3 : 1));
    REQUIRE(flipped.at<double>({b, 0, 0, 2}) == base + (flips ? 1 : 3));
  }
  CHECK(std::abs(double(count) - 1000.0) < 5 * std::sqrt(500.0));
  CHECK_THROWS_WITH(T::RandomHorizontalFlip(1.5), Contains("p is a probability in [0, 1], got 1.5"));
}

TEST_CASE("RandomTranslate shifts each image by whole pixels within the fraction", "[transforms]") {
  // A fraction of 0 never moves anything.
  const Tensor images = numbered_images(5, 2, 6, 8);
  CHECK(same_values(T::RandomTranslate(0.0)(images, {.seed = 1}), images));

  // Fractions 0.25 of width 8 and 0.5 of height 6: tx = round(U(-2, 2)), ty = round(U(-3, 3)),
  // tx drawn first; the image moves right by tx and down by ty.
  const ds::RandomKey key{.seed = 5, .epoch = 3, .position = 7};
  const int64_t rows = 200;
  const Tensor many = numbered_images(rows, 2, 6, 8);
  const Tensor shifted = T::RandomTranslate(0.25, 0.5)(many, key);
  CHECK(shifted.shape() == many.shape());
  std::set<int64_t> shifts_x, shifts_y;
  for (int64_t b = 0; b < rows; ++b) {
    Generator generator = key.generator(b);
    const int64_t tx = static_cast<int64_t>(std::nearbyint(-2.0 + 4.0 * generator.uniform()));
    const int64_t ty = static_cast<int64_t>(std::nearbyint(-3.0 + 6.0 * generator.uniform()));
    shifts_x.insert(tx);
    shifts_y.insert(ty);
    for (int64_t c = 0; c < 2; ++c)
      for (int64_t y = 0; y < 6; ++y)
        for (int64_t x = 0; x < 8; ++x) REQUIRE(shifted.at<double>({b, c, y, x}) == window_value(many, b, c, y, x, -ty, -tx));
  }
  CHECK(shifts_x == std::set<int64_t>{-2, -1, 0, 1, 2});
  CHECK(shifts_y == std::set<int64_t>{-3, -2, -1, 0, 1, 2, 3});

  // By hand: a 3x3 image moved right by 1 and up by 1.
  const Tensor small = from_vector<float>({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 3, 3});
  bool found = false;
  for (int64_t position = 0; position < 200 && !found; ++position) {
    Generator generator = ds::RandomKey{.position = position}.generator(0);
    const double tx = std::nearbyint(-1.0 + 2.0 * generator.uniform());
    const double ty = std::nearbyint(-1.0 + 2.0 * generator.uniform());
    if (tx != 1 || ty != -1) continue;
    CHECK(T::RandomTranslate(1.0 / 3.0)(small, {.position = position}).to_vector<float>() ==
          std::vector<float>{0, 4, 5, 0, 7, 8, 0, 0, 0});
    found = true;
  }
  CHECK(found);
  CHECK_THROWS_WITH(T::RandomTranslate(1.2, 0.1), Contains("RandomTranslate") && Contains("got x 1.2 and y 0.1"));
}

TEST_CASE("Random transforms depend only on (seed, epoch, position), never on batch boundaries", "[transforms]") {
  const T::Compose augment{T::RandomCrop(4, 1), T::RandomHorizontalFlip(0.5), T::RandomTranslate(0.25)};
  const Tensor images = numbered_images(6, 3, 4, 4);
  const ds::RandomKey key{.seed = 21, .epoch = 4, .position = 30};
  const Tensor whole = augment(images, key);
  CHECK(same_values(augment(images, key), whole));  // repeatable
  // Rows 2..5 transformed on their own, as a batch that starts two positions later.
  CHECK(same_values(augment(images.narrow(0, 2, 4), key.skip(2)), whole.narrow(0, 2, 4)));
  // Each row alone (a batch of one, as MapDataset::get does).
  for (int64_t b = 0; b < 6; ++b) CHECK(same_values(augment(images.narrow(0, b, 1), key.skip(b)), whole.narrow(0, b, 1)));
  // Another epoch, seed or position gives other draws.
  CHECK(!same_values(augment(images, {.seed = 21, .epoch = 5, .position = 30}), whole));
  CHECK(!same_values(augment(images, {.seed = 22, .epoch = 4, .position = 30}), whole));
  CHECK(!same_values(augment(images, key.skip(1)), whole));
}

TEST_CASE("Compose runs its stages in order, each with its own stream", "[transforms]") {
  const Tensor rows = from_vector<float>({1, 2, 3, 4}, {1, 1, 1, 4});
  const ds::Transform add_one = [](const Tensor& x) { return x.add(1.0); };
  const ds::Transform twice = [](const Tensor& x) { return x.mul(2.0); };
  CHECK(T::Compose{add_one, twice}(rows, {}).to_vector<float>() == std::vector<float>{4, 6, 8, 10});
  CHECK(T::Compose{twice, add_one}(rows, {}).to_vector<float>() == std::vector<float>{3, 5, 7, 9});
  CHECK(T::Compose{}(rows, {}).to_vector<float>() == std::vector<float>{1, 2, 3, 4});
  // Stage i draws from key.fold_in(i): a crop then a flip is exactly that.
  const Tensor images = numbered_images(8, 1, 5, 5);
  const ds::RandomKey key{.seed = 2, .epoch = 0, .position = 9};
  const T::RandomCrop crop(3, 1);
  const T::RandomHorizontalFlip flip(0.5);
  const Tensor expected = flip(crop(images, key.fold_in(0)), key.fold_in(1));
  CHECK(same_values(T::Compose{crop, flip}(images, key), expected));
  // Two flips in one pipeline are independent: some rows end up flipped once (not all undone).
  const Tensor twice_flipped = T::Compose{flip, flip}(images, key);
  CHECK(!same_values(twice_flipped, images));
}

TEST_CASE("Transform wraps functions and checks that they keep one row per example", "[transforms][errors]") {
  const ds::Transform identity;
  CHECK(!identity);
  const Tensor rows = ones({3, 2});
  CHECK(identity(rows).is_same(rows));
  // A function of (rows, key): user-written randomness from the same contract.
  const ds::Transform jitter = [](const Tensor& x, const ds::RandomKey& key) {
    Tensor out = x.clone();
    float* values = out.data_ptr<float>();
    for (int64_t r = 0; r < x.size(0); ++r) values[r * x.size(1)] += float(key.generator(r).uniform());
    return out;
  };
  CHECK(jitter);
  const Tensor jittered = jitter(rows, {.seed = 1});
  CHECK(jittered.at<float>({1, 0}) == 1.0f + float(ds::RandomKey{.seed = 1}.generator(1).uniform()));
  CHECK(jittered.at<float>({1, 1}) == 1.0f);

  const ds::Transform drops_a_row = [](const Tensor& x) { return x.narrow(0, 0, x.size(0) - 1); };
  CHECK_THROWS_WITH(drops_a_row(rows), Contains("Transform: the function turned rows [3, 2] into [2, 2]") &&
                                           Contains("one row per input row"));
  CHECK_THROWS_WITH(T::RandomHorizontalFlip()(ones({4, 8}), {}),
                    Contains("RandomHorizontalFlip: needs images as rows [B, C, H, W] or [B, H, W], got shape [4, 8]"));
  CHECK_THROWS_WITH(T::RandomCrop(32, 4)(ones({2, 3, 20, 20}), {}),
                    Contains("RandomCrop: a 32x32 window does not fit in 20x20 images padded by 4 (28x28)"));
  CHECK_THROWS_WITH(T::RandomCrop(0, 1), Contains("at least 1x1, got 0x0"));
  CHECK_THROWS_WITH(T::RandomCrop(3, -1), Contains("padding must be 0 or more, got -1"));
}
