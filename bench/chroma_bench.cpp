// chroma-bench: same-run baselines for bench/run.sh, measured with the server's own API and no
// migration logic in the way.
//   raw-ingest: pre-builds every upsert body (base64, exactly what chroma-migrate sends) for the
//               corpus, then only times POSTing them with --workers clients: the target's ceiling.
//   raw-get:    times paginated get (embeddings, documents, metadatas) of every collection with
//               --workers clients, bodies downloaded but not parsed: the source's read ceiling.
//   mutate:     changes --fraction of every collection's records like a live writer would: of
//               the chosen ids, a third get a new vector, a third are deleted, and as many new
//               records are added; prints {"mode", "changed", "deleted", "added"}.
// The others print one JSON line: {"mode", "records", "seconds", "records_per_second", "bytes"}.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "common/chroma/chroma_http_store.hpp"
#include "common/chroma/chroma_wire.hpp"
#include "common/chroma/http_client.hpp"
#include "tools/corpus.hpp"

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& what, const cm::Error& e) {
  std::fprintf(stderr, "chroma-bench: %s: %s\n", what.c_str(), e.message.c_str());
  std::exit(1);
}

std::string collection_path(const cm::StoreUri& uri, const std::string& id, const char* action) {
  return "/api/v2/tenants/" + uri.tenant + "/databases/" + uri.database + "/collections/" + id +
         "/" + action;
}

// Runs `jobs` on `workers` threads; each job is one request; returns seconds and bytes received.
std::pair<double, std::uint64_t> run_requests(
    cm::HttpClient& http, std::size_t workers,
    const std::vector<std::pair<std::string, std::string>>& jobs) {
  std::atomic<std::size_t> next{0};
  std::atomic<std::uint64_t> bytes{0};
  auto start = Clock::now();
  {
    std::vector<std::jthread> threads;
    for (std::size_t w = 0; w < workers; ++w) {
      threads.emplace_back([&] {
        for (std::size_t i = next++; i < jobs.size(); i = next++) {
          auto response = http.request("POST", jobs[i].first, jobs[i].second);
          if (!response) die("request", response.error());
          if (response->status != 200)
            die("request", {cm::ErrorCode::kRejected, response->body.substr(0, 300)});
          bytes += response->body.size();
        }
      });
    }
  }
  return {std::chrono::duration<double>(Clock::now() - start).count(), bytes.load()};
}

