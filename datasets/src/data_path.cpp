#include "nabla/datasets/data_path.hpp"

#include <cstdlib>
#include <system_error>

#include "nabla/tensor/error.hpp"

namespace nabla::datasets {

namespace fs = std::filesystem;

namespace {

// What one dataset is called and where it may live.
struct DataSpec {
  const char* display_name;  // for messages
  const char* folder;        // subfolder name under data roots
  bool look_in_shared;       // try ../shared/data/<folder> (the project's provided copy)
  bool accept_data_root;     // $NABLA_DATA itself may hold the files
  const char* system_dir;    // a system-wide install, or nullptr
  const char* how_to_get;    // the end of the not-found message
};

const DataSpec kMnist{
    "MNIST", "mnist", true, true, nullptr,
    "To get it, run scripts/get-data (downloads MNIST into data/mnist in the project), or pass "
    "--data DIR / set NABLA_DATA=DIR for a directory that holds the four files."};
const DataSpec kFashionMnist{
    "Fashion-MNIST", "fashion-mnist", false, false, "/usr/share/datasets/fashion-mnist",
    "To get it, install the Debian package: sudo apt-get install dataset-fashion-mnist (or run "
    "scripts/get-data), or pass --data DIR / set NABLA_DATA so that $NABLA_DATA/fashion-mnist "
    "holds the four files."};

// One place to look, with the reason it was added (for messages).
struct Candidate {
  fs::path directory;
  std::string origin;
};

fs::path executable_directory() {
  std::error_code error;
  const fs::path executable = fs::read_symlink("/proc/self/exe", error);
  if (error || executable.empty()) return {};
  return executable.parent_path();
}

void add_candidate(std::vector<Candidate>& candidates, const fs::path& directory, std::string origin) {
  const fs::path normal = directory.lexically_normal();
  for (const Candidate& existing : candidates) {
    if (existing.directory == normal) return;
  }
  candidates.push_back({normal, std::move(origin)});
}

// Everything after the explicit --data directory, in search order.
std::vector<Candidate> implicit_candidates(const DataSpec& spec) {
  std::vector<Candidate> candidates;
  if (const char* root = std::getenv("NABLA_DATA"); root && *root) {
    if (spec.accept_data_root) add_candidate(candidates, root, "$NABLA_DATA");
    add_candidate(candidates, fs::path(root) / spec.folder, "$NABLA_DATA");
  }
  std::error_code error;
  const fs::path current = fs::current_path(error);
  if (!error) {
    add_candidate(candidates, current / "data" / spec.folder, "current directory");
    if (spec.look_in_shared) {
      add_candidate(candidates, current / ".." / "shared" / "data" / spec.folder, "current directory");
    }
  }
  const fs::path executable_dir = executable_directory();
  if (!executable_dir.empty()) {
    for (fs::path parent = executable_dir;; parent = parent.parent_path()) {
      add_candidate(candidates, parent / "data" / spec.folder, "executable's location");
      if (spec.look_in_shared && parent.has_parent_path() && parent != parent.root_path()) {
        add_candidate(candidates, parent / ".." / "shared" / "data" / spec.folder, "executable's location");
      }
      if (parent == parent.root_path() || !parent.has_parent_path() || parent.parent_path() == parent) break;
    }
  }
  if (spec.system_dir) add_candidate(candidates, spec.system_dir, "system-wide");
  return candidates;
}

std::string describe_missing(const fs::path& directory) {
  std::error_code error;
  if (!fs::exists(directory, error)) return "does not exist";
  if (!fs::is_directory(directory, error)) return "is not a directory";
  const std::vector<std::string> missing = missing_mnist_files(directory);
  std::string text = "lacks";
  for (size_t i = 0; i < missing.size(); ++i) text += (i ? ", " : " ") + missing[i] + "[.gz]";
  return text;
}

fs::path find_data_dir(const DataSpec& spec, const fs::path& data_option) {
  if (!data_option.empty()) {
    // An explicit directory is the user's decision: use it or say why not, never fall back.
    for (const fs::path& directory : {data_option, data_option / spec.folder}) {
      if (missing_mnist_files(directory).empty()) return directory.lexically_normal();
    }
    fail("{}: --data {} does not hold the {} files: it {}, and {} {}. {}", spec.display_name,
         data_option.string(), spec.display_name, describe_missing(data_option),
         (data_option / spec.folder).string(), describe_missing(data_option / spec.folder),
         spec.how_to_get);
  }
  // $NABLA_DATA is as explicit as --data (issue 18): a directory set there that lacks the files is an error
  // (naming it and the files), never a quiet fallback to other data.
  if (const char* root = std::getenv("NABLA_DATA"); root && *root) {
    const fs::path directory(root);
    if (spec.accept_data_root && missing_mnist_files(directory).empty()) return directory.lexically_normal();
    if (missing_mnist_files(directory / spec.folder).empty()) return (directory / spec.folder).lexically_normal();
    const std::string itself = spec.accept_data_root ? fmt::format("it {}, and ", describe_missing(directory)) : "";
    fail("{}: $NABLA_DATA={} does not hold the {} files: {}{} {}. Point NABLA_DATA at the directory that holds "
         "them (or unset it to search the usual places). {}",
         spec.display_name, directory.string(), spec.display_name, itself, (directory / spec.folder).string(),
         describe_missing(directory / spec.folder), spec.how_to_get);
  }
  const std::vector<Candidate> candidates = implicit_candidates(spec);
  for (const Candidate& candidate : candidates) {
    if (missing_mnist_files(candidate.directory).empty()) return candidate.directory;
  }
  std::string looked = "  --data: not given\n";
  if (const char* root = std::getenv("NABLA_DATA"); !root || !*root) looked += "  $NABLA_DATA: not set\n";
  for (const Candidate& candidate : candidates) {
    looked += fmt::format("  {} ({}): {}\n", candidate.directory.string(), candidate.origin,
                          describe_missing(candidate.directory));
  }
  fail("{}: could not find the {} files (train-images-idx3-ubyte, train-labels-idx1-ubyte, "
       "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each .gz or raw). Looked in:\n{}{}",
       spec.display_name, spec.display_name, looked, spec.how_to_get);
}

std::vector<fs::path> search_dirs(const DataSpec& spec, const fs::path& data_option) {
  std::vector<fs::path> directories;
  if (!data_option.empty()) {
    directories.push_back(data_option.lexically_normal());
    directories.push_back((data_option / spec.folder).lexically_normal());
  }
  for (const Candidate& candidate : implicit_candidates(spec)) directories.push_back(candidate.directory);
  return directories;
}

}  // namespace

const std::vector<std::string>& mnist_file_stems() {
  static const std::vector<std::string> stems{"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                              "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
  return stems;
}

std::vector<std::string> missing_mnist_files(const fs::path& directory) {
  std::vector<std::string> missing;
  for (const std::string& stem : mnist_file_stems()) {
    std::error_code error;
    if (!fs::is_regular_file(directory / (stem + ".gz"), error) && !fs::is_regular_file(directory / stem, error)) {
      missing.push_back(stem);
    }
  }
  return missing;
}

fs::path find_mnist_dir(const fs::path& data_option) { return find_data_dir(kMnist, data_option); }
fs::path find_fashion_mnist_dir(const fs::path& data_option) { return find_data_dir(kFashionMnist, data_option); }

std::vector<fs::path> mnist_search_dirs(const fs::path& data_option) { return search_dirs(kMnist, data_option); }
std::vector<fs::path> fashion_mnist_search_dirs(const fs::path& data_option) {
  return search_dirs(kFashionMnist, data_option);
}

}  // namespace nabla::datasets
