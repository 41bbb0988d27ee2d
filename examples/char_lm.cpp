// char_lm: a character-level language model that learns to make up words.
//
// It reads a text — by default the word list of Debian's wamerican package, one word per line —
// and learns to predict each next character from the ones before: an embedding, then a 2-layer
// LSTM (or, with --model transformer, a small causal transformer), then a linear layer over the
// characters. After each epoch it reports the loss in bits per character on held-out words and
// samples new words, starting from a line break and drawing one character at a time.
//
//   build/bin/char_lm                           # LSTM on /usr/share/dict/words, 3 epochs
//   build/bin/char_lm --model transformer
//   build/bin/char_lm --text some.txt --temperature 0.6
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <numbers>
#include <sstream>

#include <fmt/ranges.h>

#include <classifier.hpp>
#include <progress.hpp>

using namespace nabla;
namespace F = nabla::nn::functional;
namespace ex = nabla::examples;

namespace char_lm {

// The text as byte ids, and the alphabet: every byte the text uses.
struct Corpus {
  std::vector<unsigned char> alphabet;  // id -> byte
  std::vector<int64_t> train, validation;  // byte ids; lines (words) alternate between the two
  int64_t newline = 0;                     // the id of '\n', which starts and ends each word
};

Corpus read_corpus(const std::string& path, int64_t limit_lines) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("char_lm: cannot read '{}' (install Debian's wamerican for /usr/share/dict/words, or pass --text FILE)", path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line) && (limit_lines <= 0 || static_cast<int64_t>(lines.size()) < limit_lines)) {
    if (!line.empty()) lines.push_back(line);
  }
  if (lines.size() < 20) fail("char_lm: '{}' has {} non-empty lines; a model needs at least 20", path, lines.size());
  Corpus corpus;
  std::map<unsigned char, int64_t> ids{{'\n', 0}};
  for (const std::string& l : lines) {
    for (unsigned char c : l) ids.emplace(c, 0);
  }
  for (auto& [byte, id] : ids) {
    id = static_cast<int64_t>(corpus.alphabet.size());
    corpus.alphabet.push_back(byte);
  }
  corpus.newline = ids.at('\n');
  // Every tenth line is held out: the validation words are never trained on.
  for (size_t i = 0; i < lines.size(); ++i) {
    std::vector<int64_t>& target = i % 10 == 9 ? corpus.validation : corpus.train;
    for (unsigned char c : lines[i]) target.push_back(ids.at(c));
    target.push_back(corpus.newline);
  }
  return corpus;
}

struct Options {
  std::string model = "lstm";
  int64_t embedding = 64, hidden = 128, sequence = 64;
};

// Characters -> embedding -> 2-layer LSTM -> scores over the alphabet.
struct LstmModel : nn::Module {
  LstmModel(int64_t vocabulary, const Options& o)
      : embedding(register_module("embedding", nn::Embedding(vocabulary, o.embedding))),
        lstm(register_module("lstm", nn::LSTM({.input_size = o.embedding, .hidden_size = o.hidden, .num_layers = 2,
                                               .batch_first = true, .dropout = 0.1}))),
        head(register_module("head", nn::Linear(o.hidden, vocabulary))) {}

  // ids int64 [B, T] -> scores [B, T, V]; the state carries on between calls when generating.
  Tensor forward(const Tensor& ids, std::optional<std::tuple<Tensor, Tensor>>& state) {
    const Tensor x = embedding(ids);  // [B, T, embedding]
    auto [output, next] = lstm->forward(x, state);
    state = next;
    return head(output);
  }
  Tensor forward(const Tensor& ids) override {
    std::optional<std::tuple<Tensor, Tensor>> state;
    return forward(ids, state);
  }
  nn::Shared<nn::Embedding> embedding;
  nn::Shared<nn::LSTM> lstm;
  nn::Shared<nn::Linear> head;
};

