// nabla-bench: trains one of the three reference MNIST workloads and prints ONE JSON line on stdout
// with the keys of the libtorch anchor (shared/anchors/libtorch/mnist_bench.cpp), so the two can
// be compared line for line. Progress goes to stderr.
//
//   nabla-bench --model {mlp30,mlp,cnn,lstm,vit,dcgan} --epochs N --threads T [--data DIR] [--limit N]
//               [--seed S] [--eval-reps R] [--prefetch P] [--skip-eval]
//
// The workloads (identical to the anchor's):
//   mlp30: Linear(784,30)-Sigmoid-Linear(30,10); SGD lr 0.1, no momentum; batch 10; inputs in [0,1].
//   mlp:   Linear(784,512)-ReLU-Linear(512,256)-ReLU-Linear(256,10); Adam lr 1e-3; batch 64;
//          inputs (x/255 - 0.1307)/0.3081.
//   cnn:   Conv2d(1,32,3)-ReLU-Conv2d(32,64,3)-ReLU-MaxPool2d(2)-Flatten-Linear(9216,128)-ReLU-
//          Linear(128,10); Adam lr 1e-3; batch 64; same normalisation.
//   lstm:  row-by-row MNIST: the 28 rows of an image are 28 time steps of 28 pixels ->
//          LSTM(28, 128, batch_first) -> the hidden state after the last row -> Linear(128,10);
//          Adam lr 1e-3; batch 64; same normalisation.
//   vit:   a tiny vision transformer: 16 non-overlapping 7x7 patches (patch 4*pr + pc, pixels
//          row-major within it, made once before training as the anchor does) -> Linear(49,64) +
//          a learned position table [16,64] ~ N(0, 0.02^2) -> 2 post-norm TransformerEncoderLayers
//          (d_model 64, 4 heads, feed-forward 128, relu, dropout 0, initialised independently) ->
//          mean over the tokens -> LayerNorm(64) -> Linear(64,10); Adam lr 1e-3; batch 64.
//   dcgan: pytorch/examples' cpp/dcgan on MNIST scaled to [-1, 1]: a generator of four
//          ConvTranspose2d (noise [B,100,1,1] -> 4x4 -> 7x7 -> 14x14 -> 28x28, BatchNorm2d + ReLU
//          between, Tanh at the end) and a discriminator of four Conv2d (LeakyReLU(0.2), BatchNorm2d
//          on the middle two, Sigmoid at the end), no biases; BCE; two Adams lr 2e-4, betas 0.5/0.999;
//          batch 64; real labels ~ U(0.8, 1.0). The exact layers and step are in bench/dcgan_libtorch.cpp's
//          header (the libtorch side); its "evaluation" is sampling 10k images at batch 1000.
// Softmax cross-entropy (mean). The training set is shuffled every epoch from a fixed seed and the
// last partial batch is kept. Only the training loop is timed (zero_grad, forward, loss, backward,
// step, loss.item(), and taking the next batch from the DataLoader, whose background thread
// converts it from uint8 while the step runs). Evaluation runs the 10k test images at batch 200
// (--eval-batch; the libtorch side uses 1000) under NoGradGuard + eval(): one warm-up pass, then
// --eval-reps timed passes, median reported. Batch 200 evaluates as fast as 1000 (cnn, 2 threads:
// 11.9-14.0k against 12.6-12.8k images/s) and keeps the run's peak memory near the training's
// (cnn: 228 MB against 622 MB at batch 1000, whose activations alone are ~300 MB).
//
// Under mpirun (issue 16; nabla built with MPI): `mpirun -np N nabla-bench --model cnn ...` trains
// data-parallel — each rank its 1/N of every epoch (DistributedSampler) at batch 64, gradients
// averaged by DistributedDataParallel — and rank 0 prints the JSON line, whose images per second are
// the whole job's (the epoch's images over the slowest rank's time), with "ranks" and, given
// --single-rank-images-per-second from a one-rank run, "scaling_efficiency".
//
// The program uses nabla the way a user would: nn::Sequential of nn layers, nn::functional::
// cross_entropy, nn::SGD/Adam, datasets::MNIST + DataLoader. Nothing bypasses autograd or nn.
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <cli.hpp>
#include <cblas.h>  // openblas_get_num_threads, to report what OpenBLAS was really told
#include <fmt/format.h>

