#pragma once
// The losses as modules, PyTorch's torch.nn.*Loss: each holds its options and calls its
// nn::functional form in forward(input, target). Class weights (and BCEWithLogitsLoss's
// pos_weight) are registered as buffers named as PyTorch's, so that to(dtype), save and load carry
// them.
//
//   nn::CrossEntropyLoss criterion({.weight = class_weights, .label_smoothing = 0.1});
//   Tensor loss = criterion.forward(model(images), labels);
//
// Also the two distance modules, nn::CosineSimilarity and nn::PairwiseDistance.
#include <string>

#include "nabla/nn/losses.hpp"
#include "nabla/nn/module.hpp"
#include "nabla/nn/similarity.hpp"

namespace nabla::nn {

// ---- classification

class CrossEntropyLoss : public Module {
 public:
  explicit CrossEntropyLoss(const functional::CrossEntropyOptions& options = {});
  Tensor forward(const Tensor& input, const Tensor& target);
  std::string type_name() const override { return "CrossEntropyLoss"; }
  std::string extra_repr() const override;
  const functional::CrossEntropyOptions& options() const { return options_; }

 private:
  functional::CrossEntropyOptions options_;
};

class NLLLoss : public Module {
 public:
  explicit NLLLoss(const functional::NLLLossOptions& options = {});
  Tensor forward(const Tensor& input, const Tensor& target);
  std::string type_name() const override { return "NLLLoss"; }
  std::string extra_repr() const override;
  const functional::NLLLossOptions& options() const { return options_; }

 private:
  functional::NLLLossOptions options_;
};

class BCELoss : public Module {
 public:
  explicit BCELoss(const functional::BinaryCrossEntropyOptions& options = {});
  Tensor forward(const Tensor& input, const Tensor& target);
  std::string type_name() const override { return "BCELoss"; }
  std::string extra_repr() const override;
  const functional::BinaryCrossEntropyOptions& options() const { return options_; }

 private:
  functional::BinaryCrossEntropyOptions options_;
};

class BCEWithLogitsLoss : public Module {
 public:
  explicit BCEWithLogitsLoss(const functional::BinaryCrossEntropyWithLogitsOptions& options = {});
  Tensor forward(const Tensor& input, const Tensor& target);
  std::string type_name() const override { return "BCEWithLogitsLoss"; }
  std::string extra_repr() const override;
  const functional::BinaryCrossEntropyWithLogitsOptions& options() const { return options_; }

 private:
  functional::BinaryCrossEntropyWithLogitsOptions options_;
};

class MultiMarginLoss : public Module {
 public:
  explicit MultiMarginLoss(const functional::MultiMarginLossOptions& options = {});
  Tensor forward(const Tensor& input, const Tensor& target);
  std::string type_name() const override { return "MultiMarginLoss"; }
  std::string extra_repr() const override;
  const functional::MultiMarginLossOptions& options() const { return options_; }

 private:
  functional::MultiMarginLossOptions options_;
};

// forward(log_probs [T, N, C], targets, input_lengths [N], target_lengths [N]).
class CTCLoss : public Module {
 public:
  explicit CTCLoss(const functional::CTCLossOptions& options = {});
  Tensor forward(const Tensor& log_probs, const Tensor& targets, const Tensor& input_lengths,
                 const Tensor& target_lengths);
  std::string type_name() const override { return "CTCLoss"; }
  std::string extra_repr() const override;
  const functional::CTCLossOptions& options() const { return options_; }

 private:
  functional::CTCLossOptions options_;
};

// ---- regression

class MSELoss : public Module {
 public:
  explicit MSELoss(Reduction reduction = Reduction::mean) : reduction_(reduction) {}
  Tensor forward(const Tensor& input, const Tensor& target);
  std::string type_name() const override { return "MSELoss"; }
  std::string extra_repr() const override;
  Reduction reduction() const { return reduction_; }

 private:
  Reduction reduction_;
};

class L1Loss : public Module {
 public:
  explicit L1Loss(Reduction reduction = Reduction::mean) : reduction_(reduction) {}
  Tensor forward(const Tensor& input, const Tensor& target);
  std::string type_name() const override { return "L1Loss"; }
  std::string extra_repr() const override;
  Reduction reduction() const { return reduction_; }

 private:
  Reduction reduction_;
};

class SmoothL1Loss : public Module {
 public:
  explicit SmoothL1Loss(const functional::SmoothL1LossOptions& options = {});
  Tensor forward(const Tensor& input, const Tensor& target);
  std::string type_name() const override { return "SmoothL1Loss"; }
  std::string extra_repr() const override;
  const functional::SmoothL1LossOptions& options() const { return options_; }

