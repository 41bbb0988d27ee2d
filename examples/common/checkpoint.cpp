#include "checkpoint.hpp"

#include <charconv>
#include <cmath>
#include <string_view>

namespace nabla::examples {

namespace {

std::string where(const nn::Archive& archive) {
  return archive.source.empty() ? std::string("the checkpoint") : "checkpoint '" + archive.source + "'";
}

// Long or binary junk is shown cut short.
std::string shown(const std::string& text) { return text.size() > 40 ? text.substr(0, 40) + "..." : text; }

// Refuses NaN and infinite values in a float entry, naming it and the first bad element.
void check_finite(const nn::Archive& archive, const std::string& name, const Tensor& value) {
  if (!is_floating(value.dtype()) || value.numel() == 0) return;
  if (all(isfinite(value)).item<bool>()) return;
  const std::vector<double> values = value.to(float64).to_vector<double>();
  size_t bad = 0;
  while (bad < values.size() && std::isfinite(values[bad])) ++bad;
  fail("resume: entry '{}' of {} holds {} at element {} (shape {}); the run that saved it had diverged, or the file "
       "was altered. Resume from an earlier checkpoint",
       name, where(archive), values[bad], bad, value.shape());
}

}  // namespace

int64_t checkpoint_epoch(const nn::Archive& archive, const std::string& name, int64_t max_epoch) {
  if (!archive.contains(name)) fail("resume: {} has no '{}' entry; is it a checkpoint written by --save?", where(archive), name);
  const auto& value = archive.entries().at(name);
  int64_t epoch = 0;
  if (const std::string* text = std::get_if<std::string>(&value)) {
    // from_chars: digits only (no sign, spaces or suffix), and out-of-range is reported, not wrapped.
    const auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), epoch);
    if (error != std::errc() || end != text->data() + text->size() || text->empty()) {
      fail("resume: entry '{}' of {} is \"{}\", not a whole number of epochs", name, where(archive), shown(*text));
    }
  } else {
    const Tensor& tensor = std::get<Tensor>(value);
    if (tensor.dtype() != int64 || tensor.dim() != 0) {
      fail("resume: entry '{}' of {} must be a 0-d int64 tensor, got {} of shape {}", name, where(archive),
           tensor.dtype(), tensor.shape());
    }
    epoch = tensor.item<int64_t>();
  }
  if (epoch < 0 || epoch > max_epoch) {
    fail("resume: entry '{}' of {} is {}, outside 0 to {}", name, where(archive), epoch, max_epoch);
  }
  return epoch;
}

std::vector<double> checkpoint_series(const nn::Archive& archive, const std::string& name, int64_t length) {
  if (!archive.contains(name)) fail("resume: {} has no '{}' entry", where(archive), name);
  const auto& value = archive.entries().at(name);
  if (!std::holds_alternative<Tensor>(value)) {
    fail("resume: entry '{}' of {} is text (\"{}\"), but must be a 1-d float64 tensor", name, where(archive),
         shown(std::get<std::string>(value)));
  }
  const Tensor& tensor = std::get<Tensor>(value);
  if (tensor.dtype() != float64 || tensor.dim() != 1) {
    fail("resume: entry '{}' of {} must be a 1-d float64 tensor, got {} of shape {}", name, where(archive),
         tensor.dtype(), tensor.shape());
  }
  if (length >= 0 && tensor.numel() != length) {
    fail("resume: entry '{}' of {} holds {} values but must hold {} (one per epoch trained); the history does not "
         "agree with the epoch",
         name, where(archive), tensor.numel(), length);
  }
  check_finite(archive, name, tensor);
  return tensor.to_vector<double>();
}

std::map<std::string, Tensor> checkpoint_optimizer_state(const nn::Archive& archive) {
  std::map<std::string, Tensor> state;
  for (const auto& [name, value] : archive.entries()) {
    if (name.rfind("optimizer.", 0) != 0) continue;
    if (!std::holds_alternative<Tensor>(value)) {
      fail("resume: entry '{}' of {} is text (\"{}\"), but optimiser state entries are tensors (the learning rate is "
           "a one-element float64 tensor)",
           name, where(archive), shown(std::get<std::string>(value)));
    }
    state.emplace(name.substr(10), std::get<Tensor>(value));
  }
  if (state.empty()) fail("resume: {} has no optimiser state (no 'optimizer.' entries)", where(archive));
  return state;
}

