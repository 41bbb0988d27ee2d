#include "nabla/nn/optim.hpp"

#include "nabla/tensor/simd.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include "nabla/tensor/threads.hpp"

namespace nabla::nn {

namespace {

// Updates are elementwise and memory-bound: below this many elements one thread is fastest.
constexpr int64_t kParallelThreshold = int64_t{1} << 16;

// Runs body(begin, end) over [0, n), split across threads only for large parameters. The body
// holds the whole fused update loop, so std::function is called once per chunk, not per element.
template <class Body>
void for_each_chunk(int64_t n, const Body& body) {
  if (n <= kParallelThreshold) {
    body(int64_t{0}, n);
  } else {
    parallel_for(0, n, kParallelThreshold / 2, body);
  }
}

// The gradient of parameter `index` as a contiguous tensor of the parameter's dtype and shape, or
// an undefined tensor when backward did not reach the parameter. Copies only in the rare case
// that the gradient is a strided view or of another dtype.
kernels::Tensor gradient_of(const Tensor& parameter, size_t index, const std::string& optimizer) {
  const Tensor& grad = parameter.grad();
  if (!grad.defined()) return {};
  kernels::Tensor g = grad.raw();
  if (g.shape() != parameter.shape()) {
    fail("{}.step: parameter {} has shape {} but its gradient has shape {}; the gradient must match the parameter",
         optimizer, index, parameter.shape(), g.shape());
  }
  if (g.dtype() != parameter.dtype()) g = g.to(parameter.dtype());
  return g.contiguous();
}

// The scalar in a one-element state tensor, or a clear error naming the entry.
void check_scalar_entry(const std::map<std::string, Tensor>& state, const std::string& name, DType dtype,
                        const std::string& optimizer) {
  auto it = state.find(name);
  if (it == state.end()) {
    fail("{}.load_state: the state has no '{}' entry; pass a map made by Optimizer::state()", optimizer, name);
  }
  if (!it->second.defined() || it->second.dtype() != dtype || it->second.numel() != 1) {
    fail("{}.load_state: entry '{}' must be a one-element {} tensor, got {} of shape {}", optimizer, name, dtype,
         it->second.defined() ? std::string(dtype_name(it->second.dtype())) : "undefined",
         it->second.defined() ? to_string(it->second.shape()) : "-");
  }
}

// Splits "<index>.<name>" into its parts; false when the key has another form.
bool parse_parameter_key(const std::string& key, size_t& index, std::string& name) {
  const size_t dot = key.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == key.size()) return false;
  const char* first = key.data();
  const char* last = key.data() + dot;
  auto [end, error] = std::from_chars(first, last, index);
  if (error != std::errc() || end != last) return false;
  name = key.substr(dot + 1);
  return true;
}

// Per-parameter step counters are 0-d int64 tensors; every other buffer is shaped like its parameter.
constexpr const char* kStepBuffer = "step";

}  // namespace

// ---------------------------------------------------------------------------------------------
// Optimizer

Optimizer::Optimizer(std::vector<Tensor> parameters, double lr) : parameters_(std::move(parameters)) {
  set_lr(lr);
  if (parameters_.empty()) {
    fail("Optimizer: got an empty parameter list; pass model.parameters() of a model that has parameters");
  }
  for (size_t i = 0; i < parameters_.size(); ++i) {
    const Tensor& parameter = parameters_[i];
    if (!parameter.defined()) fail("Optimizer: parameter {} is undefined", i);
    if (!is_floating(parameter.dtype())) {
      fail("Optimizer: parameter {} has dtype {}; only float32 and float64 parameters can be optimised", i,
           parameter.dtype());
    }
    if (!parameter.raw().is_contiguous()) {
      fail("Optimizer: parameter {} (shape {}, strides {}) is not contiguous; register a contiguous tensor "
           "(for example its clone())",
           i, parameter.shape(), parameter.raw().strides());
    }
  }
  // Parameters over overlapping memory would be updated twice per step. (Disjoint slices of one
  // storage are fine.)
  std::vector<std::pair<uintptr_t, size_t>> ranges;  // (first byte, parameter index)
  for (size_t i = 0; i < parameters_.size(); ++i) {
    if (parameters_[i].numel() == 0) continue;
    ranges.emplace_back(reinterpret_cast<uintptr_t>(parameters_[i].raw().raw_data()), i);
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t r = 1; r < ranges.size(); ++r) {
    const kernels::Tensor& previous = parameters_[ranges[r - 1].second].raw();
    const uintptr_t previous_end =
        ranges[r - 1].first + static_cast<uintptr_t>(previous.numel()) * itemsize(previous.dtype());
    if (ranges[r].first < previous_end) {
      const auto [first, second] = std::minmax(ranges[r - 1].second, ranges[r].second);
      fail("Optimizer: parameters {} and {} overlap in memory, so each step would update them twice; pass each "
           "parameter once",
           first, second);
    }
  }
  buffers_.resize(parameters_.size());
}

