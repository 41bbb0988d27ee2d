// L-BFGS, a port of torch.optim.LBFGS (itself from minFunc): the two-loop recursion over a history
// of (y, s) pairs, an optional strong-Wolfe line search (from torch/optim's lswolfe.lua), and the
// same stopping rules, evaluation counts and state. The flat vectors are float64.
#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>

#include "optim_support.hpp"

namespace nabla::nn {

namespace {

using Vector = std::vector<double>;

double dot(const Vector& a, const Vector& b) { return std::inner_product(a.begin(), a.end(), b.begin(), 0.0); }

double max_abs(const Vector& a) {
  double out = 0.0;
  for (double v : a) out = std::max(out, std::abs(v));
  return out;
}

// out += alpha * x
void axpy(Vector& out, double alpha, const Vector& x) {
  for (size_t k = 0; k < out.size(); ++k) out[k] += alpha * x[k];
}

LBFGSOptions resolved(LBFGSOptions options) {
  if (options.max_eval == 0) options.max_eval = options.max_iter * 5 / 4;  // PyTorch's max_eval=None
  return options;
}

LBFGSOptions checked_options(const ParamGroup& group, const std::string& where) {
  const auto o = detail::options_from_map<LBFGSOptions>(group.options, where);
  if (o.max_iter < 1) fail("{}: max_iter must be >= 1, got {}", where, o.max_iter);
  if (o.max_eval < 1) fail("{}: max_eval must be >= 1, got {}", where, o.max_eval);
  if (o.history_size < 1) fail("{}: history_size must be >= 1, got {}", where, o.history_size);
  detail::check_non_negative(o.tolerance_grad, "tolerance_grad", where);
  detail::check_non_negative(o.tolerance_change, "tolerance_change", where);
  return o;
}

// The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1 and g2, clamped to the
// bounds (by default the interval between the points); the middle when the cubic has none.
double cubic_interpolate(double x1, double f1, double g1, double x2, double f2, double g2, double xmin_bound,
                         double xmax_bound) {
  const double d1 = g1 + g2 - 3.0 * (f1 - f2) / (x1 - x2);
  const double d2_square = d1 * d1 - g1 * g2;
  if (d2_square >= 0.0) {
    const double d2 = std::sqrt(d2_square);
    const double min_pos = x1 <= x2 ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2.0 * d2))
                                    : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2.0 * d2));
    return std::min(std::max(min_pos, xmin_bound), xmax_bound);
  }
  return (xmin_bound + xmax_bound) / 2.0;
}

double cubic_interpolate(double x1, double f1, double g1, double x2, double f2, double g2) {
  return cubic_interpolate(x1, f1, g1, x2, f2, g2, std::min(x1, x2), std::max(x1, x2));
}

struct LineSearchResult {
  double loss;
  Vector flat_grad;
  double t;
  int64_t evaluations;
};

