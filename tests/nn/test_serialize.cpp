// Saving and loading: round trips, the exact bytes of the format, and every kind of bad file
// refused with a clear message and without touching the module.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "nabla/nn.hpp"
#include "temp_dir.hpp"

using namespace nabla;
using Catch::Contains;
namespace fs = std::filesystem;

namespace {

using nn_test::TempDir;

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// An independent CRC-32 (the zlib / PNG polynomial), so the tests do not trust the code they test.
uint32_t crc32_of(const std::string& bytes) {
  uint32_t crc = 0xffffffffu;
  for (unsigned char byte : bytes) {
    crc ^= byte;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return crc ^ 0xffffffffu;
}

// Little-endian field writers for hand-made files.
std::string le(uint64_t value, int bytes) {
  std::string out;
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
  return out;
}

// A whole uncompressed file around `payload`, with a correct CRC.
std::string file_around(const std::string& payload, uint32_t version = 1) {
  return std::string("\x89NBL\r\n\x1a\n", 8) + le(version, 4) + le(0, 4) + le(payload.size(), 8) +
         le(payload.size(), 8) + le(crc32_of(payload), 4) + payload;
}

// A small model with every kind of state: conv and linear weights, batch-norm affine parameters
// and running-statistics buffers (one of them int64).
std::shared_ptr<nn::Sequential> make_model(uint64_t seed) {
  manual_seed(seed);
  return std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::Conv2d>(1, 2, 3), std::make_shared<nn::BatchNorm2d>(2), std::make_shared<nn::ReLU>(),
      std::make_shared<nn::Flatten>(), std::make_shared<nn::Linear>(8, 3)});
}

const Tensor& sample_input() {
  static Generator generator(99);
  static const Tensor input = randn({2, 1, 4, 4}, float32, generator);
  return input;
}

// A model whose batch-norm statistics have moved away from their initial values.
std::shared_ptr<nn::Sequential> trained_model(uint64_t seed) {
  auto model = make_model(seed);
  model->train();
  for (int i = 0; i < 3; ++i) (*model)(sample_input());
  model->eval();
  return model;
}

std::vector<float> eval_output(nn::Module& model) {
  NoGradGuard no_grad;
  model.eval();
  return model(sample_input()).data().contiguous().to_vector<float>();
}

// Every parameter and buffer as doubles, by name: for "the module is unchanged" checks.
std::vector<std::pair<std::string, std::vector<double>>> snapshot(const nn::Module& model) {
  std::vector<std::pair<std::string, std::vector<double>>> out;
  for (const auto& [name, parameter] : model.named_parameters()) {
    out.emplace_back(name, parameter.data().to_vector<double>());
  }
  for (const auto& [name, buffer] : model.named_buffers()) out.emplace_back(name, buffer.to_vector<double>());
  return out;
}

