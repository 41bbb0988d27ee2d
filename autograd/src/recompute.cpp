// recompute_gradients (detail/recompute.hpp): differentiate a fused op through its composite.
#include "nabla/autograd/detail/recompute.hpp"

#include "nabla/autograd/engine.hpp"
#include "nabla/autograd/factories.hpp"
#include "nabla/autograd/functions.hpp"

namespace nabla::detail {

namespace {

// A leaf standing for `original` in a graph of its own, so that differentiating that graph never
// walks into (and disturbs) the graph the original belongs to.
Tensor stand_in(const Tensor& original) {
  if (!original.defined()) return Tensor();
  Tensor leaf = original.detach();
  if (is_floating(leaf.dtype()) && original.requires_grad()) leaf.requires_grad_();
  return leaf;
}

}  // namespace

Gradients recompute_gradients(const char* name, const Composite& composite, const std::vector<Tensor>& inputs,
                              const std::vector<Tensor>& grad_outputs, const NeedsInputGrad& needs_input_grad) {
  // Every original, inputs then grad_outputs, and its stand-in.
  std::vector<Tensor> originals = inputs;
  originals.insert(originals.end(), grad_outputs.begin(), grad_outputs.end());
  std::vector<Tensor> leaves;
  leaves.reserve(originals.size());
  for (const Tensor& original : originals) leaves.push_back(stand_in(original));

  // First derivatives of the composite at the stand-ins, recorded.
  std::vector<Tensor> outputs, weights;
  {
    EnableGradGuard recording;
    const std::vector<Tensor> composite_inputs(leaves.begin(), leaves.begin() + static_cast<std::ptrdiff_t>(inputs.size()));
    const std::vector<Tensor> results = composite(composite_inputs);
    for (size_t k = 0; k < results.size() && k < grad_outputs.size(); ++k) {
      const Tensor& weight = leaves[inputs.size() + k];
      if (!weight.defined() || !results[k].requires_grad()) continue;
      outputs.push_back(results[k]);
      weights.push_back(weight);
    }
  }
  std::vector<size_t> wanted;
  std::vector<Tensor> wrt;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (needs_input_grad[i] && leaves[i].defined() && leaves[i].requires_grad()) {
      wanted.push_back(i);
      wrt.push_back(leaves[i]);
    }
  }
  Gradients result(inputs.size());
  if (wrt.empty() || outputs.empty()) return result;
  std::vector<Tensor> first;
  {
    EnableGradGuard recording;
    first = autograd::grad(outputs, wrt, weights, {.create_graph = true, .allow_unused = true});
  }
  // One flat tensor of every gradient, so that one recorded op can stand for all of them.
  std::vector<Tensor> flat_parts;
  std::vector<int64_t> sizes;
  for (size_t w = 0; w < wanted.size(); ++w) {
    const Tensor part = first[w].defined() ? first[w] : zeros_like(wrt[w]);
    flat_parts.push_back(part.reshape({-1}));
    sizes.push_back(part.numel());
  }
  const Tensor flat = cat(flat_parts, 0);

  // The op: values of the stand-ins' gradients, inputs the originals; its backward differentiates
  // the recorded first derivatives again (recursively, when that is recorded too).
  const Tensor recorded = record(name, std::span<const Tensor>(originals), flat.raw(),
                                 [flat, leaves](const Tensor& grad) {
                                   std::vector<Tensor> targets;
                                   std::vector<size_t> where;
                                   for (size_t i = 0; i < leaves.size(); ++i) {
                                     if (leaves[i].defined() && leaves[i].requires_grad()) {
                                       targets.push_back(leaves[i]);
                                       where.push_back(i);
                                     }
                                   }
                                   Gradients grads(leaves.size());
                                   if (targets.empty()) return grads;
                                   const std::vector<Tensor> second = autograd::grad(
                                       {flat}, targets, {grad},
                                       {.retain_graph = true, .create_graph = is_grad_enabled(), .allow_unused = true});
                                   for (size_t k = 0; k < where.size(); ++k) grads[where[k]] = second[k];
                                   return grads;
                                 });
  int64_t offset = 0;
  for (size_t w = 0; w < wanted.size(); ++w) {
    result[wanted[w]] = recorded.narrow(0, offset, sizes[w]).view(inputs[wanted[w]].shape());
    offset += sizes[w];
  }
  return result;
}

}  // namespace nabla::detail