// Finds a step t along d satisfying the strong Wolfe conditions: bracket, then zoom. `evaluate`
// returns the loss and gradient at x + t d. PyTorch's constants: c1 1e-4, c2 0.9, tolerance
// 1e-9, at most 25 evaluations.
template <class Evaluate>
LineSearchResult strong_wolfe(const Evaluate& evaluate, double t, const Vector& d, double f, const Vector& g,
                              double gtd) {
  constexpr double c1 = 1e-4, c2 = 0.9, tolerance_change = 1e-9;
  constexpr int64_t max_ls = 25;
  const double d_norm = max_abs(d);
  auto [f_new, g_new] = evaluate(t, d);
  int64_t ls_func_evals = 1;
  double gtd_new = dot(g_new, d);

  // ---- bracket an interval containing a point satisfying the Wolfe criteria
  double t_prev = 0.0, f_prev = f, gtd_prev = gtd;
  Vector g_prev = g;
  bool done = false;
  int64_t ls_iter = 0;
  std::array<double, 2> bracket{}, bracket_f{}, bracket_gtd{};
  std::array<Vector, 2> bracket_g;
  auto set_bracket = [&](double t0, double f0, const Vector& g0, double gtd0, double t1, double f1, const Vector& g1,
                         double gtd1) {
    bracket = {t0, t1}, bracket_f = {f0, f1}, bracket_g = {g0, g1}, bracket_gtd = {gtd0, gtd1};
  };
  while (ls_iter < max_ls) {
    if (f_new > f + c1 * t * gtd || (ls_iter > 1 && f_new >= f_prev)) {
      set_bracket(t_prev, f_prev, g_prev, gtd_prev, t, f_new, g_new, gtd_new);
      break;
    }
    if (std::abs(gtd_new) <= -c2 * gtd) {
      set_bracket(t, f_new, g_new, gtd_new, t, f_new, g_new, gtd_new);  // one point: both ends
      done = true;
      break;
    }
    if (gtd_new >= 0) {
      set_bracket(t_prev, f_prev, g_prev, gtd_prev, t, f_new, g_new, gtd_new);
      break;
    }
    // interpolate
    const double min_step = t + 0.01 * (t - t_prev);
    const double max_step = t * 10;
    const double previous_t = t;
    t = cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, min_step, max_step);
    // next step
    t_prev = previous_t;
    f_prev = f_new;
    g_prev = g_new;
    gtd_prev = gtd_new;
    std::tie(f_new, g_new) = evaluate(t, d);
    ls_func_evals += 1;
    gtd_new = dot(g_new, d);
    ls_iter += 1;
  }
  // reached the maximum number of iterations?
  if (ls_iter == max_ls) set_bracket(0.0, f, g, gtd, t, f_new, g_new, gtd_new);

  // ---- zoom: refine the bracket until a point satisfies the criteria
  bool insufficient_progress = false;
  size_t low_pos = bracket_f[0] <= bracket_f[1] ? 0 : 1;
  size_t high_pos = 1 - low_pos;
  while (!done && ls_iter < max_ls) {
    // the bracket is too small
    if (std::abs(bracket[1] - bracket[0]) * d_norm < tolerance_change) break;
    t = cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1]);

    // When t is too close to an end of the bracket (and was last time too, or lies on it), move it
    // to 0.1 of the bracket's length from the nearer end.
    const double high = std::max(bracket[0], bracket[1]);
    const double low = std::min(bracket[0], bracket[1]);
    const double eps = 0.1 * (high - low);
    if (std::min(high - t, t - low) < eps) {
      if (insufficient_progress || t >= high || t <= low) {
        t = std::abs(t - high) < std::abs(t - low) ? high - eps : low + eps;
        insufficient_progress = false;
      } else {
        insufficient_progress = true;
      }
    } else {
      insufficient_progress = false;
    }

    std::tie(f_new, g_new) = evaluate(t, d);
    ls_func_evals += 1;
    gtd_new = dot(g_new, d);
    ls_iter += 1;

    if (f_new > f + c1 * t * gtd || f_new >= bracket_f[low_pos]) {
      // Armijo condition not satisfied or not lower than the lowest point
      bracket[high_pos] = t;
      bracket_f[high_pos] = f_new;
      bracket_g[high_pos] = g_new;
      bracket_gtd[high_pos] = gtd_new;
      low_pos = bracket_f[0] <= bracket_f[1] ? 0 : 1;
      high_pos = 1 - low_pos;
    } else {
      if (std::abs(gtd_new) <= -c2 * gtd) {
        done = true;  // the Wolfe conditions hold
      } else if (gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0) {
        // the old high becomes the new low
        bracket[high_pos] = bracket[low_pos];
        bracket_f[high_pos] = bracket_f[low_pos];
        bracket_g[high_pos] = bracket_g[low_pos];
        bracket_gtd[high_pos] = bracket_gtd[low_pos];
      }
      // the new point becomes the new low
      bracket[low_pos] = t;
      bracket_f[low_pos] = f_new;
      bracket_g[low_pos] = g_new;
      bracket_gtd[low_pos] = gtd_new;
    }
  }
  return {bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], ls_func_evals};
}

double loss_value(const Tensor& loss) {
  if (!loss.defined() || loss.numel() != 1) {
    fail("LBFGS.step: the closure must return the loss as a one-element tensor, got {}",
         loss.defined() ? "a tensor of shape " + to_string(loss.shape()) : std::string("an undefined tensor"));
  }
  return loss.item<double>();
}

}  // namespace

LBFGS::LBFGS(std::vector<Tensor> parameters, const LBFGSOptions& options)
    : LBFGS(std::vector<ParamGroup>{ParamGroup{std::move(parameters), {}, {}}}, options) {}

LBFGS::LBFGS(std::vector<ParamGroup> groups, const LBFGSOptions& options)
    : Optimizer(std::move(groups), detail::options_to_map(resolved(options))), line_search_fn_(options.line_search_fn) {
  if (param_groups().size() != 1) {
    fail("LBFGS: doesn't support per-parameter options (parameter groups); got {} groups, pass one list of "
         "parameters",
         param_groups().size());
  }
  if (!line_search_fn_.empty() && line_search_fn_ != "strong_wolfe") {
    fail("LBFGS: only 'strong_wolfe' is supported as line_search_fn (or \"\" for none), got '{}'", line_search_fn_);
  }
  check_options(param_groups()[0], 0);
}