// Characters -> embedding + learned positions -> 2 pre-norm causal transformer layers -> scores.
struct TransformerModel : nn::Module {
  TransformerModel(int64_t vocabulary, const Options& o)
      : embedding(register_module("embedding", nn::Embedding(vocabulary, 128))),
        positions(register_module("positions", nn::LearnedPositionalEncoding(o.sequence, 128, true))),
        norm(register_module("norm", nn::LayerNorm(Shape{128}))),
        head(register_module("head", nn::Linear(128, vocabulary))) {
    const nn::TransformerEncoderLayer layer({.d_model = 128, .nhead = 4, .dim_feedforward = 256, .dropout = 0.1,
                                             .activation = "gelu", .batch_first = true, .norm_first = true});
    layers = register_module("layers", nn::TransformerEncoder(layer, 2));
  }
  Tensor forward(const Tensor& ids) override {
    const Tensor x = embedding(ids);  // [B, T, 128]
    // Causal: position t sees positions 0..t only.
    return head(norm(layers->forward(positions(x), Tensor(), Tensor(), /*is_causal=*/true)));
  }
  nn::Shared<nn::Embedding> embedding;
  nn::Shared<nn::LearnedPositionalEncoding> positions;
  nn::Shared<nn::TransformerEncoder> layers;
  nn::Shared<nn::LayerNorm> norm;
  nn::Shared<nn::Linear> head;
};

// B windows of T + 1 characters: inputs are the first T, targets the last T.
std::pair<Tensor, Tensor> windows(const std::vector<int64_t>& text, const std::vector<int64_t>& starts, int64_t length) {
  std::vector<int64_t> inputs, targets;
  for (int64_t start : starts) {
    inputs.insert(inputs.end(), text.begin() + start, text.begin() + start + length);
    targets.insert(targets.end(), text.begin() + start + 1, text.begin() + start + length + 1);
  }
  const int64_t batch = static_cast<int64_t>(starts.size());
  return {from_vector(inputs, {batch, length}), from_vector(targets, {batch, length})};
}

double bits(double nats) { return nats / std::numbers::ln2; }

// Mean bits per character over the held-out text, in consecutive windows.
double validation_bits(nn::Module& model, const std::vector<int64_t>& text, int64_t length, int64_t batch) {
  NoGradGuard no_grad;
  model.eval();
  double total = 0.0;
  int64_t count = 0;
  std::vector<int64_t> starts;
  for (int64_t start = 0; start + length + 1 <= static_cast<int64_t>(text.size()); start += length) {
    starts.push_back(start);
    if (static_cast<int64_t>(starts.size()) == batch || start + 2 * length + 1 > static_cast<int64_t>(text.size())) {
      auto [inputs, targets] = windows(text, starts, length);
      const Tensor scores = model.forward(inputs);
      total += F::cross_entropy(scores.reshape({-1, scores.size(-1)}), targets.reshape({-1}), {.reduction = Reduction::sum}).item();
      count += targets.numel();
      starts.clear();
    }
  }
  model.train();
  return bits(total / static_cast<double>(std::max<int64_t>(count, 1)));
}

// Draws one id from scores / temperature.
int64_t sample(const Tensor& scores, double temperature, Generator& generator) {
  const std::vector<double> p = (scores.to(float64) / temperature).softmax(0).to_vector<double>();
  double u = generator.uniform();
  for (size_t i = 0; i < p.size(); ++i) {
    if ((u -= p[i]) < 0) return static_cast<int64_t>(i);
  }
  return static_cast<int64_t>(p.size()) - 1;
}

// New words: from a line break, one character at a time until the next line break.
std::vector<std::string> make_up_words(nn::Module& model, const Corpus& corpus, const Options& o, int count,
                                       double temperature, Generator& generator) {
  NoGradGuard no_grad;
  model.eval();
  std::vector<std::string> words;
  for (int w = 0; w < count; ++w) {
    std::string word;
    std::vector<int64_t> context{corpus.newline};
    std::optional<std::tuple<Tensor, Tensor>> state;
    for (int step = 0; step < 40; ++step) {
      Tensor scores;
      if (auto* lstm = dynamic_cast<LstmModel*>(&model)) {
        scores = lstm->forward(from_vector(std::vector<int64_t>{context.back()}, {1, 1}), state);
      } else {
        const int64_t start = std::max<int64_t>(0, static_cast<int64_t>(context.size()) - o.sequence);
        const std::vector<int64_t> window(context.begin() + start, context.end());
        scores = model.forward(from_vector(window, {1, static_cast<int64_t>(window.size())}));
      }
      const int64_t next = sample(scores.select(0, 0).select(0, -1), temperature, generator);
      if (next == corpus.newline) break;
      word += static_cast<char>(corpus.alphabet[static_cast<size_t>(next)]);
      context.push_back(next);
    }
    words.push_back(word);
  }
  model.train();
  return words;
}

}  // namespace char_lm

