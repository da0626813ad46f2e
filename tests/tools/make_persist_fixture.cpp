// Regenerates the persist-directory fixture of the unit tests: a real Chroma server (the pinned
// 1.0.5, tests/support/chroma_server.hpp) writes read_only_fixture() (the read-only conformance
// suite's data, tests/support/store_conformance.hpp), is stopped with SIGTERM, and its persist
// directory is packed into the tarball named on the command line:
//
//   build/tests/make_persist_fixture tests/data/persist/conformance-1.0.5.tar.gz
//
// Run it again whenever read_only_fixture() changes (the unit test would fail on the stale one).
#include <iostream>

#include "common/chroma/chroma_http_store.hpp"
#include "tests/support/chroma_server.hpp"
#include "tests/support/process.hpp"
#include "tests/support/store_conformance.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_persist_fixture OUT.tar.gz\n";
    return 2;
  }
  const std::filesystem::path out = std::filesystem::absolute(argv[1]);
  auto server = cm::testing::ChromaServer::start();
  if (!server) {
    std::cerr << server.error().message << "\n";
    return 1;
  }
  auto uri = cm::parse_store_uri((*server)->url());
  if (!uri) {
    std::cerr << uri.error().message << "\n";
    return 1;
  }
  auto store = cm::ChromaHttpStore::open(*uri);
  if (!store) {
    std::cerr << store.error().message << "\n";
    return 1;
  }
  if (auto written = cm::testing::write_read_only_fixture(**store); !written) {
    std::cerr << written.error().message << "\n";
    return 1;
  }
  (*server)->stop();
  // Reproducible bytes: sorted names, no owners, one fixed time.
  auto tar = cm::testing::run_process(
      "/bin/tar", {"--sort=name", "--owner=0", "--group=0", "--numeric-owner", "--mtime=@0", "-czf",
                   out.string(), "-C", (*server)->persist_dir().string(), "."});
  if (tar.exit_code != 0) {
    std::cerr << "tar failed: " << tar.output << "\n";
    return 1;
  }
  std::cout << "wrote " << out << "\n";
  return 0;
}
