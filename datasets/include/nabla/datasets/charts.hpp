#pragma once
// The pictures the example programs save: image grids of samples, grids of predictions with the
// mistakes marked, a confusion-matrix heat map and line charts of training curves. Each returns a
// Canvas; call .save_png(path) on it, or combine several with hstack/vstack first.
//
//   // 40 training digits with their labels
//   auto images = train.images().narrow(0, 0, 40);
//   std::vector<std::string> captions;
//   for (int64_t i = 0; i < 40; ++i) captions.push_back(train.class_names()[train.labels().at<int64_t>({i})]);
//   datasets::image_grid(images, captions, {.columns = 10, .title = "MNIST samples"}).save_png("samples.png");
//
//   // loss per epoch
//   datasets::line_chart({{"train", train_loss}, {"test", test_loss}},
//                        {.title = "Loss", .y_label = "cross-entropy"}).save_png("loss.png");
#include <optional>
#include <string>
#include <vector>

#include "nabla/datasets/canvas.hpp"
#include "nabla/autograd/tensor.hpp"

namespace nabla::datasets {

// ---- image grids

struct ImageGridOptions {
  int64_t columns = 10;
  int scale = 2;          // each image pixel becomes a scale x scale block
  int padding = 6;        // space between cells and around the grid
  bool invert = false;    // draw 255 - value: dark strokes on white
  std::string title = {};  // drawn above the grid when not empty
};

// A caption under one image; a border colour marks the cell (e.g. red for a mistake).
struct GridCaption {
  std::string text = {};  // may hold '\n' for several lines
  Color color = colors::black;
  std::optional<Color> border = {};
};

// Images in rows of options.columns, each with its caption underneath. images: [N, H, W] or
// [N, 1, H, W]; uint8 is drawn as is (0 black, 255 white), a floating tensor is mapped linearly
// from its minimum..maximum to black..white (so normalised inputs draw correctly). captions must
// be empty or hold N entries. Cells are as wide as the image or the widest caption line.
Canvas image_grid(const Tensor& images, const std::vector<GridCaption>& captions,
                  const ImageGridOptions& options = {});
Canvas image_grid(const Tensor& images, const std::vector<std::string>& captions,
                  const ImageGridOptions& options = {});

// Images with their predicted and true classes (1-d integer tensors of N entries). Correct
// predictions are captioned in black, mistakes in red with a red border. With one- to three-
// character class names (digits) a caption reads "pred/true" ("7/7"); longer names take two lines,
// predicted above true. A line explaining the captions is added under options.title.
Canvas predictions_grid(const Tensor& images, const Tensor& predicted, const Tensor& truth,
                        const std::vector<std::string>& class_names, const ImageGridOptions& options = {});

// ---- confusion matrix

// counts[t][p]: how many examples of true class t were predicted as class p (int64 [K, K]).
// predicted and truth are 1-d integer tensors of equal length with values in 0..K-1. Sum the
// matrices of several batches with add_ to cover a whole test set.
Tensor confusion_matrix(const Tensor& predicted, const Tensor& truth, int64_t num_classes);

// A heat map of a confusion matrix (rows: true class, columns: predicted class) with the count in
// every cell and the class names on both axes. A cell's shade is its share of its row (the
// fraction of that true class), so the diagonal shows each class's recall.
Canvas confusion_matrix_chart(const Tensor& counts, const std::vector<std::string>& class_names,
                              const std::string& title = "Confusion matrix");

// ---- line charts

struct Series {
  std::string name = {};
  std::vector<double> values;        // y values; NaN leaves a gap
  std::vector<double> x = {};        // empty: LineChartOptions::x_start, x_start + 1, ...
  std::optional<Color> color = {};   // default: palette_color(position in the list)
};

struct LineChartOptions {
  std::string title = {};
  std::string x_label = "epoch";
  std::string y_label = {};
  int width = 640;
  int height = 400;
  double x_start = 1;                 // x of the first value when a series has no x
  std::optional<double> y_min = {};   // default: from the data, widened to round ticks
  std::optional<double> y_max = {};
};

// Lines with a marker at each point, axes with round-numbered ticks and grid lines, axis titles
// and a legend under the title.
Canvas line_chart(const std::vector<Series>& series, const LineChartOptions& options = {});

// ---- combining pictures

// Canvases next to each other (hstack) or one under another (vstack), `gap` pixels apart, on a
// white background.
Canvas hstack(const std::vector<Canvas>& canvases, int gap = 0);
Canvas vstack(const std::vector<Canvas>& canvases, int gap = 0);

}  // namespace nabla::datasets
