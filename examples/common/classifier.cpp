#include "classifier.hpp"

#include <sys/resource.h>

#include <filesystem>
#include <fstream>
#include <optional>

#include "distributed_run.hpp"
#include "metrics.hpp"
#include "progress.hpp"

namespace nabla::examples {

namespace ds = nabla::datasets;
namespace F = nabla::nn::functional;

void add_common_flags(CLI::App& app, CommonOptions& o) {
  app.add_option("--data", o.data, "dataset directory (default: search $NABLA_DATA, ./data, ../shared/data, ...)");
  app.add_option("--epochs", o.epochs, "training epochs")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--batch-size", o.batch_size, "examples per training step")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--lr", o.lr, "learning rate")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--optimizer", o.optimizer, "sgd, adam, adamw or rmsprop")
      ->capture_default_str()
      ->check(CLI::IsMember({"sgd", "adam", "adamw", "rmsprop"}));
  app.add_option("--momentum", o.momentum, "momentum (sgd, rmsprop)")->capture_default_str();
  app.add_option("--weight-decay", o.weight_decay, "weight decay")->capture_default_str();
  app.add_option("--schedule", o.schedule, "learning-rate schedule: none, cosine or step (x0.1 every third of the run)")
      ->capture_default_str()
      ->check(CLI::IsMember({"none", "cosine", "step"}));
  app.add_option("--threads", o.threads, "threads (0: all cores)")->capture_default_str();
  app.add_option("--seed", o.seed, "seed for initialisation, shuffling and dropout")->capture_default_str();
  app.add_option("--limit", o.limit, "train on the first N images only (0: all)")->capture_default_str();
  app.add_option("--out", o.out, "directory for pictures and metrics (default: out/<example>)");
  app.add_option("--save", o.save, "write a checkpoint (model, optimiser, epoch, RNG) after every epoch");
  app.add_option("--resume", o.resume, "continue from a checkpoint written by --save");
  app.add_flag("--json", o.json, "print one final JSON line with the results");
}

void prepare(const CommonOptions& options) {
  if (options.threads > 0) set_num_threads(options.threads);
  if (options.threads == 0 && threads_per_rank() > 0) set_num_threads(threads_per_rank());  // under mpirun
  manual_seed(options.seed);
}

