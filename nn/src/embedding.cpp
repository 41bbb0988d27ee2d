// Embedding and EmbeddingBag (embedding.hpp): lookups through the recorded nabla::embedding op,
// bags reduced with index_add (sum, mean) or a padded max, all differentiable ops.
#include "nabla/nn/embedding.hpp"

#include <algorithm>
#include <limits>
#include <vector>

#include "nabla/nn/init.hpp"

namespace nabla::nn {

namespace {

void check_weight(const Tensor& weight, const char* op) {
  if (!weight.defined() || weight.dim() != 2) {
    fail("{}: weight must be 2-d [num_embeddings, embedding_dim], got {}", op,
         weight.defined() ? to_string(weight.shape()) : "undefined");
  }
}

// padding_idx in [-rows, rows), made non-negative (PyTorch's rule).
std::optional<int64_t> resolve_padding(std::optional<int64_t> padding_idx, int64_t rows, const char* op) {
  if (!padding_idx) return std::nullopt;
  if (*padding_idx < -rows || *padding_idx >= rows) {
    fail("{}: padding_idx {} must be within [-{}, {}) for {} embeddings", op, *padding_idx, rows, rows, rows);
  }
  return *padding_idx < 0 ? *padding_idx + rows : *padding_idx;
}

void check_indices(const Tensor& input, const char* op) {
  if (!input.defined() || input.dtype() != int64) {
    fail("{}: input must be int64 indices, got {} (convert with .to(int64))", op,
         input.defined() ? fmt::format("{}", input.dtype()) : "undefined");
  }
}

void renormalise(const Tensor& weight, const Tensor& input, std::optional<double> max_norm, double norm_type) {
  if (!max_norm) return;
  NoGradGuard no_grad;
  kernels::embedding_renorm_(weight.raw(), input.raw(), *max_norm, norm_type);
}

// The bags of an embedding_bag call: where each starts and ends in the flattened input.
struct Bags {
  std::vector<int64_t> begin, end;
  int64_t count() const { return static_cast<int64_t>(begin.size()); }
};

Bags bags_of(const Tensor& input, const Tensor& offsets, bool include_last_offset) {
  Bags bags;
  if (input.dim() == 2) {
    if (offsets.defined()) {
      fail("embedding_bag: a 2-d input of shape {} is its own bags (one per row); offsets must be undefined",
           input.shape());
    }
    const int64_t length = input.size(1);
    for (int64_t b = 0; b < input.size(0); ++b) {
      bags.begin.push_back(b * length);
      bags.end.push_back((b + 1) * length);
    }
    return bags;
  }
  if (input.dim() != 1) {
    fail("embedding_bag: input must be 1-d (with offsets) or 2-d [bags, length], got shape {}", input.shape());
  }
  if (!offsets.defined() || offsets.dim() != 1 || offsets.dtype() != int64) {
    fail("embedding_bag: a 1-d input needs offsets, a 1-d int64 tensor of where each bag starts, got {}",
         offsets.defined() ? fmt::format("{} of shape {}", offsets.dtype(), offsets.shape()) : "undefined");
  }
  const std::vector<int64_t> starts = offsets.to_vector<int64_t>();
  const int64_t length = input.size(0);
  if (include_last_offset && starts.empty()) {
    fail("embedding_bag: with include_last_offset, offsets needs at least one entry (the end of the last bag)");
  }
  if (!starts.empty() && starts.front() != 0) {
    fail("embedding_bag: offsets[0] must be 0 (the first bag starts at the first index), got {}", starts.front());
  }
  for (size_t i = 1; i < starts.size(); ++i) {
    if (starts[i] < starts[i - 1]) {
      fail("embedding_bag: offsets must not decrease, got offsets[{}] = {} after {}", i, starts[i], starts[i - 1]);
    }
  }
  if (!starts.empty() && starts.back() > length) {
    fail("embedding_bag: offsets[-1] = {} is past the end of the input, of length {}", starts.back(), length);
  }
  const size_t count = include_last_offset ? starts.size() - 1 : starts.size();
  for (size_t b = 0; b < count; ++b) {
    bags.begin.push_back(starts[b]);
    bags.end.push_back(b + 1 < starts.size() ? starts[b + 1] : length);
  }
  return bags;
}

}  // namespace

}  // namespace nabla::nn

