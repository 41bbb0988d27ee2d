// mnist_dcgan: a generative adversarial network that learns to draw handwritten digits.
//
// Two networks play against each other. The generator turns 100 random numbers into a 28x28
// image; the discriminator looks at an image and says how likely it is to be a real MNIST digit.
// Each step the discriminator is taught to tell real images from generated ones, then the
// generator is taught to fool it. Neither ever sees a label: the generator learns what digits look
// like only through the discriminator's judgement.
//
// This is PyTorch's C++ DCGAN example (pytorch/examples, cpp/dcgan) written with nabla: the same
// two networks, optimisers and training step, so a libtorch user can read it line by line. It
// leaves two pictures in --out (default out/mnist_dcgan):
//   samples.png  real digits beside the generator's digits after the last epoch; the generated
//                ones come from the same fixed noise every epoch, so samples_epoch_<k>.png (one per
//                epoch) show the same 64 "pens" learning to write
//   curves.png   the two losses, and the discriminator's mean verdict on real and generated images
//
//   build/bin/mnist_dcgan                             # 3 epochs on 12,800 images: ~2 min, digits appear
//   build/bin/mnist_dcgan --epochs 10 --limit 0       # all 60,000 images: clearer digits
#include <cmath>
#include <filesystem>

#include <classifier.hpp>  // CLI11 and nabla
#include <progress.hpp>

using namespace nabla;
namespace F = nabla::nn::functional;
namespace ex = nabla::examples;

namespace mnist_dcgan {

// The length of the noise vector the generator starts from.
constexpr int64_t kNoiseSize = 100;

// Noise [N, 100, 1, 1] -> image [N, 1, 28, 28] with values in (-1, 1). Each transposed
// convolution ("up-convolution") spreads every input pixel over a kernel-sized patch of a larger
// output: 1x1 -> 4x4 -> 7x7 -> 14x14 -> 28x28, while the channels narrow 256 -> 128 -> 64 -> 1.
// Batch normalisation keeps each layer's activations in a trainable range; tanh bounds the pixels.
struct Generator : nn::Module {
  static nn::ConvTranspose2d up(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding) {
    return nn::ConvTranspose2d({.in_channels = in, .out_channels = out, .kernel_size = kernel, .stride = stride,
                                .padding = padding, .bias = false});  // batch norm follows: a bias would cancel
  }
  nn::Shared<nn::ConvTranspose2d> conv1 = register_module("conv1", up(kNoiseSize, 256, 4, 1, 0));
  nn::Shared<nn::BatchNorm2d> batch_norm1 = register_module("batch_norm1", nn::BatchNorm2d(256));
  nn::Shared<nn::ConvTranspose2d> conv2 = register_module("conv2", up(256, 128, 3, 2, 1));
  nn::Shared<nn::BatchNorm2d> batch_norm2 = register_module("batch_norm2", nn::BatchNorm2d(128));
  nn::Shared<nn::ConvTranspose2d> conv3 = register_module("conv3", up(128, 64, 4, 2, 1));
  nn::Shared<nn::BatchNorm2d> batch_norm3 = register_module("batch_norm3", nn::BatchNorm2d(64));
  nn::Shared<nn::ConvTranspose2d> conv4 = register_module("conv4", up(64, 1, 4, 2, 1));