#include "nabla/nabla.hpp"
#ifdef NABLA_BENCH_DISTRIBUTED
#include "nabla/distributed.hpp"
#endif

namespace {

using namespace nabla;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string model = "mlp";
  int epochs = 1;
  int threads = 1;
  std::string data;  // "" = datasets::find_mnist_dir's search
  int64_t limit = 0;
  uint64_t seed = 1;
  int eval_reps = 3;
  int64_t eval_batch = 200;  // test images per forward pass in evaluation (see the header)
  int64_t prefetch = datasets::DataLoaderOptions{}.prefetch;
  bool skip_eval = false;  // for profiling the training loop alone
  double single_rank_images_per_second = 0;  // under mpirun: the one-rank figure, for scaling efficiency
};

// The job this process belongs to: one process, or rank `rank` of `ranks` under mpirun.
struct Job {
  int rank = 0;
  int ranks = 1;
  bool distributed = false;
};

Job join_job() {
  Job job;
#ifdef NABLA_BENCH_DISTRIBUTED
  if (distributed::launched()) {
    distributed::init();
    job = {distributed::rank(), distributed::world_size(), true};
  }
#endif
  return job;
}

// The slowest rank's value (all ranks call it together); the value itself in one process.
double slowest(const Job& job, double seconds) {
#ifdef NABLA_BENCH_DISTRIBUTED
  if (job.distributed) {
    Tensor value = full({1}, seconds, float64);
    distributed::all_reduce(value, distributed::ReduceOp::max);
    return value.item<double>();
  }
#endif
  return seconds;
}

// Training work per image (forward + dW + dX), from shared/anchors/RESULTS.md section 4. Used only
// to express the measured time as an effective GFLOP/s.
double train_flop_per_image(const std::string& model) {
  if (model == "mlp30") return 95.9e3;
  if (model == "mlp") return 2.41e6;
  if (model == "lstm") {
    // Per image and step: gates 2*512*(28+128) forward, twice that backward (dW and dh; no dx).
    return 28 * 3 * 2.0 * 512 * (28 + 128) + 3 * 2.0 * 128 * 10;
  }
  if (model == "dcgan") {
    // Multiply-adds per image: generator 0.41M + 4.72M + 6.42M + 0.20M = 11.75M, discriminator
    // 0.20M + 6.42M + 4.72M + 0.002M = 11.34M. A step runs D forward and backward three times (real,
    // fake, the generator's pass) and G forward once and backward once: ~9 D + 3 G passes' worth.
    return 2.0 * (9 * 11.34e6 + 3 * 11.75e6);
  }
  if (model == "vit") {
    // Forward per image: the embedding 2*16*49*64, per layer the projections in and out
    // 2*16*64*(192+64), attention 2*2*4*16*16*16, the feed-forward 2*2*16*64*128; training ~3x.
    const double layer = 2.0 * 16 * 64 * (192 + 64) + 2 * 2.0 * 4 * 16 * 16 * 16 + 2 * 2.0 * 16 * 64 * 128;
    return 3 * (2.0 * 16 * 49 * 64 + 2 * layer + 2.0 * 64 * 10);
  }
  return 71.6e6;
}

