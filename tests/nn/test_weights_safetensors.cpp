// safetensors: the exact bytes nabla writes, round trips of every dtype, F16/BF16 conversion,
// memory-mapped reading, every malformed header refused with a message naming the problem, a
// fuzz-style sweep of mutated and truncated files, and loading modules with renaming and
// strict = false.
#include <cmath>
#include <cstring>
#include <limits>

#include "nn_test_support.hpp"
#include "weights_test_support.hpp"

using namespace nabla;
using Catch::Matchers::Contains;
using weights_test::TempDir;

namespace {

// header + data as a file: 8-byte length, the JSON text, the data.
std::string safetensors_file(const std::string& header, const std::string& data) {
  std::string out;
  weights_test::put_le(out, header.size(), 8);
  return out + header + data;
}

std::string bytes_of(const Tensor& tensor) {
  const kernels::Tensor packed = tensor.raw().contiguous();
  return std::string(static_cast<const char*>(packed.raw_data()), packed.numel() * itemsize(packed.dtype()));
}

nn::Weights sample_weights() {
  nn::Weights weights;
  weights.put("a", tensor({1.0, 2.0}, {2, 1}, float32));
  weights.put("b", tensor({1.5, -2.0}, {2}, float64));
  weights.put("i", tensor({7}, {1}, int64).squeeze());
  weights.put("m", tensor({1, 2, 3}, {3}, uint8));
  weights.metadata["k"] = "v";
  return weights;
}

struct Net : nn::Module {
  nn::Shared<nn::Linear> fc1 = register_module("fc1", nn::Linear(4, 3));
  nn::Shared<nn::Linear> fc2 = register_module("fc2", nn::Linear(3, 2));
  Tensor forward(const Tensor& x) override { return fc2(relu(fc1(x))); }
};

}  // namespace

TEST_CASE("safetensors: nabla writes the bytes the format requires", "[weights]") {
  // Data ordered by element size (8-byte types first, then file order), offsets from the data start,
  // the JSON header padded with spaces to a multiple of 8, metadata first.
  const std::string json =
      R"({"__metadata__":{"k":"v"},"b":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},)"
      R"("i":{"dtype":"I64","shape":[],"data_offsets":[16,24]},)"
      R"("a":{"dtype":"F32","shape":[2,1],"data_offsets":[24,32]},)"
      R"("m":{"dtype":"U8","shape":[3],"data_offsets":[32,35]}})";
  std::string header = json + std::string((8 - json.size() % 8) % 8, ' ');
  std::string data;
  const double b[] = {1.5, -2.0};
  const int64_t i = 7;
  const float a[] = {1.0f, 2.0f};
  data.append(reinterpret_cast<const char*>(b), 16);
  data.append(reinterpret_cast<const char*>(&i), 8);
  data.append(reinterpret_cast<const char*>(a), 8);
  data += std::string("\x01\x02\x03", 3);
  const std::string expected = safetensors_file(header, data);
  CHECK(header.size() % 8 == 0);
  CHECK(nn::safetensors_bytes(sample_weights()) == expected);

  TempDir dir;
  nn::write_safetensors(dir.file("w.safetensors"), sample_weights());
  CHECK(weights_test::read_bytes(dir.file("w.safetensors")) == expected);
  CHECK_FALSE(std::filesystem::exists(dir.file("w.safetensors.tmp")));
}

TEST_CASE("safetensors: every dtype round-trips bit for bit, with metadata and views in file order", "[weights]") {
  Generator generator(7);
  nn::Weights weights;
  Tensor special = tensor({0.0, -0.0, 1e-40, std::numeric_limits<double>::infinity(), std::nan("")}, {5}, float32);
  weights.put("float32", randn({3, 4, 5}, float32, generator));
  weights.put("float32.transposed", randn({4, 3}, float32, generator).t());  // written packed
  weights.put("float64", randn({2, 3}, float64, generator));
  weights.put("int64", tensor({-5, 0, 1ll << 40}, {3}, int64));
  weights.put("uint8", tensor({0, 255, 17}, {3}, uint8));
  weights.put("int32", tensor({-3, 0, 2147483647}, {3}, int32));
  weights.put("bool", tensor({1, 0, 0, 1}, {2, 2}, bool_));
  weights.put("special", special);
  weights.put("empty", zeros({0, 3}, float32));
  weights.metadata = {{"format", "pt"}, {"note", "äöü ✓"}};
  TempDir dir;
  const std::string path = dir.file("all.safetensors");
  nn::write_weights(path, weights);

  for (bool mmap : {true, false}) {
    const nn::Weights back = nn::read_safetensors(path, {.mmap = mmap});
    CHECK(back.format == "safetensors");
    CHECK(back.metadata == weights.metadata);
    REQUIRE(back.tensors.size() == weights.tensors.size());
    for (const auto& [name, original] : weights.tensors) {
      INFO(name);
      const Tensor& read = back.at(name);
      CHECK(read.dtype() == original.dtype());
      CHECK(read.shape() == original.shape());
      CHECK(bytes_of(read) == bytes_of(original));
      CHECK_FALSE(read.requires_grad());
    }
  }
  // read_weights picks safetensors by its content, whatever the extension.
  std::filesystem::copy_file(path, dir.file("all.bin"));
  CHECK(nn::read_weights(dir.file("all.bin")).tensors.size() == weights.tensors.size());
}