void Optimizer::zero_grad() {
  for (Tensor& parameter : parameters_) parameter.zero_grad();
}

void Optimizer::set_lr(double lr) {
  if (!(lr >= 0.0) || !std::isfinite(lr)) fail("Optimizer: the learning rate must be finite and >= 0, got {}", lr);
  lr_ = lr;
}

kernels::Tensor& Optimizer::buffer(size_t parameter_index, const std::string& name) {
  auto& buffers = buffers_.at(parameter_index);
  auto it = buffers.find(name);
  if (it == buffers.end()) {
    kernels::Tensor fresh = name == kStepBuffer ? kernels::zeros({}, int64) : kernels::zeros_like(parameters_[parameter_index].raw());
    it = buffers.emplace(name, std::move(fresh)).first;
  }
  return it->second;
}

// The state is a flat map of tensors so that it can be written to an archive as is:
//   "type"          uint8 [n]   the bytes of type_name() ("SGD", "AdamW", ...)
//   "lr"            float64 []  the current learning rate
//   "step"          int64 []    how many times step() ran
//   "parameters"    int64 []    the number of parameters
//   "<i>.shape"     int64 [r]   the shape of parameter i
//   "<i>.<buffer>"  the buffers of parameter i ("0.exp_avg", "3.momentum_buffer", "0.step")
// Every tensor is a copy: later steps don't change a state already taken.
std::map<std::string, Tensor> Optimizer::state() const {
  std::map<std::string, Tensor> out;
  const std::string type = type_name();
  out["type"] = from_vector(std::vector<uint8_t>(type.begin(), type.end()));
  out["lr"] = scalar_tensor(lr_, float64);
  Tensor step = zeros({}, int64);
  step.data_ptr<int64_t>()[0] = step_count_;
  out["step"] = step;
  Tensor count = zeros({}, int64);
  count.data_ptr<int64_t>()[0] = static_cast<int64_t>(parameters_.size());
  out["parameters"] = count;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    out[fmt::format("{}.shape", i)] = from_vector(parameters_[i].shape().vec(), {parameters_[i].dim()});
    for (const auto& [name, tensor] : buffers_[i]) out[fmt::format("{}.{}", i, name)] = tensor.clone();
  }
  return out;
}

