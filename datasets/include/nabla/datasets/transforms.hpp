#pragma once
// The ready-made transforms, named and defined as torchvision's: what an MNIST- or CIFAR-style
// augmentation recipe needs. Each is a small class that converts to a Transform (transform.hpp)
// and works on rows [B, ...] (a batch, or one example as a batch of one).
//
// Images are rows [B, C, H, W] or [B, H, W]: the geometric transforms move the last two axes
// (height, width) and treat every axis between the batch and them as channels, which move
// together. They copy elements without looking at their values, so any dtype works (uint8
// images can be augmented before they are converted). Uncovered pixels are filled with 0, so
// shift and crop before normalising (0 is then black, not the mean):
//
//   namespace T = datasets::transforms;
//   datasets::MNIST train(dir, datasets::Split::train);            // pixels scaled to [0, 1]
//   datasets::DataLoader loader(train, {.batch_size = 64, .shuffle = true, .seed = 1,
//                                       .transform = T::Compose{T::RandomTranslate(0.1),
//                                                               T::Normalize({0.1307}, {0.3081})}});
//
// Every transform runs as one loop over the batch's contiguous memory into one new tensor.
#include <cstdint>
#include <vector>

#include "nabla/datasets/transform.hpp"

namespace nabla::datasets::transforms {

// (x - mean[c]) / std[c] for channel c, the axis after the batch axis: rows [B, C, ...] with C
// means and standard deviations. A single mean and std apply to every element, whatever the
// shape (so rows [B, F] of features are standardised per feature with F values, or all alike
// with one). float32 or float64 rows; the result has their dtype.
// Errors: an empty mean, mean and std of different lengths, a std that is not positive and finite
// (at construction); rows that are not floating point, or whose axis 1 does not have as many
// channels as there are means (when called).
class Normalize {
 public:
  Normalize(std::vector<double> mean, std::vector<double> std);

  Tensor operator()(const Tensor& rows, const RandomKey& key = {}) const;
  const std::vector<double>& mean() const { return mean_; }
  const std::vector<double>& std() const { return std_; }

 private:
  std::vector<double> mean_;
  std::vector<double> std_;
};

// A random height x width window of each image, after padding every side with `padding` zeros:
// row r's window starts at (top, left) = (g.below(H + 2 padding - height + 1),
// g.below(W + 2 padding - width + 1)) in the padded image, g = key.generator(r) (top drawn first,
// as torchvision does). The padded image is never built: rows outside the image become zeros.
// RandomCrop(32, 4) is CIFAR's recipe.
// Errors: a size below 1 or a negative padding (at construction); images whose padded size is
// smaller than the window, or rows with fewer than three axes (when called).
class RandomCrop {
 public:
  RandomCrop(int64_t size, int64_t padding = 0) : RandomCrop(size, size, padding) {}
  RandomCrop(int64_t height, int64_t width, int64_t padding);

  Tensor operator()(const Tensor& rows, const RandomKey& key) const;

 private:
  int64_t height_, width_, padding_;
};

// Mirrors each image left to right with probability p: row r is flipped when
// key.generator(r).uniform() < p.
// Errors: p outside [0, 1] (at construction); rows with fewer than three axes (when called).
class RandomHorizontalFlip {
 public:
  explicit RandomHorizontalFlip(double p = 0.5);

  Tensor operator()(const Tensor& rows, const RandomKey& key) const;

 private:
  double p_;
};

// Shifts each image by a random whole number of pixels, at most a fraction of its size:
// torchvision's RandomAffine(degrees=0, translate=(max_fraction_x, max_fraction_y)). Row r moves
// right by tx = round(U(-max_fraction_x W, max_fraction_x W)) and down by
// ty = round(U(-max_fraction_y H, max_fraction_y H)), tx drawn first from key.generator(r); what
// moves out is lost and what comes in is 0.
// Errors: a fraction outside [0, 1] (at construction); rows with fewer than three axes.
class RandomTranslate {
 public:
  explicit RandomTranslate(double max_fraction) : RandomTranslate(max_fraction, max_fraction) {}
  RandomTranslate(double max_fraction_x, double max_fraction_y);

  Tensor operator()(const Tensor& rows, const RandomKey& key) const;

 private:
  double max_fraction_x_, max_fraction_y_;
};

}  // namespace nabla::datasets::transforms
