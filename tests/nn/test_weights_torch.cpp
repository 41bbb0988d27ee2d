// torch.save files made by the test (a stored zip holding a protocol-2 pickle, as torch.save
// writes): strided views of shared storages, nested checkpoints, float16 storages, and everything a
// hostile or broken file can do refused by name — foreign globals above all, since a .pt file can
// carry code and nabla must never run it.
#include <cstdlib>
#include <functional>
#include <random>

#include "nn_test_support.hpp"
#include "weights_test_support.hpp"

using namespace nabla;
using Catch::Matchers::Contains;
using weights_test::Pickle;
using weights_test::TempDir;

namespace {

const std::vector<float> kSix = {0, 1, 2, 3, 4, 5};
const std::vector<int64_t> kLongs = {-7, 1ll << 40};

// {"model": OrderedDict(a, b, c, d), "epoch": 3, "name": "run"}: a is the storage as [2, 3], b its
// transpose, c a strided column slice, d another storage of int64.
std::string checkpoint_pickle() {
  Pickle p;
  p.op('}').op('(');
  p.str("model").ordered_dict().op('(');
  p.str("a").tensor("FloatStorage", "0", 6, 0, {2, 3}, {3, 1});
  p.str("b").tensor("FloatStorage", "0", 6, 0, {3, 2}, {1, 3});
  p.str("c").tensor("FloatStorage", "0", 6, 2, {2}, {3});
  p.str("d").tensor("LongStorage", "1", 2, 0, {2}, {1});
  p.op('u');
  p.str("epoch").integer(3);
  p.str("name").str("run");
  p.op('u').op('.');
  return p.bytes;
}

std::string checkpoint_file() {
  return weights_test::torch_file(checkpoint_pickle(),
                                  {{"0", weights_test::raw_bytes(kSix)}, {"1", weights_test::raw_bytes(kLongs)}});
}

// A one-tensor state_dict around `tensor_pickle` (the pickle of one value), storage "0" of 6 floats.
std::string one_entry(const std::function<void(Pickle&)>& value, const std::string& storage = "") {
  Pickle p;
  p.ordered_dict().op('(').str("x");
  value(p);
  p.op('u').op('.');
  return weights_test::torch_file(p.bytes, {{"0", storage.empty() ? weights_test::raw_bytes(kSix) : storage}});
}

void refused(const std::string& file, const std::string& problem) {
  INFO(problem);
  CHECK_THROWS_WITH(nn::parse_torch(file.data(), file.size(), "bad.pt"), Contains("bad.pt") && Contains(problem));
}

}  // namespace

TEST_CASE("torch.save files: strided views of shared storages, a nested checkpoint, metadata", "[weights]") {
  const std::string bytes = checkpoint_file();
  const nn::Weights weights = nn::parse_torch(bytes.data(), bytes.size(), "ckpt.pt");
  CHECK(weights.format == "pt");
  CHECK(weights.names == std::vector<std::string>{"model.a", "model.b", "model.c", "model.d"});
  CHECK(weights.metadata == std::map<std::string, std::string>{{"epoch", "3"}, {"name", "run"}});
  const Tensor a = weights.at("model.a"), b = weights.at("model.b"), c = weights.at("model.c");
  CHECK(a.shape() == Shape{2, 3});
  CHECK(a.raw().to_vector<float>() == kSix);
  CHECK(b.raw().to_vector<float>() == std::vector<float>{0, 3, 1, 4, 2, 5});
  CHECK(c.raw().to_vector<float>() == std::vector<float>{2, 5});
  // One storage, read once: the three tensors are views of it, as in PyTorch.
  CHECK(a.raw().shares_storage(b.raw()));
  CHECK(a.raw().shares_storage(c.raw()));
  CHECK(weights.at("model.d").dtype() == int64);
  CHECK(weights.at("model.d").raw().to_vector<int64_t>() == kLongs);

  // From a file: read_weights knows it by its zip magic; nn::load by its extension.
  TempDir dir;
  weights_test::write_bytes(dir.file("ckpt.pt"), bytes);
  CHECK(nn::read_weights(dir.file("ckpt.pt")).names.size() == 4);
  nn::Linear layer(3, 2);  // weight [2, 3]
  nn::LoadOptions options;
  options.strict = false;
  options.rename = [](const std::string& name) { return name == "model.a" ? std::string("weight") : std::string(); };
  const nn::LoadResult result = nn::load(layer, dir.file("ckpt.pt"), options);
  CHECK(result.missing == std::vector<std::string>{"bias"});
  CHECK(result.unexpected.empty());
  CHECK(layer.weight.raw().to_vector<float>() == kSix);
}