void Optimizer::load_state(const std::map<std::string, Tensor>& state) {
  const std::string me = type_name();

  // ---- check everything first: a refused state leaves this optimiser untouched
  auto type_it = state.find("type");
  if (type_it == state.end()) {
    fail("{}.load_state: the state has no 'type' entry; pass a map made by Optimizer::state()", me);
  }
  const Tensor& type_tensor = type_it->second;
  if (!type_tensor.defined() || type_tensor.dtype() != uint8 || type_tensor.dim() != 1) {
    fail("{}.load_state: entry 'type' must be a 1-d uint8 tensor holding the optimiser's name", me);
  }
  const std::vector<uint8_t> type_bytes = type_tensor.to_vector<uint8_t>();
  const std::string type(type_bytes.begin(), type_bytes.end());
  if (type != me) {
    fail("{}.load_state: this is {} state, not {} state; load it into an optimiser of the type that saved it", me,
         type, me);
  }
  check_scalar_entry(state, "lr", float64, me);
  check_scalar_entry(state, "step", int64, me);
  check_scalar_entry(state, "parameters", int64, me);
  const double lr = state.at("lr").item<double>();
  if (!(lr >= 0.0) || !std::isfinite(lr)) fail("{}.load_state: entry 'lr' holds {}, not a finite lr >= 0", me, lr);
  const int64_t step = state.at("step").item<int64_t>();
  if (step < 0) fail("{}.load_state: entry 'step' holds {}, expected >= 0", me, step);
  const int64_t count = state.at("parameters").item<int64_t>();
  if (count != static_cast<int64_t>(parameters_.size())) {
    fail("{}.load_state: the state is for {} parameters but this optimiser has {}; build the optimiser over the "
         "same model",
         me, count, parameters_.size());
  }

  std::vector<std::map<std::string, kernels::Tensor>> buffers(parameters_.size());
  std::set<size_t> shapes_seen;
  for (const auto& [key, tensor] : state) {
    if (key == "type" || key == "lr" || key == "step" || key == "parameters") continue;
    size_t index = 0;
    std::string name;
    if (!parse_parameter_key(key, index, name)) {
      fail("{}.load_state: unexpected entry '{}' (entries are type, lr, step, parameters and <index>.<name>)", me,
           key);
    }
    if (index >= parameters_.size()) {
      fail("{}.load_state: entry '{}' refers to parameter {}, but there are only {}", me, key, index,
           parameters_.size());
    }
    if (!tensor.defined()) fail("{}.load_state: entry '{}' is undefined", me, key);
    const Tensor& parameter = parameters_[index];
    if (name == "shape") {
      if (tensor.dtype() != int64 || tensor.dim() != 1 || tensor.numel() > Dims::kMaxDims) {
        fail("{}.load_state: entry '{}' must be a 1-d int64 tensor holding a shape", me, key);
      }
      const Shape saved_shape(tensor.to_vector<int64_t>());
      if (saved_shape != parameter.shape()) {
        fail("{}.load_state: parameter {} has shape {} in the state but {} here; the state belongs to another model",
             me, index, saved_shape, parameter.shape());
      }
      shapes_seen.insert(index);
      continue;
    }
    const bool is_step = name == kStepBuffer;
    const Shape expected_shape = is_step ? Shape{} : parameter.shape();
    const DType expected_dtype = is_step ? int64 : parameter.dtype();
    if (tensor.shape() != expected_shape || tensor.dtype() != expected_dtype) {
      fail("{}.load_state: entry '{}' is {} {} in the state but must be {} {} to match parameter {}", me, key,
           tensor.dtype(), tensor.shape(), expected_dtype, expected_shape, index);
    }
    buffers[index][name] = tensor.raw().clone();
  }
  if (shapes_seen.size() != parameters_.size()) {
    for (size_t i = 0; i < parameters_.size(); ++i) {
      if (!shapes_seen.count(i)) fail("{}.load_state: the state has no '{}.shape' entry", me, i);
    }
  }

  // ---- all checks passed: replace
  lr_ = lr;
  step_count_ = step;
  buffers_ = std::move(buffers);
}

// ---------------------------------------------------------------------------------------------
// SGD, as torch.optim.SGD:
//   d = g + weight_decay * p
//   b = d on the first step, else momentum * b + (1 - dampening) * d
//   d = d + momentum * b (Nesterov) or b
//   p -= lr * d

SGD::SGD(std::vector<Tensor> parameters, const SGDOptions& options)
    : Optimizer(std::move(parameters), options.lr), options_(options) {
  if (!(options.momentum >= 0.0)) fail("SGD: momentum must be >= 0, got {}", options.momentum);
  if (!(options.weight_decay >= 0.0)) fail("SGD: weight_decay must be >= 0, got {}", options.weight_decay);
  if (!std::isfinite(options.dampening)) fail("SGD: dampening must be finite, got {}", options.dampening);
  if (options.nesterov && (options.momentum <= 0.0 || options.dampening != 0.0)) {
    fail("SGD: Nesterov momentum needs momentum > 0 and dampening 0, got momentum {} and dampening {}",
         options.momentum, options.dampening);
  }
}