TEST_CASE("safetensors: memory-mapped tensors are private copy-on-write views of the file", "[weights]") {
  TempDir dir;
  const std::string path = dir.file("w.safetensors");
  nn::Weights weights;
  weights.put("w", ones({1000}, float32));
  nn::write_safetensors(path, weights);
  const std::string before = weights_test::read_bytes(path);
  {
    nn::Weights mapped = nn::read_safetensors(path);
    Tensor w = mapped.at("w");
    w.raw().fill_(3.0);  // writes the process's copy of the page, never the file
    CHECK(w.sum().item<double>() == 3000.0);
  }
  CHECK(weights_test::read_bytes(path) == before);
  // The tensors keep the mapping alive after the Weights are gone.
  Tensor kept = nn::read_safetensors(path).at("w");
  CHECK(kept.sum().item<double>() == 1000.0);
}

TEST_CASE("safetensors: F16 and BF16 are read as float32", "[weights]") {
  // F16: 1, -2, 65504 (largest), 2^-24 (smallest subnormal), inf, -0; BF16: 1, -3.5, 2^-129 (subnormal)
  const uint16_t half[] = {0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0x8000};
  const uint16_t brain[] = {0x3f80, 0xc060, 0x0010};
  std::string data(reinterpret_cast<const char*>(half), sizeof half);
  data.append(reinterpret_cast<const char*>(brain), sizeof brain);
  const std::string header = R"({"h":{"dtype":"F16","shape":[6],"data_offsets":[0,12]},)"
                             R"("b":{"dtype":"BF16","shape":[3],"data_offsets":[12,18]}})";
  const nn::Weights weights = nn::parse_safetensors(safetensors_file(header, data).data(),
                                                    safetensors_file(header, data).size());
  const Tensor h = weights.at("h");
  CHECK(h.dtype() == float32);
  const std::vector<float> hv = h.raw().to_vector<float>();
  CHECK(hv[0] == 1.0f);
  CHECK(hv[1] == -2.0f);
  CHECK(hv[2] == 65504.0f);
  CHECK(hv[3] == std::ldexp(1.0f, -24));
  CHECK(std::isinf(hv[4]));
  CHECK((hv[5] == 0.0f && std::signbit(hv[5])));
  const std::vector<float> bv = weights.at("b").raw().to_vector<float>();
  CHECK(bv[0] == 1.0f);
  CHECK(bv[1] == -3.5f);
  CHECK(bv[2] == std::ldexp(1.0f, -129));
  CHECK(weights.names == std::vector<std::string>{"h", "b"});
}