std::vector<int64_t> parse_sizes(const std::string& text, const char* flag) {
  std::vector<int64_t> sizes;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    const std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    try {
      size_t used = 0;
      const long long value = std::stoll(item, &used);
      if (used != item.size() || value < 1) throw std::invalid_argument(item);
      sizes.push_back(value);
    } catch (const std::exception&) {
      fail("{}: '{}' is not a comma-separated list of positive sizes (e.g. 512,256)", flag, text);
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return sizes;
}

namespace {

std::unique_ptr<nn::Optimizer> make_optimizer(const CommonOptions& o, std::vector<Tensor> parameters) {
  if (o.optimizer == "sgd") {
    return std::make_unique<nn::SGD>(std::move(parameters),
                                     nn::SGDOptions{.lr = o.lr, .momentum = o.momentum, .weight_decay = o.weight_decay});
  }
  if (o.optimizer == "adam") {
    return std::make_unique<nn::Adam>(std::move(parameters), nn::AdamOptions{.lr = o.lr, .weight_decay = o.weight_decay});
  }
  if (o.optimizer == "adamw") {
    return std::make_unique<nn::AdamW>(std::move(parameters), nn::AdamOptions{.lr = o.lr, .weight_decay = o.weight_decay});
  }
  return std::make_unique<nn::RMSprop>(std::move(parameters),
                                       nn::RMSpropOptions{.lr = o.lr, .weight_decay = o.weight_decay, .momentum = o.momentum});
}

std::unique_ptr<nn::Scheduler> make_scheduler(const CommonOptions& o, nn::Optimizer& optimizer) {
  if (o.schedule == "cosine") return std::make_unique<nn::CosineAnnealingLR>(optimizer, o.epochs);
  if (o.schedule == "step") return std::make_unique<nn::StepLR>(optimizer, std::max(1, o.epochs / 3), 0.1);
  return nullptr;
}

Tensor model_input(const Tensor& inputs, bool flatten) { return flatten ? inputs.reshape({inputs.size(0), -1}) : inputs; }

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // KiB on Linux
}

struct Evaluation {
  double loss = 0.0;
  double accuracy = 0.0;
  Tensor predicted;  // int64 [N], in test-set order
  Tensor counts;     // confusion matrix int64 [K, K]
};

Evaluation evaluate(nn::Module& model, const ds::MNIST& test, bool flatten) {
  model.eval();
  NoGradGuard no_grad;
  ds::DataLoader loader(test, {.batch_size = 1000});
  Evaluation result;
  result.counts = zeros({test.num_classes(), test.num_classes()}, int64);
  std::vector<Tensor> predictions;
  double total_loss = 0.0;
  for (ds::Batch& batch : loader) {
    const Tensor logits = model(model_input(batch.inputs, flatten));
    total_loss += F::cross_entropy(logits, batch.targets, {.reduction = F::Reduction::sum}).item();
    Tensor predicted = logits.argmax(1);
    result.counts.add_(ds::confusion_matrix(predicted, batch.targets, test.num_classes()));
    predictions.push_back(predicted);
  }
  model.train();
  result.predicted = concat(predictions, 0);
  result.loss = total_loss / static_cast<double>(test.size());
  result.accuracy = sum(eq(result.predicted, test.labels().to(int64))).item<double>() / static_cast<double>(test.size());
  return result;
}

// What a checkpoint holds besides the model and optimiser: where training stands.
struct History {
  std::vector<double> train_loss, train_accuracy, test_loss, test_accuracy, epoch_seconds;
  double train_seconds = 0.0;
  double seconds_to_99 = -1.0;  // cumulative training seconds when test accuracy first reached 99 %
};

Tensor as_tensor(const std::vector<double>& values) { return from_vector(values, {static_cast<int64_t>(values.size())}); }
std::vector<double> as_vector(const Tensor& t) { return t.to_vector<double>(); }

void save_checkpoint(const std::string& path, const nn::Module& model, const nn::Optimizer& optimizer, int next_epoch,
                     const History& history) {
  nn::Archive archive;
  const nn::Archive model_state = nn::module_state(model);
  for (const auto& [name, value] : model_state.entries()) archive.put("model." + name, std::get<Tensor>(value));
  for (const auto& [name, value] : optimizer.state()) archive.put("optimizer." + name, value);
  archive.put_text("epoch", std::to_string(next_epoch));
  archive.put_text("rng", default_generator().state());
  archive.put("history.train_loss", as_tensor(history.train_loss));
  archive.put("history.train_accuracy", as_tensor(history.train_accuracy));
  archive.put("history.test_loss", as_tensor(history.test_loss));
  archive.put("history.test_accuracy", as_tensor(history.test_accuracy));
  archive.put("history.epoch_seconds", as_tensor(history.epoch_seconds));
  archive.put("history.totals", as_tensor({history.train_seconds, history.seconds_to_99}));
  nn::write_archive(path, archive);
}

int load_checkpoint(const std::string& path, nn::Module& model, nn::Optimizer& optimizer, History& history) {
  const nn::Archive archive = nn::read_archive(path);
  std::map<std::string, Tensor> optimizer_state;
  for (const auto& [name, value] : archive.entries()) {
    if (name.rfind("optimizer.", 0) == 0) optimizer_state[name.substr(10)] = std::get<Tensor>(value);
  }
  // Both loads check everything before changing anything.
  nn::load_module_state(model, archive, "model");
  optimizer.load_state(optimizer_state);
  default_generator().set_state(archive.text("rng"));
  history.train_loss = as_vector(archive.tensor("history.train_loss"));
  history.train_accuracy = as_vector(archive.tensor("history.train_accuracy"));
  history.test_loss = as_vector(archive.tensor("history.test_loss"));
  history.test_accuracy = as_vector(archive.tensor("history.test_accuracy"));
  history.epoch_seconds = as_vector(archive.tensor("history.epoch_seconds"));
  const std::vector<double> totals = as_vector(archive.tensor("history.totals"));
  history.train_seconds = totals.at(0);
  history.seconds_to_99 = totals.at(1);
  return std::stoi(archive.text("epoch"));
}

std::string json_number(double value) { return std::isfinite(value) ? fmt::format("{:.6g}", value) : "null"; }

std::string json_array(const std::vector<double>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + json_number(values[i]);
  return out + "]";
}

// Test images for predictions.png: the first 30, then up to 10 mistakes from the rest.
std::vector<int64_t> picture_indices(const Tensor& predicted, const Tensor& labels) {
  const auto p = predicted.to_vector<int64_t>();
  const auto t = labels.to(int64).to_vector<int64_t>();
  std::vector<int64_t> indices;
  for (int64_t i = 0; i < std::min<int64_t>(30, static_cast<int64_t>(p.size())); ++i) indices.push_back(i);
  for (size_t i = 30; i < p.size() && indices.size() < 40; ++i) {
    if (p[i] != t[i]) indices.push_back(static_cast<int64_t>(i));
  }
  return indices;
}

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out) fail("cannot write {}", path.string());
}

}  // namespace

