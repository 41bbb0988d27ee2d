// The program the kill test (tests/examples/test_kill.cpp) SIGKILLs: a small classifier trained on
// fixed synthetic data, checkpointed after every epoch with the examples' own routine
// (examples/common/checkpoint.hpp), resumed from its checkpoint when one exists.
//
//   kill_trainer <checkpoint.nbl> <epochs to run>
//
// Prints "resumed at epoch E" and "saved epoch E" lines; exits 1 with the message on any error.
#include <charconv>
#include <cstring>
#include <filesystem>

#include <checkpoint.hpp>

using namespace nabla;
namespace ex = nabla::examples;

int main(int argc, char** argv) {
  try {
    int64_t epochs = 0;
    if (argc != 3 || std::from_chars(argv[2], argv[2] + std::strlen(argv[2]), epochs).ec != std::errc() || epochs < 0) {
      fail("usage: kill_trainer <checkpoint.nbl> <epochs to run>");
    }
    const std::string path = argv[1];
    manual_seed(17);
    Generator data_generator(5);
    const Tensor inputs = randn({256, 32}, float32, data_generator);
    const Tensor targets = randint(0, 10, {256}, data_generator);
    auto model = std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
        std::make_shared<nn::Linear>(32, 256), std::make_shared<nn::ReLU>(), std::make_shared<nn::Linear>(256, 10)});
    nn::Adam optimizer(model->parameters(), 1e-3);

    ex::History history;
    int64_t epoch = 0;
    if (std::filesystem::exists(path)) {
      epoch = ex::load_checkpoint(path, *model, optimizer, history);
      std::printf("resumed at epoch %lld\n", static_cast<long long>(epoch));
    }
    for (const int64_t last = epoch + epochs; epoch < last; ++epoch) {
      double loss_sum = 0.0;
      for (int64_t start = 0; start < 256; start += 64) {
        optimizer.zero_grad();
        const Tensor loss = nn::functional::cross_entropy((*model)(narrow(inputs, 0, start, 64)), narrow(targets, 0, start, 64));
        loss.backward();
        optimizer.step();
        loss_sum += loss.item();
      }
      history.train_loss.push_back(loss_sum / 4);
      history.train_accuracy.push_back(0.0);
      history.test_loss.push_back(0.0);
      history.test_accuracy.push_back(0.0);
      history.epoch_seconds.push_back(0.0);
      ex::save_checkpoint(path, *model, optimizer, epoch + 1, history);
      std::printf("saved epoch %lld\n", static_cast<long long>(epoch + 1));
      std::fflush(stdout);
    }
    return 0;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "kill_trainer: %s\n", error.what());
    return 1;
  }
}
