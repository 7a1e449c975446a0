#include "fatectl/report/svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace fatectl::report {
namespace {

std::string f2(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f", v);
  return b;
}

struct Range {
  double lo, hi;
};

Range range_of(const Axis& a, const std::vector<Series>& ss, bool x, bool right) {
  if (a.min != a.max) return {a.min, a.max};
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const auto& s : ss) {
    if (!x && s.right_axis != right) continue;
    for (double v : x ? s.x : s.y)
      if (std::isfinite(v)) {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
  }
  if (!std::isfinite(lo)) return {0, 1};
  if (hi == lo) {
    double pad = lo == 0 ? 1 : std::fabs(lo) * 0.1;
    return {lo - pad, hi + pad};
  }
  double pad = (hi - lo) * 0.05;
  return {x ? lo : lo - pad, x ? hi : hi + pad};
}

/// Whether a series has something to draw: x and y of one length (step areas: one more edge).
bool drawable(const Series& s) {
  return !s.x.empty() && (s.step_fill ? s.x.size() == s.y.size() + 1 : s.x.size() == s.y.size());
}

}  // namespace

std::string escape(const std::string& s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      case '\'': o += "&#39;"; break;
      default: o += c;
    }
  }
  return o;
}

std::vector<double> nice_ticks(double lo, double hi, int n) {
  std::vector<double> t;
  if (!(hi > lo) || !std::isfinite(lo) || !std::isfinite(hi)) return t;
  double raw = (hi - lo) / std::max(1, n);
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  // k·step, as k / (1/step) below 1 so that 3 × 0.2 prints as 0.6
  const double k0 = std::ceil(lo / step - 1e-9), inv = step < 1 ? std::round(1 / step) : 0;
  for (int i = 0; i < 50; ++i) {
    double v = inv > 0 ? (k0 + i) / inv : (k0 + i) * step;
    if (v > hi + step * 1e-9) break;
    t.push_back(std::fabs(v) < step * 1e-9 ? 0.0 : v);
  }
  return t;
}

std::string fmt_tick(double v) {
  char b[32];
  if (v != 0 && (std::fabs(v) >= 1e5 || std::fabs(v) < 1e-3)) std::snprintf(b, sizeof b, "%.3g", v);
  else std::snprintf(b, sizeof b, "%.4g", v);
  return b;
}

