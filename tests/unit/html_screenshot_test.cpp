// A report page rendered by a real browser (headless Chromium, Debian's `chromium`) is not blank:
// its screenshot differs from an empty page's and holds far more detail (PNG size: a blank page
// compresses to almost nothing). Skipped, with the reason, when chromium is not installed.
// CM_SCREENSHOT_DIR=<dir> also keeps the validation, rollback and migration pages' screenshots
// there, for people to look at.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/base/atomic_file.hpp"
#include "migrate/summary_page.hpp"
#include "rollback/html_page.hpp"
#include "tests/support/process.hpp"
#include "validate/html_page.hpp"

namespace cm {
namespace {

namespace fs = std::filesystem;
constexpr const char* kChromium = "/usr/bin/chromium";

nlohmann::json fixture(const std::string& name) {
  std::ifstream in(std::string(CM_SOURCE_DIR) + "/tests/data/report/" + name);
  std::stringstream s;
  s << in.rdbuf();
  return nlohmann::json::parse(s.str());
}

class HtmlScreenshot : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kChromium))
      GTEST_SKIP() << kChromium << " not installed (apt-get install chromium)";
    dir_ = fs::temp_directory_path() / ("cm_html_screenshot_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ignored;
    if (!dir_.empty()) fs::remove_all(dir_, ignored);
  }

  // Screenshot of `html` (written to <name>.html); returns the PNG's path.
  fs::path screenshot(const std::string& name, const std::string& html, int height = 1600) {
    const auto page = dir_ / (name + ".html");
    const auto png = dir_ / (name + ".png");
    EXPECT_TRUE(write_file_atomic(page, html));
    std::vector<std::string> args = {"120",
                                     kChromium,
                                     "--headless",
                                     "--disable-gpu",
                                     "--hide-scrollbars",
                                     "--no-first-run",
                                     "--user-data-dir=" + (dir_ / "profile").string(),
                                     "--screenshot=" + png.string(),
                                     "--window-size=1100," + std::to_string(height)};
    if (::geteuid() == 0) args.insert(args.begin() + 2, "--no-sandbox");  // root needs it
    args.push_back("file://" + page.string());
    const auto r = cm::testing::run_process("/usr/bin/timeout", args);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(fs::exists(png)) << r.output;
    if (const char* keep = std::getenv("CM_SCREENSHOT_DIR"); keep && fs::exists(png)) {
      fs::copy_file(png, fs::path(keep) / (name + ".png"), fs::copy_options::overwrite_existing);
      fs::copy_file(page, fs::path(keep) / (name + ".html"), fs::copy_options::overwrite_existing);
    }
    return png;
  }

  fs::path dir_;
};

std::string bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST_F(HtmlScreenshot, ValidationPageIsNotBlank) {
  const auto blank = screenshot("blank", "<!DOCTYPE html><html><body></body></html>");
  auto page = validate::render_validation_page(fixture("validation_report_failed.json"),
                                               "validation_report.json");
  ASSERT_TRUE(page) << page.error().message;
  const auto shot = screenshot("validation_report", *page);
  const auto a = bytes(blank), b = bytes(shot);
  ASSERT_TRUE(b.starts_with("\x89PNG\r\n\x1a\n")) << "not a PNG";
  EXPECT_NE(a, b);
  // Text, tables and plots: a blank page of the same size is a few KB, this is tens.
  EXPECT_GT(b.size(), 5 * a.size()) << "blank " << a.size() << " bytes, page " << b.size();
}

TEST_F(HtmlScreenshot, RollbackAndMigrationPagesAreNotBlank) {
  const auto blank = bytes(screenshot("blank", "<!DOCTYPE html><html><body></body></html>"));
  auto rollback = rollback::render_rollback_page(fixture("rollback_report.json"));
  auto summary = migrate::render_summary_page(fixture("migration_summary.json"));
  ASSERT_TRUE(rollback && summary);
  EXPECT_GT(bytes(screenshot("rollback_report", *rollback)).size(), 5 * blank.size());
  EXPECT_GT(bytes(screenshot("migration_summary", *summary)).size(), 5 * blank.size());
}

}  // namespace
}  // namespace cm
