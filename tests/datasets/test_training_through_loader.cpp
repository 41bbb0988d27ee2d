// The acceptance test of general datasets (issue 12): targets that are not class labels train
// through the DataLoader with a transform and a custom sampler.
//   - regression: float vector targets, y = A x + b, fitted by an nn::Linear with MSE; the
//     inputs are standardised by a Normalize transform and read in an order a function of the
//     epoch decides; A and b are recovered.
//   - sequences: int64 [T] targets batched to [B, T], a per-position classifier trained with
//     cross-entropy over logits [B, C, T]; the inputs are jittered by a user-written random
//     transform and the examples drawn by a WeightedRandomSampler that also holds out a split.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include <nabla/datasets.hpp>
#include <nabla/nabla.hpp>

using namespace nabla;
namespace ds = nabla::datasets;
namespace T = nabla::datasets::transforms;
namespace F = nabla::nn::functional;

TEST_CASE("A regression dataset with float vector targets trains through the DataLoader",
          "[acceptance][dataloader]") {
  manual_seed(1);  // nn::Linear's initial weights
  const int64_t n = 256;
  Generator data_generator(5);
  // Features far from standard (mean 2, std 3), so the Normalize transform matters.
  const Tensor x = randn({n, 3}, float32, data_generator).mul(3.0).add(2.0);
  const Tensor A = from_vector<float>({2.0f, -1.0f, 0.5f, 0.3f, 1.5f, -2.0f}, {2, 3});
  const Tensor b = from_vector<float>({0.5f, -1.0f}, {2});
  const Tensor y = x.matmul(A.t()).add(b);  // float32 [n, 2]

  // The transform: each feature standardised with the data's own mean and std.
  const std::vector<double> mean = x.mean({0}).to_vector<double>();
  const std::vector<double> stddev = x.var({0}, false, 0).sqrt().to_vector<double>();
  // The custom sampler: epoch e reads the examples rotated by 37 e, backwards on odd epochs.
  auto rotating = std::make_shared<ds::OrderSampler>([n](int64_t epoch) {
    std::vector<int64_t> order(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = (i + 37 * epoch) % n;
    if (epoch % 2 == 1) std::reverse(order.begin(), order.end());
    return order;
  });
  ds::DataLoader loader(ds::TensorDataset(x, y),
                        {.batch_size = 16, .sampler = rotating, .transform = T::Normalize(mean, stddev)});

  nn::Linear model(3, 2);
  nn::SGD optimizer(model.parameters(), 0.1);
  std::vector<double> epoch_loss;
  for (int epoch = 0; epoch < 40; ++epoch) {
    double loss_sum = 0.0;
    for (ds::Batch& batch : loader) {
      REQUIRE(batch.targets.dtype() == float32);
      REQUIRE(batch.targets.shape() == Shape{batch.size(), 2});
      optimizer.zero_grad();
      const Tensor loss = F::mse_loss(model(batch.inputs), batch.targets);
      loss.backward();
      optimizer.step();
      loss_sum += loss.item() * double(batch.size());
    }
    epoch_loss.push_back(loss_sum / double(n));
  }
  CHECK(epoch_loss.front() > 1.0);
  CHECK(epoch_loss.back() < 1e-6);

  // The model saw z = (x - mean) / std, so y = W z + c gives A = W / std, b = c - W mean / std.
  const std::vector<float> W = model.weight.to_vector<float>();
  const std::vector<float> c = model.bias.to_vector<float>();
  const std::vector<float> A_true = A.to_vector<float>();
  const std::vector<float> b_true = b.to_vector<float>();
  for (int64_t row = 0; row < 2; ++row) {
    double bias = c[size_t(row)];
    for (int64_t col = 0; col < 3; ++col) {
      const double w = W[size_t(row * 3 + col)];
      CHECK(w / stddev[size_t(col)] == Approx(A_true[size_t(row * 3 + col)]).margin(1e-3));
      bias -= w * mean[size_t(col)] / stddev[size_t(col)];
    }
    CHECK(bias == Approx(b_true[size_t(row)]).margin(1e-3));
  }
}

namespace {

// Sequences of `length` tokens in 0..classes-1: input the one-hot encoding float32 [T, C],
// target the int64 [T] sequence y_t = (token_t + 2) % classes. Only get() is written: the
// default get_batch stacks the targets to int64 [B, T].
class TokenSequences : public ds::Dataset {
 public:
  TokenSequences(int64_t count, int64_t length, int64_t classes, uint64_t seed)
      : count_(count), length_(length), classes_(classes) {
    Generator generator(seed);
    for (int64_t i = 0; i < count * length; ++i) tokens_.push_back(int64_t(generator.below(uint64_t(classes))));
  }
  int64_t size() const override { return count_; }
  ds::Example get(int64_t index) const override {
    check_index(index, "TokenSequences");
    Tensor input = zeros({length_, classes_});
    std::vector<int64_t> target(static_cast<size_t>(length_));
    for (int64_t t = 0; t < length_; ++t) {
      const int64_t token = tokens_[static_cast<size_t>(index * length_ + t)];
      input.data_ptr<float>()[t * classes_ + token] = 1.0f;
      target[static_cast<size_t>(t)] = (token + 2) % classes_;
    }
    return {input, from_vector(target, {length_})};
  }

 private:
  int64_t count_, length_, classes_;
  std::vector<int64_t> tokens_;
};

// A user-written random transform: uniform noise in [-0.1, 0.1] on every element, row r's drawn
// from key.generator(r), so it is reproducible like the built-in ones.
Tensor jitter(const Tensor& rows, const ds::RandomKey& key) {
  Tensor out = rows.contiguous().clone();
  const int64_t per_row = rows.numel() / rows.size(0);
  float* values = out.data_ptr<float>();
  for (int64_t r = 0; r < rows.size(0); ++r) {
    Generator generator = key.generator(r);
    for (int64_t i = 0; i < per_row; ++i) values[r * per_row + i] += float(0.2 * generator.uniform() - 0.1);
  }
  return out;
}

}  // namespace

TEST_CASE("A sequence dataset with int64 sequence targets trains through the DataLoader",
          "[acceptance][dataloader]") {
  manual_seed(2);
  const int64_t classes = 5, length = 6, count = 64, train_count = 48;
  const TokenSequences sequences(count, length, classes, /*seed=*/3);
  // The custom sampler: weight 1 for the first 48 sequences and 0 for the 16 held out, drawn
  // with replacement: a training split and a random order in one.
  std::vector<double> weights(static_cast<size_t>(count), 0.0);
  std::fill(weights.begin(), weights.begin() + train_count, 1.0);
  ds::DataLoader loader(sequences, {.batch_size = 8,
                                    .seed = 4,
                                    .sampler = std::make_shared<ds::WeightedRandomSampler>(weights, train_count),
                                    .transform = jitter});

  nn::Linear model(classes, classes);  // position-wise: [B, T, C] -> [B, T, C]
  nn::Adam optimizer(model.parameters(), 0.05);
  std::vector<double> epoch_loss;
  for (int epoch = 0; epoch < 40; ++epoch) {
    double loss_sum = 0.0;
    for (ds::Batch& batch : loader) {
      REQUIRE(batch.targets.dtype() == int64);
      REQUIRE(batch.targets.shape() == Shape{batch.size(), length});
      for (int64_t index : batch.indices) REQUIRE(index < train_count);  // never a held-out sequence
      optimizer.zero_grad();
      const Tensor logits = model(batch.inputs).permute({0, 2, 1});  // [B, C, T]
      const Tensor loss = F::cross_entropy(logits, batch.targets);
      loss.backward();
      optimizer.step();
      loss_sum += loss.item() * double(batch.size());
    }
    epoch_loss.push_back(loss_sum / double(train_count));
  }
  CHECK(epoch_loss.front() > 1.0);  // chance level is log 5 = 1.61
  CHECK(epoch_loss.back() < 0.05);

  // Every position of every held-out sequence is predicted right.
  std::vector<int64_t> held_out(static_cast<size_t>(count - train_count));
  for (int64_t i = 0; i < count - train_count; ++i) held_out[static_cast<size_t>(i)] = train_count + i;
  ds::DataLoader test_loader(ds::Subset(sequences, held_out), {.batch_size = 16});
  NoGradGuard no_grad;
  int64_t correct = 0, total = 0;
  for (ds::Batch& batch : test_loader) {
    const Tensor predicted = model(batch.inputs).argmax(2);  // [B, T]
    correct += predicted.eq(batch.targets).to(int64).sum().item<int64_t>();
    total += batch.targets.numel();
  }
  CHECK(total == (count - train_count) * length);
  CHECK(correct == total);
}
