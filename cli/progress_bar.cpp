#include "cli/progress_bar.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>

namespace frostnas {

ProgressBar::ProgressBar(std::string label, int64_t total, ProgressBarOptions options)
    : label_(std::move(label)),
      total_(total),
      options_(std::move(options)),
      out_(options_.out != nullptr ? options_.out : &std::cerr),
      start_(std::chrono::steady_clock::now()) {
  if (options_.tty >= 0) {
    tty_ = options_.tty == 1;
  } else if (out_ == &std::cerr || out_ == &std::clog) {
    tty_ = isatty(STDERR_FILENO) == 1;
  } else if (out_ == &std::cout) {
    tty_ = isatty(STDOUT_FILENO) == 1;
  }
  if (options_.quiet) tty_ = false;
}

ProgressBar::~ProgressBar() {
  // A bar left mid-line on a TTY would glue the next output to it.
  if (tty_ && !finished_ && last_width_ > 0) *out_ << "\n" << std::flush;
}

double ProgressBar::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::string ProgressBar::format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  const auto s = static_cast<int64_t>(std::llround(seconds));
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                  static_cast<long long>((s / 60) % 60), static_cast<long long>(s % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  }
  return buf;
}

std::string ProgressBar::format_rate(double v) {
  if (!std::isfinite(v) || v < 0) return "-";
  char buf[32];
  const char* suffix = "";
  if (v >= 1e6) {
    v /= 1e6;
    suffix = "M";
  } else if (v >= 1e4) {
    v /= 1e3;
    suffix = "k";
  }
  if (v >= 100) {
    std::snprintf(buf, sizeof buf, "%.0f%s", v, suffix);
  } else if (v >= 10) {
    std::snprintf(buf, sizeof buf, "%.1f%s", v, suffix);
  } else {
    std::snprintf(buf, sizeof buf, "%.2f%s", v, suffix);
  }
  return buf;
}

std::string ProgressBar::render(int64_t done, double elapsed_s,
                                const std::vector<ProgressField>& fields) const {
  std::string line = label_;
  const double rate = elapsed_s > 0 ? static_cast<double>(done) / elapsed_s : 0.0;
  if (total_ > 0) {
    const double frac = std::min(1.0, std::max(0.0, static_cast<double>(done) / total_));
    const int filled = static_cast<int>(frac * options_.width);
    std::string bar(static_cast<size_t>(options_.width), ' ');
    for (int i = 0; i < filled; ++i) bar[static_cast<size_t>(i)] = '=';
    if (filled < options_.width) bar[static_cast<size_t>(filled)] = '>';
    char buf[96];
    std::snprintf(buf, sizeof buf, " [%s] %lld/%lld %3d%%", bar.c_str(),
                  static_cast<long long>(done), static_cast<long long>(total_),
                  static_cast<int>(std::floor(frac * 100)));
    line += buf;
  } else {
    line += " " + std::to_string(done);
  }
  line += " " + format_rate(rate) + " " + options_.unit + "/s";
  if (total_ > 0) {
    const double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : -1.0;
    line += done >= total_ ? " in " + format_duration(elapsed_s) : " ETA " + format_duration(eta);
  }
  for (const auto& f : fields) line += " " + f.first + "=" + f.second;
  return line;
}

void ProgressBar::print(int64_t done, const std::vector<ProgressField>& fields, bool final_line) {
  const double now = elapsed_seconds();
  const std::string line = render(done, now, fields);
  if (tty_) {
    std::string padded = line;
    if (padded.size() < last_width_) padded += std::string(last_width_ - padded.size(), ' ');
    *out_ << "\r" << padded;
    if (final_line) *out_ << "\n";
    *out_ << std::flush;
    last_width_ = line.size();
  } else {
    *out_ << line << "\n" << std::flush;
  }
  last_print_s_ = now;
}

void ProgressBar::update(int64_t done, const std::vector<ProgressField>& fields) {
  if (finished_) return;
  last_done_ = done;
  const double interval = tty_ ? options_.tty_interval_s : options_.interval_s;
  if (elapsed_seconds() - last_print_s_ < interval) return;
  print(done, fields, false);
}

void ProgressBar::finish(const std::vector<ProgressField>& fields) {
  if (finished_) return;
  print(last_done_, fields, true);
  finished_ = true;
}

}  // namespace frostnas
