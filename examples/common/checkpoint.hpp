#pragma once
// Training checkpoints for the example programs: the model, the optimiser, the random state, the
// epoch and the history in one .nbl file (nn::write_archive writes it atomically).
//
// Resuming reads a file that may be damaged or crafted, so it goes in two steps, and users who copy
// this code should keep both: first every entry is read and checked (its kind, dtype, shape, range,
// finite values, and that the history agrees with the epoch) into local values; only then are the
// model, optimiser, random state and history changed, all or nothing. Every refusal is a
// nabla::Error naming the file and the entry; a refused file leaves the program as it was.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "nabla/nabla.hpp"

namespace nabla::examples {

// ---- checked reads of single entries (each throws naming archive.source and the entry)
// A whole number in [0, max_epoch], stored as decimal text or as a 0-d int64 tensor.
int64_t checkpoint_epoch(const nn::Archive& archive, const std::string& name, int64_t max_epoch = 1'000'000);
// A 1-d float64 tensor of finite values; `length`, unless negative, is the count it must hold.
std::vector<double> checkpoint_series(const nn::Archive& archive, const std::string& name, int64_t length = -1);
// The optimiser's entries ("optimizer.<name>" tensors, without the prefix).
std::map<std::string, Tensor> checkpoint_optimizer_state(const nn::Archive& archive);

// Checks the "model." and "optimizer." entries (tensors, finite float values), the "rng" text (on a
// scratch generator), then loads the optimiser and the model and sets the default generator: all
// of it or, if anything is refused, none of it.
void load_training_state(const nn::Archive& archive, nn::Module& model, nn::Optimizer& optimizer);
// Puts the model's state ("model."), the optimiser's ("optimizer.") and the default generator's ("rng").
void put_training_state(nn::Archive& archive, const nn::Module& model, const nn::Optimizer& optimizer);

// ---- the image classifiers' checkpoint (train_classifier's --save and --resume)
struct History {
  std::vector<double> train_loss, train_accuracy, test_loss, test_accuracy, epoch_seconds;
  double train_seconds = 0.0;
  double seconds_to_99 = -1.0;  // cumulative training seconds when test accuracy first reached 99 %
};

void save_checkpoint(const std::string& path, const nn::Module& model, const nn::Optimizer& optimizer, int64_t next_epoch,
                     const History& history);
// Returns the epoch to continue from; on any refusal throws and changes none of its arguments.
int64_t load_checkpoint(const std::string& path, nn::Module& model, nn::Optimizer& optimizer, History& history);

}  // namespace nabla::examples