namespace nabla::nn::functional {

Tensor embedding(const Tensor& input, const Tensor& weight, std::optional<int64_t> padding_idx,
                 std::optional<double> max_norm, double norm_type, bool scale_grad_by_freq) {
  check_weight(weight, "embedding");
  check_indices(input, "embedding");
  const std::optional<int64_t> padding = resolve_padding(padding_idx, weight.size(0), "embedding");
  renormalise(weight, input, max_norm, norm_type);
  return nabla::embedding(weight, input, padding, scale_grad_by_freq);
}

Tensor embedding_bag(const Tensor& input, const Tensor& weight, const Tensor& offsets,
                     const EmbeddingBagFuncOptions& options) {
  check_weight(weight, "embedding_bag");
  check_indices(input, "embedding_bag");
  const Bags bags = bags_of(input, offsets, options.include_last_offset);
  const Tensor& sample_weights = options.per_sample_weights;
  if (sample_weights.defined()) {
    if (options.mode != EmbeddingBagMode::sum) {
      fail("embedding_bag: per_sample_weights are only supported for mode sum (as in PyTorch), got mode {}",
           options.mode == EmbeddingBagMode::mean ? "mean" : "max");
    }
    if (sample_weights.shape() != input.shape() || !sample_weights.is_floating_point()) {
      fail("embedding_bag: per_sample_weights must be float values of the input's shape {}, got {} of shape {}",
           input.shape(), sample_weights.dtype(), sample_weights.shape());
    }
  }
  const std::optional<int64_t> padding = resolve_padding(options.padding_idx, weight.size(0), "embedding_bag");
  renormalise(weight, input, options.max_norm, options.norm_type);

  // The entries that take part (all but padding), their bags, and each bag's size.
  const std::vector<int64_t> ids = input.to_vector<int64_t>();
  std::vector<int64_t> kept_ids, kept_positions, kept_bags, sizes(static_cast<size_t>(bags.count()), 0);
  for (int64_t b = 0; b < bags.count(); ++b) {
    for (int64_t i = bags.begin[static_cast<size_t>(b)]; i < bags.end[static_cast<size_t>(b)]; ++i) {
      if (padding && ids[static_cast<size_t>(i)] == *padding) continue;
      kept_ids.push_back(ids[static_cast<size_t>(i)]);
      kept_positions.push_back(i);
      kept_bags.push_back(b);
      ++sizes[static_cast<size_t>(b)];
    }
  }
  const int64_t kept = static_cast<int64_t>(kept_ids.size()), dim = weight.size(1);
  Tensor rows = nabla::embedding(weight, from_vector(kept_ids, {kept}), std::nullopt, options.scale_grad_by_freq);
  if (sample_weights.defined()) {
    rows = rows * index_select(sample_weights.reshape({-1}), 0, from_vector(kept_positions, {kept})).unsqueeze(1);
  }
  const Tensor bag_of_row = from_vector(kept_bags, {kept});
  const int64_t largest = sizes.empty() ? 0 : *std::max_element(sizes.begin(), sizes.end());
  if (options.mode != EmbeddingBagMode::max || largest == 0) {
    const Tensor sums = index_add(zeros({bags.count(), dim}, weight.dtype()), 0, bag_of_row, rows);
    if (options.mode != EmbeddingBagMode::mean) return sums;
    std::vector<double> divisors(sizes.size());
    for (size_t b = 0; b < sizes.size(); ++b) divisors[b] = static_cast<double>(std::max<int64_t>(sizes[b], 1));
    return sums / from_vector(divisors, {bags.count(), 1}).to(weight.dtype());  // an empty bag stays 0
  }
  // max: each bag's rows padded to the largest bag with a row of -inf, then the max over them (the
  // gradient goes to the first row that wins, as in PyTorch); an empty bag gives 0.
  const Tensor padded_rows =
      cat({rows, full({1, dim}, -std::numeric_limits<double>::infinity(), weight.dtype())}, 0);
  std::vector<int64_t> slots(static_cast<size_t>(bags.count() * largest), kept);
  std::vector<uint8_t> empty(static_cast<size_t>(bags.count()), 0);
  int64_t row = 0;
  for (int64_t b = 0; b < bags.count(); ++b) {
    for (int64_t k = 0; k < sizes[static_cast<size_t>(b)]; ++k) slots[static_cast<size_t>(b * largest + k)] = row++;
    empty[static_cast<size_t>(b)] = sizes[static_cast<size_t>(b)] == 0;
  }
  const Tensor gathered =
      index_select(padded_rows, 0, from_vector(slots, {bags.count() * largest})).view({bags.count(), largest, dim});
  return where(from_vector(empty, {bags.count(), 1}), 0.0, max(gathered, 1).values);
}

}  // namespace nabla::nn::functional

