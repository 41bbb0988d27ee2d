#include "nabla/tensor/random.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numbers>
#include <sstream>
#include <string_view>
#include <vector>

#include "nabla/tensor/factories.hpp"

namespace nabla {

namespace {
uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
}  // namespace

void Generator::manual_seed(uint64_t seed) {
  uint64_t state = seed;
  for (auto& word : s_) word = splitmix64(state);
  has_spare_normal_ = false;
}

uint64_t Generator::next_u64() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Generator::uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

double Generator::normal() {
  if (has_spare_normal_) {
    has_spare_normal_ = false;
    return spare_normal_;
  }
  double u1 = uniform();
  while (u1 <= 0.0) u1 = uniform();
  const double u2 = uniform();
  const double radius = std::sqrt(-2.0 * std::log(u1));
  const double angle = 2.0 * std::numbers::pi * u2;
  spare_normal_ = radius * std::sin(angle);
  has_spare_normal_ = true;
  return radius * std::cos(angle);
}

uint64_t Generator::below(uint64_t n) {
  if (n == 0) fail("Generator::below: n must be positive");
  // Rejection sampling: no modulo bias.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x = next_u64();
  while (x >= limit) x = next_u64();
  return x % n;
}

std::string Generator::state() const {
  std::ostringstream out;
  out << "xoshiro256** " << s_[0] << ' ' << s_[1] << ' ' << s_[2] << ' ' << s_[3] << ' '
      << (has_spare_normal_ ? 1 : 0) << ' ';
  out.precision(17);
  out << spare_normal_;
  return out.str();
}

// Parsed strictly (std::from_chars: no signs on the words, no trailing text), and the all-zero
// xoshiro state, from which the generator would yield only zeros, is refused; a refused state
// leaves the generator as it was.
void Generator::set_state(const std::string& state) {
  const std::string shown = state.size() > 200 ? state.substr(0, 200) + "..." : state;
  std::vector<std::string_view> tokens;
  const std::string_view text(state);
  for (size_t i = 0; i < text.size();) {
    if (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r') {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < text.size() && text[end] != ' ' && text[end] != '\t' && text[end] != '\n' && text[end] != '\r') ++end;
    tokens.push_back(text.substr(i, end - i));
    i = end;
  }
  if (tokens.size() != 7 || tokens[0] != "xoshiro256**") {
    fail("Generator::set_state: not a generator state: '{}' (expected \"xoshiro256** <4 words> <0|1> <spare>\", as "
         "Generator::state() writes; got {} fields)", shown, tokens.size());
  }
  uint64_t words[4];
  for (int i = 0; i < 4; ++i) {
    const std::string_view token = tokens[static_cast<size_t>(i) + 1];
    const auto [end, error] = std::from_chars(token.data(), token.data() + token.size(), words[i]);
    if (error != std::errc() || end != token.data() + token.size()) {
      fail("Generator::set_state: word {} of the state, '{}', is not an unsigned 64-bit integer (state '{}')", i,
           token, shown);
    }
  }
  if ((words[0] | words[1] | words[2] | words[3]) == 0) {
    fail("Generator::set_state: the state '{}' is all zeros, from which xoshiro256** yields only zeros; it was not "
         "written by Generator::state()", shown);
  }
  if (tokens[5] != "0" && tokens[5] != "1") {
    fail("Generator::set_state: the spare-normal flag is '{}', expected 0 or 1 (state '{}')", tokens[5], shown);
  }
  double spare = 0.0;
  const std::string_view spare_token = tokens[6];
  const auto [end, error] = std::from_chars(spare_token.data(), spare_token.data() + spare_token.size(), spare);
  if (error != std::errc() || end != spare_token.data() + spare_token.size() || !std::isfinite(spare)) {
    fail("Generator::set_state: the spare normal '{}' is not a finite number (state '{}')", spare_token, shown);
  }
  for (int i = 0; i < 4; ++i) s_[i] = words[i];
  has_spare_normal_ = tokens[5] == "1";
  spare_normal_ = spare;
}

Generator& default_generator() {
  static Generator generator;
  return generator;
}

void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

}  // namespace nabla

namespace nabla::kernels {

namespace {
void check_float(DType dtype, const char* op) {
  if (!is_floating(dtype)) fail("{}: needs a float dtype (float32 or float64), got {}", op, dtype);
}

template <class Draw>
Tensor fill_random(const Shape& shape, DType dtype, Draw draw) {
  Tensor out = Tensor::empty(shape, dtype);
  dispatch(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = out.data<T>();
    const int64_t n = out.numel();
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(draw());
  });
  return out;
}
}  // namespace

Tensor uniform(const Shape& shape, double low, double high, DType dtype, Generator& generator) {
  check_float(dtype, "uniform");
  if (!(low <= high)) fail("uniform: low {} must not exceed high {}", low, high);
  // Rounding (to float32 especially) can carry a draw just below high up to high itself; clamp to
  // the largest value below high so the interval stays half-open.
  const double top = dtype == DType::float32
                         ? static_cast<double>(std::nextafter(static_cast<float>(high), static_cast<float>(low)))
                         : std::nextafter(high, low);
  return fill_random(shape, dtype, [&] { return std::min(low + (high - low) * generator.uniform(), top); });
}

Tensor rand(const Shape& shape, DType dtype, Generator& generator) { return uniform(shape, 0.0, 1.0, dtype, generator); }

Tensor normal(const Shape& shape, double mean, double stddev, DType dtype, Generator& generator) {
  check_float(dtype, "normal");
  if (!(stddev >= 0)) fail("normal: stddev must be non-negative, got {}", stddev);
  return fill_random(shape, dtype, [&] { return mean + stddev * generator.normal(); });
}

Tensor randn(const Shape& shape, DType dtype, Generator& generator) {
  check_float(dtype, "randn");  // named here, so that a bad dtype is reported as randn's
  return normal(shape, 0.0, 1.0, dtype, generator);
}

Tensor bernoulli(const Shape& shape, double p, DType dtype, Generator& generator) {
  if (!(p >= 0.0 && p <= 1.0)) fail("bernoulli: probability must be in [0, 1], got {}", p);
  return fill_random(shape, dtype, [&] { return generator.uniform() < p ? 1.0 : 0.0; });
}

Tensor randint(int64_t low, int64_t high, const Shape& shape, Generator& generator) {
  if (low >= high) fail("randint: low {} must be less than high {}", low, high);
  Tensor out = Tensor::empty(shape, int64);
  int64_t* p = out.data<int64_t>();
  // In uint64 arithmetic: high - low overflows int64 for ranges wider than 2^63.
  const uint64_t span = static_cast<uint64_t>(high) - static_cast<uint64_t>(low);
  for (int64_t i = 0; i < out.numel(); ++i) {
    p[i] = static_cast<int64_t>(static_cast<uint64_t>(low) + generator.below(span));
  }
  return out;
}

Tensor randperm(int64_t n, Generator& generator) {
  if (n < 0) fail("randperm: n must be non-negative, got {}", n);
  Tensor out = arange(n);
  int64_t* p = out.data<int64_t>();
  for (int64_t i = n - 1; i > 0; --i) {
    const int64_t j = static_cast<int64_t>(generator.below(static_cast<uint64_t>(i + 1)));
    std::swap(p[i], p[j]);
  }
  return out;
}

}  // namespace nabla::kernels