void load_training_state(const nn::Archive& archive, nn::Module& model, nn::Optimizer& optimizer) {
  // ---- check everything
  for (const auto& [name, value] : archive.entries()) {
    if (name.rfind("model.", 0) == 0 || name.rfind("optimizer.", 0) == 0) {
      if (const Tensor* tensor = std::get_if<Tensor>(&value)) check_finite(archive, name, *tensor);
    }
  }
  const std::map<std::string, Tensor> optimizer_state = checkpoint_optimizer_state(archive);
  if (!archive.contains("rng") || !std::holds_alternative<std::string>(archive.entries().at("rng"))) {
    fail("resume: {} has no 'rng' text entry (the random state)", where(archive));
  }
  const std::string& rng = std::get<std::string>(archive.entries().at("rng"));
  try {
    Generator scratch;
    scratch.set_state(rng);
  } catch (const Error& error) {
    throw Error(fmt::format("resume: entry 'rng' of {}: {}", where(archive), error.what()));
  }

  // ---- load: each load checks all its entries before it changes anything; the optimiser goes
  // first, and is put back if the model then refuses its entries.
  const std::map<std::string, Tensor> optimizer_before = optimizer.state();
  try {
    optimizer.load_state(optimizer_state);
  } catch (const Error& error) {
    throw Error(fmt::format("resume: {}: {}", where(archive), error.what()));
  }
  try {
    nn::load_module_state(model, archive, "model");
  } catch (const Error& error) {
    optimizer.load_state(optimizer_before);
    throw Error(fmt::format("resume: {}: {}", where(archive), error.what()));
  }
  default_generator().set_state(rng);  // checked above, so it cannot throw now
}

void put_training_state(nn::Archive& archive, const nn::Module& model, const nn::Optimizer& optimizer) {
  for (auto& [name, value] : nn::module_state(model).entries()) archive.put("model." + name, std::get<Tensor>(value));
  for (const auto& [name, value] : optimizer.state()) archive.put("optimizer." + name, value);
  archive.put_text("rng", default_generator().state());
}

// ---- the image classifiers' checkpoint

namespace {
Tensor as_tensor(const std::vector<double>& values) { return from_vector(values, {static_cast<int64_t>(values.size())}); }
}  // namespace

void save_checkpoint(const std::string& path, const nn::Module& model, const nn::Optimizer& optimizer, int64_t next_epoch,
                     const History& history) {
  nn::Archive archive;
  put_training_state(archive, model, optimizer);
  archive.put_text("epoch", std::to_string(next_epoch));
  archive.put("history.train_loss", as_tensor(history.train_loss));
  archive.put("history.train_accuracy", as_tensor(history.train_accuracy));
  archive.put("history.test_loss", as_tensor(history.test_loss));
  archive.put("history.test_accuracy", as_tensor(history.test_accuracy));
  archive.put("history.epoch_seconds", as_tensor(history.epoch_seconds));
  archive.put("history.totals", as_tensor({history.train_seconds, history.seconds_to_99}));
  nn::write_archive(path, archive);
}

int64_t load_checkpoint(const std::string& path, nn::Module& model, nn::Optimizer& optimizer, History& history) {
  const nn::Archive archive = nn::read_archive(path);
  // ---- read and check where training stands, into locals
  const int64_t epoch = checkpoint_epoch(archive, "epoch");
  History loaded;
  loaded.train_loss = checkpoint_series(archive, "history.train_loss", epoch);
  loaded.train_accuracy = checkpoint_series(archive, "history.train_accuracy", epoch);
  loaded.test_loss = checkpoint_series(archive, "history.test_loss", epoch);
  loaded.test_accuracy = checkpoint_series(archive, "history.test_accuracy", epoch);
  loaded.epoch_seconds = checkpoint_series(archive, "history.epoch_seconds", epoch);
  const std::vector<double> totals = checkpoint_series(archive, "history.totals", 2);
  loaded.train_seconds = totals[0];
  loaded.seconds_to_99 = totals[1];
  if (loaded.train_seconds < 0 || (loaded.seconds_to_99 < 0 && loaded.seconds_to_99 != -1.0)) {
    fail("resume: entry 'history.totals' of {} holds [{}, {}]: training seconds must be >= 0 and the seconds to 99 % "
         "either -1 (not reached) or >= 0",
         where(archive), loaded.train_seconds, loaded.seconds_to_99);
  }
  // ---- then change the model, optimiser and random state (all or nothing), and the history
  load_training_state(archive, model, optimizer);
  history = std::move(loaded);
  return epoch;
}

}  // namespace nabla::examples
