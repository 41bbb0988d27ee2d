#include "nabla/datasets/charts.hpp"
#include "nabla/datasets/picture_scale.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "nabla/autograd/factories.hpp"
#include "nabla/autograd/functions.hpp"
#include "nabla/tensor/error.hpp"

namespace nabla::datasets {

namespace {

constexpr int kLine = Canvas::kLineHeight;

// ---- image grids

// The images as uint8 [N, H, W] bytes, whatever dtype and layout they came in.
struct GrayImages {
  std::vector<uint8_t> bytes;
  int count = 0, height = 0, width = 0;
};

GrayImages to_gray_images(const Tensor& images, const char* op) {
  const bool shape_ok = images.defined() && (images.dim() == 3 || (images.dim() == 4 && images.size(1) == 1));
  if (!shape_ok) {
    fail("{}: images must be [N, H, W] or [N, 1, H, W] (grayscale), got {}", op,
         images.defined() ? to_string(images.shape()) : std::string("an undefined tensor"));
  }
  GrayImages out;
  out.count = static_cast<int>(images.size(0));
  out.height = static_cast<int>(images.size(-2));
  out.width = static_cast<int>(images.size(-1));
  if (images.dtype() == uint8) {
    out.bytes = images.to_vector<uint8_t>();
    return out;
  }
  const std::vector<double> values = images.to_vector<double>();
  double low = std::numeric_limits<double>::infinity(), high = -low;
  for (double v : values) {
    if (std::isfinite(v)) {
      low = std::min(low, v);
      high = std::max(high, v);
    }
  }
  const double range = high > low ? high - low : 1.0;
  out.bytes.resize(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    const double v = std::isfinite(values[i]) ? (values[i] - low) / range : 0.0;
    out.bytes[i] = static_cast<uint8_t>(std::lround(std::clamp(v, 0.0, 1.0) * 255.0));
  }
  return out;
}

std::vector<int64_t> class_indices(const Tensor& values, int64_t expected, int64_t classes, const char* op,
                                   const char* what) {
  if (!values.defined() || values.dim() != 1 || is_floating(values.dtype())) {
    fail("{}: {} must be a 1-d integer tensor of class indices, got {} {}", op, what,
         values.defined() ? dtype_name(values.dtype()) : "undefined", values.defined() ? values.shape() : Shape{});
  }
  if (expected >= 0 && values.size(0) != expected) {
    fail("{}: {} holds {} entries but there are {} images", op, what, values.size(0), expected);
  }
  std::vector<int64_t> out = values.to_vector<int64_t>();
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] < 0 || out[i] >= classes) {
      fail("{}: {}[{}] = {} is not a class index in 0..{}", op, what, i, out[i], classes - 1);
    }
  }
  return out;
}

// ---- numbers on axes

// A round step (1, 2 or 5 times a power of ten) giving about `target` intervals over range.
double nice_step(double range, int target) {
  if (!(range > 0)) return 1.0;
  const double raw = range / target;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double fraction = raw / magnitude;
  const double nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
  return nice * magnitude;
}

// A tick label with as many decimals as the step needs ("0.25", "1200").
std::string tick_label(double value, double step) {
  const int decimals = std::clamp(static_cast<int>(std::ceil(-std::log10(step) - 1e-9)), 0, 8);
  if (std::abs(value) < step * 1e-6) value = 0.0;  // no "-0.00"
  return fmt::format("{:.{}f}", value, decimals);
}

struct Axis {
  double low, high, step;
};

// Axis limits rounded out to whole steps.
Axis nice_axis(double low, double high, int target) {
  if (!(high > low)) {
    const double pad = low == 0 ? 1.0 : std::abs(low) * 0.1;
    low -= pad;
    high += pad;
  }
  const double step = nice_step(high - low, target);
  return {std::floor(low / step + 1e-9) * step, std::ceil(high / step - 1e-9) * step, step};
}

}  // namespace

// ---- image grids

