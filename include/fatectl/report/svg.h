#pragma once
// Inline SVG charts for the training report: line charts (curves, per-epoch series) and
// histograms, with axes, nice ticks, a legend and optional reference lines — plain SVG elements,
// no scripts, no fonts beyond the browser's own sans-serif.
#include <string>
#include <vector>

namespace fatectl::report {

/// One line (or filled step area) on a chart.
struct Series {
  std::string name;
  std::vector<double> x, y;
  std::string color = "#1f77b4";
  bool dashed = false;
  bool step_fill = false;  ///< draw as a filled step outline (histograms)
  bool markers = false;    ///< a dot on every point (few points)
  bool right_axis = false; ///< plotted against the right-hand y axis
};

/// A vertical or diagonal reference line, or a labelled point.
struct Mark {
  enum class Kind { Diagonal, VLine, Point } kind = Kind::VLine;
  double x = 0, y = 0;
  std::string label;
  std::string color = "#888";
};

/// An axis range (auto from the data when min == max).
struct Axis {
  std::string label;
  double min = 0, max = 0;
};

/// A chart of one or more series.
struct Chart {
  std::string title;
  std::string subtitle;  ///< e.g. "AUC 0.9712"
  Axis x, y, y_right;    ///< y_right is drawn when a series uses it
  std::vector<Series> series;
  std::vector<Mark> marks;
  int width = 460, height = 320;  ///< height grows by the legend rows above the plot
};

/// The chart as an <svg> element (role="img", with a <title>); empty series are skipped.
std::string render_svg(const Chart& c);

/// Tick positions for [lo, hi]: steps of 1, 2 or 5 × 10^k, about `n` of them.
std::vector<double> nice_ticks(double lo, double hi, int n = 5);
/// A number for an axis or a table: compact, no trailing zeros ("0.25", "1e+05", "12 000").
std::string fmt_tick(double v);
/// Text safe inside HTML and SVG (& < > " ').
std::string escape(const std::string& s);

}  // namespace fatectl::report
