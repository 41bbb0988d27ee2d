// dcgan-libtorch: the libtorch (PyTorch C++ frontend) side of the dcgan workload. It trains the
// generator and discriminator of pytorch/examples' cpp/dcgan on MNIST and prints ONE JSON line on
// stdout with the keys of the anchor (shared/anchors/libtorch/mnist_bench.cpp), so bench/run and
// bench/summarize.py read it like the other workloads. Progress goes to stderr. Built only when
// CMake finds Torch (Debian's libtorch-dev); nabla-bench --model dcgan is the nabla side.
//
//   dcgan-libtorch [--model dcgan] --epochs N --threads T [--blas-threads B] --data DIR
//                  [--limit N] [--seed S] [--eval-reps R]
//
// The workload (identical in nabla-bench):
//   generator, noise [B,100,1,1] -> image [B,1,28,28]:
//     ConvTranspose2d(100,256,4) -> BatchNorm2d -> ReLU              4x4
//     ConvTranspose2d(256,128,3,stride 2,padding 1) -> BN -> ReLU    7x7
//     ConvTranspose2d(128,64,4,stride 2,padding 1) -> BN -> ReLU     14x14
//     ConvTranspose2d(64,1,4,stride 2,padding 1) -> Tanh             28x28
//   discriminator, image -> probability [B]:
//     Conv2d(1,64,4,stride 2,padding 1) -> LeakyReLU(0.2)            14x14
//     Conv2d(64,128,4,stride 2,padding 1) -> BN -> LeakyReLU(0.2)    7x7
//     Conv2d(128,256,4,stride 2,padding 1) -> BN -> LeakyReLU(0.2)   3x3
//     Conv2d(256,1,3) -> Sigmoid                                     1x1
//   Every convolution without bias; default initialisation; batch norm in training mode.
//   Images scaled to [-1, 1] (x/255 - 0.5)/0.5. Batch 64, the last partial batch kept. Two Adam
//   optimisers, lr 2e-4, betas (0.5, 0.999). One step, as pytorch/examples' dcgan:
//     D: zero grads; BCE(D(real), u) with u ~ U(0.8, 1.0) per image (label smoothing), backward;
//        fake = G(z), z ~ N(0,1) [B,100,1,1]; BCE(D(fake.detach()), 0), backward; D step.
//     G: zero grads; BCE(D(fake), 1), backward (through D into G); G step.
//   Timing covers the training loop only; the epoch's shuffle is gathered before the clock starts.
//   "Evaluation" is sampling: the generator (eval mode, no grad) makes 10,000 images at batch 1000;
//   one warm-up pass, then --eval-reps timed passes, median reported as eval_images_per_second.
//   test_accuracy is null (a GAN has none); final_epoch_train_loss is the last epoch's mean D loss.
#include <torch/torch.h>
#include <ATen/Parallel.h>

#include <dlfcn.h>
#include <sys/resource.h>
#include <time.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <numeric>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

constexpr int64_t kNoise = 100;
constexpr int64_t kBatch = 64;

struct Args {
  int epochs = 1;
  int threads = 1;
  int blas_threads = 0;  // 0: same as --threads
  std::string data = "/work/shared/data/mnist";
  long limit = 0;
  uint64_t seed = 1;
  int eval_reps = 3;
};

[[noreturn]] void usage(const std::string& message) {
  std::fprintf(stderr,
               "dcgan-libtorch: %s\nusage: dcgan-libtorch [--model dcgan] --epochs N --threads T [--blas-threads B] "
               "--data DIR [--limit N] [--seed S] [--eval-reps R]\n",
               message.c_str());
  std::exit(2);
}

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string key = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage("missing value for " + key);
      return argv[++i];
    };
    if (key == "--model") {
      if (value() != "dcgan") usage("this program runs --model dcgan only");
    } else if (key == "--epochs") a.epochs = std::stoi(value());
    else if (key == "--threads") a.threads = std::stoi(value());
    else if (key == "--blas-threads") a.blas_threads = std::stoi(value());
    else if (key == "--data") a.data = value();
    else if (key == "--limit") a.limit = std::stol(value());
    else if (key == "--seed") a.seed = std::stoull(value());
    else if (key == "--eval-reps") a.eval_reps = std::stoi(value());
    else usage("unknown argument " + key);
  }
  if (a.epochs < 1 || a.threads < 1 || a.eval_reps < 1 || a.limit < 0) usage("bad numeric argument");
  return a;
}

// ---- MNIST training images as raw bytes [N,28,28] (IDX, gzip or plain)

