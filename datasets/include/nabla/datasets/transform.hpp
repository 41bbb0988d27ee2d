#pragma once
// Transform: a function from rows to rows, the unit of every data pipeline. The ready-made ones
// (Normalize, RandomCrop, RandomHorizontalFlip, RandomTranslate) are in transforms.hpp.
//
// A transform takes a batch of examples stacked along axis 0, rows [B, ...], and returns rows
// [B, ...] of new examples, row r made from row r alone. One function therefore serves both
// places a pipeline can run:
//   - per example, inside a dataset: MapDataset(base, transform), like torchvision's
//     `transform=` or libtorch's dataset.map(...);
//   - per batch, in the loader: DataLoaderOptions::transform, after the dataset made the batch.
// Random transforms draw row r's numbers from key.generator(r) (see random_key.hpp), so their
// results depend only on (seed, epoch, position), never on threads or on the batch boundaries.
//
// Any function can be a transform, with or without the key:
//
//   datasets::Transform to_unit_range = [](const Tensor& rows) { return rows.to(float32).div(255.0); };
//   datasets::Transform jitter = [](const Tensor& rows, const datasets::RandomKey& key) { ... };
//   namespace T = datasets::transforms;
//   datasets::Transform pipeline = T::Compose{T::RandomCrop(32, 4), T::RandomHorizontalFlip(0.5), to_unit_range,
//                                             T::Normalize({0.49, 0.48, 0.45}, {0.25, 0.24, 0.26})};
//
// Transforms make new tensors and leave their input alone (it may be a dataset's own storage);
// they are data preparation, not recorded on the autograd tape. They are called from the
// DataLoader's background thread, and from several threads when several loaders share one
// dataset: keep no state in them, and draw randomness from the key only.
#include <concepts>
#include <functional>
#include <initializer_list>
#include <type_traits>
#include <utility>
#include <vector>

#include "nabla/autograd/tensor.hpp"
#include "nabla/datasets/random_key.hpp"

namespace nabla::datasets {

class Transform {
 public:
  using Function = std::function<Tensor(const Tensor& rows, const RandomKey& key)>;

  // The identity (an empty pipeline; operator bool is false).
  Transform() = default;
  // From a function of (rows, key) or of rows alone (a deterministic transform).
  template <class F>
    requires(!std::same_as<std::remove_cvref_t<F>, Transform> &&
             (std::is_invocable_r_v<Tensor, const F&, const Tensor&, const RandomKey&> ||
              std::is_invocable_r_v<Tensor, const F&, const Tensor&>))
  Transform(F function)  // NOLINT(google-explicit-constructor): any function converts, as std::function does
      : function_(wrap(std::move(function))) {}

  // Transforms `rows` [B, ...]; throws naming the shapes if the function does not return one row
  // per input row.
  Tensor operator()(const Tensor& rows, const RandomKey& key = {}) const;
  // False for the identity.
  explicit operator bool() const { return static_cast<bool>(function_); }

 private:
  template <class F>
  static Function wrap(F function) {
    if constexpr (std::is_invocable_r_v<Tensor, const F&, const Tensor&, const RandomKey&>) {
      return Function(std::move(function));
    } else {
      return [function = std::move(function)](const Tensor& rows, const RandomKey&) { return function(rows); };
    }
  }
  Function function_;
};

}  // namespace nabla::datasets

namespace nabla::datasets::transforms {

// Runs transforms one after the other. Stage i draws from key.fold_in(i), so two random stages
// never see the same numbers (a crop and a flip stay independent).
class Compose {
 public:
  Compose(std::initializer_list<Transform> stages) : stages_(stages) {}
  explicit Compose(std::vector<Transform> stages) : stages_(std::move(stages)) {}

  Tensor operator()(const Tensor& rows, const RandomKey& key) const;
  const std::vector<Transform>& stages() const { return stages_; }

 private:
  std::vector<Transform> stages_;
};

}  // namespace nabla::datasets::transforms