// Loads `path` into a fresh model, expecting a refusal whose message contains all `parts`, and
// checks the model is exactly as before.
void check_refused(const std::string& path, const std::vector<std::string>& parts) {
  auto model = make_model(5);
  const auto before = snapshot(*model);
  try {
    nn::load(*model, path);
    FAIL("load accepted a bad file");
  } catch (const Error& error) {
    const std::string message = error.what();
    INFO(message);
    for (const std::string& part : parts) CHECK_THAT(message, Contains(part));
  }
  CHECK(snapshot(*model) == before);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Round trips

TEST_CASE("serialize: a saved model loads back to identical outputs", "[serialize]") {
  TempDir dir;
  const bool compress = GENERATE(false, true);
  INFO("compress " << compress);
  auto saved = trained_model(1);
  const std::string path = dir.file("model.nbl");
  nn::save(*saved, path, {.compress = compress});
  CHECK_FALSE(fs::exists(path + ".tmp"));

  auto loaded = make_model(2);  // different initial weights
  REQUIRE(eval_output(*loaded) != eval_output(*saved));
  const Tensor weight_handle = loaded->named_parameters().front().second.data();
  nn::load(*loaded, path);
  CHECK(eval_output(*loaded) == eval_output(*saved));
  CHECK(snapshot(*loaded) == snapshot(*saved));
  // Values were copied into the existing storage: old handles see the loaded weights.
  CHECK(weight_handle.to_vector<double>() == saved->named_parameters().front().second.data().to_vector<double>());
  auto batch_norm = std::dynamic_pointer_cast<nn::BatchNorm2d>((*loaded)[1]);
  CHECK(batch_norm->num_batches_tracked.item<int64_t>() == 3);
  CHECK(batch_norm->num_batches_tracked.dtype() == int64);
}

TEST_CASE("serialize: compression shrinks redundant data and reads back the same", "[serialize]") {
  TempDir dir;
  nn::Archive archive;
  archive.put("zeros", zeros({64, 64}, float64));
  archive.put("ramp", arange(0.0, 100.0, 1.0, float32));
  archive.put("bytes", from_vector(std::vector<uint8_t>{1, 2, 255}));
  archive.put("labels", from_vector(std::vector<int64_t>{-3, 0, int64_t{1} << 40}));
  archive.put("scalar", scalar_tensor(2.5, float64));
  archive.put("empty", zeros({0, 3}));
  archive.put_text("note", "trained on MNIST, 3 epochs \xe2\x9c\x93");
  nn::write_archive(dir.file("plain.nbl"), archive);
  nn::write_archive(dir.file("packed.nbl"), archive, {.compress = true});
  CHECK(fs::file_size(dir.file("packed.nbl")) < fs::file_size(dir.file("plain.nbl")) / 4);

  for (const char* name : {"plain.nbl", "packed.nbl"}) {
    INFO(name);
    const nn::Archive back = nn::read_archive(dir.file(name));
    CHECK(back.source == dir.file(name));
    CHECK(back.entries().size() == archive.entries().size());
    for (const char* key : {"zeros", "ramp", "bytes", "labels", "scalar", "empty"}) {
      INFO(key);
      CHECK(back.tensor(key).dtype() == archive.tensor(key).dtype());
      CHECK(back.tensor(key).shape() == archive.tensor(key).shape());
      CHECK(back.tensor(key).to_vector<double>() == archive.tensor(key).to_vector<double>());
    }
    CHECK(back.tensor("labels").to_vector<int64_t>()[2] == int64_t{1} << 40);
    CHECK(back.text("note") == archive.text("note"));
    CHECK_THROWS_WITH(back.tensor("missing"), Contains("no entry 'missing'") && Contains(name));
    CHECK_THROWS_WITH(back.tensor("note"), Contains("'note'") && Contains("text"));
    CHECK_THROWS_WITH(back.text("ramp"), Contains("'ramp'") && Contains("tensor"));
  }
}

TEST_CASE("serialize: the bytes on disk are the documented format", "[serialize]") {
  // The worked example in docs/FORMAT.md: one float32 tensor "w" = [1, -2] and a text "n" = "hi".
  TempDir dir;
  nn::Archive archive;
  archive.put("w", from_vector(std::vector<float>{1.0f, -2.0f}));
  archive.put_text("n", "hi");
  nn::write_archive(dir.file("tiny.nbl"), archive);

  const std::string payload = le(2, 4) +                                        // entry count
                              le(1, 4) + "n" + le(1, 1) + le(2, 8) + "hi" +     // text entry (names sorted)
                              le(1, 4) + "w" + le(0, 1) + le(0, 1) + le(1, 1) + le(2, 8) +  // float32, rank 1, [2]
                              std::string("\x00\x00\x80\x3f\x00\x00\x00\xc0", 8);            // 1.0f, -2.0f
  const std::string expected = file_around(payload);
  CHECK(read_bytes(dir.file("tiny.nbl")) == expected);
  CHECK(expected.size() == 36 + 44);
  CHECK(crc32_of(payload) == 0xf87b93c3u);  // the value printed in docs/FORMAT.md
}

TEST_CASE("serialize: int32 and bool tensors have dtype codes 4 and 5, and read back", "[serialize][dtype]") {
  // Codes 0-3 are unchanged (the test above pins float32's bytes); 4 and 5 were added with the dtypes.
  TempDir dir;
  nn::Archive archive;
  archive.put("i", from_vector(std::vector<int32_t>{-2, 2147483647}));
  archive.put("m", from_vector(std::vector<bool>{true, false, true}));
  nn::write_archive(dir.file("dtypes.nbl"), archive);
  const std::string payload = le(2, 4) +
                              le(1, 4) + "i" + le(0, 1) + le(4, 1) + le(1, 1) + le(2, 8) +  // int32, rank 1, [2]
                              le(0xfffffffeu, 4) + le(0x7fffffffu, 4) +
                              le(1, 4) + "m" + le(0, 1) + le(5, 1) + le(1, 1) + le(3, 8) +  // bool, rank 1, [3]
                              le(1, 1) + le(0, 1) + le(1, 1);
  CHECK(read_bytes(dir.file("dtypes.nbl")) == file_around(payload));
  for (bool compress : {false, true}) {
    nn::write_archive(dir.file("packed.nbl"), archive, {.compress = compress});
    const nn::Archive back = nn::read_archive(dir.file("packed.nbl"));
    CHECK(back.tensor("i").dtype() == int32);
    CHECK(back.tensor("i").to_vector<int32_t>() == std::vector<int32_t>{-2, 2147483647});
    CHECK(back.tensor("m").dtype() == bool_);
    CHECK(back.tensor("m").to_vector<bool>() == std::vector<bool>{true, false, true});
  }
  // A bool byte other than 0 or 1 would be undefined behaviour as a C++ bool: refused.
  write_bytes(dir.file("bad.nbl"),
              file_around(le(1, 4) + le(1, 4) + "m" + le(0, 1) + le(5, 1) + le(1, 1) + le(2, 8) + le(1, 1) + le(2, 1)));
  CHECK_THROWS_WITH(nn::read_archive(dir.file("bad.nbl")),
                    Contains("'m'") && Contains("bool") && Contains("element 1") && Contains("byte 2"));
  write_bytes(dir.file("bad.nbl"), file_around(le(1, 4) + le(1, 4) + "m" + le(0, 1) + le(6, 1) + le(0, 1)));
  CHECK_THROWS_WITH(nn::read_archive(dir.file("bad.nbl")), Contains("bad dtype code 6") && Contains("5 bool"));
}

TEST_CASE("serialize: module_state is a snapshot, and prefixes select a part of an archive", "[serialize]") {
  auto model = trained_model(3);
  const nn::Archive state = nn::module_state(*model);
  CHECK(state.entries().size() == model->named_parameters().size() + model->named_buffers().size());
  CHECK(state.contains("0.weight"));
  CHECK(state.contains("1.running_mean"));
  CHECK(state.contains("1.num_batches_tracked"));
  const auto before = snapshot(*model);
  {
    NoGradGuard no_grad;
    for (Tensor& parameter : model->parameters()) {
      Tensor values = parameter.data();
      values.fill_(0.25);
    }
  }
  nn::load_module_state(*model, state);
  CHECK(snapshot(*model) == before);

  // A checkpoint holding a model under "model." next to other things.
  nn::Archive checkpoint;
  for (const auto& [name, value] : state.entries()) checkpoint.put("model." + name, std::get<Tensor>(value));
  checkpoint.put("optimizer.lr", scalar_tensor(0.1, float64));
  checkpoint.put_text("epoch", "7");
  auto other = make_model(4);
  nn::load_module_state(*other, checkpoint, "model");
  CHECK(snapshot(*other) == before);
  CHECK_THROWS_WITH(nn::load_module_state(*other, checkpoint),
                    Contains("missing '0.weight'") && Contains("unexpected") && Contains("'model.0.weight'"));
}

TEST_CASE("serialize: entries of a temporary archive can be walked in a range-for", "[serialize]") {
  // `module_state(m).entries()` on a temporary moves the entries out instead of handing back a reference
  // into an archive that dies before the loop body runs (it corrupted the heap in char_lm's checkpoints).
  auto model = trained_model(3);
  std::vector<std::string> names;
  for (const auto& [name, value] : nn::module_state(*model).entries()) {
    CHECK(std::get<Tensor>(value).numel() > 0);
    names.push_back(name);
  }
  CHECK(names.size() == model->named_parameters().size() + model->named_buffers().size());
  CHECK(std::find(names.begin(), names.end(), "0.weight") != names.end());
}

// ---------------------------------------------------------------------------------------------
// Refusals: each leaves the module exactly as it was

TEST_CASE("serialize: truncated files are refused", "[serialize]") {
  TempDir dir;
  const std::string path = dir.file("model.nbl");
  nn::save(*trained_model(1), path);
  const std::string bytes = read_bytes(path);
  for (size_t keep : {size_t{0}, size_t{5}, size_t{20}, size_t{36}, size_t{100}, bytes.size() - 1}) {
    INFO("keeping " << keep << " of " << bytes.size() << " bytes");
    write_bytes(path, bytes.substr(0, keep));
    check_refused(path, {path, "truncated at byte " + std::to_string(keep) + " of"});
  }
  write_bytes(path, bytes.substr(0, 100));
  check_refused(path, {"of " + std::to_string(bytes.size())});
}

TEST_CASE("serialize: corrupted files are refused", "[serialize]") {
  TempDir dir;
  const std::string path = dir.file("model.nbl");
  const bool compress = GENERATE(false, true);
  INFO("compress " << compress);
  nn::save(*trained_model(1), path, {.compress = compress});
  const std::string bytes = read_bytes(path);

  SECTION("a flipped bit in the payload") {
    for (size_t position : {size_t{36}, size_t{37}, bytes.size() / 2, bytes.size() - 1}) {
      INFO("position " << position);
      std::string flipped = bytes;
      flipped[position] = static_cast<char>(flipped[position] ^ 0x10);
      write_bytes(path, flipped);
      check_refused(path, {path, "CRC mismatch", "corrupt"});
    }
  }
  SECTION("a flipped bit in the stored CRC") {
    std::string flipped = bytes;
    flipped[33] = static_cast<char>(flipped[33] ^ 0x01);
    write_bytes(path, flipped);
    check_refused(path, {"CRC mismatch"});
  }
  SECTION("another version") {
    std::string newer = bytes;
    newer[8] = 2;
    write_bytes(path, newer);
    check_refused(path, {path, "unsupported version 2", "reads version 1"});
  }
  SECTION("unknown flags") {
    std::string flagged = bytes;
    flagged[12] = static_cast<char>(flagged[12] | 0x04);
    write_bytes(path, flagged);
    check_refused(path, {"unknown flags"});
  }
  SECTION("trailing garbage") {
    write_bytes(path, bytes + "xyz");
    check_refused(path, {path, "3 bytes of trailing garbage"});
  }
  SECTION("not a nabla file") {
    write_bytes(path, "PK\x03\x04 this is a zip file, honest");
    check_refused(path, {path, "not a nabla file"});
    std::string magic_damaged = bytes;
    magic_damaged[1] = 'X';
    write_bytes(path, magic_damaged);
    check_refused(path, {"not a nabla file"});
  }
}

TEST_CASE("serialize: a missing file is refused by name", "[serialize]") {
  TempDir dir;
  check_refused(dir.file("nothing-here.nbl"), {"nothing-here.nbl", "not found"});
}

TEST_CASE("serialize: structurally bad payloads with a valid CRC are refused", "[serialize]") {
  // Files a buggy or hostile writer could make: the CRC is right, the content is not.
  TempDir dir;
  const std::string path = dir.file("bad.nbl");
  auto refuse = [&](const std::string& payload, const std::vector<std::string>& parts) {
    write_bytes(path, file_around(payload));
    try {
      nn::read_archive(path);
      FAIL("read_archive accepted a bad payload");
    } catch (const Error& error) {
      const std::string message = error.what();
      INFO(message);
      CHECK_THAT(message, Contains(path));
      for (const std::string& part : parts) CHECK_THAT(message, Contains(part));
    }
  };
  const std::string entry_w = le(1, 4) + "w" + le(0, 1);  // name "w", kind tensor
  refuse(le(1, 4) + entry_w + le(9, 1) + le(0, 1), {"bad dtype code 9", "'w'"});
  refuse(le(1, 4) + le(1, 4) + "w" + le(7, 1), {"unknown kind 7"});
  refuse(le(1, 4) + entry_w + le(0, 1) + le(9, 1), {"rank 9"});
  // A shape claiming 2^40 floats in a tiny file: refused before any allocation.
  refuse(le(1, 4) + entry_w + le(0, 1) + le(2, 1) + le(1 << 20, 8) + le(1 << 20, 8),
         {"[1048576, 1048576]", "bytes left"});
  refuse(le(1, 4) + entry_w + le(0, 1) + le(1, 1) + le(uint64_t(1) << 63, 8), {"negative extent"});
  refuse(le(1, 4) + entry_w + le(0, 1) + le(1, 1) + le(3, 8) + std::string(8, '\0'), {"'w'", "[3]"});
  refuse(le(1000000, 4) + entry_w, {"1000000 entries"});
  refuse(le(1, 4) + le(0xfffffff0u, 4) + "w", {"entry name", "remain"});
  refuse(le(1, 4) + le(1, 4) + "n" + le(1, 1) + le(uint64_t(1) << 62, 8) + "hi", {"text", "remain"});
  refuse(le(0, 4) + "junk", {"4 bytes of trailing garbage"});
  refuse(le(2, 4) + entry_w + le(0, 1) + le(0, 1) + std::string(4, '\0') + entry_w + le(0, 1) + le(0, 1) +
             std::string(4, '\0'),
         {"'w' appears twice"});
  // And a well-formed one is accepted.
  write_bytes(path, file_around(le(1, 4) + entry_w + le(1, 1) + le(0, 1) + le(0, 8)));
  CHECK(nn::read_archive(path).tensor("w").item() == 0.0);
}

TEST_CASE("serialize: mismatched shapes, dtypes and names are refused before anything is copied", "[serialize]") {
  TempDir dir;
  const std::string path = dir.file("model.nbl");
  manual_seed(11);
  nn::Sequential saved{std::make_shared<nn::Linear>(3, 4), std::make_shared<nn::Linear>(4, 2)};
  nn::save(saved, path);

  // "0.weight" and "0.bias" match and come first; "1.weight" does not. Nothing may be copied.
  manual_seed(12);
  nn::Sequential wider{std::make_shared<nn::Linear>(3, 4), std::make_shared<nn::Linear>(4, 5)};
  const auto before = snapshot(wider);
  CHECK_THROWS_WITH(nn::load(wider, path),
                    Contains("'1.weight'") && Contains("[2, 4]") && Contains("[5, 4]") && Contains(path));
  CHECK(snapshot(wider) == before);

  nn::Sequential deeper{std::make_shared<nn::Linear>(3, 4), std::make_shared<nn::Linear>(4, 2),
                        std::make_shared<nn::Linear>(2, 2)};
  const auto deeper_before = snapshot(deeper);
  CHECK_THROWS_WITH(nn::load(deeper, path), Contains("missing '2.weight', '2.bias'"));
  CHECK(snapshot(deeper) == deeper_before);

  nn::Sequential shallower{std::make_shared<nn::Linear>(3, 4)};
  CHECK_THROWS_WITH(nn::load(shallower, path), Contains("unexpected '1.bias', '1.weight'"));

  nn::Archive as_double = nn::module_state(saved);
  as_double.put("0.bias", as_double.tensor("0.bias").to(float64));
  CHECK_THROWS_WITH(nn::load_module_state(wider, as_double), Contains("'0.bias'") && Contains("float64") &&
                                                                   Contains("float32"));
  CHECK(snapshot(wider) == before);
}

TEST_CASE("serialize: an interrupted write leaves the old file loadable", "[serialize]") {
  TempDir dir;
  const std::string path = dir.file("model.nbl");
  auto saved = trained_model(1);
  nn::save(*saved, path);
  // A crash mid-write: the temporary file holds garbage and was never renamed.
  write_bytes(path + ".tmp", std::string("\x89NBL\r\n\x1a\n\x01\x00\x00\x00 half a header", 24));
  auto loaded = make_model(2);
  nn::load(*loaded, path);
  CHECK(eval_output(*loaded) == eval_output(*saved));
  // The next save replaces the stale temporary file.
  auto newer = trained_model(3);
  nn::save(*newer, path);
  CHECK_FALSE(fs::exists(path + ".tmp"));
  nn::load(*loaded, path);
  CHECK(eval_output(*loaded) == eval_output(*newer));
}

TEST_CASE("serialize: a write that cannot happen reports it and keeps the old file", "[serialize]") {
  TempDir dir;
  CHECK_THROWS_WITH(nn::save(*make_model(1), dir.file("no/such/folder/model.nbl")),
                    Contains("cannot create") && Contains("no/such/folder/model.nbl.tmp"));
}

// ---------------------------------------------------------------------------------------------
// Optimisers

TEST_CASE("serialize: an optimiser saved and loaded continues identically", "[serialize]") {
  TempDir dir;
  const std::string path = dir.file("adam.nbl");
  Generator input_generator(3), target_generator(4);
  const Tensor inputs = randn({16, 2}, float32, input_generator);
  const Tensor targets = randn({16, 1}, float32, target_generator);
  auto train = [&](nn::Module& model, nn::Optimizer& optimizer, int steps) {
    for (int i = 0; i < steps; ++i) {
      optimizer.zero_grad();
      Tensor loss = nn::functional::mse_loss(model(inputs), targets);
      loss.backward();
      optimizer.step();
    }
  };
  manual_seed(21);
  nn::Linear model(2, 1);
  nn::Adam adam(model.parameters(), nn::AdamOptions{.lr = 0.05, .amsgrad = true});
  train(model, adam, 5);
  const bool compress = GENERATE(false, true);
  nn::save(model, dir.file("model.nbl"), {.compress = compress});
  nn::save(adam, path, {.compress = compress});

  manual_seed(22);
  nn::Linear resumed_model(2, 1);
  nn::Adam resumed(resumed_model.parameters(), nn::AdamOptions{.lr = 0.05, .amsgrad = true});
  nn::load(resumed_model, dir.file("model.nbl"));
  nn::load(resumed, path);
  train(model, adam, 5);
  train(resumed_model, resumed, 5);
  CHECK(snapshot(resumed_model) == snapshot(model));

  // Wrong kind of optimiser, wrong kind of file.
  nn::SGD sgd(resumed_model.parameters(), 0.1);
  CHECK_THROWS_WITH(nn::load(sgd, path), Contains(path) && Contains("this is Adam state, not SGD state"));
  CHECK_THROWS_WITH(nn::load(sgd, dir.file("model.nbl")), Contains("no 'type'"));
  CHECK(sgd.lr() == 0.1);
  CHECK_THROWS_WITH(nn::load(resumed_model, path),
                    Contains("missing 'weight', 'bias'") && Contains("unexpected '0.exp_avg'"));
}
