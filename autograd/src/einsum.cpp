// einsum: the equation is parsed into one list of labels per operand, then reduced to ops that are
// already differentiable: diagonal views for labels repeated within an operand, sums for labels
// nothing else needs, and, operand by operand from the left, one product of the running result
// with the next operand (a batched matmul, or a broadcast mul and sum when the matrices would be
// vectors). Gradients of every order come from those ops.
#include <algorithm>
#include <array>
#include <cctype>
#include <string>
#include <vector>

#include "nabla/autograd/factories.hpp"
#include "nabla/autograd/functions.hpp"
#include "nabla/autograd/node.hpp"

namespace nabla {

namespace {

// Labels: 'A'-'Z' are 0-25 and 'a'-'z' 26-51 (so sorting puts upper case first, as PyTorch's
// implicit output does); the axes under an ellipsis are 52, 53, ..., right-aligned across operands.
constexpr int kLetters = 52;
constexpr int kMaxLabels = kLetters + static_cast<int>(Dims::kMaxDims);
using Labels = std::vector<int>;

int label_of(char c) { return c >= 'A' && c <= 'Z' ? c - 'A' : c - 'a' + 26; }
std::string label_name(int label) {
  if (label >= kLetters) return "...";
  return std::string(1, static_cast<char>(label < 26 ? 'A' + label : 'a' + label - 26));
}

// One side of the equation between commas (or after "->"): its letters, and where "..." stood.
struct Term {
  Labels letters;
  int ellipsis_at = -1;  // index into letters before which the ellipsis stands, or -1
  std::string text;
};

struct Equation {
  std::string text;
  std::vector<Term> inputs;
  Term output;
  bool explicit_output = false;
};

Term parse_term(const std::string& text, const std::string& equation) {
  Term term;
  term.text = text;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
      term.letters.push_back(label_of(c));
    } else if (c == '.') {
      if (text.compare(i, 3, "...") != 0 || term.ellipsis_at >= 0) {
        fail("einsum: equation '{}': '{}' has a '.' that is not part of a single '...' ellipsis", equation, text);
      }
      term.ellipsis_at = static_cast<int>(term.letters.size());
      i += 2;
    } else {
      fail("einsum: equation '{}': invalid subscript '{}'; subscripts are letters a-z and A-Z, with at most one "
           "'...' per operand", equation, c);
    }
  }
  return term;
}

