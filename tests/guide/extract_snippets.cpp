// Turns every C++ snippet of a Markdown guide into one program that compiles them all and runs
// them in order, so that the guide cannot drift from the library. Fences:
//   ```cpp                 statements: run, in a function of their own
//   ```cpp declarations    types and functions, at namespace scope (later snippets may use them)
//   ```cpp compile-only    statements that are compiled but not run (they need files or time)
// Usage: extract_snippets GUIDE.md OUT.cpp. #line directives point compile errors at the guide.
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Snippet {
  std::string kind;  // "", "declarations" or "compile-only"
  int first_line = 0;
  std::string code;
};

std::vector<Snippet> read_snippets(std::istream& in, const std::string& path) {
  std::vector<Snippet> snippets;
  std::string line;
  int number = 0;
  Snippet* open = nullptr;
  while (std::getline(in, line)) {
    ++number;
    if (open == nullptr) {
      if (line.rfind("```cpp", 0) == 0) {
        std::string kind = line.substr(6);
        kind.erase(0, kind.find_first_not_of(' '));
        if (!kind.empty() && kind != "declarations" && kind != "compile-only") {
          throw std::runtime_error(path + ":" + std::to_string(number) + ": unknown snippet kind '" + kind + "'");
        }
        snippets.push_back({kind, number + 1, {}});
        open = &snippets.back();
      }
    } else if (line.rfind("```", 0) == 0) {
      open = nullptr;
    } else {
      open->code += line + "\n";
    }
  }
  if (open != nullptr) throw std::runtime_error(path + ": a ```cpp fence is never closed");
  return snippets;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: extract_snippets GUIDE.md OUT.cpp\n";
    return 2;
  }
  try {
    std::ifstream in(argv[1]);
    if (!in) throw std::runtime_error(std::string("cannot read ") + argv[1]);
    const std::vector<Snippet> snippets = read_snippets(in, argv[1]);
    if (snippets.empty()) throw std::runtime_error(std::string(argv[1]) + " has no ```cpp snippets");
    std::ostringstream out;
    out << "// Generated from " << argv[1] << " by tests/guide/extract_snippets.cpp; do not edit.\n"
        << "#include <cstdio>\n#include <memory>\n#include <string>\n#include <tuple>\n#include <vector>\n\n"
        << "#include <nabla/nabla.hpp>\n\nnamespace guide {\nusing namespace nabla;\n\n";
    std::vector<std::string> runs;
    for (size_t i = 0; i < snippets.size(); ++i) {
      const Snippet& s = snippets[i];
      const std::string line = "#line " + std::to_string(s.first_line) + " \"" + argv[1] + "\"\n";
      if (s.kind == "declarations") {
        out << line << s.code << "\n";
        continue;
      }
      const std::string name = "snippet_" + std::to_string(i + 1) + "_line_" + std::to_string(s.first_line);
      out << "[[maybe_unused]] void " << name << "() {\n" << line << s.code << "}\n\n";
      if (s.kind.empty()) runs.push_back(name);
    }
    out << "}  // namespace guide\n\nint main() {\n";
    for (const std::string& run : runs) {
      out << "  std::printf(\"--- " << run << "\\n\");\n  guide::" << run << "();\n";
    }
    out << "  std::printf(\"" << runs.size() << " snippets ran, " << snippets.size() << " compiled\\n\");\n  return 0;\n}\n";
    std::ofstream file(argv[2]);
    file << out.str();
    if (!file) throw std::runtime_error(std::string("cannot write ") + argv[2]);
  } catch (const std::exception& e) {
    std::cerr << "extract_snippets: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
