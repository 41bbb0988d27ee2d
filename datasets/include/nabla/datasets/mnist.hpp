#pragma once
// MNIST (handwritten digits) and Fashion-MNIST (clothing): 28x28 grayscale images in ten classes,
// 60,000 for training and 10,000 for testing, each split stored as two IDX files:
//   train-images-idx3-ubyte, train-labels-idx1-ubyte   (Split::train)
//   t10k-images-idx3-ubyte,  t10k-labels-idx1-ubyte    (Split::test)
// either gzip-compressed (with ".gz", preferred when both are present) or raw.
//
// Images stay in memory as the file's bytes (uint8, 47 MB for MNIST's training set rather than
// 188 MB as float32); a batch is converted to float32 when it is made, applying a Normalize.
#include <filesystem>
#include <string>
#include <vector>

#include "nabla/datasets/dataset.hpp"

namespace nabla::datasets {

enum class Split { train, test };

// How uint8 pixels become float inputs: first scaled to [0, 1] (pixel / 255), then standardised,
// x = (pixel / 255 - mean) / std. The default only scales. MNIST::normalization and
// FashionMNIST::normalization hold each training set's own mean and standard deviation. (It is
// folded into the byte conversion, so it costs nothing; transforms::Normalize is the general
// per-channel transform, for pipelines that must shift or crop before they standardise.)
struct Normalize {
  double mean = 0.0;
  double std = 1.0;
};

// MNIST from a directory holding its four files (find one with find_mnist_dir in data_path.hpp).
//
// Construction reads and checks both files of the split and throws nabla::Error naming the file
// when: a file is missing, unreadable or corrupt (see read_idx); the images are not uint8
// [N, 28, 28]; the labels are not uint8 [N]; the counts differ ("... has 60000 images but ...
// has 59999 labels"); a label is outside 0..9 ("label 11 at index 5 is out of range 0..9").
//
// get(i) gives input float32 [1, 28, 28] and target the 0-d int64 label; get_batch gives inputs
// float32 [B, 1, 28, 28] and targets int64 [B]. For a multilayer perceptron view a batch as [B, 784] with
// inputs.reshape({-1, 784}) (no copy).
class MNIST : public Dataset {
 public:
  static constexpr Normalize normalization{0.1307, 0.3081};

  MNIST(const std::filesystem::path& directory, Split split, Normalize normalize = {});

  int64_t size() const override { return images_.size(0); }
  Example get(int64_t index) const override;
  Batch get_batch(std::span<const int64_t> indices) const override;
  void will_need(std::span<const int64_t> indices) const override;

  // The raw data: images uint8 [N, 28, 28] (0 = background) and labels uint8 [N].
  const Tensor& images() const { return images_; }
  const Tensor& labels() const { return labels_; }
  int64_t num_classes() const { return static_cast<int64_t>(class_names_.size()); }
  // Names of the classes 0..9, for printing and pictures ("0".."9" for MNIST).
  const std::vector<std::string>& class_names() const { return class_names_; }
  // "MNIST" or "Fashion-MNIST".
  const std::string& name() const { return name_; }
  Split split() const { return split_; }
  Normalize normalize() const { return normalize_; }

 protected:
  MNIST(const std::filesystem::path& directory, Split split, Normalize normalize, std::string name,
        std::vector<std::string> class_names);

 private:
  std::string name_;
  std::vector<std::string> class_names_;
  Split split_;
  Normalize normalize_;
  // A pixel byte p becomes p * pixel_scale_ + pixel_offset_: (p / 255 - mean) / std.
  float pixel_scale_ = 0, pixel_offset_ = 0;
  Tensor images_;
  Tensor labels_;
};

// Fashion-MNIST (Zalando): the same format and checks as MNIST, with clothing classes
// T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot.
// Find its directory with find_fashion_mnist_dir.
class FashionMNIST : public MNIST {
 public:
  static constexpr Normalize normalization{0.2860, 0.3530};

  FashionMNIST(const std::filesystem::path& directory, Split split, Normalize normalize = {});
};

// The class names of each dataset, in label order.
const std::vector<std::string>& mnist_class_names();
const std::vector<std::string>& fashion_mnist_class_names();

// The path of an MNIST-format file in `directory`: "<directory>/<stem>.gz" if it exists, else
// "<directory>/<stem>"; throws naming both when neither exists.
std::filesystem::path find_idx_file(const std::filesystem::path& directory, const std::string& stem);

}  // namespace nabla::datasets