namespace {

template <class T>
struct SgdConstants {
  T lr, weight_decay, momentum, keep;
  bool nesterov, first_step;
};

// One pass over a parameter, restrict pointers and constants by value so that it vectorises; the
// plain case (no momentum) gets its own loop.
template <class T>
NABLA_SIMD_CLONES void sgd_update(T* __restrict p, const T* __restrict g, T* __restrict b, int64_t n,
                                  const SgdConstants<T> c) {
  if (!b) {
    for (int64_t k = 0; k < n; ++k) p[k] -= c.lr * (g[k] + c.weight_decay * p[k]);
    return;
  }
  for (int64_t k = 0; k < n; ++k) {
    T d = g[k] + c.weight_decay * p[k];
    const T bk = c.first_step ? d : c.momentum * b[k] + c.keep * d;
    b[k] = bk;
    d = c.nesterov ? d + c.momentum * bk : bk;
    p[k] -= c.lr * d;
  }
}

}  // namespace

void SGD::step() {
  NoGradGuard no_grad;
  ++step_count_;
  for (size_t i = 0; i < parameters().size(); ++i) {
    const Tensor& parameter = parameters()[i];
    const kernels::Tensor grad = gradient_of(parameter, i, "SGD");
    if (!grad.defined()) continue;
    const kernels::Tensor& values = parameter.raw();
    const bool use_momentum = options_.momentum != 0.0;
    bool first_step = false;
    kernels::Tensor momentum_buffer;
    if (use_momentum) {
      int64_t& steps = *buffer(i, kStepBuffer).data<int64_t>();
      first_step = steps == 0;
      ++steps;
      momentum_buffer = buffer(i, "momentum_buffer");
    }
    dispatch_floating(values.dtype(), [&](auto tag) {
      using T = decltype(tag);
      T* p = values.data<T>();
      const T* g = grad.data<T>();
      T* b = use_momentum ? momentum_buffer.data<T>() : nullptr;
      const T lr = static_cast<T>(this->lr());
      const T weight_decay = static_cast<T>(options_.weight_decay);
      const T momentum = static_cast<T>(options_.momentum);
      const T keep = static_cast<T>(1.0 - options_.dampening);
      const SgdConstants<T> c{lr, weight_decay, momentum, keep, options_.nesterov, first_step};
      for_each_chunk(values.numel(), [&](int64_t begin, int64_t end) {
        sgd_update<T>(p + begin, g + begin, b ? b + begin : nullptr, end - begin, c);
      });
    });
    values.storage()->bump_version();
  }
}

// ---------------------------------------------------------------------------------------------
// Adam / AdamW, as torch.optim.Adam and AdamW (per-parameter step t, so a parameter that missed
// some steps is bias-corrected for the steps it took part in):
//   Adam:  g = g + weight_decay * p          AdamW:  p *= 1 - lr * weight_decay
//   m = beta1 * m + (1 - beta1) * g
//   v = beta2 * v + (1 - beta2) * g^2        (amsgrad: v_max = max(v_max, v), used below for v)
//   p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

Adam::Adam(std::vector<Tensor> parameters, const AdamOptions& options)
    : Adam(std::move(parameters), options, /*decoupled=*/false) {}

Adam::Adam(std::vector<Tensor> parameters, const AdamOptions& options, bool decoupled)
    : Optimizer(std::move(parameters), options.lr), options_(options), decoupled_(decoupled) {
  const char* name = decoupled ? "AdamW" : "Adam";
  if (!(options.beta1 >= 0.0 && options.beta1 < 1.0)) fail("{}: beta1 must be in [0, 1), got {}", name, options.beta1);
  if (!(options.beta2 >= 0.0 && options.beta2 < 1.0)) fail("{}: beta2 must be in [0, 1), got {}", name, options.beta2);
  if (!(options.eps >= 0.0)) fail("{}: eps must be >= 0, got {}", name, options.eps);
  if (!(options.weight_decay >= 0.0)) fail("{}: weight_decay must be >= 0, got {}", name, options.weight_decay);
}

