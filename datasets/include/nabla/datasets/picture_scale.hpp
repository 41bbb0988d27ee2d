#pragma once
// Pictures readable at any size (issue 18). The 5x8 pixel font of Canvas is small; the example
// programs save every picture at twice its size so that its text stays readable when the PNG is
// shown at half size (the confusion matrix also draws its class names at twice the font size, with
// a colour bar and the accuracy under its title; see charts.hpp for the charts themselves).
#include <string>

#include "nabla/datasets/canvas.hpp"

namespace nabla::datasets {

// The picture `factor` times larger, each pixel a factor x factor block.
Canvas scaled(const Canvas& canvas, int factor);
// `text` (several lines with '\n') on a white canvas at least `width` pixels wide: a heading to
// vstack above charts.
Canvas text_banner(const std::string& text, int width, int scale = 1);

}  // namespace nabla::datasets
