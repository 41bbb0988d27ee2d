// A source check that nn/ holds no hand-written backward (STYLE.md practices 1 and 2): layers,
// losses and the functional API are compositions of differentiable ops, so autograd derives every
// gradient. Each file under nn/ is read with comments and string literals removed, then searched
// for what a hand-written backward needs: record(), a Node, Gradients, grad_fn, a backward(...)
// function, a grad_output parameter, or the autograd node header.
#include <catch2/catch.hpp>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

fs::path source_root() {
  if (const char* env = std::getenv("NABLA_SOURCE_DIR")) return env;
  return fs::path(__FILE__).parent_path().parent_path().parent_path();  // <root>/tests/nn/this file
}

// The code of a C++ source: comments become spaces, string and character literals become empty
// literals ("" and ''), newlines stay so line numbers still match.
std::string code_only(const std::string& source) {
  std::string out;
  out.reserve(source.size());
  size_t i = 0;
  const size_t n = source.size();
  auto at = [&](size_t k) { return k < n ? source[k] : '\0'; };
  while (i < n) {
    const char c = source[i];
    if (c == '/' && at(i + 1) == '/') {
      while (i < n && source[i] != '\n') ++i;
    } else if (c == '/' && at(i + 1) == '*') {
      i += 2;
      while (i < n && !(source[i] == '*' && at(i + 1) == '/')) {
        if (source[i] == '\n') out += '\n';
        ++i;
      }
      i += 2;
      out += ' ';
    } else if (c == 'R' && at(i + 1) == '"' && (i == 0 || !std::isalnum(static_cast<unsigned char>(source[i - 1])))) {
      // Raw string R"delim( ... )delim"
      const size_t open = source.find('(', i + 2);
      if (open == std::string::npos) break;
      std::string terminator(1, ')');
      terminator += source.substr(i + 2, open - (i + 2));
      terminator += '"';
      const size_t close = source.find(terminator, open);
      const size_t end = close == std::string::npos ? n : close + terminator.size();
      for (size_t k = i; k < end; ++k) {
        if (source[k] == '\n') out += '\n';
      }
      out += "\"\"";
      i = end;
    } else if (c == '"' ||
               (c == '\'' && (i == 0 || !std::isalnum(static_cast<unsigned char>(source[i - 1]))))) {
      // A string or character literal (a ' after a digit is a digit separator, not a literal).
      const char quote = c;
      ++i;
      while (i < n && source[i] != quote && source[i] != '\n') i += source[i] == '\\' ? 2 : 1;
      ++i;
      out += quote;
      out += quote;
    } else {
      out += c;
      ++i;
    }
  }
  return out;
}

struct Marker {
  std::string what;
  std::regex pattern;
};

const std::vector<Marker>& markers() {
  static const std::vector<Marker> list{
      {"record( (recording an op with its own backward)", std::regex(R"(\brecord\s*\()")},
      {"Gradients (a backward formula's result)", std::regex(R"(\bGradients\b)")},
      {"Node / LambdaNode (a graph node)", std::regex(R"(\b(Node|LambdaNode)\b)")},
      {"grad_fn", std::regex(R"(\bgrad_fn\b)")},
      {"backward( (defining or calling a backward)", std::regex(R"(\bbackward\s*\()")},
      {"grad_output (a backward lambda's argument)", std::regex(R"(\bgrad_outputs?\b)")},
      {"SavedTensor / save( (saving inputs for backward)", std::regex(R"(\bSavedTensor\b|\bsave\s*\(\s*\w+\s*\)\s*[,}\]])")},
      {"detail::connect (wiring a node by hand)", std::regex(R"(\bdetail::connect\b)")},
  };
  return list;
}

const std::regex& node_header_include() {
  static const std::regex pattern(R"(^\s*#\s*include\s*[<"]nabla/autograd/node\.hpp[>"])");
  return pattern;
}

