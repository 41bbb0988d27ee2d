#include "nabla/autograd/gradcheck.hpp"

#include <cmath>

#include "nabla/autograd/engine.hpp"
#include "nabla/autograd/factories.hpp"
#include "nabla/autograd/functions.hpp"
#include "nabla/autograd/grad_mode.hpp"

namespace nabla::autograd {

namespace {

// A copy of t with t's strides (a transposed or sliced input stays transposed or sliced, so the op's
// non-contiguous path is the one checked). Inputs that alias themselves (an expanded dimension of stride
// 0) are packed instead: perturbing one element would move all its aliases.
kernels::Tensor copy_keeping_layout(const kernels::Tensor& t, DType dtype) {
  // A conversion already makes a fresh array; only a same-dtype copy needs clone().
  auto packed_copy = [&] { return t.dtype() == dtype ? t.clone() : t.to(dtype); };
  if (t.is_contiguous() || t.numel() == 0) return packed_copy();
  int64_t span = 1;
  for (int64_t d = 0; d < t.dim(); ++d) {
    if (t.shape()[d] > 1 && t.strides()[d] <= 0) return packed_copy();
    if (t.shape()[d] > 1) span += (t.shape()[d] - 1) * t.strides()[d];
  }
  const kernels::Tensor buffer = kernels::zeros({span}, dtype);
  kernels::Tensor copy(buffer.storage(), dtype, t.shape(), t.strides(), 0);
  copy.copy_(t);  // converts the dtype
  return copy;
}

// Where the k-th element (in row-major order of the shape) lives, counted from x.data().
int64_t element_offset(const kernels::Tensor& x, int64_t k) {
  int64_t offset = 0;
  for (size_t d = x.shape().size(); d-- > 0;) {
    const int64_t size = x.shape()[d];
    offset += (k % size) * x.strides()[d];
    k /= size;
  }
  return offset;
}

// The inputs as float64 arrays of our own (the numeric pass perturbs them in place).
std::vector<kernels::Tensor> prepare_inputs(const std::vector<Tensor>& inputs, const GradcheckOptions& options,
                                            const char* op) {
  std::vector<kernels::Tensor> prepared;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined()) fail("{}: input {} is undefined", op, i);
    const kernels::Tensor& t = inputs[i].raw();
    if (!t.defined()) fail("{}: input {} is undefined", op, i);
    if (t.dtype() == DType::float32) {
      if (!options.cast_to_float64) {
        fail("{}: input {} is float32. A finite-difference step of {} is swamped by float32 rounding (about "
             "1e-7 relative), so the check would be meaningless. Pass float64 inputs, or set "
             "cast_to_float64 = true to check the function on float64 copies.", op, i, options.eps);
      }
      prepared.push_back(copy_keeping_layout(t, DType::float64));
    } else {
      prepared.push_back(copy_keeping_layout(t, t.dtype()));  // our own copy: the numeric pass perturbs it
    }
  }
  return prepared;
}

kernels::Tensor evaluate(const DifferentiableFunction& fn, const std::vector<kernels::Tensor>& inputs) {
  NoGradGuard no_grad;
  std::vector<Tensor> tensors(inputs.begin(), inputs.end());
  Tensor out = fn(tensors);
  if (!out.defined()) fail("gradcheck: the function returned an undefined tensor");
  return out.raw().to(DType::float64).contiguous();
}

}  // namespace

