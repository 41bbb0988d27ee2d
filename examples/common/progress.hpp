#pragma once
// A progress bar for training loops. On a terminal it redraws one line (batch i/n, running loss
// and accuracy, images/s, time left); when output is a file or pipe it stays silent until
// finish(), which prints one plain line, so logs stay readable (NABLA_PROGRESS=always draws anyway).
#include <chrono>
#include <cstdint>
#include <string>

namespace nabla::examples {

class ProgressBar {
 public:
  // loss_name and item_name label the running loss and the rate ("bits/char", "chars/s").
  ProgressBar(std::string label, int64_t total_steps, int64_t items_per_step, std::string loss_name = "loss",
              std::string item_name = "img");
  // Call after each step with the running averages so far (a NaN accuracy is not shown).
  void update(int64_t steps_done, double running_loss, double running_accuracy);
  // Stops the clock (e.g. before evaluating); returns the seconds since construction.
  double stop();
  // Ends the line (terminal) or prints the one summary line (file/pipe), timed up to stop() if it
  // was called; returns those seconds.
  double finish(const std::string& extra = "");
  double elapsed_seconds() const;

 private:
  std::string label_;
  std::string loss_name_, item_name_;
  int64_t total_;
  int64_t items_per_step_;
  bool interactive_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_{};
  std::chrono::steady_clock::time_point stopped_{};
  bool is_stopped_ = false;
  int64_t done_ = 0;
  double loss_ = 0.0, accuracy_ = 0.0;
};

// Whether a rate measured over `steps_done` steps and `elapsed_seconds` means anything yet: at
// least a second and 3 steps (the first batches pay for warm-up).
bool rate_is_meaningful(int64_t steps_done, double elapsed_seconds);

// "1:05" / "12:34:56".
std::string format_duration(double seconds);

}  // namespace nabla::examples
