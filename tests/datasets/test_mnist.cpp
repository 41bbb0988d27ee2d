// MNIST and Fashion-MNIST: loading small files made here (both .gz and raw), every consistency
// check with its message, the per-batch conversion, and — when present — the real data sets.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>

#include <nabla/datasets.hpp>
#include <nabla/nabla.hpp>

#include "helpers.hpp"

using namespace nabla;
using namespace test_helpers;
using Catch::Contains;
namespace ds = nabla::datasets;

namespace {

// Writes one split of a tiny MNIST: images [n, rows, cols] with pixel (i, r, c) = (i + r + c) % 256.
void write_split(const std::filesystem::path& dir, const std::string& prefix, int64_t images, int64_t labels,
                 const std::vector<int64_t>& label_values = {}, int64_t rows = 28, int64_t cols = 28,
                 bool gzipped = true) {
  std::vector<uint8_t> pixels(static_cast<size_t>(images * rows * cols));
  for (int64_t i = 0; i < images; ++i)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) pixels[static_cast<size_t>((i * rows + r) * cols + c)] = static_cast<uint8_t>((i + r + c) % 256);
  std::vector<uint8_t> label_bytes(static_cast<size_t>(labels));
  for (int64_t i = 0; i < labels; ++i) {
    label_bytes[static_cast<size_t>(i)] =
        static_cast<uint8_t>(label_values.empty() ? i % 10 : label_values[static_cast<size_t>(i)]);
  }
  const std::string extension = gzipped ? ".gz" : "";
  ds::write_idx(dir / (prefix + "-images-idx3-ubyte" + extension), from_vector(pixels, {images, rows, cols}));
  // Labels always raw: the loader takes either form.
  ds::write_idx(dir / (prefix + "-labels-idx1-ubyte"), from_vector(label_bytes, {labels}));
}

// Mean and (population) standard deviation of all pixels scaled to [0, 1].
std::pair<double, double> pixel_moments(const Tensor& images) {
  const uint8_t* p = images.data_ptr<uint8_t>();
  double sum = 0, squares = 0;
  for (int64_t i = 0; i < images.numel(); ++i) {
    sum += p[i];
    squares += double(p[i]) * p[i];
  }
  const double n = double(images.numel());
  const double mean = sum / n / 255.0;
  return {mean, std::sqrt(squares / n / (255.0 * 255.0) - mean * mean)};
}

std::filesystem::path source_dir() {
  const char* root = std::getenv("NABLA_SOURCE_DIR");
  return root ? std::filesystem::path(root) : std::filesystem::path();
}

}  // namespace

TEST_CASE("MNIST loads a split and converts batches with the normalisation", "[mnist]") {
  TempDir dir;
  write_split(dir.path(), "train", 6, 6);
  write_split(dir.path(), "t10k", 3, 3, {}, 28, 28, /*gzipped=*/false);

  const ds::MNIST train(dir.path(), ds::Split::train);
  CHECK(train.size() == 6);
  CHECK(train.images().dtype() == uint8);
  CHECK(train.images().shape() == Shape{6, 28, 28});
  CHECK(train.labels().shape() == Shape{6});
  CHECK(train.num_classes() == 10);
  CHECK(train.class_names()[3] == "3");
  CHECK(train.name() == "MNIST");
  CHECK(ds::MNIST(dir.path(), ds::Split::test).size() == 3);

  // Default: scaled to [0, 1].
  const ds::Batch batch = train.get_batch(std::vector<int64_t>{4, 1, 4});
  CHECK(batch.inputs.dtype() == float32);
  CHECK(batch.inputs.shape() == Shape{3, 1, 28, 28});
  CHECK(batch.targets.dtype() == int64);
  CHECK(batch.targets.to_vector<int64_t>() == std::vector<int64_t>{4, 1, 4});
  CHECK(batch.indices == std::vector<int64_t>{4, 1, 4});
  CHECK(batch.inputs.at<float>({0, 0, 2, 3}) == Approx((4 + 2 + 3) / 255.0));
  CHECK(batch.inputs.at<float>({1, 0, 27, 27}) == Approx((1 + 27 + 27) / 255.0));

  // With MNIST's normalisation, and get(i) agreeing with the batch.
  const ds::MNIST normalised(dir.path(), ds::Split::train, ds::MNIST::normalization);
  const ds::Example example = normalised.get(5);
  CHECK(example.input.shape() == Shape{1, 28, 28});
  CHECK(example.target.item<int64_t>() == 5);
  CHECK(example.input.at<float>({0, 10, 20}) == Approx(((5 + 10 + 20) / 255.0 - 0.1307) / 0.3081));
  CHECK(equal(normalised.get_batch(std::vector<int64_t>{5}).inputs[0], example.input));

  CHECK_THROWS_WITH(train.get(6), Contains("MNIST") && Contains("index 6 is out of range") && Contains("6 examples"));
  CHECK_THROWS_WITH(train.get_batch(std::vector<int64_t>{0, -1}), Contains("index -1 is out of range"));
  CHECK_THROWS_WITH(ds::MNIST(dir.path(), ds::Split::train, {0.5, 0.0}), Contains("std must be a positive"));
}

TEST_CASE("FashionMNIST has the clothing class names", "[mnist]") {
  TempDir dir;
  write_split(dir.path(), "t10k", 2, 2);
  const ds::FashionMNIST test(dir.path(), ds::Split::test, ds::FashionMNIST::normalization);
  CHECK(test.name() == "Fashion-MNIST");
  CHECK(test.class_names() == std::vector<std::string>{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                       "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"});
  CHECK(test.get(0).input.at<float>({0, 0, 0}) == Approx((0.0 - 0.2860) / 0.3530));
}