namespace nabla::nn {

namespace {

// The weight of a new embedding table: `given` as it is, or N(0, 1) with the padding row zeroed.
Tensor table(const Tensor& given, int64_t rows, int64_t dim, std::optional<int64_t> padding, const char* op) {
  if (rows < 1 || dim < 1) fail("{}: num_embeddings and embedding_dim must be positive, got {} and {}", op, rows, dim);
  if (given.defined()) {
    if (given.shape() != Shape{rows, dim}) {
      fail("{}: the given weight has shape {}, expected [num_embeddings, embedding_dim] = [{}, {}]", op, given.shape(),
           rows, dim);
    }
    return given;
  }
  Tensor weight = init::normal_(empty({rows, dim}));
  if (padding) {
    NoGradGuard no_grad;
    weight.raw().select(0, *padding).fill_(0.0);
  }
  return weight;
}

Tensor pretrained(const Tensor& embeddings, const char* op) {
  if (!embeddings.defined() || embeddings.dim() != 2) {
    fail("{}::from_pretrained: embeddings must be 2-d [num_embeddings, embedding_dim], got {}", op,
         embeddings.defined() ? to_string(embeddings.shape()) : "undefined");
  }
  return embeddings.detach();  // the same storage, as PyTorch's Parameter(embeddings)
}

std::string bag_mode(EmbeddingBagMode mode) {
  switch (mode) {
    case EmbeddingBagMode::sum: return "sum";
    case EmbeddingBagMode::mean: return "mean";
    case EmbeddingBagMode::max: return "max";
  }
  return "?";
}

}  // namespace

Embedding::Embedding(const EmbeddingOptions& options, const Tensor& given) : options_(options) {
  if (options.num_embeddings >= 1) {
    options_.padding_idx = resolve_padding(options.padding_idx, options.num_embeddings, "Embedding");
  }
  weight = register_parameter("weight", table(given, options.num_embeddings, options.embedding_dim,
                                              options_.padding_idx, "Embedding"));
}

Embedding Embedding::from_pretrained(const Tensor& embeddings, bool freeze, std::optional<int64_t> padding_idx) {
  const Tensor weight = pretrained(embeddings, "Embedding");
  Embedding layer({.num_embeddings = weight.size(0), .embedding_dim = weight.size(1), .padding_idx = padding_idx},
                  weight);
  layer.weight.requires_grad_(!freeze);
  return layer;
}

Tensor Embedding::forward(const Tensor& input) {
  return functional::embedding(input, weight, options_.padding_idx, options_.max_norm, options_.norm_type,
                               options_.scale_grad_by_freq);
}

std::string Embedding::extra_repr() const {
  std::string out = fmt::format("{}, {}", options_.num_embeddings, options_.embedding_dim);
  if (options_.padding_idx) out += fmt::format(", padding_idx={}", *options_.padding_idx);
  if (options_.max_norm) out += fmt::format(", max_norm={}", *options_.max_norm);
  if (options_.norm_type != 2.0) out += fmt::format(", norm_type={}", options_.norm_type);
  if (options_.scale_grad_by_freq) out += ", scale_grad_by_freq=true";
  return out;
}

EmbeddingBag::EmbeddingBag(const EmbeddingBagOptions& options, const Tensor& given) : options_(options) {
  if (options.num_embeddings >= 1) {
    options_.padding_idx = resolve_padding(options.padding_idx, options.num_embeddings, "EmbeddingBag");
  }
  weight = register_parameter("weight", table(given, options.num_embeddings, options.embedding_dim,
                                              options_.padding_idx, "EmbeddingBag"));
}

EmbeddingBag EmbeddingBag::from_pretrained(const Tensor& embeddings, bool freeze, EmbeddingBagMode mode,
                                           std::optional<int64_t> padding_idx) {
  const Tensor weight = pretrained(embeddings, "EmbeddingBag");
  EmbeddingBag layer({.num_embeddings = weight.size(0), .embedding_dim = weight.size(1), .mode = mode,
                      .padding_idx = padding_idx},
                     weight);
  layer.weight.requires_grad_(!freeze);
  return layer;
}

Tensor EmbeddingBag::forward(const Tensor& input) { return forward(input, Tensor()); }

Tensor EmbeddingBag::forward(const Tensor& input, const Tensor& offsets, const Tensor& per_sample_weights) {
  return functional::embedding_bag(input, weight, offsets,
                                   {.mode = options_.mode,
                                    .per_sample_weights = per_sample_weights,
                                    .include_last_offset = options_.include_last_offset,
                                    .padding_idx = options_.padding_idx,
                                    .max_norm = options_.max_norm,
                                    .norm_type = options_.norm_type,
                                    .scale_grad_by_freq = options_.scale_grad_by_freq});
}

std::string EmbeddingBag::extra_repr() const {
  std::string out = fmt::format("{}, {}, mode='{}'", options_.num_embeddings, options_.embedding_dim,
                                bag_mode(options_.mode));
  if (options_.include_last_offset) out += ", include_last_offset=true";
  if (options_.padding_idx) out += fmt::format(", padding_idx={}", *options_.padding_idx);
  if (options_.max_norm) out += fmt::format(", max_norm={}", *options_.max_norm);
  return out;
}

}  // namespace nabla::nn