void LBFGS::check_options(const ParamGroup& group, size_t group_index) const {
  checked_options(group, where(group_index));
}

void LBFGS::step() {
  fail("LBFGS.step: needs a closure that re-evaluates the model and returns the loss: "
       "lbfgs.step([&] {{ lbfgs.zero_grad(); Tensor loss = ...; loss.backward(); return loss; }})");
}

int64_t LBFGS::numel() const {
  int64_t total = 0;
  for (const Tensor& parameter : parameters()) total += parameter.numel();
  return total;
}

LBFGS::Vector LBFGS::gather_flat_grad() const {
  Vector out;
  out.reserve(static_cast<size_t>(numel()));
  for (const Tensor& parameter : parameters()) {
    const Tensor& grad = parameter.grad();
    if (!grad.defined()) {
      out.insert(out.end(), static_cast<size_t>(parameter.numel()), 0.0);  // as PyTorch: a missing gradient is 0
      continue;
    }
    if (grad.shape() != parameter.shape()) {
      fail("LBFGS.step: a parameter of shape {} has a gradient of shape {}; the gradient must match the parameter",
           parameter.shape(), grad.shape());
    }
    const std::vector<double> values = grad.to_vector<double>();
    out.insert(out.end(), values.begin(), values.end());
  }
  return out;
}

LBFGS::Vector LBFGS::parameter_values() const {
  Vector out;
  out.reserve(static_cast<size_t>(numel()));
  for (const Tensor& parameter : parameters()) {
    const std::vector<double> values = parameter.to_vector<double>();
    out.insert(out.end(), values.begin(), values.end());
  }
  return out;
}

void LBFGS::set_parameter_values(const Vector& values) {
  size_t offset = 0;
  for (const Tensor& parameter : parameters()) {
    dispatch_floating(parameter.dtype(), [&](auto tag) {
      using T = decltype(tag);
      T* p = parameter.raw().data<T>();
      for (int64_t k = 0; k < parameter.numel(); ++k) p[k] = static_cast<T>(values[offset + static_cast<size_t>(k)]);
    });
    offset += static_cast<size_t>(parameter.numel());
    parameter.raw().storage()->bump_version();
  }
}

// p += step_size * direction, parameter by parameter (PyTorch's _add_grad).
void LBFGS::add_to_parameters(double step_size, const Vector& direction) {
  size_t offset = 0;
  for (const Tensor& parameter : parameters()) {
    dispatch_floating(parameter.dtype(), [&](auto tag) {
      using T = decltype(tag);
      T* p = parameter.raw().data<T>();
      for (int64_t k = 0; k < parameter.numel(); ++k) {
        p[k] = static_cast<T>(static_cast<double>(p[k]) + step_size * direction[offset + static_cast<size_t>(k)]);
      }
    });
    offset += static_cast<size_t>(parameter.numel());
    parameter.raw().storage()->bump_version();
  }
}

// The loss and gradient at x + t d; the parameters are x again afterwards.
std::pair<double, LBFGS::Vector> LBFGS::directional_evaluate(const LossClosure& closure, const Vector& x, double t,
                                                             const Vector& d) {
  add_to_parameters(t, d);
  double loss = 0.0;
  {
    EnableGradGuard enable_grad;
    loss = loss_value(closure());
  }
  Vector flat_grad = gather_flat_grad();
  set_parameter_values(x);
  return {loss, std::move(flat_grad)};
}

