#pragma once
// Canvas: an RGB picture to draw charts and image grids on, with a built-in 5x8 pixel font
// (printable ASCII), saved as PNG. Coordinates are pixels, x to the right and y down from the
// top-left corner; anything drawn outside the canvas is clipped.
#include <cstdint>
#include <filesystem>
#include <string_view>
#include <vector>

namespace nabla::datasets {

struct Color {
  uint8_t r = 0, g = 0, b = 0;
  friend bool operator==(const Color&, const Color&) = default;
};

namespace colors {
inline constexpr Color white{255, 255, 255};
inline constexpr Color black{0, 0, 0};
inline constexpr Color gray{128, 128, 128};
inline constexpr Color light_gray{220, 220, 220};
inline constexpr Color red{214, 39, 40};
inline constexpr Color green{44, 160, 44};
inline constexpr Color blue{31, 119, 180};
inline constexpr Color orange{255, 127, 14};
}  // namespace colors

// Ten distinguishable colours for chart series (index taken modulo 10).
Color palette_color(int64_t index);
// Mixes a and b: t = 0 gives a, t = 1 gives b.
Color blend(Color a, Color b, double t);

// Text is drawn left to right, or rotated to read upwards (for vertical axis titles).
enum class TextDirection { right, up };

class Canvas {
 public:
  // The font: each character is kGlyphWidth x kGlyphHeight pixels (times scale), advancing
  // kAdvance pixels; lines are kLineHeight apart.
  static constexpr int kGlyphWidth = 5;
  static constexpr int kGlyphHeight = 8;
  static constexpr int kAdvance = 6;
  static constexpr int kLineHeight = 10;

  Canvas(int width, int height, Color background = colors::white);

  int width() const { return width_; }
  int height() const { return height_; }
  Color pixel(int x, int y) const;  // throws outside the canvas
  void set_pixel(int x, int y, Color color);  // clipped
  // The pixels as rows of r, g, b bytes.
  const std::vector<uint8_t>& rgb() const { return rgb_; }

  void fill(Color color);
  void fill_rect(int x, int y, int width, int height, Color color);
  // The outline of a rectangle, `thickness` pixels wide, drawn inside it.
  void draw_rect(int x, int y, int width, int height, Color color, int thickness = 1);
  // A straight line; thickness > 1 draws a square pen of that size centred on the line.
  void draw_line(int x0, int y0, int x1, int y1, Color color, int thickness = 1);
  // Text with its top-left corner at (x, y) ('\n' starts a new line; characters outside
  // printable ASCII show as '?'). With TextDirection::up, (x, y) is the bottom-left corner of
  // the text as seen after rotating it to read upwards.
  void draw_text(int x, int y, std::string_view text, Color color, int scale = 1,
                 TextDirection direction = TextDirection::right);
  // Size of text as draw_text would draw it (before any rotation).
  static int text_width(std::string_view text, int scale = 1);
  static int text_height(std::string_view text, int scale = 1);
  // A grayscale image (rows of `width` bytes, 0 = black) with each pixel a scale x scale block;
  // invert draws 255 - value (dark strokes on white).
  void draw_gray_image(int x, int y, const uint8_t* pixels, int width, int height, int scale = 1,
                       bool invert = false);
  // Copies another canvas onto this one with its top-left corner at (x, y).
  void draw_canvas(int x, int y, const Canvas& other);

  // Writes the canvas as an RGB PNG (atomically; see png.hpp).
  void save_png(const std::filesystem::path& file) const;

 private:
  void draw_glyph(int x, int y, char character, Color color, int scale, TextDirection direction);

  int width_;
  int height_;
  std::vector<uint8_t> rgb_;
};

}  // namespace nabla::datasets