 private:
  functional::SmoothL1LossOptions options_;
};

class HuberLoss : public Module {
 public:
  explicit HuberLoss(const functional::HuberLossOptions& options = {});
  Tensor forward(const Tensor& input, const Tensor& target);
  std::string type_name() const override { return "HuberLoss"; }
  std::string extra_repr() const override;
  const functional::HuberLossOptions& options() const { return options_; }

 private:
  functional::HuberLossOptions options_;
};

class KLDivLoss : public Module {
 public:
  explicit KLDivLoss(const functional::KLDivOptions& options = {}) : options_(options) {}
  Tensor forward(const Tensor& input, const Tensor& target);
  std::string type_name() const override { return "KLDivLoss"; }
  std::string extra_repr() const override;
  const functional::KLDivOptions& options() const { return options_; }

 private:
  functional::KLDivOptions options_;
};

class PoissonNLLLoss : public Module {
 public:
  explicit PoissonNLLLoss(const functional::PoissonNLLLossOptions& options = {}) : options_(options) {}
  Tensor forward(const Tensor& input, const Tensor& target);
  std::string type_name() const override { return "PoissonNLLLoss"; }
  std::string extra_repr() const override;
  const functional::PoissonNLLLossOptions& options() const { return options_; }

 private:
  functional::PoissonNLLLossOptions options_;
};

// ---- embeddings and ranking

// forward(input1, input2, target).
class CosineEmbeddingLoss : public Module {
 public:
  explicit CosineEmbeddingLoss(const functional::CosineEmbeddingLossOptions& options = {}) : options_(options) {}
  Tensor forward(const Tensor& input1, const Tensor& input2, const Tensor& target);
  std::string type_name() const override { return "CosineEmbeddingLoss"; }
  std::string extra_repr() const override;
  const functional::CosineEmbeddingLossOptions& options() const { return options_; }

 private:
  functional::CosineEmbeddingLossOptions options_;
};

// forward(input1, input2, target).
class MarginRankingLoss : public Module {
 public:
  explicit MarginRankingLoss(const functional::MarginRankingLossOptions& options = {}) : options_(options) {}
  Tensor forward(const Tensor& input1, const Tensor& input2, const Tensor& target);
  std::string type_name() const override { return "MarginRankingLoss"; }
  std::string extra_repr() const override;
  const functional::MarginRankingLossOptions& options() const { return options_; }

 private:
  functional::MarginRankingLossOptions options_;
};

class HingeEmbeddingLoss : public Module {
 public:
  explicit HingeEmbeddingLoss(const functional::HingeEmbeddingLossOptions& options = {}) : options_(options) {}
  Tensor forward(const Tensor& input, const Tensor& target);
  std::string type_name() const override { return "HingeEmbeddingLoss"; }
  std::string extra_repr() const override;
  const functional::HingeEmbeddingLossOptions& options() const { return options_; }

 private:
  functional::HingeEmbeddingLossOptions options_;
};

// forward(anchor, positive, negative).
class TripletMarginLoss : public Module {
 public:
  explicit TripletMarginLoss(const functional::TripletMarginLossOptions& options = {}) : options_(options) {}
  Tensor forward(const Tensor& anchor, const Tensor& positive, const Tensor& negative);
  std::string type_name() const override { return "TripletMarginLoss"; }
  std::string extra_repr() const override;
  const functional::TripletMarginLossOptions& options() const { return options_; }

 private:
  functional::TripletMarginLossOptions options_;
};

// ---- distances

// forward(x1, x2): functional::cosine_similarity along `dim`.
class CosineSimilarity : public Module {
 public:
  explicit CosineSimilarity(int64_t dim = 1, double eps = 1e-8) : dim_(dim), eps_(eps) {}
  Tensor forward(const Tensor& x1, const Tensor& x2);
  std::string type_name() const override { return "CosineSimilarity"; }
  std::string extra_repr() const override;

 private:
  int64_t dim_;
  double eps_;
};

// forward(x1, x2): functional::pairwise_distance.
class PairwiseDistance : public Module {
 public:
  explicit PairwiseDistance(double p = 2.0, double eps = 1e-6, bool keepdim = false) : p_(p), eps_(eps), keepdim_(keepdim) {}
  Tensor forward(const Tensor& x1, const Tensor& x2);
  std::string type_name() const override { return "PairwiseDistance"; }
  std::string extra_repr() const override;

 private:
  double p_;
  double eps_;
  bool keepdim_;
};

}  // namespace nabla::nn