namespace {

template <class T>
struct AdamConstants {
  T beta1, beta2, one_minus_beta1, one_minus_beta2, eps, l2, shrink, step_size, bias_correction2_sqrt;
};

// One fused pass over a parameter. The constants arrive by value and the arrays as restrict
// pointers, so the compiler keeps everything in registers and vectorises (sqrt and division
// included); amsgrad gets its own loop rather than a branch per element.
template <class T>
NABLA_SIMD_CLONES void adam_update(T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict v, T* __restrict v_max,
                 int64_t n, const AdamConstants<T> c) {
  if (!v_max) {
    for (int64_t k = 0; k < n; ++k) {
      const T gk = g[k] + c.l2 * p[k];
      const T mk = c.beta1 * m[k] + c.one_minus_beta1 * gk;
      const T vk = c.beta2 * v[k] + c.one_minus_beta2 * gk * gk;
      m[k] = mk;
      v[k] = vk;
      p[k] = p[k] * c.shrink - c.step_size * mk / (std::sqrt(vk) / c.bias_correction2_sqrt + c.eps);
    }
    return;
  }
  for (int64_t k = 0; k < n; ++k) {
    const T gk = g[k] + c.l2 * p[k];
    const T mk = c.beta1 * m[k] + c.one_minus_beta1 * gk;
    const T vk = c.beta2 * v[k] + c.one_minus_beta2 * gk * gk;
    const T vmax = std::max(v_max[k], vk);
    m[k] = mk;
    v[k] = vk;
    v_max[k] = vmax;
    p[k] = p[k] * c.shrink - c.step_size * mk / (std::sqrt(vmax) / c.bias_correction2_sqrt + c.eps);
  }
}

}  // namespace

void Adam::step() {
  NoGradGuard no_grad;
  ++step_count_;
  for (size_t i = 0; i < parameters().size(); ++i) {
    const Tensor& parameter = parameters()[i];
    const kernels::Tensor grad = gradient_of(parameter, i, type_name());
    if (!grad.defined()) continue;
    const kernels::Tensor& values = parameter.raw();
    int64_t& steps = *buffer(i, kStepBuffer).data<int64_t>();
    const int64_t t = ++steps;
    kernels::Tensor exp_avg = buffer(i, "exp_avg");
    kernels::Tensor exp_avg_sq = buffer(i, "exp_avg_sq");
    kernels::Tensor max_exp_avg_sq = options_.amsgrad ? buffer(i, "max_exp_avg_sq") : kernels::Tensor();

    const double bias_correction1 = 1.0 - std::pow(options_.beta1, static_cast<double>(t));
    const double bias_correction2 = 1.0 - std::pow(options_.beta2, static_cast<double>(t));
    dispatch_floating(values.dtype(), [&](auto tag) {
      using T = decltype(tag);
      T* p = values.data<T>();
      const T* g = grad.data<T>();
      T* m = exp_avg.data<T>();
      T* v = exp_avg_sq.data<T>();
      T* v_max = options_.amsgrad ? max_exp_avg_sq.data<T>() : nullptr;
      const T beta1 = static_cast<T>(options_.beta1);
      const T beta2 = static_cast<T>(options_.beta2);
      // 1 - beta in double, then rounded once (as PyTorch passes it), not 1 - float(beta).
      const T one_minus_beta1 = static_cast<T>(1.0 - options_.beta1);
      const T one_minus_beta2 = static_cast<T>(1.0 - options_.beta2);
      const T eps = static_cast<T>(options_.eps);
      const T l2 = static_cast<T>(decoupled_ ? 0.0 : options_.weight_decay);
      const T shrink = static_cast<T>(decoupled_ ? 1.0 - lr() * options_.weight_decay : 1.0);
      const T step_size = static_cast<T>(lr() / bias_correction1);
      const T bias_correction2_sqrt = static_cast<T>(std::sqrt(bias_correction2));
      const AdamConstants<T> c{beta1, beta2, one_minus_beta1, one_minus_beta2, eps, l2, shrink, step_size,
                               bias_correction2_sqrt};
      for_each_chunk(values.numel(), [&](int64_t begin, int64_t end) {
        adam_update<T>(p + begin, g + begin, m + begin, v + begin, v_max ? v_max + begin : nullptr, end - begin, c);
      });
    });
    values.storage()->bump_version();
  }
}

