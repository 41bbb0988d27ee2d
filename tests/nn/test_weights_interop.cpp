// PyTorch interop, end to end: the four PyTorch-trained fixtures of ../shared/interop (cnn, mlp,
// lstm, vit; see its README and make_fixtures.py) defined in nabla under the same names, loaded from
// both .safetensors and .pt, reproduce PyTorch's logits; and a file nabla writes loads in PyTorch.
// The fixtures are found through $NABLA_INTEROP_DIR or beside the source tree; when absent (or when
// /usr/bin/python3 has no torch) the tests say so and skip.
#include <cstdlib>

#include "nn_test_support.hpp"
#include "weights_test_support.hpp"

using namespace nabla;
using weights_test::TempDir;

namespace {

// ---- the fixtures' models, as make_fixtures.py defines them in PyTorch

std::shared_ptr<nn::Module> cnn() {
  nn::Shared<nn::Sequential> model = nn::Sequential{nn::Conv2d(1, 32, 3), nn::ReLU(),    nn::Conv2d(32, 64, 3),   nn::ReLU(), nn::MaxPool2d(2),
                        nn::Flatten(),        nn::Linear(9216, 128), nn::ReLU(), nn::Linear(128, 10)};
  return model;
}

std::shared_ptr<nn::Module> mlp() {
  nn::Shared<nn::Sequential> model = nn::Sequential{nn::Flatten(), nn::Linear(784, 512), nn::ReLU(), nn::Linear(512, 256), nn::ReLU(),
                        nn::Linear(256, 10)};
  return model;
}

struct LstmNet : nn::Module {  // rows of the image as time steps; the last step's output -> 10 classes
  nn::Shared<nn::LSTM> lstm = register_module("lstm", nn::LSTM({.input_size = 28, .hidden_size = 128, .batch_first = true}));
  nn::Shared<nn::Linear> fc = register_module("fc", nn::Linear(128, 10));
  Tensor forward(const Tensor& x) override {
    auto [output, state] = lstm(x.reshape({x.size(0), 28, 28}));
    return fc(output.select(1, output.size(1) - 1));
  }
};

struct ViT : nn::Module {  // 16 patches of 7x7 -> embedding + positions -> 2 post-norm layers -> mean -> norm -> head
  nn::Shared<nn::Linear> embed = register_module("embed", nn::Linear(49, 64));
  Tensor pos = register_parameter("pos", zeros({16, 64}));
  nn::Shared<nn::TransformerEncoder> encoder = register_module(
      "encoder", nn::TransformerEncoder(nn::TransformerEncoderLayer({.d_model = 64, .nhead = 4, .dim_feedforward = 128,
                                                                    .dropout = 0.0, .batch_first = true}),
                                        2));
  nn::Shared<nn::LayerNorm> norm = register_module("norm", nn::LayerNorm(Shape{64}));
  nn::Shared<nn::Linear> head = register_module("head", nn::Linear(64, 10));
  Tensor forward(const Tensor& x) override {
    const int64_t n = x.size(0);
    const Tensor patches = x.reshape({n, 4, 7, 4, 7}).permute({0, 1, 3, 2, 4}).reshape({n, 16, 49});
    return head(norm(encoder(embed(patches) + pos).mean({1})));
  }
};

std::shared_ptr<nn::Module> build(const std::string& name) {
  if (name == "cnn") return cnn();
  if (name == "mlp") return mlp();
  if (name == "lstm") return std::make_shared<LstmNet>();
  return std::make_shared<ViT>();
}

double max_abs_difference(const Tensor& a, const Tensor& b) { return abs(a - b).max().item<double>(); }

void check_fixture(const std::string& name) {
  const std::filesystem::path dir = weights_test::interop_dir();
  if (dir.empty()) {
    WARN("skipped: the PyTorch fixtures (../shared/interop) were not found; set NABLA_INTEROP_DIR");
    return;
  }
  const nn::Weights io = nn::read_weights((dir / (name + ".io.safetensors")).string());
  const Tensor input = io.at("input"), expected = io.at("logits");
  REQUIRE(input.shape() == Shape{16, 1, 28, 28});
  for (const char* extension : {".safetensors", ".pt"}) {
    INFO(name << extension);
    std::shared_ptr<nn::Module> model = build(name);
    nn::load(*model, (dir / (name + extension)).string());  // strict: every name and shape must match
    model->eval();
    NoGradGuard no_grad;
    const Tensor logits = model->forward(input);
    REQUIRE(logits.shape() == expected.shape());
    const double difference = max_abs_difference(logits, expected);
    INFO("max |nabla - PyTorch| = " << difference);
    CHECK(difference < 1e-4);
    CHECK(logits.argmax(1).eq(expected.argmax(1)).sum().item<int64_t>() == 16);  // same predicted classes
  }
  // Both files hold the same numbers.
  const nn::Weights safetensors = nn::read_weights((dir / (name + ".safetensors")).string());
  const nn::Weights torch = nn::read_weights((dir / (name + ".pt")).string());
  CHECK(safetensors.names == torch.names);
  for (const std::string& entry : safetensors.names) {
    INFO(entry);
    CHECK(max_abs_difference(safetensors.at(entry), torch.at(entry)) == 0.0);
  }
}

bool python_has_torch() { return std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0; }

// Reads a safetensors file with the standard library and torch alone (no safetensors package
// needed), loads it strictly into the same model in PyTorch, and compares the logits.
constexpr const char* kPythonCheck = R"(
import json, struct, sys, torch, torch.nn as nn
def read(path):
    b = open(path, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    header = json.loads(b[8:8 + n])
    types = {'F32': torch.float32, 'F64': torch.float64, 'I64': torch.int64, 'U8': torch.uint8}
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        begin, end = info['data_offsets']
        flat = torch.frombuffer(bytearray(b[8 + n + begin:8 + n + end]), dtype=types[info['dtype']])
        out[name] = flat.reshape(info['shape'])
    return out
model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 13 * 13, 10))
model.load_state_dict(read(sys.argv[1]), strict=True)
model.eval()
io = read(sys.argv[2])
with torch.no_grad():
    difference = (model(io['input']) - io['logits']).abs().max().item()
