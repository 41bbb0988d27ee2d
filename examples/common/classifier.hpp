#pragma once
// What every example program shares: the common command-line flags, and one training routine for
// image classifiers that shows progress, evaluates after each epoch, checkpoints and resumes, and
// leaves its pictures and metrics behind.
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli.hpp"
#include "nabla/nabla.hpp"

namespace nabla::examples {

struct CommonOptions {
  std::string data;              // dataset directory ("" = search the usual places)
  int epochs = 1;
  int64_t batch_size = 64;
  double lr = 1e-3;
  std::string optimizer = "adam";  // sgd | adam | adamw | rmsprop
  double momentum = 0.0;         // sgd and rmsprop
  double weight_decay = 0.0;
  std::string schedule = "none";  // none | cosine | step | onecycle (per batch)
  int threads = 0;               // 0: all cores
  uint64_t seed = 1;
  int64_t limit = 0;             // train on the first N images (0: all)
  std::string out;               // pictures and metrics (default out/<example>)
  std::string save;              // checkpoint written after every epoch
  std::string resume;            // checkpoint to continue from
  bool json = false;             // print one final JSON line
};

// Registers --data, --epochs, --batch-size, --lr, --optimizer, ... with `defaults` as shown values.
void add_common_flags(CLI::App& app, CommonOptions& options);

// Applies --threads and --seed; call before building the model so its initialisation is seeded.
void prepare(const CommonOptions& options);

struct ClassifierRun {
  std::string example;  // "mnist_cnn"
  std::string model_description;
  std::shared_ptr<nn::Module> model;
  const datasets::MNIST* train = nullptr;  // MNIST or Fashion-MNIST
  const datasets::MNIST* test = nullptr;
  bool flatten_inputs = false;  // MLPs take [B, 784]
  bool report_seconds_to_99 = false;
};

struct RunSummary {
  double test_accuracy = 0.0;
  double train_seconds = 0.0;
  std::string out_dir;
};

// Trains, evaluates after each epoch, writes pictures/metrics into options.out, and returns the
// final test accuracy.
RunSummary train_classifier(const ClassifierRun& run, const CommonOptions& options);

// Parses "512,256" into {512, 256}; throws naming the flag on bad input.
std::vector<int64_t> parse_sizes(const std::string& text, const char* flag);

}  // namespace nabla::examples