// The vit workload (see the header): tokens [B, 16, 49] -> logits [B, 10].
struct TinyVit : nn::Module {
  nn::Shared<nn::Linear> embed = register_module("embed", nn::Linear(49, 64));
  Tensor pos = register_parameter("pos", nn::init::normal_(empty({16, 64}), 0.0, 0.02));
  nn::Shared<nn::TransformerEncoderLayer> enc1 = register_module("enc1", nn::TransformerEncoderLayer(layer_options()));
  nn::Shared<nn::TransformerEncoderLayer> enc2 = register_module("enc2", nn::TransformerEncoderLayer(layer_options()));
  nn::Shared<nn::LayerNorm> norm = register_module("norm", nn::LayerNorm(Shape{64}));
  nn::Shared<nn::Linear> head = register_module("head", nn::Linear(64, 10));

  static nn::TransformerLayerOptions layer_options() {
    return {.d_model = 64, .nhead = 4, .dim_feedforward = 128, .dropout = 0.0, .batch_first = true};
  }
  Tensor forward(const Tensor& tokens) override {
    Tensor h = embed(tokens) + pos;  // [B, 16, 64]
    h = enc2(enc1(h));
    return head(norm(h.mean({1})));
  }
};

// The images as the vit's tokens, made once: [N, 28, 28] bytes -> [N, 16, 49] normalised floats.
Tensor patches(const Tensor& images) {
  const Tensor tokens = images.reshape({-1, 4, 7, 4, 7}).permute({0, 1, 3, 2, 4}).reshape({-1, 16, 49});
  return ((tokens.to(float32) / 255.0 - 0.1307) / 0.3081).contiguous();
}

// The lstm workload: the rows of an image as a sequence, the last hidden state classified.
struct RowLstm : nn::Module {
  nn::Shared<nn::LSTM> lstm = register_module("lstm", nn::LSTM({.input_size = 28, .hidden_size = 128, .batch_first = true}));
  nn::Shared<nn::Linear> fc = register_module("fc", nn::Linear(128, 10));
  Tensor forward(const Tensor& images) override {
    auto [output, state] = lstm(images.view({-1, 28, 28}));
    return fc(std::get<0>(state).select(0, 0));  // h after the last row: [B, 128]
  }
};

std::shared_ptr<nn::Module> make_model(const std::string& name) {
  if (name == "mlp30") return nn::Shared<nn::Sequential>(nn::Sequential{nn::Linear(784, 30), nn::Sigmoid(), nn::Linear(30, 10)});
  if (name == "mlp") {
    return nn::Shared<nn::Sequential>(nn::Sequential{nn::Linear(784, 512), nn::ReLU(), nn::Linear(512, 256), nn::ReLU(),
                                                     nn::Linear(256, 10)});
  }
  if (name == "lstm") return nn::make<RowLstm>();
  if (name == "vit") return nn::make<TinyVit>();
  return nn::Shared<nn::Sequential>(nn::Sequential{nn::Conv2d(1, 32, 3), nn::ReLU(), nn::Conv2d(32, 64, 3), nn::ReLU(),
                                                   nn::MaxPool2d(2), nn::Flatten(), nn::Linear(9216, 128), nn::ReLU(),
                                                   nn::Linear(128, 10)});
}

// The MNIST batch is [B, 1, 28, 28]; the perceptrons take [B, 784] (a view, no copy).
Tensor model_input(const Tensor& images, const std::string& model) {
  return model == "mlp30" || model == "mlp" ? images.reshape({-1, 784}) : images;  // vit: tokens already
}

// getrusage's high-water mark of the resident set (KiB on Linux).
double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

std::string json_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

struct EpochResult {
  double seconds = 0;
  double data_wait_seconds = 0;  // of which: waiting for the DataLoader's next batch
  double mean_loss = 0;
};