TEST_CASE("torch.save files: float16 and bfloat16 storages become float32, parameters load", "[weights]") {
  const std::vector<uint16_t> half = {0x3c00, 0xc000, 0x3800, 0, 0, 0};  // 1, -2, 0.5
  Pickle p;
  p.ordered_dict().op('(').str("h").tensor("HalfStorage", "0", 6, 0, {3}, {1});
  // torch._utils._rebuild_parameter(tensor, requires_grad, hooks) as torch.save(model.named_parameters) writes
  p.str("p").global("torch._utils", "_rebuild_parameter").op('(');
  p.tensor("BFloat16Storage", "1", 1, 0, {}, {}).op('\x88').ordered_dict().op('t').op('R');
  p.op('u').op('.');
  const std::vector<uint16_t> brain = {0xc060};  // -3.5
  const std::string file = weights_test::torch_file(
      p.bytes, {{"0", weights_test::raw_bytes(half)}, {"1", weights_test::raw_bytes(brain)}});
  const nn::Weights weights = nn::parse_torch(file.data(), file.size());
  CHECK(weights.at("h").dtype() == float32);
  CHECK(weights.at("h").raw().to_vector<float>() == std::vector<float>{1, -2, 0.5});
  CHECK(weights.at("p").shape() == Shape{});
  CHECK(weights.at("p").item<double>() == -3.5);
}

TEST_CASE("torch.save files: foreign globals are refused by name, nothing is ever run", "[weights]") {
  // The classic: os.system("...") via REDUCE. Refused when the global is named, before any call.
  {
    Pickle p;
    p.global("os", "system").op('(').str("touch /tmp/nabla-pwned").op('t').op('R').op('.');
    refused(weights_test::torch_file(p.bytes, {}), "refers to 'os.system'");
  }
  for (const auto& [module, name] : std::vector<std::pair<std::string, std::string>>{
           {"builtins", "eval"}, {"torch", "load"}, {"torch.nn.modules.linear", "Linear"}, {"__builtin__", "getattr"},
           {"collections", "defaultdict"}, {"numpy.core.multiarray", "_reconstruct"}}) {
    Pickle p;
    p.global(module, name).op('.');
    refused(weights_test::torch_file(p.bytes, {}), "refers to '" + module + "." + name + "'");
  }
  {  // STACK_GLOBAL is checked the same way
    Pickle p;
    p.str("subprocess").str("call").op('\x93').op('.');
    refused(weights_test::torch_file(p.bytes, {}), "refers to 'subprocess.call'");
  }
  {  // a storage type is known but not callable
    Pickle p;
    p.global("torch", "FloatStorage").op(')').op('R').op('.');
    refused(weights_test::torch_file(p.bytes, {}), "not a function a state_dict calls");
  }
  // Opcodes that build arbitrary objects are not understood at all.
  refused(weights_test::torch_file(std::string("\x80\x02") + "(iposix\nsystem\n.", {}), "opcode 0x69");
  refused(weights_test::torch_file(std::string("\x80\x02") + "N\x81.", {}), "opcode 0x81");
}

TEST_CASE("torch.save files: broken archives, storages and pickles are refused with the problem named", "[weights]") {
  // views past the storage, storage sizes that disagree, missing records
  refused(one_entry([](Pickle& p) { p.tensor("FloatStorage", "0", 6, 4, {2, 2}, {2, 1}); }), "reaches past its storage");
  refused(one_entry([](Pickle& p) { p.tensor("FloatStorage", "0", 6, 0, {2}, {-1}); }), "stride -1");
  refused(one_entry([](Pickle& p) { p.tensor("FloatStorage", "0", 6, 0, {3}, {1}); }, std::string(20, '\0')),
          "holds 20 bytes, but its 6 elements of torch.float32 need 24");
  refused(one_entry([](Pickle& p) { p.tensor("FloatStorage", "7", 6, 0, {3}, {1}); }), "has no record 'archive/data/7'");
  refused(one_entry([](Pickle& p) { p.tensor("ShortStorage", "0", 12, 0, {3}, {1}); }), "torch.int16");
  // pickles that are not state_dicts
  refused(weights_test::torch_file(std::string("\x80\x02]q\x00h\x00" "a.", 9), {}), "a cycle");
  refused(weights_test::torch_file(std::string("\x80\x02h\x05."), {}), "memo slot 5, which was never written");
  refused(weights_test::torch_file(std::string("\x80\x02J\x01", 4), {}), "ends in the middle");
  refused(weights_test::torch_file(std::string("\x80\x02K\x01K\x02."), {}), "2 values on the stack");
  refused(weights_test::torch_file(std::string("\x80\x02K\x01."), {}), "holds a int, not a state_dict");
  {
    std::string deep = "\x80\x02";
    for (int i = 0; i < 40; ++i) deep += "]";
    for (int i = 0; i < 39; ++i) deep += "a";
    refused(weights_test::torch_file(deep + ".", {}), "more than 32 deep");
  }
  // archives that are not torch.save files
  refused(weights_test::stored_zip({{"model/weights.bin", "x"}}), "without data.pkl");
  refused(std::string("\x80\x02}q\x00.", 6), "legacy torch.save format");
  refused("plain text, not a zip", "not a torch.save file");
  TempDir dir;
  CHECK_THROWS_WITH(nn::read_torch(dir.file("absent.pt")), Contains("absent.pt"));
}

