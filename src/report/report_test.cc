// Unit tests of the report's SVG charts and page (report.h, svg.h).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "fatectl/core/error.h"
#include "fatectl/report/report.h"
#include "fatectl/report/svg.h"

using namespace fatectl;
using namespace fatectl::report;

TEST_CASE("svg: ticks, escaping and a chart with its series") {
  CHECK(nice_ticks(0, 1, 5) == std::vector<double>{0, 0.2, 0.4, 0.6, 0.8, 1.0});
  CHECK(nice_ticks(0, 60, 3) == std::vector<double>{0, 20, 40, 60});
  CHECK(nice_ticks(1, 1).empty());
  CHECK(escape("<a & 'b'>") == "&lt;a &amp; &#39;b&#39;&gt;");
  CHECK(fmt_tick(0.25) == "0.25");
  Chart c;
  c.title = "ROC <test>";
  c.series.push_back({"train", {0, 0.5, 1}, {0, 0.8, 1}});
  c.series.push_back({"bad", {0, 1}, {0}});  // mismatched: skipped
  Series h{"hist", {0, 0.5, 1}, {2, 3}};
  h.step_fill = true;
  c.series.push_back(h);
  Mark diag;
  diag.kind = Mark::Kind::Diagonal;
  c.marks.push_back(diag);
  std::string s = render_svg(c);
  CHECK(s.rfind("<svg", 0) == 0);
  CHECK(s.find("ROC &lt;test&gt;") != std::string::npos);
  CHECK(s.find("<script") == std::string::npos);
  CHECK(s.find(">bad<") == std::string::npos);
  CHECK(s.find("class=\"series\" d=\"M") != std::string::npos);
  CHECK(s.find(" Z\"") != std::string::npos);  // the histogram outline is closed
}

TEST_CASE("report: a run directory without metrics is refused with what to give instead") {
  auto dir = std::filesystem::temp_directory_path() / "fatectl-report-empty";
  std::filesystem::create_directories(dir);
  ReportOptions o;
  o.run_dir = dir.string();
  CHECK_THROWS_WITH_AS(render_report(o), doctest::Contains("no metrics.json"), Error);
  o.run_dir = (dir / "missing").string();
  CHECK_THROWS_WITH_AS(render_report(o), doctest::Contains("not a directory"), Error);
}
