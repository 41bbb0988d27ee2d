// The losses and distances of nn::functional against PyTorch: each case calls nabla's function
// with the options PyTorch's was called with, on the same inputs, and compares the output and the
// gradient of every input that takes one (tests/nn/reference/loss_reference.py made the numbers
// with torch 1.13; the .inc holds inputs and results alike).
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "nabla/nn.hpp"

using namespace nabla;
namespace F = nn::functional;

namespace {

using Reference = std::map<std::string, std::vector<double>>;
// The generator prints non-finite values as Python spells them.
constexpr double nan = std::numeric_limits<double>::quiet_NaN();
constexpr double inf = std::numeric_limits<double>::infinity();
const std::map<std::string, Reference> kTorch = {
#include "reference/loss_reference.inc"
};

using Inputs = std::map<std::string, Tensor>;
using Loss = std::function<Tensor(const Inputs&)>;

Shape shape_of(const Reference& reference, const std::string& name) {
  Shape shape;
  for (double size : reference.at(name + " shape")) shape.push_back(static_cast<int64_t>(size));
  return shape;
}

Tensor tensor_of(const Reference& reference, const std::string& name) {
  const Shape shape = shape_of(reference, name);
  Tensor values = from_vector(reference.at(name), shape);
  if (shape.empty()) values = values.reshape(Shape{});  // (from_vector's empty shape means 1-d)
  return reference.at(name + " int64")[0] == 1.0 ? values.to(int64) : values;
}

// The inputs of a case, those with a reference gradient requiring grad.
Inputs inputs_of(const Reference& reference) {
  Inputs inputs;
  for (const auto& [key, values] : reference) {
    const std::string suffix = " int64";
    if (key.size() <= suffix.size() || key.compare(key.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
    const std::string name = key.substr(0, key.size() - suffix.size());
    Tensor t = tensor_of(reference, name);
    if (reference.count("grad " + name) != 0) t.requires_grad_();
    inputs.emplace(name, t);
  }
  return inputs;
}

// Where a target is 0, torch 1.13 differentiates t * log(t) there before masking it out, and
// kl_div's and poisson_nll_loss's (full) gradients for the target come out NaN (0 * -inf); nabla
// gives the t log t term no gradient there (the convention of xlogy's gradient in its first
// argument), so the gradient is finite. Those entries are checked to be finite; every other NaN
// of the reference must be NaN in nabla too.
bool nan_is_torch_artifact(const std::string& label, const std::string& name) {
  return name == "grad target" && (label.rfind("kl_div", 0) == 0 || label.rfind("poisson_nll_loss", 0) == 0);
}

void check_close(const Tensor& actual, const Reference& reference, const std::string& name, bool finite_for_nan = false) {
  INFO(name);
  REQUIRE(actual.defined());
  CHECK(actual.shape() == shape_of(reference, name));
  const std::vector<double> expected = reference.at(name);
  const std::vector<double> got = actual.to_vector<double>();
  REQUIRE(got.size() == expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i << ": nabla " << got[i] << ", torch " << expected[i]);
    if (std::isnan(expected[i]) && finite_for_nan) {
      CHECK(std::isfinite(got[i]));
    } else if (std::isinf(expected[i]) || std::isnan(expected[i])) {
      CHECK((std::isnan(expected[i]) ? std::isnan(got[i]) : got[i] == expected[i]));
    } else {
      CHECK(std::abs(got[i] - expected[i]) <= 1e-10 * std::max(1.0, std::abs(expected[i])));
    }
  }
}

// Runs each case on its inputs and compares the output and the gradients with the reference.
void run_cases(const std::map<std::string, Loss>& cases) {
  for (const auto& [label, loss] : cases) {
    INFO("case: " << label);
    REQUIRE(kTorch.count(label) == 1);
    const Reference& reference = kTorch.at(label);
    const Inputs inputs = inputs_of(reference);
    const Tensor output = loss(inputs);
    check_close(output, reference, "output");
    std::vector<Tensor> wrt;
    std::vector<std::string> names;
    for (const auto& [name, input] : inputs) {
      if (input.requires_grad()) {
        wrt.push_back(input);
        names.push_back(name);
      }
    }
    if (wrt.empty()) continue;
    const Tensor upstream = tensor_of(Reference{{"u", reference.at("upstream")},
                                                {"u shape", reference.at("upstream shape")},
                                                {"u int64", {0}}},
                                      "u");
    const std::vector<Tensor> grads = autograd::grad({output}, wrt, {upstream}, {.allow_unused = true});
    for (size_t k = 0; k < wrt.size(); ++k) check_close(grads[k], reference, "grad " + names[k], nan_is_torch_artifact(label, "grad " + names[k]));
  }
}


std::map<std::string, Loss> classification_cases() {
  const std::map<std::string, Loss> cases = {
      {"cross_entropy mean", [](const Inputs& in) { return F::cross_entropy(in.at("logits"), in.at("target")); }},
      {"cross_entropy weight mean",
       [](const Inputs& in) { return F::cross_entropy(in.at("logits"), in.at("target"), {.weight = in.at("weight")}); }},
      {"cross_entropy weight ignore_index 2 label_smoothing 0.2 mean",
       [](const Inputs& in) {
         return F::cross_entropy(in.at("logits"), in.at("target"),
                                 {.weight = in.at("weight"), .ignore_index = 2, .label_smoothing = 0.2});
       }},
      {"cross_entropy weight ignore_index 2 label_smoothing 0.2 none",
       [](const Inputs& in) {
         return F::cross_entropy(in.at("logits"), in.at("target"),
                                 {.weight = in.at("weight"), .ignore_index = 2, .reduction = Reduction::none,
                                  .label_smoothing = 0.2});
       }},
      {"cross_entropy weight label_smoothing 0.3 sum",
       [](const Inputs& in) {
         return F::cross_entropy(in.at("logits"), in.at("target"),
                                 {.weight = in.at("weight"), .reduction = Reduction::sum, .label_smoothing = 0.3});
       }},
      {"cross_entropy ignore_index -100 mean", [](const Inputs& in) { return F::cross_entropy(in.at("logits"), in.at("target")); }},
      {"cross_entropy ignore_index 3 label_smoothing 0.1 mean",
       [](const Inputs& in) {
         return F::cross_entropy(in.at("logits"), in.at("target"), {.ignore_index = 3, .label_smoothing = 0.1});
       }},
      {"cross_entropy [N, C, H, W] weight ignore_index 1 mean",
       [](const Inputs& in) {
         return F::cross_entropy(in.at("logits"), in.at("target"), {.weight = in.at("weight"), .ignore_index = 1});
       }},
      {"cross_entropy [N, C, d] weight label_smoothing 0.25 none",
       [](const Inputs& in) {
         return F::cross_entropy(in.at("logits"), in.at("target"),
                                 {.weight = in.at("weight"), .reduction = Reduction::none, .label_smoothing = 0.25});
       }},
      {"cross_entropy one sample [C]", [](const Inputs& in) { return F::cross_entropy(in.at("logits"), in.at("target")); }},
      {"cross_entropy probabilities mean", [](const Inputs& in) { return F::cross_entropy(in.at("logits"), in.at("target")); }},
      {"cross_entropy probabilities weight label_smoothing 0.15 mean",
       [](const Inputs& in) {
         return F::cross_entropy(in.at("logits"), in.at("target"), {.weight = in.at("weight"), .label_smoothing = 0.15});
       }},
      {"cross_entropy probabilities weight sum",
       [](const Inputs& in) {
         return F::cross_entropy(in.at("logits"), in.at("target"), {.weight = in.at("weight"), .reduction = Reduction::sum});
       }},
      {"cross_entropy probabilities [N, C, d] none",
       [](const Inputs& in) { return F::cross_entropy(in.at("logits"), in.at("target"), {.reduction = Reduction::none}); }},
      {"cross_entropy probabilities one sample [C]",
       [](const Inputs& in) { return F::cross_entropy(in.at("logits"), in.at("target"), {.label_smoothing = 0.1}); }},
      {"nll_loss weight ignore_index 0 mean",
       [](const Inputs& in) { return F::nll_loss(in.at("input"), in.at("target"), {.weight = in.at("weight"), .ignore_index = 0}); }},
      {"nll_loss weight sum",
       [](const Inputs& in) {
         return F::nll_loss(in.at("input"), in.at("target"), {.weight = in.at("weight"), .reduction = Reduction::sum});
       }},
      {"nll_loss [N, C, d] weight ignore_index -100 none",
       [](const Inputs& in) {
         return F::nll_loss(in.at("input"), in.at("target"), {.weight = in.at("weight"), .reduction = Reduction::none});
       }},
      {"nll_loss [N, C, d] weight mean",
       [](const Inputs& in) { return F::nll_loss(in.at("input"), in.at("target"), {.weight = in.at("weight")}); }},
      {"nll_loss one sample [C]", [](const Inputs& in) { return F::nll_loss(in.at("input"), in.at("target")); }},
  };
  return cases;
}

std::map<std::string, Loss> binary_and_margin_cases() {
  const std::map<std::string, Loss> cases = {
      {"binary_cross_entropy weight [4] mean",
       [](const Inputs& in) {
         return F::binary_cross_entropy(in.at("input"), in.at("target"), F::BinaryCrossEntropyOptions{.weight = in.at("weight")});
       }},
      {"binary_cross_entropy weight [3, 1] none",
       [](const Inputs& in) {
         return F::binary_cross_entropy(in.at("input"), in.at("target"),
                                        F::BinaryCrossEntropyOptions{.weight = in.at("weight"), .reduction = Reduction::none});
       }},
      {"binary_cross_entropy_with_logits weight pos_weight mean",
       [](const Inputs& in) {
         return F::binary_cross_entropy_with_logits(in.at("input"), in.at("target"),
                                                    {.weight = in.at("weight"), .pos_weight = in.at("pos_weight")});
       }},
      {"binary_cross_entropy_with_logits pos_weight none",
       [](const Inputs& in) {
         return F::binary_cross_entropy_with_logits(in.at("input"), in.at("target"),
                                                    {.reduction = Reduction::none, .pos_weight = in.at("pos_weight")});
       }},
      {"binary_cross_entropy_with_logits sum",
       [](const Inputs& in) { return F::binary_cross_entropy_with_logits(in.at("input"), in.at("target"), Reduction::sum); }},
      {"multi_margin_loss mean", [](const Inputs& in) { return F::multi_margin_loss(in.at("input"), in.at("target")); }},
      {"multi_margin_loss p 2 margin 0.7 weight sum",
       [](const Inputs& in) {
         return F::multi_margin_loss(in.at("input"), in.at("target"),
                                     {.p = 2, .margin = 0.7, .weight = in.at("weight"), .reduction = Reduction::sum});
       }},
      {"multi_margin_loss none",
       [](const Inputs& in) { return F::multi_margin_loss(in.at("input"), in.at("target"), {.reduction = Reduction::none}); }},
      {"multi_margin_loss one sample [C]",
       [](const Inputs& in) { return F::multi_margin_loss(in.at("input"), in.at("target"), {.margin = 2.0}); }},
  };
  return cases;
}

std::map<std::string, Loss> regression_cases() {
  const std::map<std::string, Loss> cases = {
      {"l1_loss mean", [](const Inputs& in) { return F::l1_loss(in.at("input"), in.at("target")); }},
      {"l1_loss none", [](const Inputs& in) { return F::l1_loss(in.at("input"), in.at("target"), Reduction::none); }},
      {"mse_loss sum", [](const Inputs& in) { return F::mse_loss(in.at("input"), in.at("target"), Reduction::sum); }},
      {"smooth_l1_loss beta 0.5 none",
       [](const Inputs& in) {
         return F::smooth_l1_loss(in.at("input"), in.at("target"), {.reduction = Reduction::none, .beta = 0.5});
       }},
      {"smooth_l1_loss beta 0 mean", [](const Inputs& in) { return F::smooth_l1_loss(in.at("input"), in.at("target"), {.beta = 0.0}); }},
      {"smooth_l1_loss mean", [](const Inputs& in) { return F::smooth_l1_loss(in.at("input"), in.at("target")); }},
      {"huber_loss delta 0.7 none",
       [](const Inputs& in) {
         return F::huber_loss(in.at("input"), in.at("target"), {.reduction = Reduction::none, .delta = 0.7});
       }},
      {"huber_loss sum", [](const Inputs& in) { return F::huber_loss(in.at("input"), in.at("target"), {.reduction = Reduction::sum}); }},
      {"kl_div mean", [](const Inputs& in) { return F::kl_div(in.at("input"), in.at("target")); }},
      {"kl_div batchmean",
       [](const Inputs& in) { return F::kl_div(in.at("input"), in.at("target"), {.reduction = F::KLDivReduction::batchmean}); }},
      {"kl_div log_target sum",
       [](const Inputs& in) { return F::kl_div(in.at("input"), in.at("target"), {.reduction = Reduction::sum, .log_target = true}); }},
      {"kl_div broadcast none",
       [](const Inputs& in) { return F::kl_div(in.at("input"), in.at("target"), {.reduction = Reduction::none}); }},
      {"poisson_nll_loss mean", [](const Inputs& in) { return F::poisson_nll_loss(in.at("input"), in.at("target")); }},
      {"poisson_nll_loss full sum",
       [](const Inputs& in) {
         return F::poisson_nll_loss(in.at("input"), in.at("target"), {.full = true, .reduction = Reduction::sum});
       }},
      {"poisson_nll_loss log_input false full none",
       [](const Inputs& in) {
         return F::poisson_nll_loss(in.at("input"), in.at("target"),
                                    {.log_input = false, .full = true, .reduction = Reduction::none});
       }},
      {"poisson_nll_loss log_input false eps 0.1 broadcast mean",
       [](const Inputs& in) { return F::poisson_nll_loss(in.at("input"), in.at("target"), {.log_input = false, .eps = 0.1}); }},
  };
  return cases;
}

std::map<std::string, Loss> embedding_cases() {
  const std::map<std::string, Loss> cases = {
      {"cosine_embedding_loss margin 0.2 none",
       [](const Inputs& in) {
         return F::cosine_embedding_loss(in.at("input1"), in.at("input2"), in.at("target"),
                                         {.margin = 0.2, .reduction = Reduction::none});
       }},
      {"cosine_embedding_loss mean",
       [](const Inputs& in) { return F::cosine_embedding_loss(in.at("input1"), in.at("input2"), in.at("target")); }},
      {"cosine_embedding_loss one pair",
       [](const Inputs& in) {
         return F::cosine_embedding_loss(in.at("input1"), in.at("input2"), in.at("target"), {.margin = -0.5});
       }},
      {"margin_ranking_loss margin 0.3 none",
       [](const Inputs& in) {
         return F::margin_ranking_loss(in.at("input1"), in.at("input2"), in.at("target"),
                                       {.margin = 0.3, .reduction = Reduction::none});
       }},
      {"margin_ranking_loss broadcast mean",
       [](const Inputs& in) {
         return F::margin_ranking_loss(in.at("input1"), in.at("input2"), in.at("target"), {.margin = 0.1});
       }},
      {"hinge_embedding_loss margin 1.5 none",
       [](const Inputs& in) {
         return F::hinge_embedding_loss(in.at("input"), in.at("target"), {.margin = 1.5, .reduction = Reduction::none});
       }},
      {"hinge_embedding_loss mean", [](const Inputs& in) { return F::hinge_embedding_loss(in.at("input"), in.at("target")); }},
      {"triplet_margin_loss mean",
       [](const Inputs& in) { return F::triplet_margin_loss(in.at("anchor"), in.at("positive"), in.at("negative")); }},
      {"triplet_margin_loss p 1 swap margin 2 none",
       [](const Inputs& in) {
         return F::triplet_margin_loss(in.at("anchor"), in.at("positive"), in.at("negative"),
                                       {.margin = 2.0, .p = 1.0, .swap = true, .reduction = Reduction::none});
       }},
      {"triplet_margin_loss p 3 eps 0.01 swap sum",
       [](const Inputs& in) {
         return F::triplet_margin_loss(in.at("anchor"), in.at("positive"), in.at("negative"),
                                       {.margin = 3.0, .p = 3.0, .eps = 0.01, .swap = true, .reduction = Reduction::sum});
       }},
  };
  return cases;
}

std::map<std::string, Loss> distance_cases() {
  const std::map<std::string, Loss> cases = {
      {"cosine_similarity", [](const Inputs& in) { return F::cosine_similarity(in.at("x1"), in.at("x2")); }},
      {"cosine_similarity broadcast axis -1", [](const Inputs& in) { return F::cosine_similarity(in.at("x1"), in.at("x2"), -1); }},
      {"cosine_similarity axis 0 eps 0.5", [](const Inputs& in) { return F::cosine_similarity(in.at("x1"), in.at("x2"), 0, 0.5); }},
      {"cosine_similarity below eps", [](const Inputs& in) { return F::cosine_similarity(in.at("x1"), in.at("x2")); }},
      {"pairwise_distance", [](const Inputs& in) { return F::pairwise_distance(in.at("x1"), in.at("x2")); }},
      {"pairwise_distance p 1 keepdim",
       [](const Inputs& in) { return F::pairwise_distance(in.at("x1"), in.at("x2"), 1.0, 1e-6, true); }},
      {"pairwise_distance p inf", [](const Inputs& in) { return F::pairwise_distance(in.at("x1"), in.at("x2"), inf); }},
      {"pairwise_distance p 1.5 eps 0.1 broadcast",
       [](const Inputs& in) { return F::pairwise_distance(in.at("x1"), in.at("x2"), 1.5, 0.1); }},
      {"pairwise_distance p 0", [](const Inputs& in) { return F::pairwise_distance(in.at("x1"), in.at("x2"), 0.0); }},
      {"pairwise_distance p -inf", [](const Inputs& in) { return F::pairwise_distance(in.at("x1"), in.at("x2"), -inf); }},
      {"normalize", [](const Inputs& in) { return F::normalize(in.at("input")); }},
      {"normalize p 1 axis 0", [](const Inputs& in) { return F::normalize(in.at("input"), 1.0, 0); }},
      {"normalize p 3 axis -1 with a zero row", [](const Inputs& in) { return F::normalize(in.at("input"), 3.0, -1); }},
  };
  return cases;
}

std::map<std::string, Loss> ctc_cases() {
  auto ctc = [](F::CTCLossOptions options, int64_t class_axis = 2) {
    return [options, class_axis](const Inputs& in) {
      return F::ctc_loss(log_softmax(in.at("logits"), class_axis), in.at("targets"), in.at("input_lengths"),
                         in.at("target_lengths"), options);
    };
  };
  const std::map<std::string, Loss> cases = {
      {"ctc_loss padded mean", ctc({})},
      {"ctc_loss concatenated sum", ctc({.reduction = Reduction::sum})},
      {"ctc_loss blank 2 none", ctc({.blank = 2, .reduction = Reduction::none})},
      {"ctc_loss zero_infinity mean", ctc({.zero_infinity = true})},
      {"ctc_loss one sample none", ctc({.reduction = Reduction::none}, 1)},
  };
  return cases;
}

}  // namespace

TEST_CASE("loss reference: cross_entropy and nll_loss match PyTorch", "[losses][reference]") {
  run_cases(classification_cases());
}

TEST_CASE("loss reference: binary cross-entropy and multi_margin_loss match PyTorch", "[losses][reference]") {
  run_cases(binary_and_margin_cases());
}

TEST_CASE("loss reference: regression losses, kl_div and poisson_nll_loss match PyTorch", "[losses][reference]") {
  run_cases(regression_cases());
}

TEST_CASE("loss reference: embedding and ranking losses match PyTorch", "[losses][reference]") {
  run_cases(embedding_cases());
}

TEST_CASE("loss reference: cosine_similarity, pairwise_distance and normalize match PyTorch", "[losses][reference]") {
  run_cases(distance_cases());
}

TEST_CASE("loss reference: ctc_loss matches PyTorch, gradients of the logits through log_softmax", "[losses][reference][ctc]") {
  run_cases(ctc_cases());
}

TEST_CASE("loss reference: every PyTorch case has a nabla call", "[losses][reference]") {
  std::map<std::string, Loss> all;
  for (const auto& cases : {classification_cases(), binary_and_margin_cases(), regression_cases(), embedding_cases(),
                            distance_cases(), ctc_cases()}) {
    all.insert(cases.begin(), cases.end());
  }
  for (const auto& entry : kTorch) {
    INFO("the generator's case '" << entry.first << "' has no nabla call in this file");
    CHECK(all.count(entry.first) == 1);
  }
  CHECK(all.size() == kTorch.size());
}