std::vector<uint8_t> read_file(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (!file) throw std::runtime_error("cannot open " + path);
  std::vector<uint8_t> bytes;
  std::vector<uint8_t> chunk(1 << 16);
  int n = 0;
  while ((n = gzread(file, chunk.data(), static_cast<unsigned>(chunk.size()))) > 0) {
    bytes.insert(bytes.end(), chunk.begin(), chunk.begin() + n);
  }
  gzclose(file);
  if (n < 0) throw std::runtime_error("read error in " + path);
  return bytes;
}

uint32_t big_endian(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

torch::Tensor load_train_images(const std::string& dir) {
  std::string path = dir + "/train-images-idx3-ubyte.gz";
  if (FILE* f = std::fopen(path.c_str(), "rb")) {
    std::fclose(f);
  } else {
    path = dir + "/train-images-idx3-ubyte";
  }
  const std::vector<uint8_t> bytes = read_file(path);
  if (bytes.size() < 16 || big_endian(bytes.data()) != 0x803) throw std::runtime_error(path + " is not an IDX image file");
  const int64_t n = big_endian(bytes.data() + 4), rows = big_endian(bytes.data() + 8), cols = big_endian(bytes.data() + 12);
  if (rows != 28 || cols != 28 || static_cast<int64_t>(bytes.size()) != 16 + n * 784) {
    throw std::runtime_error(path + ": unexpected dimensions or size");
  }
  return torch::from_blob(const_cast<uint8_t*>(bytes.data()) + 16, {n, 28, 28}, torch::kUInt8).clone();
}

// ---- the two networks

torch::nn::ConvTranspose2dOptions up(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding) {
  return torch::nn::ConvTranspose2dOptions(in, out, kernel).stride(stride).padding(padding).bias(false);
}
torch::nn::Conv2dOptions down(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding) {
  return torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding).bias(false);
}

torch::nn::Sequential make_generator() {
  using namespace torch::nn;
  return Sequential(ConvTranspose2d(up(kNoise, 256, 4, 1, 0)), BatchNorm2d(256), ReLU(),
                    ConvTranspose2d(up(256, 128, 3, 2, 1)), BatchNorm2d(128), ReLU(),
                    ConvTranspose2d(up(128, 64, 4, 2, 1)), BatchNorm2d(64), ReLU(),
                    ConvTranspose2d(up(64, 1, 4, 2, 1)), Tanh());
}

torch::nn::Sequential make_discriminator() {
  using namespace torch::nn;
  const auto leaky = LeakyReLUOptions().negative_slope(0.2);
  return Sequential(Conv2d(down(1, 64, 4, 2, 1)), LeakyReLU(leaky),
                    Conv2d(down(64, 128, 4, 2, 1)), BatchNorm2d(128), LeakyReLU(leaky),
                    Conv2d(down(128, 256, 4, 2, 1)), BatchNorm2d(256), LeakyReLU(leaky),
                    Conv2d(down(256, 1, 3, 1, 0)), Sigmoid());
}