GradcheckResult gradcheck(const DifferentiableFunction& fn, const std::vector<Tensor>& inputs_in,
                          GradcheckOptions options) {
  std::vector<kernels::Tensor> inputs = prepare_inputs(inputs_in, options, "gradcheck");
  std::vector<Tensor> vars;
  std::vector<size_t> differentiable;  // indices of float inputs
  for (size_t i = 0; i < inputs.size(); ++i) {
    const bool is_float = is_floating(inputs[i].dtype());
    vars.emplace_back(inputs[i], is_float);
    if (is_float) differentiable.push_back(i);
  }
  if (differentiable.empty()) fail("gradcheck: no float64 input to differentiate with respect to");

  // Analytic Jacobian, one output element at a time: J[input][element * n_out + output].
  Tensor out = fn(vars);
  if (!out.defined()) fail("gradcheck: the function returned an undefined tensor");
  if (!is_floating(out.dtype())) fail("gradcheck: the function's output is {}, not a float tensor", out.dtype());
  const int64_t n_out = out.numel();
  std::vector<std::vector<double>> analytic(inputs.size());
  for (size_t i : differentiable) analytic[i].assign(static_cast<size_t>(inputs[i].numel() * n_out), 0.0);
  if (out.requires_grad()) {
    std::vector<Tensor> wrt;
    for (size_t i : differentiable) wrt.push_back(vars[i]);
    for (int64_t j = 0; j < n_out; ++j) {
      kernels::Tensor seed = kernels::zeros(out.shape(), out.dtype());
      seed.reshape({-1}).select(0, j).fill_(1.0);
      std::vector<Tensor> grads = grad({out}, wrt, {Tensor(seed)}, {.retain_graph = true, .allow_unused = true});
      for (size_t d = 0; d < differentiable.size(); ++d) {
        if (!grads[d].defined()) continue;
        const std::vector<double> g = grads[d].to_vector<double>();
        auto& column = analytic[differentiable[d]];
        for (size_t k = 0; k < g.size(); ++k) column[k * static_cast<size_t>(n_out) + static_cast<size_t>(j)] = g[k];
      }
    }
  }

  GradcheckResult result;
  double worst_error = -1.0;
  double largest_analytic = 0.0;
  for (size_t i : differentiable) {
    kernels::Tensor& x = inputs[i];
    double* px = x.data<double>();
    for (int64_t k = 0; k < x.numel(); ++k) {
      double& element = px[element_offset(x, k)];
      const double original = element;
      element = original + options.eps;
      const std::vector<double> plus = evaluate(fn, inputs).to_vector<double>();
      element = original - options.eps;
      const std::vector<double> minus = evaluate(fn, inputs).to_vector<double>();
      element = original;
      for (int64_t j = 0; j < n_out; ++j) {
        const double numeric = (plus[static_cast<size_t>(j)] - minus[static_cast<size_t>(j)]) / (2.0 * options.eps);
        const double exact = analytic[i][static_cast<size_t>(k * n_out + j)];
        largest_analytic = std::max(largest_analytic, std::abs(exact));
        const double error = std::abs(exact - numeric);
        const bool ok = error <= options.atol + options.rtol * std::abs(numeric);
        if (!ok && error > worst_error) {
          worst_error = error;
          result.passed = false;
          result.report = fmt::format(
              "gradcheck failed for input {} (shape {}), element {}, output element {}: analytic {:.10g}, "
              "numeric {:.10g}, error {:.3g} > atol {} + rtol {} * |numeric|",
              i, x.shape(), k, j, exact, numeric, error, options.atol, options.rtol);
        }
      }
    }
  }
  result.max_abs_analytic = largest_analytic;
  if (!result.passed && options.raise_on_failure) throw Error(result.report);
  return result;
}

GradcheckResult gradgradcheck(const DifferentiableFunction& fn, const std::vector<Tensor>& inputs_in,
                              GradcheckOptions options) {
  std::vector<kernels::Tensor> prepared = prepare_inputs(inputs_in, options, "gradgradcheck");
  // A fixed random direction v for the first backward.
  const kernels::Tensor sample = evaluate(fn, prepared);
  Generator generator(1234);
  const Tensor v = randn(sample.shape(), DType::float64, generator);
  const std::vector<Tensor> inputs(prepared.begin(), prepared.end());
  const size_t n = inputs.size();

  DifferentiableFunction first_derivative = [fn, n](const std::vector<Tensor>& all) {
    // gradcheck's numeric pass calls this under NoGradGuard with inputs that do not require grad;
    // the first derivative still has to be recorded and taken with respect to every float input,
    // as in the analytic pass, or the two passes would compute different functions.
    EnableGradGuard enable_grad;
    std::vector<Tensor> xs;
    for (size_t i = 0; i < n; ++i) {
      const Tensor& x = all[i];
      xs.push_back(x.requires_grad() || !is_floating(x.dtype()) ? x : Tensor(x.raw(), true));
    }
    const Tensor& direction = all[n];
    std::vector<Tensor> wrt;
    for (const Tensor& x : xs) {
      if (x.requires_grad()) wrt.push_back(x);
    }
    if (wrt.empty()) return Tensor(zeros({1}, DType::float64));
    Tensor out = fn(xs);
    std::vector<Tensor> grads = grad({out}, wrt, {direction}, {.create_graph = true, .allow_unused = true});
    std::vector<Tensor> flat;
    for (size_t d = 0; d < grads.size(); ++d) {
      flat.push_back(grads[d].defined() ? reshape(grads[d], {-1}) : Tensor(zeros({wrt[d].numel()}, DType::float64)));
    }
    return concat(flat, 0);
  };
  std::vector<Tensor> all = inputs;
  all.push_back(v);
  return gradcheck(first_derivative, all, options);
}

}  // namespace nabla::autograd
