#include "common/report/html_page.hpp"

#include <exception>
#include <map>
#include <mutex>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/base/atomic_file.hpp"
#include "common/report/svg_plot.hpp"

namespace cm::report {

// The shared partials (common/report/templates/*.mustache, embedded by cmake/embed_text.cmake).
extern const std::string_view kStylePartial;
extern const std::string_view kFooterPartial;

mstch::node to_mstch(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::object: {
      mstch::map out;
      for (const auto& [key, v] : value.items()) out.emplace(key, to_mstch(v));
      return out;
    }
    case nlohmann::json::value_t::array: {
      mstch::array out;
      out.reserve(value.size());
      for (const auto& v : value) out.push_back(to_mstch(v));
      return out;
    }
    case nlohmann::json::value_t::string:
      return value.get<std::string>();
    case nlohmann::json::value_t::boolean:
      return value.get<bool>();
    case nlohmann::json::value_t::number_integer:
      return fmt::format("{}", value.get<std::int64_t>());
    case nlohmann::json::value_t::number_unsigned:
      return fmt::format("{}", value.get<std::uint64_t>());
    case nlohmann::json::value_t::number_float:
      return fmt::format("{}", value.get<double>());
    default:
      return nullptr;
  }
}

Result<std::string> render_page(std::string_view page_template, const nlohmann::json& view) {
  // mstch's own escape also turns / into &#x2F;, which makes every path and URL in the page's
  // source unreadable (and unsearchable) for nothing: HTML text needs & < > " ' only, the same
  // escape as the SVG's labels. mstch keeps it in a global, set once.
  static std::once_flag escape_set;
  std::call_once(escape_set, [] { mstch::config::escape = xml_escape; });
  const std::map<std::string, std::string> partials = {{"style", std::string(kStylePartial)},
                                                       {"footer", std::string(kFooterPartial)}};
  try {
    return mstch::render(std::string(page_template), to_mstch(view), partials);
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kInternal, std::string("rendering the page: ") + e.what());
  }
}

Result<std::string> build_and_render(std::string_view page_template,
                                     const std::function<nlohmann::json()>& make_view) {
  nlohmann::json view;
  try {
    view = make_view();
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kInternal, std::string("building the page's view: ") + e.what());
  }
  return render_page(page_template, view);
}

const nlohmann::json& object_at(const nlohmann::json& j, const char* key) {
  static const nlohmann::json empty = nlohmann::json::object();
  if (!j.is_object()) return empty;
  const auto it = j.find(key);
  return it != j.end() && it->is_object() ? *it : empty;
}

const nlohmann::json& array_at(const nlohmann::json& j, const char* key) {
  static const nlohmann::json empty = nlohmann::json::array();
  if (!j.is_object()) return empty;
  const auto it = j.find(key);
  return it != j.end() && it->is_array() ? *it : empty;
}

std::filesystem::path html_path_for(const std::filesystem::path& json_path) {
  auto html = json_path;
  html.replace_extension(".html");
  return html;
}

std::optional<std::filesystem::path> write_page_beside(const std::filesystem::path& json_path,
                                                       const Result<std::string>& page) {
  const auto html = html_path_for(json_path);
  Status written = page ? write_file_atomic(html, *page) : Status(std::unexpected(page.error()));
  if (written) return html;
  std::error_code ignored;
  std::filesystem::remove(html, ignored);
  spdlog::warn("{} not written ({}); {} is the report", html.string(), written.error().message,
               json_path.string());
  return std::nullopt;
}

std::string field_text(const nlohmann::json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || j[key].is_null()) return "";
  return j[key].is_string() ? j[key].get<std::string>()
                            : j[key].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

double field_number(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_number() ? j[key].get<double>() : 0.0;
}

}  // namespace cm::report