Tensor LBFGS::step(const LossClosure& closure) {
  if (!closure) step();  // throws, explaining the closure
  NoGradGuard no_grad;
  const LBFGSOptions o = checked_options(param_groups()[0], type_name());
  const bool line_search = !line_search_fn_.empty();
  ++step_count_;

  // evaluate the initial f(x) and df/dx
  Tensor orig_loss;
  {
    EnableGradGuard enable_grad;
    orig_loss = closure();
  }
  double loss = loss_value(orig_loss);
  int64_t current_evals = 1;
  func_evals_ += 1;
  Vector flat_grad = gather_flat_grad();
  bool opt_cond = max_abs(flat_grad) <= o.tolerance_grad;
  if (opt_cond) return orig_loss;  // already optimal

  int64_t n_iter = 0;
  while (n_iter < o.max_iter) {
    ++n_iter;
    ++n_iter_;

    // ---- the descent direction
    if (n_iter_ == 1) {
      d_ = flat_grad;
      for (double& v : d_) v = -v;
      old_dirs_.clear(), old_stps_.clear(), ro_.clear();
      h_diag_ = 1.0;
    } else {
      // update the memory with the last step's (y, s)
      Vector y = flat_grad;
      axpy(y, -1.0, prev_flat_grad_);
      Vector s = d_;
      for (double& v : s) v *= t_;
      const double ys = dot(y, s);
      if (ys > 1e-10) {
        if (static_cast<int64_t>(old_dirs_.size()) == o.history_size) {  // forget the oldest pair
          old_dirs_.erase(old_dirs_.begin());
          old_stps_.erase(old_stps_.begin());
          ro_.erase(ro_.begin());
        }
        old_dirs_.push_back(y);
        old_stps_.push_back(s);
        ro_.push_back(1.0 / ys);
        h_diag_ = ys / dot(y, y);  // scale of the initial Hessian approximation
      }
      // the two-loop recursion: d = -H g with the approximate inverse Hessian H
      const size_t num_old = old_dirs_.size();
      std::vector<double> al(num_old);
      Vector q = flat_grad;
      for (double& v : q) v = -v;
      for (size_t i = num_old; i-- > 0;) {
        al[i] = dot(old_stps_[i], q) * ro_[i];
        axpy(q, -al[i], old_dirs_[i]);
      }
      for (double& v : q) v *= h_diag_;
      for (size_t i = 0; i < num_old; ++i) {
        const double be_i = dot(old_dirs_[i], q) * ro_[i];
        axpy(q, al[i] - be_i, old_stps_[i]);
      }
      d_ = std::move(q);
    }
    prev_flat_grad_ = flat_grad;
    prev_loss_ = loss;
    has_history_ = true;

    // ---- the step length: a first guess, then the line search (or the fixed step)
    if (n_iter_ == 1) {
      double grad_l1 = 0.0;
      for (double v : flat_grad) grad_l1 += std::abs(v);
      t_ = std::min(1.0, 1.0 / grad_l1) * o.lr;
    } else {
      t_ = o.lr;
    }
    const double gtd = dot(flat_grad, d_);  // the directional derivative
    if (gtd > -o.tolerance_change) break;   // too small to follow

    int64_t ls_func_evals = 0;
    if (line_search) {
      const Vector x_init = parameter_values();
      auto evaluate = [&](double t, const Vector& d) { return directional_evaluate(closure, x_init, t, d); };
      LineSearchResult found = strong_wolfe(evaluate, t_, d_, loss, flat_grad, gtd);
      loss = found.loss;
      flat_grad = std::move(found.flat_grad);
      t_ = found.t;
      ls_func_evals = found.evaluations;
      add_to_parameters(t_, d_);
      opt_cond = max_abs(flat_grad) <= o.tolerance_grad;
    } else {
      add_to_parameters(t_, d_);
      if (n_iter != o.max_iter) {
        // Re-evaluate, except after the last iteration: in a stochastic setting the next step()
        // evaluates anyway.
        {
          EnableGradGuard enable_grad;
          loss = loss_value(closure());
        }
        flat_grad = gather_flat_grad();
        opt_cond = max_abs(flat_grad) <= o.tolerance_grad;
        ls_func_evals = 1;
      }
    }
    current_evals += ls_func_evals;
    func_evals_ += ls_func_evals;

    // ---- stopping rules
    if (n_iter == o.max_iter) break;
    if (current_evals >= o.max_eval) break;
    if (opt_cond) break;
    double largest_change = 0.0;
    for (double v : d_) largest_change = std::max(largest_change, std::abs(v * t_));
    if (largest_change <= o.tolerance_change) break;                // no progress in the parameters
    if (std::abs(loss - prev_loss_) < o.tolerance_change) break;  // nor in the loss
  }
  return orig_loss;
}

// ---- state: LBFGS's is global (PyTorch keeps it with the first parameter), saved as
// "lbfgs.<name>" entries.

namespace {

constexpr const char* kFuncEvals = "lbfgs.func_evals";
constexpr const char* kIterations = "lbfgs.n_iter";
constexpr const char* kDirection = "lbfgs.d";
constexpr const char* kStep = "lbfgs.t";
constexpr const char* kOldDirs = "lbfgs.old_dirs";
constexpr const char* kOldSteps = "lbfgs.old_stps";
constexpr const char* kRo = "lbfgs.ro";
constexpr const char* kHDiag = "lbfgs.H_diag";
constexpr const char* kPrevFlatGrad = "lbfgs.prev_flat_grad";
constexpr const char* kPrevLoss = "lbfgs.prev_loss";

Tensor matrix_of(const std::vector<std::vector<double>>& rows, int64_t n) {
  std::vector<double> flat;
  for (const auto& row : rows) flat.insert(flat.end(), row.begin(), row.end());
  return from_vector(flat, {static_cast<int64_t>(rows.size()), n});
}

std::vector<std::vector<double>> rows_of(const Tensor& matrix) {
  const std::vector<double> flat = matrix.to_vector<double>();
  const size_t n = static_cast<size_t>(matrix.size(1));
  std::vector<std::vector<double>> rows(static_cast<size_t>(matrix.size(0)));
  for (size_t r = 0; r < rows.size(); ++r) rows[r].assign(flat.begin() + r * n, flat.begin() + (r + 1) * n);
  return rows;
}

}  // namespace

