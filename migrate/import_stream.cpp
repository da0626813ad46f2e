#include "migrate/import_stream.hpp"

#include <spdlog/spdlog.h>

#include "migrate/import_targets.hpp"

namespace cm::migrate {

bool pipelining_allowed(const PhaseContext& ctx) {
  if (!ctx.options.pipeline || ctx.options.dry_run || ctx.mapping || ctx.contract) return false;
  if (ctx.options.stage) return true;  // live names are not touched before the cutover
  // In place, only a run that creates every target collection: replacing or merging into a live
  // collection waits until the export is sealed and verified, so a source that fails mid-export
  // leaves the live collections as they were.
  for (const auto& entry : ctx.manifest.get().target_collections) {
    if (entry.action != LedgerAction::kCreated) return false;
  }
  return true;
}

StreamedParts streamed_parts(const ckpt::Checkpoint& checkpoint, const std::string& collection) {
  StreamedParts out;
  const auto* progress = checkpoint.find(kStageStream, collection);
  if (!progress) return out;
  for (const auto& file : progress->details.value("parts", nlohmann::json::array())) {
    out.files.insert(file.get<std::string>());
  }
  out.records = progress->details.value("records", std::uint64_t{0});
  return out;
}

Result<std::unique_ptr<ImportStream>> ImportStream::start(PhaseContext& ctx,
                                                          SnapshotStore& snapshot) {
  CM_RETURN_IF_ERROR(run_backup(ctx));
  auto stream = std::unique_ptr<ImportStream>(new ImportStream(ctx, snapshot));
  const auto manifest = ctx.manifest.get();
  for (const auto& entry : manifest.target_collections) {
    // Identity transform: each target collection is the source collection of the same name, and
    // the export snapshot holds it as planned (created by the export's plan).
    CM_ASSIGN_OR_RETURN(auto planned, snapshot.find_collection(entry.name));
    if (!planned) {
      return make_error(ErrorCode::kInternal, "export snapshot lacks '" + entry.name + "'");
    }
    auto target = prepare_import_target(ctx, entry, *planned);
    if (!target) {
      return std::unexpected(
          std::move(target).error().with_context("importing '" + entry.name + "'"));
    }
    stream->targets_.emplace(entry.name, Target{*target, entry.action});
  }
  if (ctx.import_rate) {
    const auto checkpoint = ctx.checkpoint.snapshot();
    std::uint64_t already = 0;
    for (const auto& entry : manifest.target_collections) {
      already += streamed_parts(checkpoint, entry.name).records;
    }
    ctx.import_rate->start(already);
  }
  const std::size_t workers = std::max<std::size_t>(1, ctx.options.workers);
  stream->capacity_ = 2 * workers;
  for (std::size_t i = 0; i < workers; ++i)
    stream->threads_.emplace_back([s = stream.get()] { s->work(); });
  spdlog::info("import pipelined with the export: {} target collection(s), {} worker(s)",
               stream->targets_.size(), workers);
  return stream;
}

ImportStream::~ImportStream() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    if (!error_) error_ = Error{ErrorCode::kCancelled, "the export stopped", 0};
  }
  changed_.notify_all();
  for (auto& t : threads_) t.join();
}

Status ImportStream::push(const std::string& collection, std::string file, std::size_t records) {
  std::unique_lock lock(mu_);
  changed_.wait(lock, [&] { return error_ || queue_.size() < capacity_; });
  if (error_) return std::unexpected(*error_);
  queue_.push_back(Part{collection, std::move(file), records});
  changed_.notify_all();
  return ok_status();
}

Result<std::uint64_t> ImportStream::finish() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  changed_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
  if (error_) return std::unexpected(*error_);
  spdlog::info("pipelined import: {} record(s) sent while exporting", sent_);
  return sent_;
}

void ImportStream::work() {
  while (true) {
    Part part;
    {
      std::unique_lock lock(mu_);
      changed_.wait(lock, [&] { return error_ || closed_ || !queue_.empty(); });
      if (error_ || queue_.empty()) return;  // failed, or closed and drained
      part = std::move(queue_.front());
      queue_.pop_front();
      changed_.notify_all();
    }
    if (Status sent = send(part); !sent) {
      fail(std::move(sent).error());
      return;
    }
  }
}

Status ImportStream::send(const Part& part) {
  const auto it = targets_.find(part.collection);
  if (it == targets_.end()) {
    return make_error(ErrorCode::kInternal, "no target for '" + part.collection + "'");
  }
  CM_ASSIGN_OR_RETURN(auto records,
                      snapshot_.read_part_file(part.collection, part.file, part.records));
  CM_RETURN_IF_ERROR(write_to_target(ctx_, it->second.info, it->second.action, records));
  CM_RETURN_IF_ERROR(ctx_.checkpoint.update([&](ckpt::Checkpoint& c) {
    auto& details = c.progress(kStageStream, part.collection).details;
    if (!details.contains("parts")) details["parts"] = nlohmann::json::array();
    details["parts"].push_back(part.file);
    details["records"] = details.value("records", std::uint64_t{0}) + records.size();
  }));
  if (ctx_.import_rate) ctx_.import_rate->add(records.size());
  std::lock_guard lock(mu_);
  sent_ += records.size();
  return ok_status();
}

void ImportStream::fail(Error error) {
  {
    std::lock_guard lock(mu_);
    if (!error_) error_ = std::move(error);
  }
  changed_.notify_all();
}

}  // namespace cm::migrate
