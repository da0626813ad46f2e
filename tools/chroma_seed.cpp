// chroma-seed: fills a Chroma server (or snapshot) with the deterministic demo corpus
// (tools/corpus.hpp). Used by the demo, the integration tests and the benchmark.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "common/base/logging.hpp"
#include "common/base/progress.hpp"
#include "common/cli/cli_edge.hpp"
#include "common/run/store_factory.hpp"
#include "tools/corpus.hpp"

namespace {

cm::Status seed_collection(cm::VectorStore& store, const cm::corpus::CorpusOptions& o,
                           std::size_t c, const cm::CollectionSpec& spec, std::size_t batch,
                           std::size_t workers) {
  CM_ASSIGN_OR_RETURN(auto info, store.create_collection(spec));
  const std::size_t n = cm::corpus::records_in(o, c);
  cm::Progress bar("seed " + spec.name, n);
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  cm::Error first;
  std::mutex mutex;
  auto worker = [&] {
    for (std::size_t start = next.fetch_add(batch); start < n && !failed;
         start = next.fetch_add(batch)) {
      std::vector<cm::Record> records;
      for (std::size_t i = start; i < std::min(n, start + batch); ++i)
        records.push_back(cm::corpus::make_record(o, c, i));
      if (auto s = store.upsert(info, records); !s) {
        std::lock_guard lock(mutex);
        if (!failed.exchange(true)) first = s.error();
        return;
      }
      bar.advance(records.size());
    }
  };
  {
    std::vector<std::jthread> threads;
    for (std::size_t w = 0; w < workers; ++w) threads.emplace_back(worker);
  }
  bar.finish();
  if (failed) return std::unexpected(first);
  return store.flush();
}

int run(int argc, char** argv) {
  CLI::App app{
      "chroma-seed: create the demo corpus (4 collections, cosine/l2/ip, mixed metadata) in a "
      "store"};
  std::string target;
  cm::corpus::CorpusOptions o;
  std::size_t batch = 1000, workers = 2;
  app.add_option("--target", target, "http(s)://host:port or snapshot:DIR")->required();
  app.add_option("--records", o.total_records, "total records over all collections")
      ->capture_default_str();
  app.add_option("--collections", o.collections, "number of collections (1-4)")
      ->capture_default_str()
      ->check(CLI::Range(1, 4));
  app.add_option("--dimension", o.dimension, "embedding dimension")
      ->capture_default_str()
      ->check(CLI::Range(1, 8192));
  app.add_option("--seed", o.seed, "generator seed")->capture_default_str();
  app.add_option("--prefix", o.prefix, "prefix for collection names");
  app.add_option("--batch-size", batch, "records per upsert")->capture_default_str();
  app.add_option("--workers", workers, "requests in flight")
      ->capture_default_str()
      ->check(CLI::Range(1, 16));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? cm::kExitOk : cm::kExitUsage;
  }
  cm::init_console_logging("chroma-seed");

  auto uri = cm::parse_store_uri(target);
  if (!uri) return cm::fail({cm::ErrorCode::kInvalidArgument, uri.error().message});
  auto store = cm::open_store(*uri, cm::StoreRole::kTarget, cm::StoreOpenOptions{});
  if (!store) return cm::fail(store.error());
  auto start = std::chrono::steady_clock::now();
  auto specs = cm::corpus::collection_specs(o);
  for (std::size_t c = 0; c < specs.size(); ++c) {
    if (auto s = seed_collection(**store, o, c, specs[c], batch, workers); !s) {
      return cm::fail(std::move(s).error().with_context("seeding " + specs[c].name));
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  spdlog::info("seeded {} records in {} collections of dimension {} in {:.1f}s ({:.0f} records/s)",
               o.total_records, specs.size(), o.dimension, secs,
               static_cast<double>(o.total_records) / secs);
  return cm::kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  return cm::run_cli("chroma-seed", run, argc, argv);
}