TEST_CASE("MNIST names the file and the problem when the data is inconsistent", "[mnist][errors]") {
  SECTION("a missing file") {
    TempDir dir;
    CHECK_THROWS_WITH(ds::MNIST(dir.path(), ds::Split::train),
                      Contains("train-images-idx3-ubyte.gz") && Contains("train-images-idx3-ubyte") &&
                          Contains("scripts/get-data"));
  }
  SECTION("image and label counts differ") {
    TempDir dir;
    write_split(dir.path(), "train", 5, 4);
    CHECK_THROWS_WITH(ds::MNIST(dir.path(), ds::Split::train),
                      Contains("train-images-idx3-ubyte.gz has 5 images but") &&
                          Contains("train-labels-idx1-ubyte has 4 labels"));
  }
  SECTION("a label outside 0..9") {
    TempDir dir;
    write_split(dir.path(), "train", 7, 7, {0, 1, 2, 3, 4, 11, 6});
    CHECK_THROWS_WITH(ds::MNIST(dir.path(), ds::Split::train),
                      Contains("label 11 at index 5 is out of range 0..9") && Contains("train-labels-idx1-ubyte"));
  }
  SECTION("images of the wrong size") {
    TempDir dir;
    write_split(dir.path(), "train", 2, 2, {}, 27, 28);
    CHECK_THROWS_WITH(ds::MNIST(dir.path(), ds::Split::train),
                      Contains("holds uint8 [2, 27, 28]") && Contains("uint8 [N, 28, 28]"));
  }
  SECTION("labels with the wrong dtype") {
    TempDir dir;
    write_split(dir.path(), "train", 2, 2);
    ds::write_idx(dir / "train-labels-idx1-ubyte", from_vector<int64_t>({1, 2}));
    CHECK_THROWS_WITH(ds::MNIST(dir.path(), ds::Split::train), Contains("holds int64 [2]") && Contains("uint8 [N]"));
  }
  SECTION("a truncated file") {
    TempDir dir;
    write_split(dir.path(), "train", 2, 2);
    write_bytes(dir / "train-labels-idx1-ubyte", idx_bytes(0x08, {2}, {1}));
    CHECK_THROWS_WITH(ds::MNIST(dir.path(), ds::Split::train), Contains("truncated at byte 9 of 10"));
  }
}

TEST_CASE("MNIST batches through a DataLoader are float32 [B, 1, 28, 28] and int64 [B]", "[mnist][dataloader]") {
  TempDir dir;
  write_split(dir.path(), "train", 10, 10);
  const ds::MNIST train(dir.path(), ds::Split::train);
  ds::DataLoader loader(train, {.batch_size = 4, .shuffle = true, .seed = 3});
  std::vector<int64_t> sizes;
  for (ds::Batch& batch : loader) {
    CHECK(batch.inputs.shape() == Shape{batch.size(), 1, 28, 28});
    CHECK(batch.targets.shape() == Shape{batch.size()});
    for (int64_t row = 0; row < batch.size(); ++row) {
      CHECK(batch.targets.at<int64_t>({row}) == batch.indices[static_cast<size_t>(row)] % 10);
    }
    sizes.push_back(batch.size());
  }
  CHECK(sizes == std::vector<int64_t>{4, 4, 2});
}

TEST_CASE("the real MNIST files load with the published counts", "[mnist][real-data]") {
  const std::filesystem::path dir = source_dir() / ".." / "shared" / "data" / "mnist";
  if (source_dir().empty() || !ds::missing_mnist_files(dir).empty()) {
    WARN("skipped: MNIST not found at " << dir.string() << " (set NABLA_SOURCE_DIR; run scripts/get-data)");
    return;
  }
  const ds::MNIST train(dir, ds::Split::train);
  const ds::MNIST test(dir, ds::Split::test);
  CHECK(train.size() == 60000);
  CHECK(test.size() == 10000);
  std::vector<int64_t> histogram(10, 0);
  for (uint8_t label : train.labels().to_vector<uint8_t>()) ++histogram[label];
  CHECK(histogram == std::vector<int64_t>{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949});
  CHECK(train.get(0).target.item<int64_t>() == 5);  // the famous first digit
  CHECK(test.get(0).target.item<int64_t>() == 7);
  // The normalisation constants are the training set's own pixel mean and standard deviation.
  const auto [pixel_mean, pixel_std] = pixel_moments(train.images());
  CHECK(pixel_mean == Approx(ds::MNIST::normalization.mean).margin(5e-5));
  CHECK(pixel_std == Approx(ds::MNIST::normalization.std).margin(5e-5));
}

TEST_CASE("the real Fashion-MNIST files load when the Debian package is installed", "[mnist][real-data]") {
  const std::filesystem::path dir = "/usr/share/datasets/fashion-mnist";
  if (!ds::missing_mnist_files(dir).empty()) {
    WARN("skipped: Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)");
    return;
  }
  const ds::FashionMNIST train(dir, ds::Split::train);
  CHECK(train.size() == 60000);
  CHECK(ds::FashionMNIST(dir, ds::Split::test).size() == 10000);
  std::vector<int64_t> histogram(10, 0);
  for (uint8_t label : train.labels().to_vector<uint8_t>()) ++histogram[label];
  CHECK(histogram == std::vector<int64_t>(10, 6000));  // balanced classes
  const auto [pixel_mean, pixel_std] = pixel_moments(train.images());
  CHECK(pixel_mean == Approx(ds::FashionMNIST::normalization.mean).margin(5e-5));
  CHECK(pixel_std == Approx(ds::FashionMNIST::normalization.std).margin(5e-5));
}
