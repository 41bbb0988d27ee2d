#pragma once
// Where the MNIST and Fashion-MNIST files are found, so that programs run from the project root,
// the build directory or anywhere else find the data without being told.
//
// find_mnist_dir(data_option) tries, in order, the first directory holding all four files
// (train/t10k images/labels, each ".gz" or raw):
//   1. data_option (a program's --data DIR), or DIR/mnist;
//   2. $NABLA_DATA, or $NABLA_DATA/mnist;
//   3. ./data/mnist and ../shared/data/mnist (relative to the current directory);
//   4. for the running executable's directory and each of its parents P: P/data/mnist and
//      P/../shared/data/mnist (so build/bin/program finds the project's data from anywhere).
// find_fashion_mnist_dir(data_option) tries:
//   1. data_option, or DIR/fashion-mnist;   2. $NABLA_DATA/fashion-mnist;
//   3. ./data/fashion-mnist;   4. P/data/fashion-mnist for the executable's directory and parents;
//   5. /usr/share/datasets/fashion-mnist (the Debian package dataset-fashion-mnist).
//
// An explicit data_option is final: if neither DIR nor its subfolder has the files, the call
// throws (it does not quietly fall back to other data). When nothing is found, nabla::Error
// lists every place looked and why each was rejected, and says how to get the data.
#include <filesystem>
#include <string>
#include <vector>

namespace nabla::datasets {

// An empty data_option means "not given".
std::filesystem::path find_mnist_dir(const std::filesystem::path& data_option = {});
std::filesystem::path find_fashion_mnist_dir(const std::filesystem::path& data_option = {});

// The candidate directories in the order they are tried (for --help texts); duplicates removed.
std::vector<std::filesystem::path> mnist_search_dirs(const std::filesystem::path& data_option = {});
std::vector<std::filesystem::path> fashion_mnist_search_dirs(const std::filesystem::path& data_option = {});

// The four files a directory needs, without extension: train-images-idx3-ubyte, ...
const std::vector<std::string>& mnist_file_stems();
// The stems of mnist_file_stems() that `directory` lacks (in neither ".gz" nor raw form); empty
// when the directory has them all.
std::vector<std::string> missing_mnist_files(const std::filesystem::path& directory);

}  // namespace nabla::datasets