Equation parse(std::string_view equation_in, size_t operand_count) {
  Equation eq;
  for (char c : equation_in) {
    if (!std::isspace(static_cast<unsigned char>(c))) eq.text += c;  // whitespace is ignored, as PyTorch does
  }
  std::string left = eq.text;
  const size_t arrow = eq.text.find("->");
  if (arrow != std::string::npos) {
    left = eq.text.substr(0, arrow);
    eq.output = parse_term(eq.text.substr(arrow + 2), eq.text);
    eq.explicit_output = true;
  }
  size_t start = 0;
  while (true) {
    const size_t comma = left.find(',', start);
    eq.inputs.push_back(parse_term(left.substr(start, comma == std::string::npos ? std::string::npos : comma - start), eq.text));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (eq.inputs.size() != operand_count) {
    fail("einsum: equation '{}' has subscripts for {} operand{} but {} tensor{} given", eq.text, eq.inputs.size(),
         eq.inputs.size() == 1 ? "" : "s", operand_count, operand_count == 1 ? " was" : "s were");
  }
  return eq;
}

// The labels of each axis of an operand, its ellipsis axes expanded (right-aligned to `ellipsis_rank`).
Labels axis_labels(const Term& term, int64_t ellipsis_axes, int64_t ellipsis_rank) {
  Labels labels;
  for (size_t i = 0; i <= term.letters.size(); ++i) {
    if (static_cast<int>(i) == term.ellipsis_at) {
      for (int64_t k = 0; k < ellipsis_axes; ++k) labels.push_back(kLetters + static_cast<int>(ellipsis_rank - ellipsis_axes + k));
    }
    if (i < term.letters.size()) labels.push_back(term.letters[i]);
  }
  return labels;
}

// ---- the diagonal view: axes sharing a label become one axis that steps along all of them at once.

// For each result axis, the input axes it merges.
using AxisGroups = std::vector<Dims>;

kernels::Tensor diagonal_values(const kernels::Tensor& x, const AxisGroups& groups) {
  Shape shape;
  Strides strides;
  for (const Dims& group : groups) {
    shape.push_back(x.shape()[group[0]]);
    int64_t stride = 0;
    for (int64_t axis : group) stride += x.strides()[axis];
    strides.push_back(stride);
  }
  return kernels::Tensor(x.storage(), x.dtype(), shape, strides, x.offset());
}

Tensor diagonal_view(const Tensor& x, const AxisGroups& groups);

// The adjoint: grad written onto the diagonal of zeros of the input's shape. Linear, and its own
// gradient is the diagonal view again.
Tensor diagonal_scatter(const Tensor& grad, const Shape& shape, const AxisGroups& groups) {
  kernels::Tensor out = kernels::zeros(shape, grad.dtype());
  diagonal_values(out, groups).copy_(grad.raw());
  return record("einsum_diagonal_backward", {grad}, std::move(out),
                [groups](const Tensor& g) { return Gradients{diagonal_view(g, groups)}; });
}

Tensor diagonal_view(const Tensor& x, const AxisGroups& groups) {
  Tensor result = record("einsum_diagonal", {x}, diagonal_values(x.raw(), groups), [shape = x.shape(), groups](const Tensor& grad) {
    return Gradients{diagonal_scatter(grad, shape, groups)};
  });
  result.impl()->is_view = true;  // shares x's storage: recorded in-place changes through it are refused
  return result;
}

// ---- contraction

struct Operand {
  Tensor value;
  Labels labels;  // one per axis, all different
};

int64_t find(const Labels& labels, int label) {
  const auto it = std::find(labels.begin(), labels.end(), label);
  return it == labels.end() ? -1 : it - labels.begin();
}

// Sums away the axes whose labels `keep` rejects.
Operand sum_unneeded(Operand operand, const std::array<bool, kMaxLabels>& keep) {
  Dims axes;
  Labels kept;
  for (size_t i = 0; i < operand.labels.size(); ++i) {
    if (keep[static_cast<size_t>(operand.labels[i])]) {
      kept.push_back(operand.labels[i]);
    } else {
      axes.push_back(static_cast<int64_t>(i));
    }
  }
  if (axes.empty()) return operand;
  return {sum(operand.value, axes), kept};
}

// The operand's axes in the order of `order` (labels it lacks become size-1 axes).
Tensor arranged(const Operand& operand, const Labels& order) {
  Dims permutation;
  Shape shape;
  for (int label : order) {
    const int64_t axis = find(operand.labels, label);
    if (axis >= 0) permutation.push_back(axis);
    shape.push_back(axis >= 0 ? operand.value.size(axis) : 1);
  }
  Tensor x = operand.value;
  bool identity = true;
  for (int64_t i = 0; i < permutation.size(); ++i) identity = identity && permutation[i] == i;
  if (!identity) x = permute(x, permutation);
  return x.shape() == shape ? x : reshape(x, shape);
}

int64_t size_of(const Operand& operand, int label) {
  const int64_t axis = find(operand.labels, label);
  return axis < 0 ? 1 : operand.value.size(axis);
}

// a * b summed over the labels that appear in both and that nothing later needs.
Operand contract(Operand a, Operand b, const std::array<bool, kMaxLabels>& needed_later) {
  std::array<bool, kMaxLabels> in_a{}, in_b{};
  for (int label : a.labels) in_a[static_cast<size_t>(label)] = true;
  for (int label : b.labels) in_b[static_cast<size_t>(label)] = true;
  // Labels of one side only that nothing later needs are summed first.
  std::array<bool, kMaxLabels> keep_a = needed_later, keep_b = needed_later;
  for (int label : a.labels) keep_a[static_cast<size_t>(label)] = keep_a[static_cast<size_t>(label)] || in_b[static_cast<size_t>(label)];
  for (int label : b.labels) keep_b[static_cast<size_t>(label)] = keep_b[static_cast<size_t>(label)] || in_a[static_cast<size_t>(label)];
  a = sum_unneeded(std::move(a), keep_a);
  b = sum_unneeded(std::move(b), keep_b);

  Labels batch, left, right, contracted;
  for (int label : a.labels) {
    if (!in_b[static_cast<size_t>(label)]) {
      left.push_back(label);
    } else if (needed_later[static_cast<size_t>(label)]) {
      batch.push_back(label);
    } else {
      contracted.push_back(label);
    }
  }
  for (int label : b.labels) {
    if (!in_a[static_cast<size_t>(label)]) right.push_back(label);
  }
  // A contracted label of size 1 on one side broadcasts: sum the other side over it first.
  int64_t m = 1, n = 1, k = 1;
  for (int label : contracted) {
    const int64_t size_a = size_of(a, label), size_b = size_of(b, label);
    if (size_a != size_b) {
      Operand& bigger = size_a > size_b ? a : b;
      bigger.value = sum(bigger.value, {find(bigger.labels, label)}, true);
    }
    k *= std::min(size_a, size_b);
  }
  for (int label : left) m *= size_of(a, label);
  for (int label : right) n *= size_of(b, label);
  Labels out_labels = batch;
  out_labels.insert(out_labels.end(), left.begin(), left.end());
  out_labels.insert(out_labels.end(), right.begin(), right.end());
  const int64_t aligned_rank = static_cast<int64_t>(out_labels.size() + contracted.size());

  if ((k == 1 || (m == 1 && n == 1)) && aligned_rank <= Dims::kMaxDims) {
    // No matrices worth a matmul (an outer product, or a batch of dot products): a broadcast
    // product, then the sum over what is contracted.
    Labels order = out_labels;
    order.insert(order.end(), contracted.begin(), contracted.end());
    Tensor product = arranged(a, order) * arranged(b, order);
    if (!contracted.empty()) {
      Dims axes;
      for (size_t i = out_labels.size(); i < order.size(); ++i) axes.push_back(static_cast<int64_t>(i));
      product = sum(product, axes);
    }
    return {product, out_labels};
  }
  // Batched matrices: a as [batch..., m, k] and b as [batch..., k, n].
  Labels order_a = batch, order_b = batch;
  order_a.insert(order_a.end(), left.begin(), left.end());
  order_a.insert(order_a.end(), contracted.begin(), contracted.end());
  order_b.insert(order_b.end(), contracted.begin(), contracted.end());
  order_b.insert(order_b.end(), right.begin(), right.end());
  Shape shape_a, shape_b, shape_out;
  for (int label : batch) {
    shape_a.push_back(size_of(a, label));
    shape_b.push_back(size_of(b, label));
    shape_out.push_back(std::max(size_of(a, label), size_of(b, label)));
  }
  shape_a.push_back(m);
  shape_a.push_back(k);
  shape_b.push_back(k);
  shape_b.push_back(n);
  for (int label : left) shape_out.push_back(size_of(a, label));
  for (int label : right) shape_out.push_back(size_of(b, label));
  const Tensor product = matmul(reshape(arranged(a, order_a), shape_a), reshape(arranged(b, order_b), shape_b));
  return {reshape(product, shape_out), out_labels};
}

}  // namespace