Canvas image_grid(const Tensor& images, const std::vector<GridCaption>& captions, const ImageGridOptions& options) {
  const GrayImages gray = to_gray_images(images, "image_grid");
  if (!captions.empty() && static_cast<int>(captions.size()) != gray.count) {
    fail("image_grid: {} captions for {} images; pass one caption per image (or none)", captions.size(), gray.count);
  }
  if (gray.count == 0) fail("image_grid: no images to draw (the tensor's first axis is 0)");
  if (options.columns < 1 || options.scale < 1 || options.padding < 0) {
    fail("image_grid: columns and scale must be at least 1 and padding not negative (got {}, {}, {})",
         options.columns, options.scale, options.padding);
  }
  const int image_width = gray.width * options.scale, image_height = gray.height * options.scale;
  int caption_width = 0, caption_height = 0;
  for (const GridCaption& caption : captions) {
    caption_width = std::max(caption_width, Canvas::text_width(caption.text));
    caption_height = std::max(caption_height, Canvas::text_height(caption.text));
  }
  const int border = 2;  // room for a cell's border around the image
  const int cell_width = std::max(image_width + 2 * border, caption_width);
  const int cell_height = image_height + 2 * border + (caption_height > 0 ? caption_height + 3 : 0);
  const int columns = static_cast<int>(std::min<int64_t>(options.columns, gray.count));
  const int rows = (gray.count + columns - 1) / columns;
  const int title_height = options.title.empty() ? 0 : Canvas::text_height(options.title) + options.padding;
  const int pad = options.padding;
  Canvas canvas(pad + columns * (cell_width + pad),
                std::max(1, pad + title_height + rows * (cell_height + pad)), colors::white);
  if (!options.title.empty()) canvas.draw_text(pad, pad, options.title, colors::black);

  const size_t image_bytes = static_cast<size_t>(gray.width) * static_cast<size_t>(gray.height);
  for (int i = 0; i < gray.count; ++i) {
    const int cell_x = pad + (i % columns) * (cell_width + pad);
    const int cell_y = pad + title_height + (i / columns) * (cell_height + pad);
    const int image_x = cell_x + (cell_width - image_width) / 2;
    const GridCaption* caption = captions.empty() ? nullptr : &captions[static_cast<size_t>(i)];
    if (caption && caption->border) {
      canvas.draw_rect(image_x - border, cell_y, image_width + 2 * border, image_height + 2 * border,
                       *caption->border, border);
    }
    canvas.draw_gray_image(image_x, cell_y + border, gray.bytes.data() + static_cast<size_t>(i) * image_bytes,
                           gray.width, gray.height, options.scale, options.invert);
    if (caption && !caption->text.empty()) {
      // Centre each line under the image.
      int line_y = cell_y + image_height + 2 * border + 3;
      size_t start = 0;
      for (;;) {
        const size_t end = caption->text.find('\n', start);
        const std::string_view line = std::string_view(caption->text).substr(start, end - start);
        canvas.draw_text(cell_x + (cell_width - Canvas::text_width(line)) / 2, line_y, line, caption->color);
        if (end == std::string::npos) break;
        start = end + 1;
        line_y += kLine;
      }
    }
  }
  return canvas;
}

Canvas image_grid(const Tensor& images, const std::vector<std::string>& captions, const ImageGridOptions& options) {
  std::vector<GridCaption> styled;
  styled.reserve(captions.size());
  for (const std::string& text : captions) styled.push_back({text});
  return image_grid(images, styled, options);
}