  Tensor forward(const Tensor& noise) override {
    Tensor x = relu(batch_norm1(conv1(noise)));  // [N, 256, 4, 4]
    x = relu(batch_norm2(conv2(x)));             // [N, 128, 7, 7]
    x = relu(batch_norm3(conv3(x)));             // [N, 64, 14, 14]
    return tanh(conv4(x));                       // [N, 1, 28, 28]
  }
};

// Image [N, 1, 28, 28] -> probability that it is real, [N]. The mirror image of the generator:
// strided convolutions halve the size 28 -> 14 -> 7 -> 3, the last 3x3 kernel sees all that is left.
// Leaky ReLU (slope 0.2) lets some gradient through for negative inputs, which the generator needs:
// its only teacher is the gradient that flows back through this network.
struct Discriminator : nn::Module {
  static nn::Conv2d down(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding) {
    return nn::Conv2d({.in_channels = in, .out_channels = out, .kernel_size = kernel, .stride = stride,
                       .padding = padding, .bias = false});
  }
  nn::Shared<nn::Conv2d> conv1 = register_module("conv1", down(1, 64, 4, 2, 1));
  nn::Shared<nn::Conv2d> conv2 = register_module("conv2", down(64, 128, 4, 2, 1));
  nn::Shared<nn::BatchNorm2d> batch_norm2 = register_module("batch_norm2", nn::BatchNorm2d(128));
  nn::Shared<nn::Conv2d> conv3 = register_module("conv3", down(128, 256, 4, 2, 1));
  nn::Shared<nn::BatchNorm2d> batch_norm3 = register_module("batch_norm3", nn::BatchNorm2d(256));
  nn::Shared<nn::Conv2d> conv4 = register_module("conv4", down(256, 1, 3, 1, 0));

  Tensor forward(const Tensor& images) override {
    Tensor x = F::leaky_relu(conv1(images), 0.2);            // [N, 64, 14, 14]
    x = F::leaky_relu(batch_norm2(conv2(x)), 0.2);           // [N, 128, 7, 7]
    x = F::leaky_relu(batch_norm3(conv3(x)), 0.2);           // [N, 256, 3, 3]
    return sigmoid(conv4(x)).view({images.size(0)});         // [N]
  }
};

// What one step measured: the two losses and the discriminator's mean verdict on each kind of image.
struct StepResult {
  double d_loss = 0, g_loss = 0;
  double d_real = 0, d_fake = 0;  // mean D(x) on real images, mean D(G(z)) on generated ones
};

// One training step on a batch of real images, as pytorch/examples' dcgan does it.
StepResult train_step(Generator& generator, Discriminator& discriminator, nn::Adam& g_optimizer,
                      nn::Adam& d_optimizer, const Tensor& real_images) {
  const int64_t n = real_images.size(0);

  // 1. The discriminator learns to say "real" (about 1) to real images. The targets are drawn from
  //    0.8..1.0 rather than exactly 1 ("label smoothing"): a discriminator that is never fully sure
  //    keeps giving the generator useful gradients.
  d_optimizer.zero_grad();
  const Tensor real_output = discriminator(real_images);
  const Tensor d_loss_real = F::binary_cross_entropy(real_output, uniform({n}, 0.8, 1.0));
  d_loss_real.backward();

  // 2. ... and "fake" (0) to generated images. detach() cuts the tape at the generated images, so
  //    this backward pass stops at the discriminator and leaves the generator alone.
  const Tensor fake_images = generator(randn({n, kNoiseSize, 1, 1}));
  const Tensor fake_output = discriminator(fake_images.detach());
  const Tensor d_loss_fake = F::binary_cross_entropy(fake_output, zeros({n}));
  d_loss_fake.backward();  // adds to the gradients of step 1
  d_optimizer.step();

  // 3. The generator learns to make the (just improved) discriminator say "real" to its images.
  //    This time the gradient flows through the discriminator into the generator; only the
  //    generator's optimiser steps (the discriminator's gradients are cleared at the next step).
  g_optimizer.zero_grad();
  const Tensor g_loss = F::binary_cross_entropy(discriminator(fake_images), ones({n}));
  g_loss.backward();
  g_optimizer.step();

  return {.d_loss = d_loss_real.item() + d_loss_fake.item(),
          .g_loss = g_loss.item(),
          .d_real = real_output.mean().item(),
          .d_fake = fake_output.mean().item()};
}

// Generator output in (-1, 1) -> uint8 pixels, 0 black .. 255 white, for the pictures.
Tensor to_pixels(const Tensor& images) { return ((images + 1.0) * 127.5 + 0.5).clamp(0, 255).to(uint8); }

// The generator's images for a fixed batch of noise, without recording a tape. eval() makes
// batch norm use its running statistics, so the picture does not depend on the batch.
Tensor sample(Generator& generator, const Tensor& noise) {
  NoGradGuard no_grad;
  generator.eval();
  const Tensor images = generator(noise);
  generator.train();
  return to_pixels(images);
}

}  // namespace mnist_dcgan