void print(const char* mode, std::uint64_t records, double seconds, std::uint64_t bytes) {
  nlohmann::json out = {{"mode", mode},
                        {"records", records},
                        {"seconds", seconds},
                        {"records_per_second", static_cast<double>(records) / seconds},
                        {"bytes", bytes}};
  std::printf("%s\n", out.dump().c_str());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"chroma-bench: raw server baselines for bench/run.sh"};
  app.require_subcommand(1);
  std::string url;
  cm::corpus::CorpusOptions corpus;
  std::size_t batch = 1000, workers = 2;
  auto* ingest = app.add_subcommand("raw-ingest", "time pre-built base64 upserts of the corpus");
  ingest->add_option("--target", url)->required();
  ingest->add_option("--records", corpus.total_records)->capture_default_str();
  ingest->add_option("--dimension", corpus.dimension)->capture_default_str();
  ingest->add_option("--seed", corpus.seed)->capture_default_str();
  auto* get = app.add_subcommand("raw-get", "time paginated get of every collection");
  get->add_option("--source", url)->required();
  for (auto* sub : {ingest, get}) {
    sub->add_option("--batch-size", batch)->capture_default_str();
    sub->add_option("--workers", workers)->capture_default_str();
  }
  double fraction = 0.01;
  auto* mutate = app.add_subcommand("mutate", "change a fraction of the records (bench/sync.sh)");
  mutate->add_option("--source", url)->required();
  mutate->add_option("--fraction", fraction)->capture_default_str()->check(CLI::Range(0.0, 1.0));
  CLI11_PARSE(app, argc, argv);

  auto uri = cm::parse_store_uri(url);
  if (!uri) die("uri", uri.error());
  auto store = cm::ChromaHttpStore::open(*uri);
  if (!store) die("open", store.error());
  if (auto s = (*store)->ensure_database(); !s) die("database", s.error());
  cm::HttpClient http(uri->base_url);
  std::vector<std::pair<std::string, std::string>> jobs;
  std::uint64_t records = 0;

  if (*mutate) {
    auto collections = (*store)->list_collections();
    if (!collections) die("list", collections.error());
    std::uint64_t changed = 0, deleted = 0, added = 0;
    const auto step = static_cast<std::uint64_t>(1.0 / std::max(fraction, 1e-9));
    for (const auto& c : *collections) {
      std::vector<std::string> chosen;
      for (std::uint64_t offset = 0;; offset += 10000) {
        auto ids = (*store)->list_ids(c, offset, 10000);
        if (!ids) die("list ids", ids.error());
        for (std::size_t i = 0; i < ids->size(); ++i) {
          if ((offset + i) % step == 0) chosen.push_back((*ids)[i]);
        }
        if (ids->size() < 10000) break;
      }
      auto chosen_records = (*store)->get_records(c, chosen);
      if (!chosen_records) die("get", chosen_records.error());
      std::vector<cm::Record> rewrite, fresh;
      std::vector<std::string> gone;
      for (std::size_t i = 0; i < chosen_records->size(); ++i) {
        cm::Record r = (*chosen_records)[i];
        if (i % 3 == 0) {
          r.embedding[0] = -r.embedding[0];  // the vector alone changes
          rewrite.push_back(std::move(r));
        } else if (i % 3 == 1) {
          gone.push_back(r.id);
        } else {
          r.id += "-new";
          fresh.push_back(std::move(r));
        }
      }
      for (const auto* part : {&rewrite, &fresh}) {
        if (part->empty()) continue;
        if (auto st = (*store)->upsert(c, *part); !st) die("upsert", st.error());
      }
      if (!gone.empty()) {
        if (auto st = (*store)->delete_records(c, gone); !st) die("delete", st.error());
      }
      changed += rewrite.size();
      deleted += gone.size();
      added += fresh.size();
    }
    std::printf(
        "%s\n",
        nlohmann::json(
            {{"mode", "mutate"}, {"changed", changed}, {"deleted", deleted}, {"added", added}})
            .dump()
            .c_str());
    return 0;
  }
  if (*ingest) {
    auto specs = cm::corpus::collection_specs(corpus);
    for (std::size_t c = 0; c < specs.size(); ++c) {
      auto info = (*store)->create_collection(specs[c]);
      if (!info) die("create " + specs[c].name, info.error());
      const std::size_t n = cm::corpus::records_in(corpus, c);
      for (std::size_t start = 0; start < n; start += batch) {
        std::vector<cm::Record> rs;
        for (std::size_t i = start; i < std::min(n, start + batch); ++i)
          rs.push_back(cm::corpus::make_record(corpus, c, i));
        jobs.emplace_back(collection_path(*uri, info->id, "upsert"),
                          cm::encode_upsert_body(rs, true));
        records += rs.size();
      }
    }
    auto [seconds, bytes] = run_requests(http, workers, jobs);
    print("raw-ingest", records, seconds, bytes);
  } else {
    auto collections = (*store)->list_collections();
    if (!collections) die("list", collections.error());
    for (const auto& c : *collections) {
      auto count = (*store)->count(c);
      if (!count) die("count", count.error());
      for (std::uint64_t offset = 0; offset < *count; offset += batch) {
        nlohmann::json body = {{"limit", batch},
                               {"offset", offset},
                               {"include", {"embeddings", "documents", "metadatas"}}};
        jobs.emplace_back(collection_path(*uri, c.id, "get"), body.dump());
      }
      records += *count;
    }
    auto [seconds, bytes] = run_requests(http, workers, jobs);
    print("raw-get", records, seconds, bytes);
  }
  return 0;
}