Canvas predictions_grid(const Tensor& images, const Tensor& predicted, const Tensor& truth,
                        const std::vector<std::string>& class_names, const ImageGridOptions& options) {
  if (class_names.empty()) fail("predictions_grid: class_names is empty; pass one name per class");
  const int64_t count = images.defined() && images.dim() > 0 ? images.size(0) : 0;
  const int64_t classes = static_cast<int64_t>(class_names.size());
  const std::vector<int64_t> predictions = class_indices(predicted, count, classes, "predictions_grid", "predicted");
  const std::vector<int64_t> labels = class_indices(truth, count, classes, "predictions_grid", "truth");
  size_t longest = 0;
  for (const std::string& name : class_names) longest = std::max(longest, name.size());
  const bool one_line = longest <= 3;

  std::vector<GridCaption> captions;
  int64_t mistakes = 0;
  for (size_t i = 0; i < predictions.size(); ++i) {
    const std::string& guess = class_names[static_cast<size_t>(predictions[i])];
    const std::string& answer = class_names[static_cast<size_t>(labels[i])];
    GridCaption caption{one_line ? guess + "/" + answer : guess + "\n" + answer};
    if (predictions[i] != labels[i]) {
      ++mistakes;
      caption.color = colors::red;
      caption.border = colors::red;
    }
    captions.push_back(std::move(caption));
  }
  ImageGridOptions with_key = options;
  // No counts here: "10 of 40" read as an error rate; the caller knows what the images are a
  // sample of and says it in the title.
  (void)mistakes;
  const std::string key = fmt::format("{}; red: a mistake", one_line ? "predicted/true" : "top: predicted, bottom: true");
  with_key.title = options.title.empty() ? key : options.title + "\n" + key;
  return image_grid(images, captions, with_key);
}

// ---- confusion matrix

Tensor confusion_matrix(const Tensor& predicted, const Tensor& truth, int64_t num_classes) {
  if (num_classes < 1) fail("confusion_matrix: num_classes must be at least 1, got {}", num_classes);
  const std::vector<int64_t> labels = class_indices(truth, -1, num_classes, "confusion_matrix", "truth");
  const std::vector<int64_t> predictions =
      class_indices(predicted, static_cast<int64_t>(labels.size()), num_classes, "confusion_matrix", "predicted");
  Tensor counts = nabla::empty({num_classes, num_classes}, int64);
  counts.zero_();
  int64_t* cells = counts.data_ptr<int64_t>();
  for (size_t i = 0; i < labels.size(); ++i) ++cells[labels[i] * num_classes + predictions[i]];
  return counts;
}