EpochResult train_epoch(nn::Module& model, nn::Optimizer& optimizer, datasets::DataLoader& loader,
                        const std::string& model_name) {
  model.train();
  EpochResult result;
  double loss_sum = 0;
  int64_t steps = 0;
  // begin() shuffles (and starts the prefetch thread, if any); the clock starts after it,
  // as the anchor starts its clock after the epoch's shuffle.
  auto batch = loader.begin();
  const auto start = Clock::now();
  while (batch != loader.end()) {
    optimizer.zero_grad();
    Tensor logits = model.forward(model_input(batch->inputs, model_name));
    Tensor loss = nn::functional::cross_entropy(logits, batch->targets);
    loss.backward();
    optimizer.step();
    loss_sum += loss.item<float>();
    ++steps;
    const auto fetch_start = Clock::now();
    ++batch;
    result.data_wait_seconds += seconds_since(fetch_start);
  }
  result.seconds = seconds_since(start);
  result.mean_loss = loss_sum / static_cast<double>(steps);
  return result;
}

// Number of test images classified correctly. The test set stays bytes and each batch of 1000
// is converted as it is needed, as a user's evaluation loop would (about 0.1 % of the time).
int64_t count_correct(nn::Module& model, datasets::DataLoader& test_loader, const std::string& model_name) {
  int64_t correct = 0;
  for (const datasets::Batch& batch : test_loader) {
    const Tensor predictions = model.forward(model_input(batch.inputs, model_name)).argmax(1);
    // eq gives a bool mask; sum counts it in int64.
    correct += sum(eq(predictions, batch.targets)).item<int64_t>();
  }
  return correct;
}

// ---- the dcgan workload (two networks and their own step; see the header and dcgan_libtorch.cpp)

constexpr int64_t kDcganNoise = 100;

// CPU seconds of the whole process (all threads), to compare runs on a busy machine.
double process_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

nn::Shared<nn::Sequential> dcgan_generator() {
  auto up = [](int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding) {
    return nn::ConvTranspose2d({.in_channels = in, .out_channels = out, .kernel_size = kernel, .stride = stride,
                                .padding = padding, .bias = false});
  };
  return nn::Sequential{up(kDcganNoise, 256, 4, 1, 0), nn::BatchNorm2d(256), nn::ReLU(),
                        up(256, 128, 3, 2, 1),         nn::BatchNorm2d(128), nn::ReLU(),
                        up(128, 64, 4, 2, 1),          nn::BatchNorm2d(64),  nn::ReLU(),
                        up(64, 1, 4, 2, 1),            nn::Tanh()};
}

nn::Shared<nn::Sequential> dcgan_discriminator() {
  auto down = [](int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding) {
    return nn::Conv2d({.in_channels = in, .out_channels = out, .kernel_size = kernel, .stride = stride,
                       .padding = padding, .bias = false});
  };
  return nn::Sequential{down(1, 64, 4, 2, 1),    nn::LeakyReLU(0.2),
                        down(64, 128, 4, 2, 1),  nn::BatchNorm2d(128), nn::LeakyReLU(0.2),
                        down(128, 256, 4, 2, 1), nn::BatchNorm2d(256), nn::LeakyReLU(0.2),
                        down(256, 1, 3, 1, 0),   nn::Sigmoid()};
}