Tensor einsum(std::string_view equation, const std::vector<Tensor>& operands) {
  if (operands.empty()) fail("einsum: equation '{}' needs at least one operand", equation);
  const Equation eq = parse(equation, operands.size());
  const size_t count = operands.size();

  // Each operand's axes and labels; the ellipsis covers the axes its letters do not name.
  int64_t ellipsis_rank = 0;
  std::vector<int64_t> ellipsis_axes(count, 0);
  for (size_t i = 0; i < count; ++i) {
    if (!operands[i].defined()) fail("einsum: equation '{}': operand {} is undefined", eq.text, i);
    const Term& term = eq.inputs[i];
    const int64_t named = static_cast<int64_t>(term.letters.size());
    const int64_t rank = operands[i].dim();
    if (term.ellipsis_at < 0 ? rank != named : rank < named) {
      fail("einsum: equation '{}': operand {} has {} axes (shape {}) but its subscripts '{}' name {}{}", eq.text, i,
           rank, operands[i].shape(), term.text, named, term.ellipsis_at < 0 ? "" : " or more");
    }
    ellipsis_axes[i] = rank - named;
    ellipsis_rank = std::max(ellipsis_rank, ellipsis_axes[i]);
  }

  // Every label's size, broadcast across operands (a size-1 axis takes the other size).
  std::array<int64_t, kMaxLabels> size;
  size.fill(-1);
  std::array<size_t, kMaxLabels> size_from{};
  std::array<int, kMaxLabels> uses{};
  std::vector<Labels> labels(count);
  for (size_t i = 0; i < count; ++i) {
    labels[i] = axis_labels(eq.inputs[i], ellipsis_axes[i], ellipsis_rank);
    for (size_t axis = 0; axis < labels[i].size(); ++axis) {
      const int label = labels[i][axis];
      const size_t l = static_cast<size_t>(label);
      const int64_t extent = operands[i].size(static_cast<int64_t>(axis));
      ++uses[l];
      for (size_t earlier = 0; earlier < axis; ++earlier) {
        if (labels[i][earlier] == label && operands[i].size(static_cast<int64_t>(earlier)) != extent) {
          fail("einsum: equation '{}': subscript '{}' is repeated in operand {} (shape {}) for a diagonal, but the "
               "sizes differ ({} != {})", eq.text, label_name(label), i, operands[i].shape(),
               operands[i].size(static_cast<int64_t>(earlier)), extent);
        }
      }
      if (size[l] < 0 || size[l] == 1) {
        if (size[l] < 0 || extent != 1) size[l] = extent, size_from[l] = i;
      } else if (extent != size[l] && extent != 1) {
        const size_t other = size_from[l];
        fail("einsum: equation '{}': subscript '{}' has size {} in operand {} (shape {}) but size {} in operand {} "
             "(shape {}); sizes must match or be 1", eq.text, label_name(label), size[l], other,
             operands[other].shape(), extent, i, operands[i].shape());
      }
    }
  }

  // The output's labels: as written, or (implicit) the ellipsis axes then the letters used once, sorted.
  Labels output;
  if (eq.explicit_output) {
    std::array<bool, kMaxLabels> seen{};
    for (int label : eq.output.letters) {
      if (seen[static_cast<size_t>(label)]) {
        fail("einsum: equation '{}': output subscript '{}' appears more than once", eq.text, label_name(label));
      }
      if (uses[static_cast<size_t>(label)] == 0) {
        fail("einsum: equation '{}': output subscript '{}' does not appear in any operand", eq.text, label_name(label));
      }
      seen[static_cast<size_t>(label)] = true;
    }
    // Ellipsis axes not in the output are summed, as PyTorch does.
    output = axis_labels(eq.output, eq.output.ellipsis_at >= 0 ? ellipsis_rank : 0, ellipsis_rank);
  } else {
    for (int64_t k = 0; k < ellipsis_rank; ++k) output.push_back(kLetters + static_cast<int>(k));
    for (int label = 0; label < kLetters; ++label) {
      if (uses[static_cast<size_t>(label)] == 1) output.push_back(label);
    }
  }

  // Per operand: diagonals of repeated labels, then sums of labels no other operand or the output has.
  std::array<bool, kMaxLabels> in_output{};
  for (int label : output) in_output[static_cast<size_t>(label)] = true;
  std::vector<Operand> prepared;
  for (size_t i = 0; i < count; ++i) {
    Operand operand{operands[i], {}};
    AxisGroups groups;
    for (size_t axis = 0; axis < labels[i].size(); ++axis) {
      const int64_t group = find(operand.labels, labels[i][axis]);
      if (group >= 0) {
        groups[static_cast<size_t>(group)].push_back(static_cast<int64_t>(axis));
      } else {
        operand.labels.push_back(labels[i][axis]);
        groups.push_back(Dims{static_cast<int64_t>(axis)});
      }
    }
    if (groups.size() != labels[i].size()) operand.value = diagonal_view(operand.value, groups);
    std::array<bool, kMaxLabels> keep = in_output;
    for (size_t other = 0; other < count; ++other) {
      if (other == i) continue;
      for (int label : labels[other]) keep[static_cast<size_t>(label)] = true;
    }
    prepared.push_back(sum_unneeded(std::move(operand), keep));
  }

  // Left to right: the running result times the next operand.
  Operand result = std::move(prepared[0]);
  for (size_t i = 1; i < count; ++i) {
    std::array<bool, kMaxLabels> needed_later = in_output;
    for (size_t later = i + 1; later < count; ++later) {
      for (int label : prepared[later].labels) needed_later[static_cast<size_t>(label)] = true;
    }
    result = contract(std::move(result), std::move(prepared[i]), needed_later);
  }
  result = sum_unneeded(std::move(result), in_output);
  Dims permutation;
  for (int label : output) permutation.push_back(find(result.labels, label));
  bool identity = true;
  for (int64_t i = 0; i < permutation.size(); ++i) identity = identity && permutation[i] == i;
  return identity ? result.value : permute(result.value, permutation);
}

}  // namespace nabla
