#include "metrics.hpp"

#include <algorithm>

#include <fmt/core.h>

namespace nabla::examples {

ConfusionMatrix::ConfusionMatrix(int64_t classes) : classes_(classes), counts_(static_cast<size_t>(classes * classes), 0) {
  if (classes < 1) fail("ConfusionMatrix: needs at least one class, got {}", classes);
}

void ConfusionMatrix::add(const Tensor& predicted, const Tensor& truth) {
  if (predicted.numel() != truth.numel()) {
    fail("ConfusionMatrix::add: {} predictions for {} labels", predicted.numel(), truth.numel());
  }
  const auto p = predicted.to_vector<int64_t>();
  const auto t = truth.to_vector<int64_t>();
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] < 0 || p[i] >= classes_ || t[i] < 0 || t[i] >= classes_) {
      fail("ConfusionMatrix::add: class {} or {} is outside 0..{}", t[i], p[i], classes_ - 1);
    }
    ++counts_[static_cast<size_t>(t[i] * classes_ + p[i])];
  }
}

int64_t ConfusionMatrix::total() const {
  int64_t n = 0;
  for (int64_t c : counts_) n += c;
  return n;
}

double ConfusionMatrix::accuracy() const {
  int64_t right = 0;
  for (int64_t c = 0; c < classes_; ++c) right += count(c, c);
  const int64_t n = total();
  return n ? static_cast<double>(right) / static_cast<double>(n) : 0.0;
}

double ConfusionMatrix::precision(int64_t c) const {
  int64_t predicted = 0;
  for (int64_t t = 0; t < classes_; ++t) predicted += count(t, c);
  return predicted ? static_cast<double>(count(c, c)) / static_cast<double>(predicted) : 0.0;
}

double ConfusionMatrix::recall(int64_t c) const {
  int64_t actual = 0;
  for (int64_t p = 0; p < classes_; ++p) actual += count(c, p);
  return actual ? static_cast<double>(count(c, c)) / static_cast<double>(actual) : 0.0;
}

double ConfusionMatrix::f1(int64_t c) const {
  const double p = precision(c), r = recall(c);
  return p + r > 0 ? 2 * p * r / (p + r) : 0.0;
}

std::string ConfusionMatrix::table(const std::vector<std::string>& names) const {
  size_t name_width = 5;
  for (const auto& n : names) name_width = std::max(name_width, n.size());
  std::string out = fmt::format("{:>{}} |", "true", name_width);
  for (int64_t p = 0; p < classes_; ++p) out += fmt::format(" {:>5}", p);
  out += " | precision recall     f1\n";
  out += std::string(name_width + 2 + 6 * static_cast<size_t>(classes_), '-') + "-+-------------------------\n";
  for (int64_t t = 0; t < classes_; ++t) {
    out += fmt::format("{:>{}} |", names[static_cast<size_t>(t)], name_width);
    for (int64_t p = 0; p < classes_; ++p) out += fmt::format(" {:>5}", count(t, p));
    out += fmt::format(" |    {:6.2f}% {:6.2f}% {:6.4f}\n", 100 * precision(t), 100 * recall(t), f1(t));
  }
  out += fmt::format("accuracy {:.2f}% ({} of {})\n", 100 * accuracy(), static_cast<int64_t>(accuracy() * static_cast<double>(total()) + 0.5), total());
  return out;
}

std::string ConfusionMatrix::csv(const std::vector<std::string>& names) const {
  std::string out = "true\\predicted";
  for (int64_t p = 0; p < classes_; ++p) out += "," + names[static_cast<size_t>(p)];
  out += '\n';
  for (int64_t t = 0; t < classes_; ++t) {
    out += names[static_cast<size_t>(t)];
    for (int64_t p = 0; p < classes_; ++p) out += fmt::format(",{}", count(t, p));
    out += '\n';
  }
  return out;
}

}  // namespace nabla::examples