Canvas confusion_matrix_chart(const Tensor& counts, const std::vector<std::string>& class_names,
                              const std::string& title) {
  const int64_t classes = static_cast<int64_t>(class_names.size());
  if (!counts.defined() || counts.dim() != 2 || counts.size(0) != classes || counts.size(1) != classes) {
    fail("confusion_matrix_chart: counts must be [{0}, {0}] for {0} class names, got {1}", classes,
         counts.defined() ? to_string(counts.shape()) : std::string("an undefined tensor"));
  }
  if (classes == 0) fail("confusion_matrix_chart: no classes");
  const std::vector<int64_t> cells = counts.to_vector<int64_t>();

  // Class names and axis titles at twice the font size: they are what a reader looks for first.
  constexpr int kLabelScale = 2;
  int name_width = 0;
  for (const std::string& name : class_names) name_width = std::max(name_width, Canvas::text_width(name, kLabelScale));
  int count_width = 0;
  int64_t correct = 0, total = 0;
  for (int64_t value : cells) count_width = std::max(count_width, Canvas::text_width(std::to_string(value)));
  for (int64_t k = 0; k < classes; ++k) correct += cells[k * classes + k];
  for (int64_t value : cells) total += value;
  const std::string heading =
      total > 0 ? fmt::format("{}\naccuracy {:.2f}% ({} of {})", title, 100.0 * static_cast<double>(correct) / static_cast<double>(total),
                              correct, total)
                : title;
  const int cell = std::max(Canvas::kLineHeight * kLabelScale + 8, count_width + 8);
  const int margin = 12;
  const int axis_title = kLine * kLabelScale;
  const int left = margin + axis_title + 4 + name_width + 6;  // axis title, names, gap
  const int top = margin + Canvas::text_height(heading, kLabelScale) + 10;
  const int grid = cell * static_cast<int>(classes);
  // Column names that fit their cell (digits) are written across; longer ones read upwards.
  const bool upright_columns = name_width <= cell - 2;
  const int column_names_height = upright_columns ? Canvas::kGlyphHeight * kLabelScale : name_width;
  const int bottom = 6 + column_names_height + 6 + axis_title + margin;  // names, axis title
  // The colour bar: a strip of the shades from 0 to 100 % with its ticks, right of the grid.
  const int bar_left = left + grid + 16, bar_width = 16;
  const std::string bar_title = "share of the true class";
  const int right = bar_width + 6 + Canvas::text_width("100%") + 8 + kLine + margin;
  Canvas canvas(std::max(bar_left + right, 2 * margin + Canvas::text_width(heading, kLabelScale)), top + grid + bottom,
                colors::white);
  canvas.draw_text(margin, margin, heading, colors::black, kLabelScale);

  constexpr Color kDark{8, 48, 107};
  for (int64_t t = 0; t < classes; ++t) {
    int64_t row_total = 0;
    for (int64_t p = 0; p < classes; ++p) row_total += cells[t * classes + p];
    for (int64_t p = 0; p < classes; ++p) {
      const int64_t value = cells[t * classes + p];
      const double share = row_total > 0 ? static_cast<double>(value) / static_cast<double>(row_total) : 0.0;
      // A square root brightens small shares, so the few confusions stay visible.
      const Color shade = blend(colors::white, kDark, std::sqrt(share));
      const int x = left + static_cast<int>(p) * cell, y = top + static_cast<int>(t) * cell;
      canvas.fill_rect(x, y, cell, cell, shade);
      const std::string text = std::to_string(value);
      canvas.draw_text(x + (cell - Canvas::text_width(text)) / 2, y + (cell - Canvas::kGlyphHeight) / 2 + 1, text,
                       std::sqrt(share) > 0.5 ? colors::white : colors::black);
    }
  }
  canvas.draw_rect(left - 1, top - 1, grid + 2, grid + 2, colors::gray);
  for (int64_t k = 0; k < classes; ++k) {
    const std::string& name = class_names[static_cast<size_t>(k)];
    const int offset = static_cast<int>(k) * cell + (cell - Canvas::kGlyphHeight * kLabelScale) / 2;
    canvas.draw_text(left - 6 - Canvas::text_width(name, kLabelScale), top + offset, name, colors::black, kLabelScale);
    if (upright_columns) {
      canvas.draw_text(left + static_cast<int>(k) * cell + (cell - Canvas::text_width(name, kLabelScale)) / 2,
                       top + grid + 6, name, colors::black, kLabelScale);
    } else {
      canvas.draw_text(left + offset, top + grid + 6 + Canvas::text_width(name, kLabelScale), name, colors::black,
                       kLabelScale, TextDirection::up);
    }
  }
  canvas.draw_text(margin, top + (grid + Canvas::text_width("true", kLabelScale)) / 2, "true", colors::gray, kLabelScale,
                   TextDirection::up);
  canvas.draw_text(left + (grid - Canvas::text_width("predicted", kLabelScale)) / 2,
                   top + grid + 6 + column_names_height + 6, "predicted", colors::gray, kLabelScale);
  // The colour bar, 100 % at the top, shaded as the cells are.
  for (int y = 0; y < grid; ++y) {
    const double share = 1.0 - static_cast<double>(y) / std::max(1, grid - 1);
    canvas.fill_rect(bar_left, top + y, bar_width, 1, blend(colors::white, kDark, std::sqrt(share)));
  }
  canvas.draw_rect(bar_left - 1, top - 1, bar_width + 2, grid + 2, colors::gray);
  for (int percent : {0, 10, 25, 50, 100}) {
    const int y = top + static_cast<int>(std::lround((1.0 - std::sqrt(percent / 100.0)) * (grid - 1)));
    canvas.draw_line(bar_left + bar_width, y, bar_left + bar_width + 3, y, colors::black);
    canvas.draw_text(bar_left + bar_width + 6, y - Canvas::kGlyphHeight / 2, fmt::format("{}%", percent), colors::black);
  }
  canvas.draw_text(bar_left + right - margin - Canvas::kGlyphHeight, top + (grid + Canvas::text_width(bar_title)) / 2,
                   bar_title, colors::gray, 1, TextDirection::up);
  return canvas;
}

// ---- line charts

