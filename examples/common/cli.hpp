#pragma once
// The command line every nabla program shares (issue 18): `--version`; each flag checked, with one
// plain line when it is wrong ("--epochs must be at least 1"); the nearest flag suggested for a
// typo ("unknown flag --epoch; did you mean --epochs?"); and any error, from parsing or from the
// program itself, ends as "program: what went wrong" with exit code 1 — never an abort.
//
//   CLI::App app{"Train a convolutional network on MNIST", "mnist_cnn"};
//   app.add_option("--epochs", epochs, "training epochs")->check(nabla::cli::at_least(1));
//   return nabla::cli::run(app, argc, argv, [&] { ...; return 0; });
//
// Header-only, so that every program (examples, tools, nabla-bench) can use it with CLI11 alone.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "nabla/nabla.hpp"
#include "nabla/version.hpp"

namespace nabla::cli {

// ---- validators: their messages complete the sentence "--flag ..." --------------------------------

namespace detail {
inline bool read_number(const std::string& text, double& value) {
  try {
    size_t used = 0;
    value = std::stod(text, &used);
    return used == text.size();
  } catch (const std::exception&) {
    return false;
  }
}
inline std::string number_text(double value) { return fmt::format("{:g}", value); }
}  // namespace detail

// value >= minimum ("--epochs must be at least 1").
inline CLI::Validator at_least(double minimum) {
  return CLI::Validator(
      [minimum](std::string& text) -> std::string {
        double value = 0;
        if (!detail::read_number(text, value)) return fmt::format("must be a number, not '{}'", text);
        return value >= minimum ? std::string() : fmt::format("must be at least {} (got {})", detail::number_text(minimum), text);
      },
      fmt::format("at least {}", detail::number_text(minimum)));
}

// value > minimum ("--lr must be greater than 0").
inline CLI::Validator greater_than(double minimum) {
  return CLI::Validator(
      [minimum](std::string& text) -> std::string {
        double value = 0;
        if (!detail::read_number(text, value)) return fmt::format("must be a number, not '{}'", text);
        return value > minimum ? std::string() : fmt::format("must be greater than {} (got {})", detail::number_text(minimum), text);
      },
      fmt::format("greater than {}", detail::number_text(minimum)));
}

// low <= value < high, or low <= value <= high when `inclusive` ("--dropout must be at least 0 and below 1").
inline CLI::Validator in_range(double low, double high, bool inclusive = false) {
  return CLI::Validator(
      [low, high, inclusive](std::string& text) -> std::string {
        double value = 0;
        if (!detail::read_number(text, value)) return fmt::format("must be a number, not '{}'", text);
        const bool ok = value >= low && (inclusive ? value <= high : value < high);
        return ok ? std::string()
                  : fmt::format("must be at least {} and {} {} (got {})", detail::number_text(low),
                                inclusive ? "at most" : "below", detail::number_text(high), text);
      },
      fmt::format("{} to {}", detail::number_text(low), detail::number_text(high)));
}

// One of a few words ("--optimizer must be one of sgd, adam, adamw, rmsprop (got adma)").
inline CLI::Validator one_of(std::vector<std::string> choices) {
  const std::string list = fmt::format("{}", fmt::join(choices, ", "));
  return CLI::Validator(
      [choices, list](std::string& text) -> std::string {
        if (std::find(choices.begin(), choices.end(), text) != choices.end()) return {};
        return fmt::format("must be one of {} (got {})", list, text);
      },
      list);
}

// ---- suggestions for a mistyped flag ------------------------------------------------------------

namespace detail {

inline size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// Every flag the app and its subcommands know, with their dashes ("--epochs", "-h").
inline void collect_flags(const CLI::App& app, std::vector<std::string>& flags) {
  for (const CLI::Option* option : app.get_options()) {
    for (const std::string& name : option->get_lnames()) flags.push_back("--" + name);
    for (const std::string& name : option->get_snames()) flags.push_back("-" + name);
  }
  for (const CLI::App* sub : app.get_subcommands({})) collect_flags(*sub, flags);
}

// "" when `flag` is known; otherwise the one line that says so, with the nearest known flag.
inline std::string unknown_flag_message(const CLI::App& app, const std::string& flag) {
  std::vector<std::string> flags;
  collect_flags(app, flags);
  if (std::find(flags.begin(), flags.end(), flag) != flags.end()) return {};
  std::string nearest;
  size_t best = std::string::npos;
  for (const std::string& candidate : flags) {
    const size_t distance = edit_distance(flag, candidate);
    // A flag the typo begins (--epoch of --epochs) or one a few edits away.
    const bool close = distance <= std::max<size_t>(2, flag.size() / 4) ||
                       (flag.size() >= 4 && candidate.rfind(flag, 0) == 0);
    if (close && distance < best) {
      best = distance;
      nearest = candidate;
    }
  }
  return nearest.empty() ? fmt::format("unknown flag {} (--help lists the flags)", flag)
                         : fmt::format("unknown flag {}; did you mean {}?", flag, nearest);
}

// A negative number is a value ("--limit -5"), not a flag.
inline bool looks_like_number(const std::string& text) {
  double value = 0;
  return read_number(text, value);
}

// CLI11's messages in plain words.
inline std::string plain_message(const CLI::App& app, const CLI::ParseError& error) {
  std::string text = error.what();
  if (dynamic_cast<const CLI::ValidationError*>(&error) != nullptr) {
    // "--epochs: must be at least 1" -> "--epochs must be at least 1"
    const size_t colon = text.find(": ");
    if (colon != std::string::npos && text.compare(colon + 2, 4, "must") == 0) text.erase(colon, 1);
    return text;
  }
  if (dynamic_cast<const CLI::ConversionError*>(&error) != nullptr) {
    // "Could not convert: --epochs = 1.5"
    const std::string prefix = "Could not convert: ";
    const size_t equals = text.find(" = ");
    if (text.rfind(prefix, 0) == 0 && equals != std::string::npos) {
      const std::string name = text.substr(prefix.size(), equals - prefix.size());
      const std::string value = text.substr(equals + 3);
      const CLI::Option* option = app.get_option_no_throw(name);
      const std::string type = option ? option->get_type_name() : "";
      // The type name may carry the validators' descriptions ("INT:at least 1").
      const auto is = [&type](const char* name) { return type.rfind(name, 0) == 0; };
      const char* wanted = is("INT") || is("UINT") ? "a whole number" : is("FLOAT") ? "a number" : "another value";
      return fmt::format("{} must be {}, not '{}'", name, wanted, value);
    }
    return text;
  }
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&error) != nullptr) {
    // "--epochs: 1 required INT missing", "--epochs: At Most 1 required but received 2"
    const size_t colon = text.find(':');
    if (colon != std::string::npos && text.find("missing") != std::string::npos) {
      return fmt::format("{} needs a value", text.substr(0, colon));
    }
    if (colon != std::string::npos && text.find("At Most 1 required") != std::string::npos) {
      return fmt::format("{} is given more than once; give it once", text.substr(0, colon));
    }
    return text;
  }
  if (dynamic_cast<const CLI::ExtrasError*>(&error) != nullptr) {
    std::vector<std::string> extras = app.remaining();
    return fmt::format("unexpected argument{} {} (--help lists the flags)", extras.size() == 1 ? "" : "s",
                       fmt::join(extras, " "));
  }
  return text;
}

}  // namespace detail