int run_dcgan(const Options& options) {
  namespace F = nn::functional;
  set_num_threads(options.threads);
  manual_seed(options.seed);
  const int64_t batch_size = 64;

  // ---- data (not timed): MNIST scaled to [-1, 1]
  const auto data_dir = datasets::find_mnist_dir(options.data);
  const datasets::MNIST train_full(data_dir, datasets::Split::train, datasets::Normalize{0.5, 0.5});
  const datasets::Subset train = datasets::first_examples(
      train_full, options.limit > 0 ? std::min(options.limit, train_full.size()) : train_full.size());
  datasets::DataLoader loader(
      train, {.batch_size = batch_size, .shuffle = true, .seed = options.seed, .prefetch = options.prefetch});
  fmt::print(stderr, "nabla-bench: dcgan on {} ({} training images), {} thread(s), OpenBLAS {} core\n",
             data_dir.string(), train.size(), options.threads, blas_core_name());

  nn::Shared<nn::Sequential> generator = dcgan_generator();
  nn::Shared<nn::Sequential> discriminator = dcgan_discriminator();
  nn::Adam g_optimizer(generator->parameters(), {.lr = 2e-4, .beta1 = 0.5, .beta2 = 0.999});
  nn::Adam d_optimizer(discriminator->parameters(), {.lr = 2e-4, .beta1 = 0.5, .beta2 = 0.999});

  // ---- training (timed)
  std::vector<EpochResult> epochs;
  double cpu_seconds = 0, g_loss_mean = 0;
  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    generator->train();
    discriminator->train();
    EpochResult result;
    double d_sum = 0, g_sum = 0;
    int64_t steps = 0;
    auto batch = loader.begin();
    const auto start = Clock::now();
    const double cpu_start = process_cpu_seconds();
    while (batch != loader.end()) {
      const Tensor& real = batch->inputs;  // [b, 1, 28, 28]
      const int64_t b = real.size(0);
      // Discriminator: real images towards (smoothed) 1, generated ones towards 0.
      d_optimizer.zero_grad();
      const Tensor d_loss_real = F::binary_cross_entropy(discriminator(real).view({b}), uniform({b}, 0.8, 1.0));
      d_loss_real.backward();
      const Tensor fake = generator(randn({b, kDcganNoise, 1, 1}));
      const Tensor d_loss_fake = F::binary_cross_entropy(discriminator(fake.detach()).view({b}), zeros({b}));
      d_loss_fake.backward();
      d_optimizer.step();
      // Generator: make the discriminator call its images real.
      g_optimizer.zero_grad();
      const Tensor g_loss = F::binary_cross_entropy(discriminator(fake).view({b}), ones({b}));
      g_loss.backward();
      g_optimizer.step();

      d_sum += d_loss_real.item<float>() + d_loss_fake.item<float>();
      g_sum += g_loss.item<float>();
      ++steps;
      const auto fetch_start = Clock::now();
      ++batch;
      result.data_wait_seconds += seconds_since(fetch_start);
    }
    result.seconds = seconds_since(start);
    cpu_seconds += process_cpu_seconds() - cpu_start;
    result.mean_loss = d_sum / static_cast<double>(steps);
    g_loss_mean = g_sum / static_cast<double>(steps);
    epochs.push_back(result);
    fmt::print(stderr, "epoch {}: {:.3f} s ({:.3f} s waiting for data), mean D loss {:.4f}, mean G loss {:.4f}\n",
               epoch + 1, result.seconds, result.data_wait_seconds, result.mean_loss, g_loss_mean);
  }
  const double train_peak_rss = peak_rss_mb();

  // ---- sampling throughput: 10k images at batch 1000, eval mode, no grad
  generator->eval();
  NoGradGuard no_grad;
  std::vector<double> sample_seconds;
  for (int rep = 0; rep <= options.eval_reps && !options.skip_eval; ++rep) {  // rep 0 warms up
    const auto start = Clock::now();
    for (int i = 0; i < 10; ++i) generator(randn({1000, kDcganNoise, 1, 1}));
    if (rep > 0) sample_seconds.push_back(seconds_since(start));
  }

  double seconds_sum = 0, wait_sum = 0;
  for (const EpochResult& e : epochs) {
    seconds_sum += e.seconds;
    wait_sum += e.data_wait_seconds;
  }
  const double n_train = static_cast<double>(train.size());
  const double seconds_per_epoch = seconds_sum / static_cast<double>(epochs.size());
  const char* coretype_env = std::getenv("OPENBLAS_CORETYPE");
  std::string json;
  auto out = std::back_inserter(json);
  fmt::format_to(out, "{{\"framework\":\"nabla-{}\",\"model\":\"dcgan\",\"threads\":{},\"batch\":{},\"epochs\":{}",
                 NABLA_BENCH_VERSION, options.threads, batch_size, options.epochs);
  fmt::format_to(out, ",\"train_images\":{},\"test_images\":0", train.size());
  fmt::format_to(out, ",\"train_seconds_per_epoch\":{:.4f},\"train_seconds_per_60k\":{:.4f}", seconds_per_epoch,
                 seconds_per_epoch * 60000.0 / n_train);
  fmt::format_to(out, ",\"train_images_per_second\":{:.4f}", n_train / seconds_per_epoch);
  fmt::format_to(out, ",\"final_epoch_train_loss\":{:.4f},\"test_accuracy\":null", epochs.back().mean_loss);
  if (options.skip_eval) {
    fmt::format_to(out, ",\"eval_images_per_second\":null");
  } else {
    fmt::format_to(out, ",\"eval_images_per_second\":{:.4f}", 10000.0 / median(sample_seconds));
  }
  fmt::format_to(out, ",\"peak_rss_mb\":{:.4f}", peak_rss_mb());
  fmt::format_to(out, ",\"blas_core\":\"{}\",\"blas_threads\":{}", json_escape(blas_core_name()),
                 openblas_get_num_threads());
  fmt::format_to(out, ",\"final_epoch_d_loss\":{:.4f},\"final_epoch_g_loss\":{:.4f}", epochs.back().mean_loss,
                 g_loss_mean);
  fmt::format_to(out, ",\"train_cpu_seconds_per_60k\":{:.4f}",
                 cpu_seconds / static_cast<double>(epochs.size()) * 60000.0 / n_train);
  fmt::format_to(out, ",\"train_peak_rss_mb\":{:.4f}", train_peak_rss);
  fmt::format_to(out, ",\"gflops_effective\":{:.4f}",
                 train_flop_per_image("dcgan") * n_train / seconds_per_epoch / 1e9);
  fmt::format_to(out, ",\"data_wait_seconds_per_epoch\":{:.4f}", wait_sum / static_cast<double>(epochs.size()));
  fmt::format_to(out, ",\"openblas_coretype_env\":\"{}\"}}", json_escape(coretype_env ? coretype_env : ""));
  fmt::print("{}\n", json);
  return 0;
}