Canvas line_chart(const std::vector<Series>& series, const LineChartOptions& options) {
  if (options.width < 200 || options.height < 150) {
    fail("line_chart: {}x{} is too small; use at least 200x150", options.width, options.height);
  }
  // The data's extent.
  auto x_of = [&](const Series& s, size_t i) { return s.x.empty() ? options.x_start + static_cast<double>(i) : s.x[i]; };
  double x_low = std::numeric_limits<double>::infinity(), x_high = -x_low;
  double y_low = x_low, y_high = -x_low;
  for (const Series& s : series) {
    if (!s.x.empty() && s.x.size() != s.values.size()) {
      fail("line_chart: series '{}' has {} x values for {} values", s.name, s.x.size(), s.values.size());
    }
    for (size_t i = 0; i < s.values.size(); ++i) {
      if (!std::isfinite(s.values[i]) || !std::isfinite(x_of(s, i))) continue;
      x_low = std::min(x_low, x_of(s, i));
      x_high = std::max(x_high, x_of(s, i));
      y_low = std::min(y_low, s.values[i]);
      y_high = std::max(y_high, s.values[i]);
    }
  }
  if (!std::isfinite(x_low)) x_low = x_high = options.x_start, y_low = 0, y_high = 1;
  if (options.y_min) y_low = *options.y_min;
  if (options.y_max) y_high = *options.y_max;
  Axis y_axis = nice_axis(y_low, y_high, 6);
  if (options.y_min) y_axis.low = *options.y_min;
  if (options.y_max) y_axis.high = *options.y_max;
  if (!(y_axis.high > y_axis.low)) {
    fail("line_chart: the y range [{}, {}] is empty; y_max must be above y_min (and above the data "
         "when only y_min is given)",
         y_axis.low, y_axis.high);
  }
  const Axis x_axis = x_high - x_low <= 12 && x_low == std::floor(x_low)
                          ? Axis{x_low, std::max(x_high, x_low + 1), 1.0}  // few epochs: every one
                          : nice_axis(x_low, x_high, 8);

  // Layout: title and legend on top, y tick labels and title on the left, x below.
  int y_label_width = 0;
  for (double v = y_axis.low; v <= y_axis.high + y_axis.step * 1e-6; v += y_axis.step) {
    y_label_width = std::max(y_label_width, Canvas::text_width(tick_label(v, y_axis.step)));
  }
  const int margin = 12;
  const int legend_top = margin + (options.title.empty() ? 0 : kLine + 6);
  const int plot_left = margin + (options.y_label.empty() ? 0 : kLine + 4) + y_label_width + 6;
  const int plot_top = legend_top + kLine + 10;
  const int plot_right = options.width - margin - 8;
  const int plot_bottom = options.height - margin - (options.x_label.empty() ? 0 : kLine + 4) - kLine - 6;
  if (plot_right - plot_left < 40 || plot_bottom - plot_top < 40) {
    fail("line_chart: {}x{} leaves no room for the plot; make the chart larger", options.width, options.height);
  }
  auto to_x = [&](double x) {
    return plot_left + static_cast<int>(std::lround((x - x_axis.low) / (x_axis.high - x_axis.low) * (plot_right - plot_left)));
  };
  auto to_y = [&](double y) {
    return plot_bottom - static_cast<int>(std::lround((y - y_axis.low) / (y_axis.high - y_axis.low) * (plot_bottom - plot_top)));
  };

  Canvas canvas(options.width, options.height, colors::white);
  if (!options.title.empty()) canvas.draw_text(margin, margin, options.title, colors::black);

  // Grid lines and ticks.
  for (double v = y_axis.low; v <= y_axis.high + y_axis.step * 1e-6; v += y_axis.step) {
    const int y = to_y(v);
    canvas.draw_line(plot_left, y, plot_right, y, colors::light_gray);
    const std::string label = tick_label(v, y_axis.step);
    canvas.draw_text(plot_left - 6 - Canvas::text_width(label), y - Canvas::kGlyphHeight / 2, label, colors::black);
  }
  for (double v = x_axis.low; v <= x_axis.high + x_axis.step * 1e-6; v += x_axis.step) {
    const int x = to_x(v);
    canvas.draw_line(x, plot_top, x, plot_bottom, colors::light_gray);
    canvas.draw_line(x, plot_bottom, x, plot_bottom + 3, colors::black);
    const std::string label = tick_label(v, x_axis.step);
    canvas.draw_text(x - Canvas::text_width(label) / 2, plot_bottom + 6, label, colors::black);
  }
  canvas.draw_line(plot_left, plot_top, plot_left, plot_bottom, colors::black);
  canvas.draw_line(plot_left, plot_bottom, plot_right, plot_bottom, colors::black);
  if (!options.x_label.empty()) {
    canvas.draw_text(plot_left + (plot_right - plot_left - Canvas::text_width(options.x_label)) / 2,
                     options.height - margin - Canvas::kGlyphHeight, options.x_label, colors::gray);
  }
  if (!options.y_label.empty()) {
    canvas.draw_text(margin, plot_top + (plot_bottom - plot_top + Canvas::text_width(options.y_label)) / 2,
                     options.y_label, colors::gray, 1, TextDirection::up);
  }

  // The series, clipped to the plot, then the legend.
  int legend_x = plot_left;
  for (size_t k = 0; k < series.size(); ++k) {
    const Series& s = series[k];
    const Color color = s.color.value_or(palette_color(static_cast<int64_t>(k)));
    bool have_previous = false;
    int previous_x = 0, previous_y = 0;
    for (size_t i = 0; i < s.values.size(); ++i) {
      const double x = x_of(s, i), y = s.values[i];
      if (!std::isfinite(x) || !std::isfinite(y)) {
        have_previous = false;
        continue;
      }
      const int px = to_x(x), py = std::clamp(to_y(y), plot_top, plot_bottom);
      if (have_previous) canvas.draw_line(previous_x, previous_y, px, py, color, 2);
      if (s.values.size() <= 60) canvas.fill_rect(px - 2, py - 2, 5, 5, color);
      previous_x = px, previous_y = py, have_previous = true;
    }
    canvas.fill_rect(legend_x, legend_top + 3, 14, 3, color);
    canvas.draw_text(legend_x + 18, legend_top, s.name, colors::black);
    legend_x += 18 + Canvas::text_width(s.name) + 16;
  }
  return canvas;
}