// Creates `directory` (and its parents) for output, or fails naming the flag it came from:
// "--out: cannot create the directory /proc/nope (No such file or directory)".
inline void create_output_directory(const std::filesystem::path& directory, const std::string& flag) {
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error) nabla::fail("{}: cannot create the directory {} ({})", flag, directory.string(), error.message());
}

// Says once, on stderr, which data the program reads ("MNIST data: /work/shared/data/mnist"), so
// that a run never leaves the user guessing; returns the directory.
inline std::filesystem::path announce_data(const std::string& dataset, const std::filesystem::path& directory) {
  std::error_code error;
  const std::filesystem::path shown = std::filesystem::canonical(directory, error);
  fmt::print(stderr, "{} data: {}\n", dataset, (error ? directory : shown).string());
  return directory;
}

// "mnist_cnn 0.2.0 (nabla 0.2.0, OpenBLAS Zen kernels)": the program's version (the headers it was
// built with), the library's, and which OpenBLAS kernels this CPU runs.
inline std::string version_line(const std::string& program) {
  return fmt::format("{} {} (nabla {}, OpenBLAS {} kernels)", program, NABLA_VERSION_STRING, nabla::version(),
                     nabla::blas_core_name());
}

// Parses the command line, then runs `body` (returning the exit code). --help and --version print
// and return 0; a bad flag, or any exception `body` throws, prints one line "program: message" on
// stderr and returns 1.
template <class Body>
int run(CLI::App& app, int argc, char** argv, Body&& body) {
  std::string program = app.get_name();
  if (program.empty()) program = std::filesystem::path(argc > 0 ? argv[0] : "nabla").filename().string();
  app.name(program);
  // Computed only when asked for (it asks OpenBLAS which kernels it runs).
  app.set_version_flag("--version", [program] { return version_line(program); });
  try {
    // Unknown flags first: CLI11 would only say "not expected" for them.
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      if (arg == "--") break;
      if (arg.size() < 2 || arg[0] != '-' || detail::looks_like_number(arg)) continue;
      std::string flag = arg.substr(0, arg.find('='));
      if (flag[1] != '-' && flag.size() > 2) flag = flag.substr(0, 2);  // -t4 is -t with 4
      const std::string message = detail::unknown_flag_message(app, flag);
      if (!message.empty()) {
        std::fprintf(stderr, "%s: %s\n", program.c_str(), message.c_str());
        return 1;
      }
    }
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "%s: %s\n", program.c_str(), detail::plain_message(app, e).c_str());
    return 1;
  }
  try {
    return std::invoke(std::forward<Body>(body));
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s: %s\n", program.c_str(), e.what());
  } catch (...) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s: an unknown error ended the program\n", program.c_str());
  }
  return 1;
}

}  // namespace nabla::cli