// ---------------------------------------------------------------------------------------------
// RMSprop, as torch.optim.RMSprop:
//   g = g + weight_decay * p
//   s = alpha * s + (1 - alpha) * g^2
//   centered: a = alpha * a + (1 - alpha) * g, denominator = sqrt(s - a^2) + eps; else sqrt(s) + eps
//   momentum: b = momentum * b + g / denominator, p -= lr * b;  else p -= lr * g / denominator

RMSprop::RMSprop(std::vector<Tensor> parameters, const RMSpropOptions& options)
    : Optimizer(std::move(parameters), options.lr), options_(options) {
  if (!(options.alpha >= 0.0)) fail("RMSprop: alpha must be >= 0, got {}", options.alpha);
  if (!(options.eps >= 0.0)) fail("RMSprop: eps must be >= 0, got {}", options.eps);
  if (!(options.momentum >= 0.0)) fail("RMSprop: momentum must be >= 0, got {}", options.momentum);
  if (!(options.weight_decay >= 0.0)) fail("RMSprop: weight_decay must be >= 0, got {}", options.weight_decay);
}

void RMSprop::step() {
  NoGradGuard no_grad;
  ++step_count_;
  for (size_t i = 0; i < parameters().size(); ++i) {
    const Tensor& parameter = parameters()[i];
    const kernels::Tensor grad = gradient_of(parameter, i, "RMSprop");
    if (!grad.defined()) continue;
    const kernels::Tensor& values = parameter.raw();
    kernels::Tensor square_avg = buffer(i, "square_avg");
    kernels::Tensor grad_avg = options_.centered ? buffer(i, "grad_avg") : kernels::Tensor();
    kernels::Tensor momentum_buffer = options_.momentum > 0.0 ? buffer(i, "momentum_buffer") : kernels::Tensor();
    dispatch_floating(values.dtype(), [&](auto tag) {
      using T = decltype(tag);
      T* p = values.data<T>();
      const T* g = grad.data<T>();
      T* s = square_avg.data<T>();
      T* a = options_.centered ? grad_avg.data<T>() : nullptr;
      T* b = options_.momentum > 0.0 ? momentum_buffer.data<T>() : nullptr;
      const T lr = static_cast<T>(this->lr());
      const T alpha = static_cast<T>(options_.alpha);
      const T one_minus_alpha = static_cast<T>(1.0 - options_.alpha);
      const T eps = static_cast<T>(options_.eps);
      const T weight_decay = static_cast<T>(options_.weight_decay);
      const T momentum = static_cast<T>(options_.momentum);
      for_each_chunk(values.numel(), [&](int64_t begin, int64_t end) {
        for (int64_t k = begin; k < end; ++k) {
          const T gk = g[k] + weight_decay * p[k];
          s[k] = alpha * s[k] + one_minus_alpha * gk * gk;
          T variance = s[k];
          if (a) {
            a[k] = alpha * a[k] + one_minus_alpha * gk;
            variance -= a[k] * a[k];
          }
          // s >= a^2 in exact arithmetic; clamp so rounding cannot make the root NaN.
          const T denominator = std::sqrt(std::max(variance, T(0))) + eps;
          if (b) {
            b[k] = momentum * b[k] + gk / denominator;
            p[k] -= lr * b[k];
          } else {
            p[k] -= lr * gk / denominator;
          }
        }
      });
    });
    values.storage()->bump_version();
  }
}

}  // namespace nabla::nn