// Every marker hit in `source`, as "line N: marker: the line".
std::vector<std::string> find_markers(const std::string& source) {
  std::vector<std::string> hits;
  std::istringstream raw_lines(source);
  std::istringstream code_lines(code_only(source));
  std::string raw, code;
  int line_number = 0;
  while (std::getline(code_lines, code)) {
    std::getline(raw_lines, raw);
    ++line_number;
    for (const Marker& marker : markers()) {
      if (std::regex_search(code, marker.pattern)) {
        hits.push_back("line " + std::to_string(line_number) + ": " + marker.what + ": " + raw);
      }
    }
    if (std::regex_search(raw, node_header_include())) {
      hits.push_back("line " + std::to_string(line_number) + ": includes nabla/autograd/node.hpp: " + raw);
    }
  }
  return hits;
}

std::string read_file(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

}  // namespace

TEST_CASE("no backward: the scanner strips comments and strings before matching", "[no_backward]") {
  // What a hand-written backward looks like (node.hpp's own example): caught.
  const std::string handwritten = R"src(
Tensor exp(const Tensor& x) {
  return record("exp", {x}, nabla::exp(x),
                [](const Tensor& grad, const Tensor& out) { return Gradients{grad * out}; });
}
)src";
  CHECK(find_markers(handwritten).size() >= 2);
  CHECK(find_markers("Gradients backward(const Tensor& g) { return {g}; }").size() >= 2);
  CHECK(find_markers("auto node = std::make_shared<detail::LambdaNode<F>>(name, f, out);").size() == 1);
  CHECK(find_markers("if (y.grad_fn()) {}").size() == 1);
  CHECK(find_markers("  return Gradients{grad_output * saved.get()};").size() == 2);
  CHECK(find_markers("auto s = save(x), t = 1;").size() == 1);
  CHECK(find_markers("#include \"nabla/autograd/node.hpp\"").size() == 1);

  // Prose about backward, in comments or messages, is not code: not caught.
  const std::string prose = R"src(
// Layers as functions: each a composition of differentiable ops (no hand-written backward).
/* record( and Gradients and Node
   and grad_fn in a block comment */
fail("optimiser: no gradient; call backward() first");
const char* raw = R"x(record("op") Node)x";
const char quote = '"'; int n = 1'000; // backward(
int serialized = save_state(path);  int recorder(int);  Tensor backward_pass_free;
)src";
  INFO(code_only(prose));
  CHECK(find_markers(prose).empty());
  // Line numbers survive the stripping.
  CHECK(find_markers("/* a\nb */\n\n record(x);")[0].rfind("line 4:", 0) == 0);
}

TEST_CASE("no backward: nn/ contains no hand-written backward", "[no_backward]") {
  const fs::path nn_dir = source_root() / "nn";
  INFO("scanning " << nn_dir.string());
  REQUIRE(fs::is_directory(nn_dir));

  std::set<std::string> scanned;
  std::vector<std::string> findings;
  const std::set<std::string> extensions{".cpp", ".hpp", ".h", ".cc", ".cxx", ".hxx", ".inl", ".ipp"};
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(nn_dir)) {
    if (!entry.is_regular_file() || extensions.count(entry.path().extension().string()) == 0) continue;
    const std::string relative = fs::relative(entry.path(), source_root()).generic_string();
    scanned.insert(relative);
    for (const std::string& hit : find_markers(read_file(entry.path()))) findings.push_back(relative + " " + hit);
  }
  // The scan saw the files it is meant to guard (a wrong root would otherwise pass vacuously).
  for (const char* expected : {"nn/src/functional.cpp", "nn/src/layers.cpp", "nn/src/module.cpp", "nn/src/init.cpp",
                               "nn/include/nabla/nn/functional.hpp", "nn/include/nabla/nn/layers.hpp"}) {
    INFO("expected to scan " << expected);
    CHECK(scanned.count(expected) == 1);
  }
  std::string report;
  for (const std::string& finding : findings) report += "  " + finding + "\n";
  INFO("nn/ must build every layer from differentiable ops; these lines look like a hand-written backward:\n"
       << report);
  CHECK(findings.empty());
}