std::string render_svg(const Chart& c) {
  const double L = 58, R = 18 + (std::any_of(c.series.begin(), c.series.end(), [](const Series& s) { return s.right_axis; }) ? 44 : 0);
  // The legend sits in rows above the plot, so it never hides a curve.
  struct Entry {
    const Series* s;
    double x, y;
  };
  std::vector<Entry> entries;
  const double top = c.subtitle.empty() ? 30 : 46;
  double ex = L, ey = top + 10;
  for (const auto& se : c.series) {
    if (!drawable(se)) continue;
    double w = 30 + 6.2 * static_cast<double>(se.name.size());
    if (ex + w > c.width - 10 && ex > L) {
      ex = L;
      ey += 16;
    }
    entries.push_back({&se, ex, ey});
    ex += w + 10;
  }
  const double T = entries.empty() ? top + 4 : ey + 12, B = 46;
  const double W = c.width, H = c.height + (T - 50), pw = W - L - R, ph = c.height - 50 - B;
  Range xr = range_of(c.x, c.series, true, false), yr = range_of(c.y, c.series, false, false),
        yr2 = range_of(c.y_right, c.series, false, true);
  auto X = [&](double v) { return L + (v - xr.lo) / (xr.hi - xr.lo) * pw; };
  auto Y = [&](double v, bool right) {
    const Range& r = right ? yr2 : yr;
    double cl = std::clamp(v, r.lo - (r.hi - r.lo) * 0.02, r.hi + (r.hi - r.lo) * 0.02);
    return T + ph - (cl - r.lo) / (r.hi - r.lo) * ph;
  };
  std::string s;
  const std::string hs = std::to_string(static_cast<int>(std::lround(H)));
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" role=\"img\" width=\"" + std::to_string(c.width) +
       "\" height=\"" + hs + "\" viewBox=\"0 0 " + std::to_string(c.width) + " " + hs + "\">";
  s += "<title>" + escape(c.title + (c.subtitle.empty() ? "" : " — " + c.subtitle)) + "</title>";
  s += "<rect x=\"0\" y=\"0\" width=\"" + f2(W) + "\" height=\"" + f2(H) + "\" fill=\"#fff\"/>";
  s += "<text x=\"" + f2(L) + "\" y=\"20\" class=\"ct\">" + escape(c.title) + "</text>";
  if (!c.subtitle.empty()) s += "<text x=\"" + f2(L) + "\" y=\"38\" class=\"cs\">" + escape(c.subtitle) + "</text>";
  // grid and ticks
  s += "<g class=\"grid\">";
  for (double t : nice_ticks(xr.lo, xr.hi, 5)) {
    s += "<line x1=\"" + f2(X(t)) + "\" y1=\"" + f2(T) + "\" x2=\"" + f2(X(t)) + "\" y2=\"" + f2(T + ph) + "\"/>";
    s += "<text x=\"" + f2(X(t)) + "\" y=\"" + f2(T + ph + 16) + "\" text-anchor=\"middle\">" + fmt_tick(t) + "</text>";
  }
  for (double t : nice_ticks(yr.lo, yr.hi, 5)) {
    s += "<line x1=\"" + f2(L) + "\" y1=\"" + f2(Y(t, false)) + "\" x2=\"" + f2(L + pw) + "\" y2=\"" + f2(Y(t, false)) + "\"/>";
    s += "<text x=\"" + f2(L - 6) + "\" y=\"" + f2(Y(t, false) + 4) + "\" text-anchor=\"end\">" + fmt_tick(t) + "</text>";
  }
  if (R > 20)
    for (double t : nice_ticks(yr2.lo, yr2.hi, 5))
      s += "<text x=\"" + f2(L + pw + 6) + "\" y=\"" + f2(Y(t, true) + 4) + "\" text-anchor=\"start\">" + fmt_tick(t) + "</text>";
  s += "</g>";
  s += "<rect x=\"" + f2(L) + "\" y=\"" + f2(T) + "\" width=\"" + f2(pw) + "\" height=\"" + f2(ph) +
       "\" fill=\"none\" stroke=\"#444\" stroke-width=\"1\"/>";
  s += "<text x=\"" + f2(L + pw / 2) + "\" y=\"" + f2(H - 8) + "\" text-anchor=\"middle\" class=\"al\">" + escape(c.x.label) + "</text>";
  s += "<text transform=\"translate(14," + f2(T + ph / 2) + ") rotate(-90)\" text-anchor=\"middle\" class=\"al\">" +
       escape(c.y.label) + "</text>";
  if (R > 20)
    s += "<text transform=\"translate(" + f2(W - 8) + "," + f2(T + ph / 2) + ") rotate(-90)\" text-anchor=\"middle\" class=\"al\">" +
         escape(c.y_right.label) + "</text>";
  // reference marks
  for (const auto& m : c.marks) {
    if (m.kind == Mark::Kind::Diagonal)
      s += "<path class=\"ref\" d=\"M" + f2(X(xr.lo)) + " " + f2(Y(yr.lo, false)) + " L" + f2(X(xr.hi)) + " " +
           f2(Y(yr.hi, false)) + "\" stroke=\"" + m.color + "\" stroke-dasharray=\"4 4\" fill=\"none\"/>";
    else if (m.kind == Mark::Kind::VLine) {
      s += "<path class=\"ref\" d=\"M" + f2(X(m.x)) + " " + f2(T) + " L" + f2(X(m.x)) + " " + f2(T + ph) + "\" stroke=\"" +
           m.color + "\" stroke-dasharray=\"3 3\" fill=\"none\"/>";
      if (!m.label.empty()) {
        bool left = X(m.x) > L + pw * 0.65;
        s += "<text x=\"" + f2(X(m.x) + (left ? -4 : 4)) + "\" y=\"" + f2(T + 12) + "\" class=\"ml\"" +
             (left ? " text-anchor=\"end\"" : "") + ">" + escape(m.label) + "</text>";
      }
    } else {
      s += "<circle cx=\"" + f2(X(m.x)) + "\" cy=\"" + f2(Y(m.y, false)) + "\" r=\"4\" fill=\"" + m.color + "\"/>";
      if (!m.label.empty())
        s += "<text x=\"" + f2(X(m.x) + 6) + "\" y=\"" + f2(Y(m.y, false) - 6) + "\" class=\"ml\">" + escape(m.label) + "</text>";
    }
  }
  // series

  for (const auto& se : c.series) {
    if (!drawable(se)) continue;
    std::string d;
    if (se.step_fill) {
      // x holds bin edges (n + 1), y the n bin heights.
      d = "M" + f2(X(se.x.front())) + " " + f2(Y(yr.lo, se.right_axis));
      for (size_t i = 0; i + 1 < se.x.size(); ++i) {
        d += " L" + f2(X(se.x[i])) + " " + f2(Y(se.y[i], se.right_axis));
        d += " L" + f2(X(se.x[i + 1])) + " " + f2(Y(se.y[i], se.right_axis));
      }
      d += " L" + f2(X(se.x.back())) + " " + f2(Y(yr.lo, se.right_axis)) + " Z";
      s += "<path class=\"series\" d=\"" + d + "\" fill=\"" + se.color + "\" fill-opacity=\"0.35\" stroke=\"" + se.color +
           "\" stroke-width=\"1.5\"/>";
    } else {
      for (size_t i = 0; i < se.x.size(); ++i) {
        if (!std::isfinite(se.x[i]) || !std::isfinite(se.y[i])) continue;
        d += (d.empty() ? "M" : " L") + f2(X(se.x[i])) + " " + f2(Y(se.y[i], se.right_axis));
      }
      s += "<path class=\"series\" d=\"" + d + "\" fill=\"none\" stroke=\"" + se.color + "\" stroke-width=\"2\"" +
           (se.dashed ? " stroke-dasharray=\"6 4\"" : "") + "/>";
      if (se.markers)
        for (size_t i = 0; i < se.x.size(); ++i)
          if (std::isfinite(se.x[i]) && std::isfinite(se.y[i]))
            s += "<circle cx=\"" + f2(X(se.x[i])) + "\" cy=\"" + f2(Y(se.y[i], se.right_axis)) + "\" r=\"2.5\" fill=\"" +
                 se.color + "\"/>";
    }
  }
  for (const auto& e : entries) {
    s += "<line x1=\"" + f2(e.x) + "\" y1=\"" + f2(e.y - 4) + "\" x2=\"" + f2(e.x + 20) + "\" y2=\"" + f2(e.y - 4) +
         "\" stroke=\"" + e.s->color + "\" stroke-width=\"3\"" + (e.s->dashed ? " stroke-dasharray=\"5 3\"" : "") + "/>";
    s += "<text x=\"" + f2(e.x + 26) + "\" y=\"" + f2(e.y) + "\" class=\"lg\">" + escape(e.s->name) + "</text>";
  }
  s += "</svg>";
  return s;
}

}  // namespace fatectl::report
