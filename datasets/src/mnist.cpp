#include "nabla/datasets/mnist.hpp"

#include <cmath>

#include "cache_hint.hpp"
#include "nabla/datasets/idx.hpp"
#include "nabla/autograd/factories.hpp"
#include "nabla/autograd/functions.hpp"
#include "nabla/tensor/error.hpp"
#include "nabla/tensor/simd.hpp"

namespace nabla::datasets {

namespace {

constexpr int64_t kImageSide = 28;
constexpr int64_t kImagePixels = kImageSide * kImageSide;

const char* split_prefix(Split split) { return split == Split::train ? "train" : "t10k"; }

// Pixel bytes to normalised floats: one vectorised multiply-add per pixel.
NABLA_SIMD_CLONES void convert_pixels(const uint8_t* __restrict pixels, float* __restrict out, int64_t count,
                                      float scale, float offset) {
  for (int64_t p = 0; p < count; ++p) out[p] = static_cast<float>(pixels[p]) * scale + offset;
}

}  // namespace

const std::vector<std::string>& mnist_class_names() {
  static const std::vector<std::string> names{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  return names;
}

const std::vector<std::string>& fashion_mnist_class_names() {
  static const std::vector<std::string> names{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                              "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

std::filesystem::path find_idx_file(const std::filesystem::path& directory, const std::string& stem) {
  std::error_code error;
  const std::filesystem::path compressed = directory / (stem + ".gz");
  if (std::filesystem::is_regular_file(compressed, error)) return compressed;
  const std::filesystem::path raw = directory / stem;
  if (std::filesystem::is_regular_file(raw, error)) return raw;
  fail("{}: neither {} nor {} exists; put the file there (scripts/get-data downloads MNIST) or "
       "pass the directory that holds it",
       directory.string(), compressed.filename().string(), raw.filename().string());
}

MNIST::MNIST(const std::filesystem::path& directory, Split split, Normalize normalize)
    : MNIST(directory, split, normalize, "MNIST", mnist_class_names()) {}

FashionMNIST::FashionMNIST(const std::filesystem::path& directory, Split split, Normalize normalize)
    : MNIST(directory, split, normalize, "Fashion-MNIST", fashion_mnist_class_names()) {}

MNIST::MNIST(const std::filesystem::path& directory, Split split, Normalize normalize, std::string name,
             std::vector<std::string> class_names)
    : name_(std::move(name)), class_names_(std::move(class_names)), split_(split), normalize_(normalize) {
  if (!(normalize.std > 0) || !std::isfinite(normalize.mean) || !std::isfinite(normalize.std)) {
    fail("{}: Normalize{{mean={}, std={}}} is invalid; std must be a positive number", name_,
         normalize.mean, normalize.std);
  }
  pixel_scale_ = static_cast<float>(1.0 / (255.0 * normalize.std));
  pixel_offset_ = static_cast<float>(-normalize.mean / normalize.std);

  const std::string prefix = split_prefix(split);
  const std::filesystem::path images_file = find_idx_file(directory, prefix + "-images-idx3-ubyte");
  const std::filesystem::path labels_file = find_idx_file(directory, prefix + "-labels-idx1-ubyte");
  images_ = read_idx(images_file);
  labels_ = read_idx(labels_file);

  if (images_.dtype() != uint8 || images_.dim() != 3 || images_.size(1) != kImageSide ||
      images_.size(2) != kImageSide) {
    fail("{}: {} holds {} {}, but {} images are uint8 [N, 28, 28]; is this the right file?", name_,
         images_file.string(), images_.dtype(), images_.shape(), name_);
  }
  if (labels_.dtype() != uint8 || labels_.dim() != 1) {
    fail("{}: {} holds {} {}, but {} labels are uint8 [N]; is this the right file?", name_,
         labels_file.string(), labels_.dtype(), labels_.shape(), name_);
  }
  if (images_.size(0) != labels_.size(0)) {
    fail("{}: {} has {} images but {} has {} labels; the two files must come from the same "
         "release — download or copy them again",
         name_, images_file.string(), images_.size(0), labels_file.string(), labels_.size(0));
  }
  const uint8_t* labels = labels_.data_ptr<uint8_t>();
  const int64_t classes = num_classes();
  for (int64_t i = 0; i < labels_.size(0); ++i) {
    if (labels[i] >= classes) {
      fail("{}: {}: label {} at index {} is out of range 0..{}; the file is corrupt", name_,
           labels_file.string(), labels[i], i, classes - 1);
    }
  }
}

Example MNIST::get(int64_t index) const {
  check_index(index, name_.c_str());
  Tensor input = nabla::empty({1, kImageSide, kImageSide}, float32);
  const uint8_t* pixels = images_.data_ptr<uint8_t>() + index * kImagePixels;
  float* out = input.data_ptr<float>();
  convert_pixels(pixels, out, kImagePixels, pixel_scale_, pixel_offset_);
  return {input, labels_.data_ptr<uint8_t>()[index]};
}

Batch MNIST::get_batch(std::span<const int64_t> indices) const {
  for (int64_t index : indices) check_index(index, name_.c_str());
  const int64_t batch_size = static_cast<int64_t>(indices.size());
  Batch batch;
  batch.inputs = nabla::empty({batch_size, 1, kImageSide, kImageSide}, float32);
  batch.targets = nabla::empty({batch_size}, int64);
  const uint8_t* images = images_.data_ptr<uint8_t>();
  const uint8_t* labels = labels_.data_ptr<uint8_t>();
  float* out = batch.inputs.data_ptr<float>();
  int64_t* targets = batch.targets.data_ptr<int64_t>();
  for (int64_t row = 0; row < batch_size; ++row) {
    const int64_t index = indices[static_cast<size_t>(row)];
    convert_pixels(images + index * kImagePixels, out + row * kImagePixels, kImagePixels, pixel_scale_, pixel_offset_);
    targets[row] = labels[index];
  }
  batch.indices.assign(indices.begin(), indices.end());
  return batch;
}

void MNIST::will_need(std::span<const int64_t> indices) const {
  detail::prefetch_examples(images_.data_ptr<uint8_t>(), kImagePixels, size(), indices);
}

}  // namespace nabla::datasets
