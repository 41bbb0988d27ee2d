#include "classifier.hpp"

#include <sys/resource.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>

#include "checkpoint.hpp"
#include "distributed_run.hpp"
#include "metrics.hpp"
#include "nabla/datasets/picture_scale.hpp"
#include "progress.hpp"

namespace nabla::examples {

namespace ds = nabla::datasets;
namespace F = nabla::nn::functional;

void add_common_flags(CLI::App& app, CommonOptions& o) {
  app.add_option("--data", o.data, "dataset directory (default: search $NABLA_DATA, ./data, ../shared/data, ...)");
  app.add_option("--epochs", o.epochs, "training epochs")->capture_default_str()->check(cli::at_least(1));
  app.add_option("--batch-size", o.batch_size, "examples per training step")->capture_default_str()->check(cli::at_least(1));
  app.add_option("--lr", o.lr, "learning rate")->capture_default_str()->check(cli::greater_than(0));
  app.add_option("--optimizer", o.optimizer, "sgd, adam, adamw or rmsprop")
      ->capture_default_str()
      ->check(cli::one_of({"sgd", "adam", "adamw", "rmsprop"}));
  app.add_option("--momentum", o.momentum, "momentum (sgd, rmsprop)")->capture_default_str()->check(cli::in_range(0, 1));
  app.add_option("--weight-decay", o.weight_decay, "weight decay")->capture_default_str()->check(cli::at_least(0));
  app.add_option("--schedule", o.schedule,
                 "learning-rate schedule: none, cosine, step (x0.1 every third of the run) or onecycle (per batch: "
                 "up to --lr over the first 30 % of the steps, then far down; OneCycleLR)")
      ->capture_default_str()
      ->check(cli::one_of({"none", "cosine", "step", "onecycle"}));
  app.add_option("--threads", o.threads, "threads (0: all cores)")->capture_default_str()->check(cli::at_least(0));
  app.add_option("--seed", o.seed, "seed for initialisation, shuffling and dropout")->capture_default_str();
  app.add_option("--limit", o.limit, "train on the first N images only (0: all)")->capture_default_str()->check(cli::at_least(0));
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

// The schedule of --schedule. Every one steps once per epoch except onecycle, which steps after
// every batch (steps_per_epoch of them per epoch).
std::unique_ptr<nn::Scheduler> make_scheduler(const CommonOptions& o, nn::Optimizer& optimizer, int64_t steps_per_epoch) {
  if (o.schedule == "onecycle") {
    return std::make_unique<nn::OneCycleLR>(
        optimizer, nn::OneCycleLROptions{.max_lr = o.lr, .epochs = o.epochs, .steps_per_epoch = steps_per_epoch});
  }
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

// Evaluates the test set with a progress bar of its own ("evaluating", redrawn on a terminal only).
Evaluation evaluate(nn::Module& model, const ds::MNIST& test, bool flatten) {
  model.eval();
  NoGradGuard no_grad;
  // 200 at a time: as fast as 1000 (measured on the cnn), at a third of the peak memory.
  constexpr int64_t kBatch = 200;
  ds::DataLoader loader(test, {.batch_size = kBatch});
  ProgressBar progress("  evaluating", loader.size(), kBatch);
  Evaluation result;
  result.counts = zeros({test.num_classes(), test.num_classes()}, int64);
  std::vector<Tensor> predictions;
  double total_loss = 0.0;
  int64_t seen = 0, correct = 0, step = 0;
  for (ds::Batch& batch : loader) {
    const Tensor logits = model(model_input(batch.inputs, flatten));
    total_loss += F::cross_entropy(logits, batch.targets, {.reduction = F::Reduction::sum}).item();
    Tensor predicted = logits.argmax(1);
    result.counts.add_(ds::confusion_matrix(predicted, batch.targets, test.num_classes()));
    predictions.push_back(predicted);
    seen += batch.size();
    correct += predicted.eq(batch.targets).sum().item<int64_t>();
    progress.update(++step, total_loss / static_cast<double>(seen), static_cast<double>(correct) / static_cast<double>(seen));
  }
  model.train();
  result.predicted = concat(predictions, 0);
  result.loss = total_loss / static_cast<double>(test.size());
  result.accuracy = sum(eq(result.predicted, test.labels().to(int64))).item<double>() / static_cast<double>(test.size());
  return result;
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

// ---- pictures (issue 18): titled with program, model and date; drawn at 2x so that text stays
// readable when a PNG is shown at half size.
constexpr int kPictureScale = 2;
constexpr int kCurvePointsPerEpoch = 20;

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M UTC", &utc);
  return text;
}

void save_picture(const ds::Canvas& canvas, const std::filesystem::path& path) {
  ds::scaled(canvas, kPictureScale).save_png(path.string());
}

// The training curve at kCurvePointsPerEpoch points per epoch: each point the mean loss and
// accuracy of the batches since the last one, at x = the fraction of epochs done.
struct FineCurve {
  std::vector<double> x, loss, accuracy;
  double loss_sum = 0.0;
  int64_t correct = 0, seen = 0;
  void add(double batch_loss, int64_t batch_correct, int64_t batch_size) {
    loss_sum += batch_loss * static_cast<double>(batch_size);
    correct += batch_correct;
    seen += batch_size;
  }
  void point_if_due(int epoch, int64_t step, int64_t steps) {
    const int64_t every = std::max<int64_t>(1, steps / kCurvePointsPerEpoch);
    if (seen == 0 || (step % every != 0 && step != steps)) return;
    x.push_back(epoch + static_cast<double>(step) / static_cast<double>(steps));
    loss.push_back(loss_sum / static_cast<double>(seen));
    accuracy.push_back(100.0 * static_cast<double>(correct) / static_cast<double>(seen));
    loss_sum = 0.0, correct = 0, seen = 0;
  }
};

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
  cli::create_output_directory(out_dir, "--out");

  auto optimizer = make_optimizer(o, model.parameters());
  ds::DataLoader loader(train, {.batch_size = o.batch_size, .shuffle = distributed.sampler(o.seed) == nullptr,
                                .seed = o.seed + static_cast<uint64_t>(distributed.rank()),
                                .sampler = distributed.sampler(o.seed)});
  const int64_t steps_per_epoch = loader.size();
  auto scheduler = make_scheduler(o, *optimizer, steps_per_epoch);
  const bool schedule_per_batch = o.schedule == "onecycle";

  History history;
  int first_epoch = 0;
  if (!o.resume.empty()) {
    // load_checkpoint checks every entry before it changes anything (examples/common/checkpoint.hpp).
    first_epoch = static_cast<int>(load_checkpoint(o.resume, model, *optimizer, history));
    if (scheduler) scheduler->set_epoch(schedule_per_batch ? first_epoch * steps_per_epoch : first_epoch);
    if (distributed.is_main()) fmt::print(stderr, "resumed from {} at epoch {}\n", o.resume, first_epoch + 1);
  }
  if (distributed.is_main() && distributed.ranks() > 1) {
    fmt::print(stderr, "data-parallel on {} ranks: batch {} per rank, {} per step\n", distributed.ranks(), o.batch_size,
               o.batch_size * distributed.ranks());
  }
  if (distributed.is_main()) fmt::print(stderr, "{}: {} on {} ({} training images, {} test), {} parameters, {} threads\n", run.example,
             run.model_description, full_train.name(), train.size(), test.size(), model.parameter_count(), get_num_threads());

  Evaluation evaluation;
  FineCurve curve;  // this run's epochs (a resumed run's earlier epochs are in history, one point each)
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
      if (scheduler && schedule_per_batch) scheduler->step();
      const int64_t batch_correct = logits.argmax(1).eq(batch.targets).sum().item<int64_t>();
      loss_sum += loss.item() * static_cast<double>(batch.size());
      correct += batch_correct;
      seen += batch.size();
      curve.add(loss.item(), batch_correct, batch.size());
      curve.point_if_due(epoch, ++step, loader.size());
      if (distributed.is_main()) progress.update(step, loss_sum / static_cast<double>(seen), static_cast<double>(correct) / static_cast<double>(seen));
    }
    const double seconds = progress.stop();
    history.train_seconds += seconds;
    if (!distributed.is_main()) {  // rank 0 alone evaluates, reports and checkpoints
      if (scheduler && !schedule_per_batch) scheduler->step();
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
    if (scheduler && !schedule_per_batch) scheduler->step();
    if (!o.save.empty()) save_checkpoint(o.save, model, *optimizer, epoch + 1, history);
  }
  if (!distributed.is_main()) return {0.0, history.train_seconds, out_dir.string()};
  if (!evaluation.predicted.defined()) evaluation = evaluate(model, test, run.flatten_inputs);  // resumed at the end

  // ---- report: table, pictures, metrics
  ConfusionMatrix matrix(test.num_classes());
  matrix.add(evaluation.predicted, test.labels().to(int64));
  // With --json the JSON line is all that goes to stdout (prog --json | jq); the report goes to stderr.
  std::FILE* const report = o.json ? stderr : stdout;
  fmt::print(report, "\n{}", matrix.table(test.class_names()));

  const auto& names = full_train.class_names();
  const std::string heading = fmt::format("{}: {} on {}, {}", run.example, run.model_description, full_train.name(), utc_now());
  std::vector<std::string> captions;
  for (int64_t i = 0; i < 40; ++i) captions.push_back(names[static_cast<size_t>(full_train.labels().at<int64_t>({i}))]);
  save_picture(ds::image_grid(full_train.images().narrow(0, 0, 40), captions,
                              {.columns = 10, .title = full_train.name() + " training samples (the first 40)"}),
               out_dir / "samples.png");
  const std::vector<int64_t> picked = picture_indices(evaluation.predicted, test.labels());
  const int64_t first_rows = std::min<int64_t>(30, test.size());
  const int64_t mistakes = test.size() - sum(eq(evaluation.predicted, test.labels().to(int64))).item<int64_t>();
  const Tensor shown = from_vector(picked);
  save_picture(ds::predictions_grid(index_select(test.images(), 0, shown), index_select(evaluation.predicted, 0, shown),
                                    index_select(test.labels().to(int64), 0, shown), names,
                                    {.columns = 10,
                                     .title = fmt::format("{}\nthe first {} test images; last row: {} of the {} test mistakes",
                                                          heading, first_rows,
                                                          static_cast<int64_t>(picked.size()) - first_rows, mistakes)}),
               out_dir / "predictions.png");
  save_picture(ds::confusion_matrix_chart(evaluation.counts, names,
                                          fmt::format("{} confusion matrix, {} test set\n{}", run.example,
                                                      full_train.name(), run.model_description)),
               out_dir / "confusion.png");
  write_text(out_dir / "confusion.csv", matrix.csv(names));
  // Training: kCurvePointsPerEpoch points per epoch of this run (one per epoch before a resume);
  // test: one point at the end of each epoch.
  std::vector<double> train_x, train_loss, train_percent, test_x, test_percent;
  for (size_t e = 0; e < static_cast<size_t>(first_epoch) && e < history.train_loss.size(); ++e) {
    train_x.push_back(static_cast<double>(e + 1));
    train_loss.push_back(history.train_loss[e]);
    train_percent.push_back(100 * history.train_accuracy[e]);
  }
  train_x.insert(train_x.end(), curve.x.begin(), curve.x.end());
  train_loss.insert(train_loss.end(), curve.loss.begin(), curve.loss.end());
  train_percent.insert(train_percent.end(), curve.accuracy.begin(), curve.accuracy.end());
  for (size_t e = 0; e < history.test_accuracy.size(); ++e) {
    test_x.push_back(static_cast<double>(e + 1));
    test_percent.push_back(100 * history.test_accuracy[e]);
  }
  const ds::Canvas charts =
      ds::hstack({ds::line_chart({{"train (per 1/20 epoch)", train_loss, train_x}, {"test (end of epoch)", history.test_loss, test_x}},
                                 {.title = "Loss", .y_label = "cross-entropy", .x_start = 0}),
                  ds::line_chart({{"train (per 1/20 epoch)", train_percent, train_x}, {"test (end of epoch)", test_percent, test_x}},
                                 {.title = "Accuracy", .y_label = "percent", .x_start = 0})},
                 10);
  save_picture(ds::vstack({ds::text_banner(heading, charts.width()), charts}), out_dir / "curves.png");

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
  const std::string reached_99 = run.report_seconds_to_99 && history.seconds_to_99 >= 0
                                     ? fmt::format(", 99 % reached after {:.1f} s", history.seconds_to_99)
                                     : std::string();
  fmt::print(report, "test accuracy {:.2f}% after {} epochs ({:.1f} s training{}); pictures and metrics in {}/\n",
             100 * evaluation.accuracy, o.epochs, history.train_seconds, reached_99, out_dir.string());
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
