#include "progress.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <fmt/core.h>

namespace nabla::examples {

namespace {
// NABLA_PROGRESS=always draws the bar into a file or pipe too (tests and logs that want it).
bool draws_always() {
  const char* setting = std::getenv("NABLA_PROGRESS");
  return setting != nullptr && std::string(setting) == "always";
}
}  // namespace

std::string format_duration(double seconds) {
  const int64_t s = static_cast<int64_t>(std::max(0.0, std::round(seconds)));
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

ProgressBar::ProgressBar(std::string label, int64_t total_steps, int64_t items_per_step, std::string loss_name,
                         std::string item_name)
    : label_(std::move(label)),
      loss_name_(std::move(loss_name)),
      item_name_(std::move(item_name)),
      total_(std::max<int64_t>(total_steps, 1)),
      items_per_step_(items_per_step),
      interactive_(isatty(fileno(stderr)) != 0 || draws_always()),
      start_(std::chrono::steady_clock::now()) {}

double ProgressBar::elapsed_seconds() const {
  const auto end = is_stopped_ ? stopped_ : std::chrono::steady_clock::now();
  return std::chrono::duration<double>(end - start_).count();
}

double ProgressBar::stop() {
  if (!is_stopped_) {
    stopped_ = std::chrono::steady_clock::now();
    is_stopped_ = true;
  }
  return elapsed_seconds();
}

void ProgressBar::update(int64_t steps_done, double running_loss, double running_accuracy) {
  done_ = steps_done;
  loss_ = running_loss;
  accuracy_ = running_accuracy;
  if (!interactive_) return;
  const auto now = std::chrono::steady_clock::now();
  // Redraw at most ~10 times a second: terminal output must not slow training down.
  if (steps_done < total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const double elapsed = elapsed_seconds();
  constexpr int kWidth = 28;
  const int filled = static_cast<int>(kWidth * steps_done / total_);
  std::string bar(static_cast<size_t>(filled), '=');
  if (filled < kWidth) bar += '>';
  bar.resize(kWidth, ' ');
  const std::string accuracy = std::isnan(accuracy_) ? "" : fmt::format(" acc {:5.2f}%", 100.0 * accuracy_);
  // The first batches' rate says nothing (warm-up, allocation, caches): rate and time left appear
  // once a second and a few batches have passed.
  std::string speed;
  if (rate_is_meaningful(steps_done, elapsed)) {
    const double rate = static_cast<double>(steps_done * items_per_step_) / elapsed;
    const double left = elapsed * static_cast<double>(total_ - steps_done) / static_cast<double>(steps_done);
    speed = fmt::format(" {:.0f} {}/s left {}", rate, item_name_, format_duration(left));
  }
  fmt::print(stderr, "\r{} [{}] {}/{} {} {:.4f}{}{}\033[K", label_, bar, steps_done, total_, loss_name_, loss_, accuracy,
             speed);
  std::fflush(stderr);
}

bool rate_is_meaningful(int64_t steps_done, double elapsed_seconds) {
  return steps_done >= 3 && elapsed_seconds >= 1.0;
}

double ProgressBar::finish(const std::string& extra) {
  const double elapsed = elapsed_seconds();
  const double rate = elapsed > 0 ? static_cast<double>(done_ * items_per_step_) / elapsed : 0.0;
  if (interactive_) fmt::print(stderr, "\r\033[K");
  const std::string accuracy = std::isnan(accuracy_) ? "" : fmt::format(" acc {:.2f}%", 100.0 * accuracy_);
  fmt::print(stderr, "{} {} {:.4f}{} ({:.1f} s, {:.0f} {}/s){}\n", label_, loss_name_, loss_, accuracy, elapsed, rate,
             item_name_, extra);
  return elapsed;
}

}  // namespace nabla::examples