int main(int argc, char** argv) {
  ex::CommonOptions options;
  options.epochs = 3;
  options.batch_size = 64;
  options.lr = 2e-3;
  options.optimizer = "adam";
  char_lm::Options model_options;
  std::string text = "/usr/share/dict/words";
  double temperature = 0.8;
  int64_t limit_lines = 0;
  CLI::App app{"Train a character-level language model that makes up words"};
  app.add_option("--model", model_options.model, "lstm or transformer")->capture_default_str()->check(CLI::IsMember({"lstm", "transformer"}));
  app.add_option("--text", text, "a UTF-8 text, one item (word, line) per line")->capture_default_str();
  app.add_option("--epochs", options.epochs, "training epochs")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--batch-size", options.batch_size, "windows per step")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--seq-len", model_options.sequence, "characters per window")->capture_default_str()->check(CLI::Range(2, 4096));
  app.add_option("--hidden", model_options.hidden, "the LSTM's hidden size")->capture_default_str()->check(CLI::Range(1, 1 << 16));
  app.add_option("--lr", options.lr, "Adam's learning rate")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--temperature", temperature, "sampling temperature (lower: safer words)")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--limit", limit_lines, "read only the first N lines (0: all)")->check(CLI::NonNegativeNumber);
  app.add_option("--threads", options.threads, "threads (0: all cores)")->check(CLI::NonNegativeNumber);
  app.add_option("--seed", options.seed, "seed for initialisation, batches and sampling")->capture_default_str();
  app.add_option("--out", options.out, "directory for curves.png and samples.txt (default out/char_lm)");
  app.add_option("--save", options.save, "write a checkpoint after every epoch");
  app.add_option("--resume", options.resume, "continue from a checkpoint written by --save");
  app.add_flag("--json", options.json, "print one final JSON line with the results");
  CLI11_PARSE(app, argc, argv);

  try {
    ex::prepare(options);
    const char_lm::Corpus corpus = char_lm::read_corpus(text, limit_lines);
    const int64_t vocabulary = static_cast<int64_t>(corpus.alphabet.size());
    const int64_t length = model_options.sequence;
    if (static_cast<int64_t>(corpus.validation.size()) <= length + 1) fail("char_lm: the text is too short for --seq-len {}", length);
    std::shared_ptr<nn::Module> model;
    if (model_options.model == "lstm") {
      model = std::make_shared<char_lm::LstmModel>(vocabulary, model_options);
    } else {
      model = std::make_shared<char_lm::TransformerModel>(vocabulary, model_options);
    }
    nn::Adam optimizer(model->parameters(), options.lr);
    const std::filesystem::path out_dir = options.out.empty() ? std::filesystem::path("out/char_lm") : std::filesystem::path(options.out);
    std::filesystem::create_directories(out_dir);

    // Checkpoints: model, optimiser, epoch, the history and the random state, in one .nbl file.
    std::vector<double> curve_x, curve_train, val_x, val_bits;
    int first_epoch = 0;
    if (!options.resume.empty()) {
      const nn::Archive archive = nn::read_archive(options.resume);
      std::map<std::string, Tensor> optimizer_state;
      for (const auto& [name, value] : archive.entries()) {
        if (name.rfind("optimizer.", 0) == 0) optimizer_state[name.substr(10)] = std::get<Tensor>(value);
      }
      nn::load_module_state(*model, archive, "model");
      optimizer.load_state(optimizer_state);
      default_generator().set_state(archive.text("rng"));
      first_epoch = static_cast<int>(archive.tensor("epoch").item<int64_t>());
      curve_x = archive.tensor("history.curve_x").to_vector<double>();
      curve_train = archive.tensor("history.curve_train").to_vector<double>();
      val_x = archive.tensor("history.val_x").to_vector<double>();
      val_bits = archive.tensor("history.val_bits").to_vector<double>();
    }
    fmt::print(stderr, "char_lm: {} on {} ({} training characters, {} held out, alphabet of {}), {} parameters\n",
               model_options.model, text, corpus.train.size(), corpus.validation.size(), vocabulary,
               model->parameter_count());

    const int64_t steps = std::max<int64_t>(1, static_cast<int64_t>(corpus.train.size()) / (options.batch_size * length));
    const int64_t report_every = std::max<int64_t>(1, steps / 20);
    Generator sampler(options.seed + 1);
    double train_seconds = 0.0;
    for (int epoch = first_epoch; epoch < options.epochs; ++epoch) {
      ex::ProgressBar progress(fmt::format("epoch {}/{}", epoch + 1, options.epochs), steps, options.batch_size * length,
                               "bits/char", "chars");
      Generator windows_for(options.seed * 1000003ULL + static_cast<uint64_t>(epoch));  // depends on (seed, epoch) only
      double window_loss = 0.0, epoch_loss = 0.0;
      int64_t window_steps = 0;
      for (int64_t step = 0; step < steps; ++step) {
        std::vector<int64_t> starts(static_cast<size_t>(options.batch_size));
        for (int64_t& start : starts) start = static_cast<int64_t>(windows_for.below(corpus.train.size() - static_cast<size_t>(length) - 1));
        auto [inputs, targets] = char_lm::windows(corpus.train, starts, length);
        optimizer.zero_grad();
        const Tensor scores = model->forward(inputs);
        const Tensor loss = F::cross_entropy(scores.reshape({-1, vocabulary}), targets.reshape({-1}));
        loss.backward();
        optimizer.step();
        const double value = loss.item();
        window_loss += value;
        epoch_loss += value;
        ++window_steps;
        progress.update(step + 1, char_lm::bits(epoch_loss / static_cast<double>(step + 1)), std::nan(""));
        if ((step + 1) % report_every == 0 || step + 1 == steps) {
          curve_x.push_back(epoch + static_cast<double>(step + 1) / static_cast<double>(steps));
          curve_train.push_back(char_lm::bits(window_loss / static_cast<double>(window_steps)));
          window_loss = 0.0;
          window_steps = 0;
        }
      }
      train_seconds += progress.stop();
      const double held_out = char_lm::validation_bits(*model, corpus.validation, length, options.batch_size);
      val_x.push_back(epoch + 1);
      val_bits.push_back(held_out);
      progress.finish(fmt::format(" | held-out {:.3f} bits/char", held_out));
      const auto words = char_lm::make_up_words(*model, corpus, model_options, 10, temperature, sampler);
      fmt::print("epoch {} words: {}\n", epoch + 1, fmt::join(words, ", "));

      if (!options.save.empty()) {
        nn::Archive archive;
        for (const auto& [name, value] : nn::module_state(*model).entries()) archive.put("model." + name, std::get<Tensor>(value));
        for (const auto& [name, value] : optimizer.state()) archive.put("optimizer." + name, value);
        archive.put("epoch", scalar_tensor(epoch + 1, int64));
        archive.put_text("rng", default_generator().state());
        archive.put("history.curve_x", from_vector(curve_x));
        archive.put("history.curve_train", from_vector(curve_train));
        archive.put("history.val_x", from_vector(val_x));
        archive.put("history.val_bits", from_vector(val_bits));
        nn::write_archive(options.save, archive);
      }
    }

    // Pictures and the final report.
    if (!curve_x.empty()) {
      datasets::line_chart({{"train", curve_train, curve_x}, {"held-out", val_bits, val_x}},
                           {.title = fmt::format("char_lm ({}): bits per character", model_options.model),
                            .y_label = "bits per character"})
          .save_png((out_dir / "curves.png").string());
    }
    const auto final_words = char_lm::make_up_words(*model, corpus, model_options, 20, temperature, sampler);
    std::ofstream(out_dir / "samples.txt") << fmt::format("{}\n", fmt::join(final_words, "\n"));
    const double final_bits = val_bits.empty() ? std::nan("") : val_bits.back();
    fmt::print("held-out {:.3f} bits per character after {} epochs ({:.1f} s training); words: {}\n", final_bits,
               options.epochs, train_seconds, fmt::join(final_words, ", "));
    if (options.json) {
      fmt::print("{{\"example\":\"char_lm\",\"model\":\"{}\",\"epochs\":{},\"train_seconds\":{:.3f},\"bits_per_char\":{:.4f}}}\n",
                 model_options.model, options.epochs, train_seconds, final_bits);
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "char_lm: {}\n", e.what());
    return 1;
  }
  return 0;
}
