#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

namespace frostnas {

/// Where and how often a ProgressBar prints.
struct ProgressBarOptions {
  /// Stream to print to (not owned); nullptr: std::cerr.
  std::ostream* out = nullptr;
  /// Plain mode: one line per update at most every `interval_s` seconds (and at the
  /// end) instead of one line rewritten with '\r'. Forced on when `out` is not a TTY.
  bool quiet = false;
  /// Seconds between two lines in plain mode; 0 prints every update.
  double interval_s = 10.0;
  /// Seconds between two redraws on a TTY (redrawing costs a write per update).
  double tty_interval_s = 0.1;
  /// Characters of the bar itself ("[=====>    ]").
  int width = 24;
  /// Unit of `done` in the rate ("img" gives "812.3 img/s").
  std::string unit = "it";
  /// Whether `out` is a terminal: -1 detects it (std::cout / std::cerr only), 0 no, 1 yes.
  int tty = -1;
};

/// One extra field printed after the rate, e.g. {"loss", "0.4213"}.
using ProgressField = std::pair<std::string, std::string>;

/// A terminal progress bar: label, done/total, percentage, rate, ETA and extra fields
/// (loss, accuracy...). On a TTY it keeps one line up to date with '\r'; otherwise, or
/// when quiet, it prints a plain line per update at most every `interval_s` seconds.
/// `finish()` prints the final state and a newline. Not thread-safe.
class ProgressBar {
 public:
  /// `total` <= 0 means unknown (no percentage, no ETA).
  ProgressBar(std::string label, int64_t total, ProgressBarOptions options = {});
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  /// Reports `done` units finished so far (monotone) and the current extra fields.
  void update(int64_t done, const std::vector<ProgressField>& fields = {});
  /// Prints the final line (the last `done` reported, with the given fields) and a
  /// newline; later updates are ignored.
  void finish(const std::vector<ProgressField>& fields = {});

  bool tty() const { return tty_; }
  double elapsed_seconds() const;

  /// The line for a state (no '\r', no newline): exposed for tests.
  /// "label [=====>    ]  512/1024  50% 812.3 img/s ETA 0:01 loss=0.42"
  std::string render(int64_t done, double elapsed_s,
                     const std::vector<ProgressField>& fields) const;

  /// "0:07", "12:34", "1:02:03"; "--:--" for negative or non-finite values.
  static std::string format_duration(double seconds);
  /// "812.3", "12.3k", "1.2M" (3-4 significant digits).
  static std::string format_rate(double per_second);

 private:
  void print(int64_t done, const std::vector<ProgressField>& fields, bool final_line);

  std::string label_;
  int64_t total_;
  ProgressBarOptions options_;
  std::ostream* out_;
  bool tty_ = false;
  bool finished_ = false;
  size_t last_width_ = 0;
  int64_t last_done_ = 0;
  std::chrono::steady_clock::time_point start_;
  double last_print_s_ = -1e300;
};

}  // namespace frostnas