print('max |PyTorch - nabla| =', difference)
sys.exit(0 if difference < 1e-4 else 1)
)";

}  // namespace

TEST_CASE("PyTorch fixtures: the cnn reproduces PyTorch's logits from .safetensors and .pt", "[weights][interop]") {
  check_fixture("cnn");
}
TEST_CASE("PyTorch fixtures: the mlp reproduces PyTorch's logits from .safetensors and .pt", "[weights][interop]") {
  check_fixture("mlp");
}
TEST_CASE("PyTorch fixtures: the lstm reproduces PyTorch's logits from .safetensors and .pt", "[weights][interop]") {
  check_fixture("lstm");
}
TEST_CASE("PyTorch fixtures: the vit reproduces PyTorch's logits from .safetensors and .pt", "[weights][interop]") {
  check_fixture("vit");
}

TEST_CASE("PyTorch loads a safetensors file nabla wrote and computes the same outputs", "[weights][interop]") {
  if (!python_has_torch()) {
    WARN("skipped: /usr/bin/python3 cannot import torch (apt-get install python3-torch to run this check)");
    return;
  }
  Generator generator(9);
  nn::Shared<nn::Sequential> model =
      nn::Sequential{nn::Conv2d(1, 4, 3), nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(), nn::Linear(4 * 13 * 13, 10)};
  model->eval();
  const Tensor input = randn({5, 1, 28, 28}, float32, generator);
  NoGradGuard no_grad;
  nn::Weights io;
  io.put("input", input);
  io.put("logits", model(input));
  TempDir dir;
  nn::save(*model, dir.file("model.safetensors"));
  nn::write_safetensors(dir.file("io.safetensors"), io);
  weights_test::write_bytes(dir.file("check.py"), kPythonCheck);
  const std::string command = "/usr/bin/python3 " + dir.file("check.py") + " " + dir.file("model.safetensors") + " " +
                              dir.file("io.safetensors");
  CHECK(std::system(command.c_str()) == 0);
}
