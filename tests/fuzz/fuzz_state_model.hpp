#pragma once
// The model, optimiser and checkpoint layout shared by fuzz_state and the seed maker: a checkpoint
// as the examples write it (examples/common/classifier.cpp) — "model.<name>" parameters and
// buffers, "optimizer.<name>" optimiser state, the generator's state as text "rng", and "epoch".
#include <memory>

#include <nabla/nabla.hpp>

namespace fuzz_support {

inline std::shared_ptr<nabla::nn::Sequential> state_model() {
  return std::make_shared<nabla::nn::Sequential>(nabla::nn::Linear(4, 3), nabla::nn::BatchNorm1d(3),
                                                  nabla::nn::Linear(3, 2));
}

inline std::unique_ptr<nabla::nn::Optimizer> state_optimizer(const nabla::nn::Module& model) {
  return std::make_unique<nabla::nn::Adam>(model.parameters(), 1e-3);
}

}  // namespace fuzz_support