std::map<std::string, Tensor> LBFGS::extra_state() const {
  std::map<std::string, Tensor> out;
  Tensor evals = zeros({}, int64), iterations = zeros({}, int64);
  evals.data_ptr<int64_t>()[0] = func_evals_;
  iterations.data_ptr<int64_t>()[0] = n_iter_;
  out[kFuncEvals] = evals;
  out[kIterations] = iterations;
  if (!has_history_) return out;
  const int64_t n = numel();
  out[kDirection] = from_vector(d_, {n});
  out[kStep] = scalar_tensor(t_, float64);
  out[kOldDirs] = matrix_of(old_dirs_, n);
  out[kOldSteps] = matrix_of(old_stps_, n);
  out[kRo] = from_vector(ro_, {static_cast<int64_t>(ro_.size())});
  out[kHDiag] = scalar_tensor(h_diag_, float64);
  out[kPrevFlatGrad] = from_vector(prev_flat_grad_, {n});
  out[kPrevLoss] = scalar_tensor(prev_loss_, float64);
  return out;
}

void LBFGS::check_extra_state(const std::map<std::string, Tensor>& extra) const {
  const int64_t n = numel();
  auto expect = [&](const char* name, DType dtype, const Shape& shape) {
    auto it = extra.find(name);
    if (it == extra.end()) fail("LBFGS.load_state: the state has no '{}' entry", name);
    if (it->second.dtype() != dtype || it->second.shape() != shape) {
      fail("LBFGS.load_state: entry '{}' is {} {} but must be {} {} for these parameters", name, it->second.dtype(),
           it->second.shape(), dtype, shape);
    }
  };
  expect(kFuncEvals, int64, {});
  expect(kIterations, int64, {});
  const bool history = extra.count(kDirection) != 0;
  size_t known = 2;
  if (history) {
    const auto dirs = extra.find(kOldDirs);
    const int64_t rows = dirs == extra.end() || dirs->second.dim() != 2 ? -1 : dirs->second.size(0);
    if (rows < 0) fail("LBFGS.load_state: the state has no 2-d '{}' entry", kOldDirs);
    expect(kDirection, float64, {n});
    expect(kStep, float64, {});
    expect(kOldDirs, float64, {rows, n});
    expect(kOldSteps, float64, {rows, n});
    expect(kRo, float64, {rows});
    expect(kHDiag, float64, {});
    expect(kPrevFlatGrad, float64, {n});
    expect(kPrevLoss, float64, {});
    known += 8;
  }
  if (extra.size() != known) {
    for (const auto& [name, tensor] : extra) {
      if (name != kFuncEvals && name != kIterations && !(history && name.rfind("lbfgs.", 0) == 0)) {
        fail("LBFGS.load_state: unexpected entry '{}'", name);
      }
    }
    fail("LBFGS.load_state: the history entries are incomplete: lbfgs.d, t, old_dirs, old_stps, ro, H_diag, "
         "prev_flat_grad and prev_loss come together");
  }
}

void LBFGS::load_extra_state(const std::map<std::string, Tensor>& extra) {
  func_evals_ = extra.at(kFuncEvals).item<int64_t>();
  n_iter_ = extra.at(kIterations).item<int64_t>();
  has_history_ = extra.count(kDirection) != 0;
  if (!has_history_) {
    d_.clear(), prev_flat_grad_.clear(), old_dirs_.clear(), old_stps_.clear(), ro_.clear();
    return;
  }
  d_ = extra.at(kDirection).to_vector<double>();
  t_ = extra.at(kStep).item<double>();
  old_dirs_ = rows_of(extra.at(kOldDirs));
  old_stps_ = rows_of(extra.at(kOldSteps));
  ro_ = extra.at(kRo).to_vector<double>();
  h_diag_ = extra.at(kHDiag).item<double>();
  prev_flat_grad_ = extra.at(kPrevFlatGrad).to_vector<double>();
  prev_loss_ = extra.at(kPrevLoss).item<double>();
}

}  // namespace nabla::nn
