#include "tests/support/html_checks.hpp"

#include <algorithm>
#include <cctype>
#include <regex>

namespace cm::testing {
namespace {

std::string ascii_lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string attribute(const std::string& tag, const std::string& name) {
  const std::regex re("\\s" + name + "=\"([^\"]*)\"");
  std::smatch m;
  return std::regex_search(tag, m, re) ? m[1].str() : std::string();
}

}  // namespace

std::vector<std::string> external_references(const std::string& html) {
  std::vector<std::string> out;
  const std::string l = ascii_lower(html);
  for (const char* bad : {"<script", "<link", "<iframe", "<object", "<embed", "<img", "@import",
                          "url(", "xlink:href", " src=", "<base", "<meta http-equiv"}) {
    if (l.find(bad) != std::string::npos) out.push_back(std::string("contains ") + bad);
  }
  const std::regex href("href=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(l.begin(), l.end(), href); it != std::sregex_iterator();
       ++it) {
    if (!(*it)[1].str().starts_with("#")) out.push_back("href to " + (*it)[1].str());
  }
  return out;
}

std::optional<std::string> element_with_id(const std::string& html, const std::string& id) {
  const auto at = html.find("id=\"" + id + "\"");
  if (at == std::string::npos) return std::nullopt;
  const auto open = html.rfind('<', at);
  const auto close = html.find('>', at);
  return html.substr(open, close - open + 1);
}

std::optional<std::string> svg_with_id(const std::string& html, const std::string& id) {
  const auto at = html.find("<svg id=\"" + id + "\"");
  if (at == std::string::npos) return std::nullopt;
  const auto end = html.find("</svg>", at);
  if (end == std::string::npos) return std::nullopt;
  return html.substr(at, end + 6 - at);
}

std::vector<double> data_values(const std::string& svg, const std::string& label) {
  std::vector<double> out;
  const std::regex tag("<(rect|line)[^>]*>");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), tag); it != std::sregex_iterator();
       ++it) {
    const std::string t = it->str();
    if (attribute(t, "data-label") == label && !attribute(t, "data-value").empty())
      out.push_back(std::stod(attribute(t, "data-value")));
  }
  return out;
}

std::vector<std::pair<double, double>> data_points(const std::string& svg) {
  std::vector<std::pair<double, double>> out;
  const std::regex tag("<circle[^>]*>");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), tag); it != std::sregex_iterator();
       ++it) {
    const std::string t = it->str();
    out.emplace_back(std::stod(attribute(t, "data-x")), std::stod(attribute(t, "data-y")));
  }
  return out;
}

std::size_t occurrences(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + needle.size()))
    ++n;
  return n;
}

}  // namespace cm::testing