TEST_CASE("torch.save files: mutated pickles and archives are refused cleanly, never crash", "[weights][fuzz]") {
  const std::string pickle = checkpoint_pickle();
  const std::vector<std::pair<std::string, std::string>> storages = {{"0", weights_test::raw_bytes(kSix)},
                                                                     {"1", weights_test::raw_bytes(kLongs)}};
  int parsed = 0, refused_count = 0;
  auto attempt = [&](const std::string& bytes) {
    try {
      nn::parse_torch(bytes.data(), bytes.size());
      ++parsed;
    } catch (const Error&) {
      ++refused_count;
    }
  };
  std::mt19937 random(17);
  // The pickle mutated inside a valid zip (so the pickle reader sees it), and cut at every byte.
  for (size_t size = 0; size < pickle.size(); ++size) attempt(weights_test::torch_file(pickle.substr(0, size), storages));
  for (int trial = 0; trial < 2000; ++trial) {
    std::string bytes = pickle;
    const int edits = 1 + static_cast<int>(random() % 3);
    for (int e = 0; e < edits; ++e) {
      const size_t at = random() % bytes.size();
      switch (random() % 3) {
        case 0: bytes[at] = static_cast<char>(random()); break;
        case 1: bytes.insert(at, 1, "()tRQqhKJXu}]ae.\x80\x86"[random() % 19]); break;
        default: bytes.erase(at, 1 + random() % 4); break;
      }
    }
    attempt(weights_test::torch_file(bytes, storages));
  }
  // The whole archive mutated and truncated (libzip's checks and ours).
  const std::string file = weights_test::torch_file(pickle, storages);
  for (size_t size = 0; size < file.size(); size += 7) attempt(file.substr(0, size));
  for (int trial = 0; trial < 1000; ++trial) {
    std::string bytes = file;
    bytes[random() % bytes.size()] = static_cast<char>(random());
    attempt(bytes);
  }
  CHECK(refused_count > 1000);
  CHECK(parsed > 0);
}

TEST_CASE("torch.save files PyTorch wrote (fuzz/seeds/torch): views, float16, a nested checkpoint", "[weights]") {
  // Made by PyTorch 1.13 (see fuzz/README.md): base = arange(12).reshape(3, 4); views.pt holds
  // OrderedDict(0.weight=base, 0.t=base.t(), 0.col=base[:, 1], 1.bias=[3, 4], h=ones(2).half());
  // checkpoint.pt holds {"model": that, "epoch": 3, "name": "x"}; linear.pt a Linear(3, 2).state_dict().
  const char* source = std::getenv("NABLA_SOURCE_DIR");
  REQUIRE(source != nullptr);
  const std::filesystem::path seeds = std::filesystem::path(source) / "fuzz" / "seeds" / "torch";
  const nn::Weights views = nn::read_torch((seeds / "views.pt").string());
  CHECK(views.names == std::vector<std::string>{"0.weight", "0.t", "0.col", "1.bias", "h"});
  CHECK(views.at("0.weight").raw().to_vector<float>() == std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  CHECK(views.at("0.t").raw().to_vector<float>() == std::vector<float>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});
  CHECK(views.at("0.col").raw().to_vector<float>() == std::vector<float>{1, 5, 9});
  CHECK(views.at("0.t").raw().shares_storage(views.at("0.weight").raw()));
  CHECK(views.at("1.bias").raw().to_vector<int64_t>() == std::vector<int64_t>{3, 4});
  CHECK(views.at("h").dtype() == float32);
  CHECK(views.at("h").raw().to_vector<float>() == std::vector<float>{1, 1});

  const nn::Weights checkpoint = nn::read_weights((seeds / "checkpoint.pt").string());
  CHECK(checkpoint.names.front() == "model.0.weight");
  CHECK(checkpoint.metadata.at("epoch") == "3");
  CHECK(checkpoint.metadata.at("name") == "x");

  nn::Linear linear(3, 2);
  nn::load(linear, (seeds / "linear.pt").string());
  CHECK(linear.weight.shape() == Shape{2, 3});
}
