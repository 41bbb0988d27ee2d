#pragma once
// Classification metrics: a confusion matrix and what follows from it.
#include <cstdint>
#include <string>
#include <vector>

#include "nabla/autograd/tensor.hpp"

namespace nabla::examples {

class ConfusionMatrix {
 public:
  explicit ConfusionMatrix(int64_t classes);
  // Adds a batch: predicted and true class indices (int64, same length).
  void add(const Tensor& predicted, const Tensor& truth);
  int64_t classes() const { return classes_; }
  // count(true class, predicted class)
  int64_t count(int64_t truth, int64_t predicted) const { return counts_[static_cast<size_t>(truth * classes_ + predicted)]; }
  int64_t total() const;
  double accuracy() const;
  double precision(int64_t c) const;  // of the predictions of c, the fraction that were c
  double recall(int64_t c) const;     // of the true c, the fraction predicted c
  double f1(int64_t c) const;
  // The matrix and per-class precision/recall/F1 as an aligned text table.
  std::string table(const std::vector<std::string>& class_names) const;
  // "true\\predicted,0,1,...\n0,980,0,..." for spreadsheets.
  std::string csv(const std::vector<std::string>& class_names) const;

 private:
  int64_t classes_;
  std::vector<int64_t> counts_;
};

}  // namespace nabla::examples