int main(int argc, char** argv) {
  ex::CommonOptions options;
  options.epochs = 3;
  options.limit = 12800;  // 200 steps of 64 per epoch: digits within about two minutes on 2 cores
  CLI::App app{"Train a DCGAN (PyTorch's C++ example) to draw MNIST digits", "mnist_dcgan"};
  app.add_option("--epochs", options.epochs, "training epochs")->capture_default_str()->check(nabla::cli::at_least(1));
  app.add_option("--limit", options.limit, "train on the first N images (0: all 60,000)")
      ->capture_default_str()->check(nabla::cli::at_least(0));
  app.add_option("--data", options.data, "MNIST directory (default: search $NABLA_DATA, ./data, ../shared/data, ...)");
  app.add_option("--out", options.out, "directory for samples.png and curves.png (default out/mnist_dcgan)");
  app.add_option("--seed", options.seed, "seed for initialisation, noise and shuffling")->capture_default_str();
  app.add_option("--threads", options.threads, "threads (0: all cores)")->check(nabla::cli::at_least(0));
  app.add_flag("--json", options.json, "print one final JSON line with the results");
  return nabla::cli::run(app, argc, argv, [&] {
    ex::prepare(options);  // threads, and the seed for everything below

    // Data: the training images only (a GAN needs no labels), scaled from 0..255 to -1..1 to
    // match the generator's tanh output: x = (pixel / 255 - 0.5) / 0.5.
    const auto directory = datasets::find_mnist_dir(options.data);
    const datasets::MNIST mnist(directory, datasets::Split::train, datasets::Normalize{.mean = 0.5, .std = 0.5});
    const int64_t count = options.limit > 0 ? std::min(options.limit, mnist.size()) : mnist.size();
    const datasets::Subset train_set = datasets::first_examples(mnist, count);
    datasets::DataLoader loader(train_set, {.batch_size = 64, .shuffle = true, .seed = options.seed});

    // The two networks, each with its own Adam. beta1 = 0.5 (PyTorch's default is 0.9) forgets
    // old gradients faster: the target each network aims at moves as the other one learns.
    mnist_dcgan::Generator generator;
    mnist_dcgan::Discriminator discriminator;
    nn::Adam g_optimizer(generator.parameters(), {.lr = 2e-4, .beta1 = 0.5, .beta2 = 0.999});
    nn::Adam d_optimizer(discriminator.parameters(), {.lr = 2e-4, .beta1 = 0.5, .beta2 = 0.999});
    fmt::print(stderr, "mnist_dcgan: {} training images from {}; generator {} parameters, discriminator {}\n", count,
               directory.string(), generator.parameter_count(), discriminator.parameter_count());

    // 64 noise vectors drawn once: the same "pens" are drawn with after every epoch. (A
    // nabla::Generator is a source of random numbers, not the network.)
    nabla::Generator noise_source(options.seed + 1);
    const Tensor fixed_noise = randn({64, mnist_dcgan::kNoiseSize, 1, 1}, float32, noise_source);
    const std::filesystem::path out_dir = options.out.empty() ? "out/mnist_dcgan" : options.out;
    std::filesystem::create_directories(out_dir);
    const datasets::Canvas real_grid =
        datasets::image_grid(mnist.images().narrow(0, 0, 64), std::vector<std::string>{},
                             {.columns = 8, .title = "real MNIST digits"});

    // Curves: the mean of every window of steps (about 20 points an epoch), x in epochs.
    std::vector<double> curve_x, d_losses, g_losses, d_reals, d_fakes;
    mnist_dcgan::StepResult window, last_window;
    int64_t window_steps = 0;
    const int64_t steps = loader.size();
    const int64_t report_every = std::max<int64_t>(1, steps / 20);
    double train_seconds = 0;
    datasets::Canvas generated_grid(1, 1);

    for (int epoch = 1; epoch <= options.epochs; ++epoch) {
      ex::ProgressBar progress(fmt::format("epoch {}/{}", epoch, options.epochs), steps, 64, "D loss");
      double d_sum = 0, g_sum = 0;
      int64_t step = 0;
      for (datasets::Batch& batch : loader) {
        const auto r = mnist_dcgan::train_step(generator, discriminator, g_optimizer, d_optimizer, batch.inputs);
        ++step;
        d_sum += r.d_loss;
        g_sum += r.g_loss;
        window.d_loss += r.d_loss, window.g_loss += r.g_loss, window.d_real += r.d_real, window.d_fake += r.d_fake;
        progress.update(step, d_sum / static_cast<double>(step), std::nan(""));
        if (++window_steps == report_every || step == steps) {
          const double k = static_cast<double>(window_steps);
          curve_x.push_back(epoch - 1 + static_cast<double>(step) / static_cast<double>(steps));
          d_losses.push_back(window.d_loss / k), g_losses.push_back(window.g_loss / k);
          d_reals.push_back(window.d_real / k), d_fakes.push_back(window.d_fake / k);
          last_window = {window.d_loss / k, window.g_loss / k, window.d_real / k, window.d_fake / k};
          window = {};
          window_steps = 0;
        }
      }
      train_seconds += progress.stop();
      progress.finish(fmt::format(" | G loss {:.4f} | D(real) {:.2f}, D(generated) {:.2f}",
                                  g_sum / static_cast<double>(step), last_window.d_real, last_window.d_fake));

      // This epoch's drawings from the fixed noise.
      generated_grid = datasets::image_grid(mnist_dcgan::sample(generator, fixed_noise), std::vector<std::string>{},
                                            {.columns = 8, .title = fmt::format("generated, epoch {}", epoch)});
      generated_grid.save_png(out_dir / fmt::format("samples_epoch_{}.png", epoch));
    }

    // The pictures: real and generated digits side by side; the curves one above the other.
    datasets::hstack({real_grid, generated_grid}, 12).save_png(out_dir / "samples.png");
    datasets::vstack({datasets::line_chart({{"discriminator", d_losses, curve_x}, {"generator", g_losses, curve_x}},
                                           {.title = "DCGAN losses (binary cross-entropy)", .y_label = "loss"}),
                      datasets::line_chart({{"D(real image)", d_reals, curve_x}, {"D(generated image)", d_fakes, curve_x}},
                                           {.title = "The discriminator's mean verdict (1 = real)",
                                            .y_label = "probability", .y_min = 0.0, .y_max = 1.0})})
        .save_png(out_dir / "curves.png");

    fmt::print(stderr, "trained {} epochs in {:.1f} s: D loss {:.4f}, G loss {:.4f}; pictures in {}\n", options.epochs,
               train_seconds, last_window.d_loss, last_window.g_loss, out_dir.string());
    if (options.json) {
      fmt::print("{{\"example\":\"mnist_dcgan\",\"epochs\":{},\"train_images\":{},\"train_seconds\":{:.3f},\"d_loss\":{:.4f},"
                 "\"g_loss\":{:.4f},\"d_real\":{:.4f},\"d_fake\":{:.4f}}}\n",
                 options.epochs, count, train_seconds, last_window.d_loss, last_window.g_loss, last_window.d_real,
                 last_window.d_fake);
    }
    return 0;
  });
}
