#pragma once
// Embedding and EmbeddingBag, as PyTorch's: weight [num_embeddings, embedding_dim] initialised
// N(0, 1) (the padding row, if any, to zeros), padding_idx (that row gets no gradient), max_norm
// (looked-up rows renormalised in place), scale_grad_by_freq, from_pretrained; EmbeddingBag sums,
// averages or takes the max of bags given by offsets into a 1-d input or as the rows of a 2-d
// one, with per_sample_weights for sum. The lookup is one recorded op (nabla::embedding, a row
// gather whose gradient is an index_add).
#include <cstdint>
#include <optional>
#include <string>

#include "nabla/nn/module.hpp"

namespace nabla::nn {

enum class EmbeddingBagMode { sum, mean, max };

}  // namespace nabla::nn

namespace nabla::nn::functional {

// The rows of weight at int64 indices `input` of any shape: [input..., embedding_dim].
// padding_idx (negative: counted from the end) gets no gradient; with max_norm the looked-up rows
// whose norm_type-norm exceeds it are first scaled down to it, in place in weight (as PyTorch's).
Tensor embedding(const Tensor& input, const Tensor& weight, std::optional<int64_t> padding_idx = std::nullopt,
                 std::optional<double> max_norm = std::nullopt, double norm_type = 2.0,
                 bool scale_grad_by_freq = false);

struct EmbeddingBagFuncOptions {
  EmbeddingBagMode mode = EmbeddingBagMode::mean;
  Tensor per_sample_weights = {};   // input's shape, mode sum only: each looked-up row is scaled by it
  bool include_last_offset = false;  // offsets has one more entry, the end of the last bag
  std::optional<int64_t> padding_idx = std::nullopt;  // entries equal to it are left out of their bag (and its count)
  std::optional<double> max_norm = std::nullopt;
  double norm_type = 2.0;
  bool scale_grad_by_freq = false;
};

// Reduces bags of embeddings to [bags, embedding_dim]. input 1-d with offsets (bag b is
// input[offsets[b] : offsets[b + 1]], the last running to the end; offsets[0] must be 0), or
// input 2-d [bags, length] without offsets. An empty bag gives zeros.
Tensor embedding_bag(const Tensor& input, const Tensor& weight, const Tensor& offsets = {},
                     const EmbeddingBagFuncOptions& options = {});

}  // namespace nabla::nn::functional

namespace nabla::nn {

struct EmbeddingOptions {
  int64_t num_embeddings = 0;
  int64_t embedding_dim = 0;
  std::optional<int64_t> padding_idx = std::nullopt;  // in [-num_embeddings, num_embeddings); negative counts from the end
  std::optional<double> max_norm = std::nullopt;
  double norm_type = 2.0;
  bool scale_grad_by_freq = false;
};

// A lookup table: forward(indices) is weight's rows at the int64 indices, shaped [indices..., dim].
class Embedding : public Module {
 public:
  // With `weight` (PyTorch's _weight), that tensor becomes the parameter as it is; it must be
  // [num_embeddings, embedding_dim].
  explicit Embedding(const EmbeddingOptions& options, const Tensor& weight = {});
  Embedding(int64_t num_embeddings, int64_t embedding_dim)
      : Embedding(EmbeddingOptions{.num_embeddings = num_embeddings, .embedding_dim = embedding_dim}) {}
  // An Embedding whose weight is `embeddings` (shared, not copied; its padding row left as it is),
  // trained unless frozen.
  static Embedding from_pretrained(const Tensor& embeddings, bool freeze = true,
                                   std::optional<int64_t> padding_idx = std::nullopt);
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "Embedding"; }
  std::string extra_repr() const override;
  const EmbeddingOptions& options() const { return options_; }  // padding_idx made non-negative
  Tensor weight;

 private:
  EmbeddingOptions options_;
};

struct EmbeddingBagOptions {
  int64_t num_embeddings = 0;
  int64_t embedding_dim = 0;
  EmbeddingBagMode mode = EmbeddingBagMode::mean;
  bool include_last_offset = false;
  std::optional<int64_t> padding_idx = std::nullopt;
  std::optional<double> max_norm = std::nullopt;
  double norm_type = 2.0;
  bool scale_grad_by_freq = false;
};

// Sums, averages or takes the max of bags of embeddings without building [bags, length, dim].
class EmbeddingBag : public Module {
 public:
  explicit EmbeddingBag(const EmbeddingBagOptions& options, const Tensor& weight = {});
  EmbeddingBag(int64_t num_embeddings, int64_t embedding_dim, EmbeddingBagMode mode = EmbeddingBagMode::mean)
      : EmbeddingBag(EmbeddingBagOptions{.num_embeddings = num_embeddings, .embedding_dim = embedding_dim,
                                               .mode = mode}) {}
  static EmbeddingBag from_pretrained(const Tensor& embeddings, bool freeze = true,
                                      EmbeddingBagMode mode = EmbeddingBagMode::mean,
                                      std::optional<int64_t> padding_idx = std::nullopt);
  // A 2-d input [bags, length]: each row a bag.
  Tensor forward(const Tensor& input) override;
  // A 1-d input with offsets (or a 2-d one with undefined offsets); per_sample_weights for mode sum.
  Tensor forward(const Tensor& input, const Tensor& offsets, const Tensor& per_sample_weights = {});
  std::string type_name() const override { return "EmbeddingBag"; }
  std::string extra_repr() const override;
  const EmbeddingBagOptions& options() const { return options_; }
  Tensor weight;

 private:
  EmbeddingBagOptions options_;
};

}  // namespace nabla::nn