RunSummary train_classifier(const ClassifierRun& run, const CommonOptions& o) {
  nn::Module& model = *run.model;
  // Under mpirun: this rank's share of the data, gradients averaged over the ranks (distributed_run.hpp).
  const DistributedRun distributed = DistributedRun::join(run.model);
  const ds::MNIST& full_train = *run.train;
  const ds::MNIST& test = *run.test;
  const ds::Subset train = ds::first_examples(full_train, o.limit > 0 ? o.limit : full_train.size());
  const std::filesystem::path out_dir = o.out.empty() ? std::filesystem::path("out") / run.example : std::filesystem::path(o.out);
  std::filesystem::create_directories(out_dir);

  auto optimizer = make_optimizer(o, model.parameters());
  auto scheduler = make_scheduler(o, *optimizer);
  ds::DataLoader loader(train, {.batch_size = o.batch_size, .shuffle = distributed.sampler(o.seed) == nullptr,
                                .seed = o.seed + static_cast<uint64_t>(distributed.rank()),
                                .sampler = distributed.sampler(o.seed)});

  History history;
  int first_epoch = 0;
  if (!o.resume.empty()) {
    first_epoch = load_checkpoint(o.resume, model, *optimizer, history);
    if (scheduler) scheduler->set_epoch(first_epoch);
    if (distributed.is_main()) fmt::print(stderr, "resumed from {} at epoch {}\n", o.resume, first_epoch + 1);
  }
  if (distributed.is_main() && distributed.ranks() > 1) {
    fmt::print(stderr, "data-parallel on {} ranks: batch {} per rank, {} per step\n", distributed.ranks(), o.batch_size,
               o.batch_size * distributed.ranks());
  }
  if (distributed.is_main()) fmt::print(stderr, "{}: {} on {} ({} training images, {} test), {} parameters, {} threads\n", run.example,
             run.model_description, full_train.name(), train.size(), test.size(), model.parameter_count(), get_num_threads());

  Evaluation evaluation;
  for (int epoch = first_epoch; epoch < o.epochs; ++epoch) {
    loader.set_epoch(epoch);
    ProgressBar progress(fmt::format("epoch {}/{}", epoch + 1, o.epochs), loader.size(), o.batch_size * distributed.ranks());
    double loss_sum = 0.0;
    int64_t correct = 0, seen = 0, step = 0;
    for (ds::Batch& batch : loader) {
      optimizer->zero_grad();
      const Tensor logits = model(model_input(batch.inputs, run.flatten_inputs));
      const Tensor loss = F::cross_entropy(logits, batch.targets);
      loss.backward();
      optimizer->step();
      loss_sum += loss.item() * static_cast<double>(batch.size());
      correct += logits.argmax(1).eq(batch.targets).sum().item<int64_t>();
      seen += batch.size();
      if (distributed.is_main()) progress.update(++step, loss_sum / static_cast<double>(seen), static_cast<double>(correct) / static_cast<double>(seen));
    }
    const double seconds = progress.stop();
    history.train_seconds += seconds;
    if (!distributed.is_main()) {  // rank 0 alone evaluates, reports and checkpoints
      if (scheduler) scheduler->step();
      continue;
    }
    evaluation = evaluate(model, test, run.flatten_inputs);
    progress.finish(fmt::format(" | test loss {:.4f} acc {:.2f}%", evaluation.loss, 100.0 * evaluation.accuracy));
    history.train_loss.push_back(loss_sum / static_cast<double>(std::max<int64_t>(seen, 1)));
    history.train_accuracy.push_back(static_cast<double>(correct) / static_cast<double>(std::max<int64_t>(seen, 1)));
    history.test_loss.push_back(evaluation.loss);
    history.test_accuracy.push_back(evaluation.accuracy);
    history.epoch_seconds.push_back(seconds);
    if (history.seconds_to_99 < 0 && evaluation.accuracy >= 0.99) history.seconds_to_99 = history.train_seconds;
    if (scheduler) scheduler->step();
    if (!o.save.empty()) save_checkpoint(o.save, model, *optimizer, epoch + 1, history);
  }
  if (!distributed.is_main()) return {0.0, history.train_seconds, out_dir.string()};
  if (!evaluation.predicted.defined()) evaluation = evaluate(model, test, run.flatten_inputs);  // resumed at the end

  // ---- report: table, pictures, metrics
  ConfusionMatrix matrix(test.num_classes());
  matrix.add(evaluation.predicted, test.labels().to(int64));
  fmt::print("\n{}", matrix.table(test.class_names()));

  const auto& names = full_train.class_names();
  std::vector<std::string> captions;
  for (int64_t i = 0; i < 40; ++i) captions.push_back(names[static_cast<size_t>(full_train.labels().at<int64_t>({i}))]);
  ds::image_grid(full_train.images().narrow(0, 0, 40), captions,
                 {.columns = 10, .title = full_train.name() + " training samples"})
      .save_png((out_dir / "samples.png").string());
  const Tensor shown = from_vector(picture_indices(evaluation.predicted, test.labels()));
  ds::predictions_grid(index_select(test.images(), 0, shown), index_select(evaluation.predicted, 0, shown),
                       index_select(test.labels().to(int64), 0, shown), names,
                       {.columns = 10, .title = run.example + " predictions (first 30, then mistakes)"})
      .save_png((out_dir / "predictions.png").string());
  ds::confusion_matrix_chart(evaluation.counts, names, run.example + " confusion matrix (test set)")
      .save_png((out_dir / "confusion.png").string());
  write_text(out_dir / "confusion.csv", matrix.csv(names));
  std::vector<double> train_percent, test_percent;
  for (double a : history.train_accuracy) train_percent.push_back(100 * a);
  for (double a : history.test_accuracy) test_percent.push_back(100 * a);
  ds::hstack({ds::line_chart({{"train", history.train_loss}, {"test", history.test_loss}},
                             {.title = "Loss", .y_label = "cross-entropy"}),
              ds::line_chart({{"train", train_percent}, {"test", test_percent}},
                             {.title = "Accuracy", .y_label = "percent"})},
             10)
      .save_png((out_dir / "curves.png").string());

  std::string per_class;
  for (int64_t c = 0; c < matrix.classes(); ++c) {
    per_class += fmt::format("{}    {{\"class\": \"{}\", \"precision\": {}, \"recall\": {}, \"f1\": {}}}", c ? ",\n" : "",
                             names[static_cast<size_t>(c)], json_number(matrix.precision(c)),
                             json_number(matrix.recall(c)), json_number(matrix.f1(c)));
  }
  const double rss = peak_rss_mb();
  write_text(out_dir / "metrics.json",
             fmt::format("{{\n  \"example\": \"{}\",\n  \"model\": \"{}\",\n  \"dataset\": \"{}\",\n  \"epochs\": {},\n"
                         "  \"train_images\": {},\n  \"train_seconds\": {},\n  \"test_accuracy\": {},\n  \"test_loss\": {},\n"
                         "  \"seconds_to_99\": {},\n  \"peak_rss_mb\": {},\n  \"history\": {{\n    \"train_loss\": {},\n"
                         "    \"train_accuracy\": {},\n    \"test_loss\": {},\n    \"test_accuracy\": {},\n"
                         "    \"epoch_seconds\": {}\n  }},\n  \"per_class\": [\n{}\n  ]\n}}\n",
                         run.example, run.model_description, full_train.name(), o.epochs, train.size(),
                         json_number(history.train_seconds), json_number(evaluation.accuracy), json_number(evaluation.loss),
                         history.seconds_to_99 >= 0 ? json_number(history.seconds_to_99) : "null", json_number(rss),
                         json_array(history.train_loss), json_array(history.train_accuracy), json_array(history.test_loss),
                         json_array(history.test_accuracy), json_array(history.epoch_seconds), per_class));
  fmt::print("test accuracy {:.2f}% after {} epochs ({:.1f} s training); pictures and metrics in {}/\n",
             100 * evaluation.accuracy, o.epochs, history.train_seconds, out_dir.string());
  if (o.json) {
    std::string line = fmt::format("{{\"example\":\"{}\",\"model\":\"{}\",\"epochs\":{},\"train_seconds\":{},\"test_accuracy\":{}",
                                   run.example, run.model_description, o.epochs, json_number(history.train_seconds),
                                   json_number(evaluation.accuracy));
    if (run.report_seconds_to_99) {
      line += fmt::format(",\"seconds_to_99\":{}", history.seconds_to_99 >= 0 ? json_number(history.seconds_to_99) : "null");
    }
    line += fmt::format(",\"ranks\":{},\"peak_rss_mb\":{}}}", distributed.ranks(), json_number(rss));
    fmt::print("{}\n", line);
  }
  return {evaluation.accuracy, history.train_seconds, out_dir.string()};
}

}  // namespace nabla::examples