int run(const Options& options) {
  if (options.model == "dcgan") return run_dcgan(options);
  const Job job = join_job();
  set_num_threads(options.threads);
  manual_seed(options.seed);
  const std::string& model_name = options.model;
  const int64_t batch_size = model_name == "mlp30" ? 10 : 64;
  const datasets::Normalize normalize =
      model_name == "mlp30" ? datasets::Normalize{} : datasets::MNIST::normalization;

  // ---- data (not timed)
  const auto data_dir = nabla::cli::announce_data("MNIST", datasets::find_mnist_dir(options.data));
  const datasets::MNIST train_full(data_dir, datasets::Split::train, normalize);
  const datasets::MNIST test(data_dir, datasets::Split::test, normalize);
  std::optional<datasets::Subset> train_subset;
  if (options.limit > 0 && options.limit < train_full.size()) {
    train_subset.emplace(datasets::first_examples(train_full, options.limit));
  }
  std::optional<datasets::TensorDataset> train_tokens, test_tokens;
  if (model_name == "vit") {  // the patch layout, made before the clock starts (as the anchor's)
    const int64_t n = options.limit > 0 ? std::min(options.limit, train_full.size()) : train_full.size();
    train_tokens.emplace(patches(train_full.images().narrow(0, 0, n)), train_full.labels().narrow(0, 0, n).to(int64));
    test_tokens.emplace(patches(test.images()), test.labels().to(int64));
  }
  const datasets::Dataset& train = train_tokens   ? static_cast<const datasets::Dataset&>(*train_tokens)
                                   : train_subset ? static_cast<const datasets::Dataset&>(*train_subset)
                                                  : static_cast<const datasets::Dataset&>(train_full);
  const datasets::Dataset& test_set = test_tokens ? static_cast<const datasets::Dataset&>(*test_tokens)
                                                  : static_cast<const datasets::Dataset&>(test);
  std::shared_ptr<const datasets::Sampler> share;  // under mpirun: this rank's 1/N of each epoch
  if (job.distributed) {
    share = std::make_shared<datasets::DistributedSampler>(
        datasets::DistributedSamplerOptions{.num_replicas = job.ranks, .rank = job.rank, .seed = options.seed});
  }
  datasets::DataLoader loader(train, {.batch_size = batch_size, .shuffle = !share, .seed = options.seed,
                                      .sampler = share, .prefetch = options.prefetch});
  datasets::DataLoader test_loader(test_set, {.batch_size = options.eval_batch});
  if (job.rank == 0) {
    fmt::print(stderr, "nabla-bench: {} on {} ({} training images, {} test), {} thread(s){}, OpenBLAS {} core\n",
               model_name, data_dir.string(), train.size(), test.size(), options.threads,
               job.distributed ? fmt::format(" x {} ranks", job.ranks) : "", blas_core_name());
  }

  // ---- model and optimiser
  const std::shared_ptr<nn::Module> model_holder = make_model(model_name);
  nn::Module& model = *model_holder;
#ifdef NABLA_BENCH_DISTRIBUTED
  std::optional<distributed::DistributedDataParallel> data_parallel;
  if (job.distributed) data_parallel.emplace(model_holder);
#endif
  std::unique_ptr<nn::Optimizer> optimizer;
  if (model_name == "mlp30") {
    optimizer = std::make_unique<nn::SGD>(model.parameters(), 0.1);
  } else {
    optimizer = std::make_unique<nn::Adam>(model.parameters(), 1e-3);
  }

  // ---- training (timed)
  std::vector<EpochResult> epochs;
  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    epochs.push_back(train_epoch(model, *optimizer, loader, model_name));
    epochs.back().seconds = slowest(job, epochs.back().seconds);  // the job's epoch ends with its slowest rank
    const EpochResult& e = epochs.back();
    if (job.rank == 0) fmt::print(stderr, "epoch {}: {:.3f} s ({:.3f} s waiting for data), mean train loss {:.4f}\n", epoch + 1,
               e.seconds, e.data_wait_seconds, e.mean_loss);
  }
  const double train_peak_rss = peak_rss_mb();
  if (job.rank != 0) return 0;  // rank 0 alone evaluates and reports

  // ---- evaluation
  model.eval();
  NoGradGuard no_grad;
  int64_t correct = 0;
  std::vector<double> eval_seconds;
  for (int rep = 0; rep <= options.eval_reps && !options.skip_eval; ++rep) {  // rep 0 warms up
    const auto start = Clock::now();
    correct = count_correct(model, test_loader, model_name);
    if (rep > 0) eval_seconds.push_back(seconds_since(start));
  }

  // ---- the JSON line
  double seconds_sum = 0, wait_sum = 0;
  for (const EpochResult& e : epochs) {
    seconds_sum += e.seconds;
    wait_sum += e.data_wait_seconds;
  }
  const double n_train = static_cast<double>(train.size());
  const double n_test = static_cast<double>(test.size());
  const double seconds_per_epoch = seconds_sum / epochs.size();
  const char* coretype_env = std::getenv("OPENBLAS_CORETYPE");
  std::string json;
  auto out = std::back_inserter(json);
  fmt::format_to(out, "{{\"framework\":\"nabla-{}\",\"model\":\"{}\",\"threads\":{},\"batch\":{},\"epochs\":{}",
                 NABLA_BENCH_VERSION, model_name, options.threads, batch_size, options.epochs);
  fmt::format_to(out, ",\"train_images\":{},\"test_images\":{}", train.size(), test.size());
  fmt::format_to(out, ",\"train_seconds_per_epoch\":{:.4f},\"train_seconds_per_60k\":{:.4f}", seconds_per_epoch,
                 seconds_per_epoch * 60000.0 / n_train);
  fmt::format_to(out, ",\"train_images_per_second\":{:.4f}", n_train / seconds_per_epoch);
  if (job.distributed) {
    fmt::format_to(out, ",\"ranks\":{}", job.ranks);
    if (options.single_rank_images_per_second > 0) {
      fmt::format_to(out, ",\"scaling_efficiency\":{:.4f}",
                     n_train / seconds_per_epoch / (job.ranks * options.single_rank_images_per_second));
    }
  }
  fmt::format_to(out, ",\"final_epoch_train_loss\":{:.4f}", epochs.back().mean_loss);
  if (options.skip_eval) {
    fmt::format_to(out, ",\"test_accuracy\":null,\"eval_images_per_second\":null");
  } else {
    fmt::format_to(out, ",\"test_accuracy\":{:.4f}", static_cast<double>(correct) / n_test);
    fmt::format_to(out, ",\"eval_images_per_second\":{:.4f},\"eval_batch\":{}", n_test / median(eval_seconds),
                   options.eval_batch);
  }
  fmt::format_to(out, ",\"peak_rss_mb\":{:.4f}", peak_rss_mb());
  fmt::format_to(out, ",\"blas_core\":\"{}\",\"blas_threads\":{}", json_escape(blas_core_name()),
                 openblas_get_num_threads());
  // nabla's extras.
  fmt::format_to(out, ",\"train_peak_rss_mb\":{:.4f}", train_peak_rss);
  fmt::format_to(out, ",\"gflops_effective\":{:.4f}",
                 train_flop_per_image(model_name) * n_train / seconds_per_epoch / 1e9);
  fmt::format_to(out, ",\"data_wait_seconds_per_epoch\":{:.4f}", wait_sum / epochs.size());
  fmt::format_to(out, ",\"openblas_coretype_env\":\"{}\"}}", json_escape(coretype_env ? coretype_env : ""));
  fmt::print("{}\n", json);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"Trains a reference MNIST workload and prints one JSON line (see bench/run)", "nabla-bench"};
  app.add_option("--model", options.model, "Workload")->check(nabla::cli::one_of({"mlp30", "mlp", "cnn", "lstm", "vit", "dcgan"}))->capture_default_str();
  app.add_option("--epochs", options.epochs, "Training epochs")->check(nabla::cli::at_least(1))->capture_default_str();
  app.add_option("--threads", options.threads, "Threads for nabla and OpenBLAS")->check(nabla::cli::at_least(1))->capture_default_str();
  app.add_option("--data", options.data, "MNIST directory (default: datasets::find_mnist_dir's search)");
  app.add_option("--limit", options.limit, "Train on the first N images (0: all)")->check(nabla::cli::at_least(0));
  app.add_option("--seed", options.seed, "Seed for initialisation and shuffling")->capture_default_str();
  app.add_option("--eval-reps", options.eval_reps, "Timed evaluation passes (median)")->check(nabla::cli::at_least(1))->capture_default_str();
  app.add_option("--eval-batch", options.eval_batch, "Test images per forward pass in evaluation (libtorch's side: 1000)")
      ->check(nabla::cli::at_least(1))
      ->capture_default_str();
  app.add_option("--prefetch", options.prefetch, "Batches the DataLoader prepares ahead (0: no thread)")
      ->check(nabla::cli::at_least(0))->capture_default_str();
  app.add_flag("--skip-eval", options.skip_eval, "Train only (for profiling): no evaluation, accuracy null");
  app.add_option("--single-rank-images-per-second", options.single_rank_images_per_second,
                 "Under mpirun: a one-rank run's train_images_per_second, to report the scaling efficiency");
  return nabla::cli::run(app, argc, argv, [&] {
    return run(options);
  });
}