// ---- readable at any size (issue 18)

Canvas scaled(const Canvas& canvas, int factor) {
  if (factor < 1) fail("scaled: factor must be at least 1, got {}", factor);
  Canvas out(canvas.width() * factor, canvas.height() * factor, colors::white);
  const std::vector<uint8_t>& in = canvas.rgb();
  for (int y = 0; y < canvas.height(); ++y) {
    for (int x = 0; x < canvas.width(); ++x) {
      const size_t at = (static_cast<size_t>(y) * static_cast<size_t>(canvas.width()) + static_cast<size_t>(x)) * 3;
      out.fill_rect(x * factor, y * factor, factor, factor, Color{in[at], in[at + 1], in[at + 2]});
    }
  }
  return out;
}

Canvas text_banner(const std::string& text, int width, int scale) {
  const int margin = 12;
  Canvas canvas(std::max(width, Canvas::text_width(text, scale) + 2 * margin), Canvas::text_height(text, scale) + margin,
                colors::white);
  canvas.draw_text(margin, margin, text, colors::black, scale);
  return canvas;
}

// ---- combining pictures

Canvas hstack(const std::vector<Canvas>& canvases, int gap) {
  if (canvases.empty()) fail("hstack: no canvases to combine");
  int width = 0, height = 0;
  for (const Canvas& c : canvases) width += c.width(), height = std::max(height, c.height());
  width += gap * static_cast<int>(canvases.size() - 1);
  Canvas out(width, height, colors::white);
  int x = 0;
  for (const Canvas& c : canvases) out.draw_canvas(x, 0, c), x += c.width() + gap;
  return out;
}

Canvas vstack(const std::vector<Canvas>& canvases, int gap) {
  if (canvases.empty()) fail("vstack: no canvases to combine");
  int width = 0, height = 0;
  for (const Canvas& c : canvases) height += c.height(), width = std::max(width, c.width());
  height += gap * static_cast<int>(canvases.size() - 1);
  Canvas out(width, height, colors::white);
  int y = 0;
  for (const Canvas& c : canvases) out.draw_canvas(0, y, c), y += c.height() + gap;
  return out;
}

}  // namespace nabla::datasets