// ---- reporting helpers

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Debian's libtorch calls the system OpenBLAS (pthread build), whose own pool
// torch::set_num_threads does not control: set it through the symbols, if present.
std::string set_blas_threads(int threads, int* threads_in_use) {
  auto set = reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  auto get = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  auto core = reinterpret_cast<char* (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  if (set) set(threads);
  *threads_in_use = get ? get() : -1;
  return core ? std::string(core()) : std::string("unknown");
}

// CPU seconds of the whole process (all threads), to compare runs on a busy machine.
double process_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse_args(argc, argv);
  torch::set_num_threads(args.threads);
  int blas_threads = -1;
  const std::string blas_core = set_blas_threads(args.blas_threads > 0 ? args.blas_threads : args.threads, &blas_threads);
  torch::manual_seed(args.seed);

  // ---- data (not timed): [-1, 1] floats [N,1,28,28]
  torch::Tensor raw = load_train_images(args.data);
  if (args.limit > 0 && args.limit < raw.size(0)) raw = raw.narrow(0, 0, args.limit).clone();
  const torch::Tensor images = raw.to(torch::kFloat32).div_(255.0f).sub_(0.5f).div_(0.5f).reshape({-1, 1, 28, 28}).contiguous();
  const int64_t n_train = images.size(0);

  torch::nn::Sequential generator = make_generator();
  torch::nn::Sequential discriminator = make_discriminator();
  torch::optim::Adam g_optimizer(generator->parameters(), torch::optim::AdamOptions(2e-4).betas({0.5, 0.999}));
  torch::optim::Adam d_optimizer(discriminator->parameters(), torch::optim::AdamOptions(2e-4).betas({0.5, 0.999}));
  std::fprintf(stderr, "dcgan-libtorch: %ld training images, %d thread(s), OpenBLAS %s core, %d BLAS thread(s)\n",
               static_cast<long>(n_train), args.threads, blas_core.c_str(), blas_threads);

  std::mt19937_64 rng(args.seed);
  std::vector<int64_t> order(static_cast<size_t>(n_train));
  std::vector<double> epoch_seconds;
  double d_loss_mean = 0, g_loss_mean = 0, cpu_seconds = 0;
  const char* progress_env = std::getenv("ANCHOR_PROGRESS");  // print the time every K steps
  const int64_t progress_every = progress_env ? std::atol(progress_env) : 0;

  for (int epoch = 0; epoch < args.epochs; ++epoch) {
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    const torch::Tensor shuffled = images.index_select(0, torch::from_blob(order.data(), {n_train}, torch::kInt64));
    generator->train();
    discriminator->train();
    double d_sum = 0, g_sum = 0;
    int64_t steps = 0;
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = process_cpu_seconds();
    for (int64_t first = 0; first < n_train; first += kBatch) {
      const int64_t b = std::min(kBatch, n_train - first);
      const torch::Tensor real = shuffled.narrow(0, first, b);

      // Discriminator: real images towards (smoothed) 1, generated ones towards 0.
      d_optimizer.zero_grad();
      const torch::Tensor real_labels = torch::empty({b}).uniform_(0.8, 1.0);
      const torch::Tensor d_loss_real = torch::binary_cross_entropy(discriminator->forward(real).reshape({b}), real_labels);
      d_loss_real.backward();
      const torch::Tensor fake = generator->forward(torch::randn({b, kNoise, 1, 1}));
      const torch::Tensor d_loss_fake =
          torch::binary_cross_entropy(discriminator->forward(fake.detach()).reshape({b}), torch::zeros({b}));
      d_loss_fake.backward();
      d_optimizer.step();

      // Generator: make the discriminator call its images real.
      g_optimizer.zero_grad();
      const torch::Tensor g_loss = torch::binary_cross_entropy(discriminator->forward(fake).reshape({b}), torch::ones({b}));
      g_loss.backward();
      g_optimizer.step();

      d_sum += d_loss_real.item<float>() + d_loss_fake.item<float>();
      g_sum += g_loss.item<float>();
      ++steps;
      if (progress_every > 0 && steps % progress_every == 0) {
        std::fprintf(stderr, "  step %ld: %.3f s, D %.4f, G %.4f\n", static_cast<long>(steps), seconds_since(start),
                     d_sum / steps, g_sum / steps);
      }
    }
    epoch_seconds.push_back(seconds_since(start));
    cpu_seconds += process_cpu_seconds() - cpu_start;
    d_loss_mean = d_sum / steps;
    g_loss_mean = g_sum / steps;
    std::fprintf(stderr, "epoch %d: %.3f s, mean D loss %.4f, mean G loss %.4f\n", epoch + 1, epoch_seconds.back(),
                 d_loss_mean, g_loss_mean);
  }

  // ---- sampling throughput: 10k images at batch 1000, eval mode, no grad
  generator->eval();
  torch::NoGradGuard no_grad;
  std::vector<double> sample_seconds;
  for (int rep = 0; rep <= args.eval_reps; ++rep) {  // rep 0 warms up
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 10; ++i) generator->forward(torch::randn({1000, kNoise, 1, 1}));
    if (rep > 0) sample_seconds.push_back(seconds_since(start));
  }

  const double mean_epoch = std::accumulate(epoch_seconds.begin(), epoch_seconds.end(), 0.0) / epoch_seconds.size();
  std::ostringstream json;
  json.setf(std::ios::fixed);
  json.precision(4);
  json << "{\"framework\":\"libtorch-" << TORCH_VERSION << "\",\"model\":\"dcgan\",\"threads\":" << args.threads
       << ",\"batch\":" << kBatch << ",\"epochs\":" << args.epochs << ",\"train_images\":" << n_train
       << ",\"test_images\":0,\"train_seconds_per_epoch\":" << mean_epoch
       << ",\"train_seconds_per_60k\":" << mean_epoch * 60000.0 / n_train
       << ",\"train_images_per_second\":" << n_train / mean_epoch << ",\"final_epoch_train_loss\":" << d_loss_mean
       << ",\"test_accuracy\":null,\"eval_images_per_second\":" << 10000.0 / median(sample_seconds)
       << ",\"peak_rss_mb\":" << peak_rss_mb() << ",\"blas_core\":\"" << blas_core << "\",\"blas_threads\":" << blas_threads
       << ",\"mkldnn\":" << (at::globalContext().userEnabledMkldnn() ? "true" : "false")
       << ",\"final_epoch_d_loss\":" << d_loss_mean << ",\"final_epoch_g_loss\":" << g_loss_mean
       << ",\"train_cpu_seconds_per_60k\":" << cpu_seconds / args.epochs * 60000.0 / n_train << "}";
  std::cout << json.str() << std::endl;
  return 0;
}