TEST_CASE("safetensors: malformed files are refused with the file and the problem named", "[weights]") {
  const std::string f32x2(8, '\0');
  auto refused = [](const std::string& file, const std::string& problem) {
    INFO(problem);
    CHECK_THROWS_WITH(nn::parse_safetensors(file.data(), file.size(), "bad.safetensors"),
                      Contains("bad.safetensors") && Contains(problem));
  };
  const std::string ok = R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  REQUIRE(nn::parse_safetensors(safetensors_file(ok, f32x2).data(), safetensors_file(ok, f32x2).size()).contains("x"));

  refused(std::string("\x02\x00\x00", 3), "fewer than the 8");
  {
    std::string file = safetensors_file(ok, f32x2);
    file[0] = static_cast<char>(200);  // header length 200 + ..., the file is shorter
    refused(file, "longer than the file");
    std::string huge(8, '\xff');
    refused(huge + "{}", "longer than the file");
  }
  refused(safetensors_file("[1, 2]", ""), "does not start with '{'");
  refused(safetensors_file(R"({"x": {"dtype": "F32", )", ""), "not valid JSON");
  refused(safetensors_file("{\"\xff\xfe\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}", ""),
          "not valid JSON (or not UTF-8)");
  refused(safetensors_file(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                           R"("x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                           f32x2),
          "names 'x' twice");
  refused(safetensors_file(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                           R"("y":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                           f32x2),
          "overlap");
  refused(safetensors_file(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", f32x2),
          "belong to no tensor (a gap before 'x')");
  refused(safetensors_file(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", f32x2),
          "the last 4 bytes of the data belong to no tensor");
  refused(safetensors_file(R"({"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", f32x2), "past the end");
  refused(safetensors_file(R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", f32x2),
          "needs 12 bytes, but its data_offsets [0, 8] hold 8");
  refused(safetensors_file(R"({"x":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", f32x2),
          "more than 2^64");
  refused(safetensors_file(R"({"x":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", f32x2),
          "not a non-negative integer");
  refused(safetensors_file(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", f32x2), "end before they begin");
  refused(safetensors_file(R"({"x":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", f32x2), "unknown dtype 'Q4'");
  refused(safetensors_file(R"({"x":{"dtype":"I16","shape":[4],"data_offsets":[0,8]}})", f32x2), "int16");
  refused(safetensors_file(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":1}})", f32x2),
          "unknown field 'extra'");
  refused(safetensors_file(R"({"x":{"dtype":"F32","shape":[2]}})", f32x2), "lacks one of");
  refused(safetensors_file(R"({"__metadata__":{"n":1},"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", f32x2),
          "__metadata__ entry 'n'");
  refused(safetensors_file(R"({"x":{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,4]}})", f32x2),
          "9 axes");

  // From a file, the message names the path.
  TempDir dir;
  const std::string path = dir.file("broken.safetensors");
  weights_test::write_bytes(path, safetensors_file(R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", f32x2));
  CHECK_THROWS_WITH(nn::read_safetensors(path), Contains(path) && Contains("needs 12 bytes"));
  CHECK_THROWS_WITH(nn::read_safetensors(dir.file("absent.safetensors")), Contains("not found"));
}

TEST_CASE("safetensors: mutated and truncated files are refused cleanly, never crash", "[weights][fuzz]") {
  Generator generator(3);
  nn::Weights weights;
  weights.put("w", randn({3, 2}, float32, generator));
  weights.put("b", tensor({1, 2}, {2}, int64));
  weights.put("m", tensor({1, 0, 1}, {3}, uint8));
  weights.metadata["producer"] = "test";
  const std::string valid = nn::safetensors_bytes(weights);
  int parsed = 0, refused = 0;
  auto attempt = [&](const std::string& bytes) {
    try {
      nn::parse_safetensors(bytes.data(), bytes.size());
      ++parsed;
    } catch (const Error&) {
      ++refused;  // any other exception type escapes and fails the test
    }
  };
  for (size_t size = 0; size < valid.size(); ++size) attempt(valid.substr(0, size));
  std::mt19937 random(11);
  for (int trial = 0; trial < 3000; ++trial) {
    std::string bytes = valid;
    const int edits = 1 + static_cast<int>(random() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t at = random() % bytes.size();
      switch (random() % 4) {
        case 0: bytes[at] = static_cast<char>(random()); break;
        case 1: bytes[at] ^= static_cast<char>(1u << (random() % 8)); break;
        case 2: bytes.insert(at, 1, "{}[]\",:0123456789 "[random() % 18]); break;
        default: bytes.erase(at, 1 + random() % 8); break;
      }
    }
    attempt(bytes);
  }
  CHECK(refused > 1000);
  CHECK(parsed + refused == static_cast<int>(valid.size()) + 3000);
}

TEST_CASE("nn::save and nn::load take .safetensors: a trained cnn comes back bit-identical", "[weights]") {
  Generator generator(1);
  nn::Shared<nn::Sequential> cnn =
      nn::Sequential{nn::Conv2d(1, 8, 3), nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(), nn::Linear(8 * 13 * 13, 10)};
  nn::Adam optimizer(cnn->parameters(), {.lr = 1e-2});
  const Tensor images = randn({8, 1, 28, 28}, float32, generator);
  const Tensor labels = randint(0, 10, {8}, generator);
  for (int step = 0; step < 3; ++step) {
    optimizer.zero_grad();
    nn::functional::cross_entropy(cnn(images), labels).backward();
    optimizer.step();
  }
  TempDir dir;
  nn::save(*cnn, dir.file("cnn.safetensors"));
  nn::Shared<nn::Sequential> copy =
      nn::Sequential{nn::Conv2d(1, 8, 3), nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(), nn::Linear(8 * 13 * 13, 10)};
  nn::load(*copy, dir.file("cnn.safetensors"));
  const auto original = cnn->named_parameters();
  const auto loaded = copy->named_parameters();
  REQUIRE(loaded.size() == original.size());
  for (size_t i = 0; i < original.size(); ++i) {
    INFO(original[i].first);
    CHECK(loaded[i].first == original[i].first);
    CHECK(bytes_of(loaded[i].second) == bytes_of(original[i].second));
  }
  CHECK(bytes_of(copy(images)) == bytes_of(cnn(images)));
  // The file's names are PyTorch's for the same Sequential.
  const nn::Weights file = nn::read_weights(dir.file("cnn.safetensors"));
  CHECK(file.names == std::vector<std::string>{"0.weight", "0.bias", "4.weight", "4.bias"});

  // Converting to .nbl keeps it loadable by nn::load.
  nn::write_weights(dir.file("cnn.nbl"), file);
  nn::Shared<nn::Sequential> third =
      nn::Sequential{nn::Conv2d(1, 8, 3), nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(), nn::Linear(8 * 13 * 13, 10)};
  nn::load(*third, dir.file("cnn.nbl"));
  CHECK(bytes_of(third(images)) == bytes_of(cnn(images)));
  CHECK_THROWS_WITH(nn::write_weights(dir.file("cnn.pt"), file), Contains("does not write torch.save"));
}

TEST_CASE("nn::load names the first missing, unexpected and mis-shaped entry, maps names, and loads leniently",
          "[weights]") {
  TempDir dir;
  Generator generator(5);
  nn::Weights file;
  file.put("encoder.weight", randn({3, 4}, float32, generator));
  file.put("encoder.bias", randn({3}, float32, generator));
  file.put("head.weight", randn({2, 3}, float32, generator));
  file.put("head.bias", randn({2}, float32, generator));
  file.put("extra", zeros({1}, float32));
  const std::string path = dir.file("renamed.safetensors");
  nn::write_safetensors(path, file);

  Net net;
  const std::string before = bytes_of(net.fc1->weight);
  CHECK_THROWS_WITH(nn::load(net, path),
                    Contains(path) && Contains("missing 'fc1.weight' (and 3 more)") && Contains("unexpected 'encoder.weight'"));
  CHECK(bytes_of(net.fc1->weight) == before);  // nothing changed

  // A table, then a function; "" drops an entry.
  nn::LoadOptions options;
  options.names = {{"extra", ""}};
  options.rename = [](const std::string& name) {
    if (name.rfind("encoder.", 0) == 0) return "fc1." + name.substr(8);
    if (name.rfind("head.", 0) == 0) return "fc2." + name.substr(5);
    return name;
  };
  const nn::LoadResult result = nn::load(net, path, options);
  CHECK(result.ok());
  CHECK(bytes_of(net.fc1->weight) == bytes_of(file.at("encoder.weight")));
  CHECK(bytes_of(net.fc2->bias) == bytes_of(file.at("head.bias")));

  // strict = false: what matches loads, the rest comes back.
  nn::Weights partial;
  partial.put("fc1.weight", ones({3, 4}, float32));
  partial.put("fc2.weight", ones({5, 3}, float32));
  partial.put("fc3.weight", ones({1}, float32));
  Net other;
  CHECK_THROWS_WITH(nn::load_state_dict(other, partial),
                    Contains("mis-shaped 'fc2.weight: [5, 3] in the file but [2, 3] in the module'"));
  nn::LoadOptions lenient_options;
  lenient_options.strict = false;
  const nn::LoadResult lenient = nn::load_state_dict(other, partial, lenient_options);
  CHECK(lenient.missing == std::vector<std::string>{"fc1.bias", "fc2.bias"});
  CHECK(lenient.unexpected == std::vector<std::string>{"fc3.weight"});
  REQUIRE(lenient.mismatched.size() == 1);
  CHECK(other.fc1->weight.sum().item<double>() == 12.0);
  CHECK(other.fc2->weight.sum().item<double>() != 15.0);

  // float64 weights load into a float32 model, converted as PyTorch's load_state_dict does.
  nn::Weights wide = nn::state_dict(net);
  for (const std::string& name : wide.names) wide.put(name, wide.at(name).to(float64));
  Net converted;
  nn::load_state_dict(converted, wide);
  CHECK(bytes_of(converted.fc1->weight) == bytes_of(net.fc1->weight));
}
