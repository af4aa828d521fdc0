// An in-memory Env: files are heap buffers, "mappings" point straight into them. Used by
// memory-storage streams, so they share every line of the log's logic with file streams.
#include <cstring>
#include <map>

#include "absl/strings/str_cat.h"
#include "storage/env.h"

namespace tern::storage {
namespace {

struct MemoryFileData {
  std::unique_ptr<char[]> bytes;
  uint64_t capacity = 0;
  uint64_t size = 0;
  bool mapped = false;
};

class MemoryFile final : public File {
 public:
  explicit MemoryFile(std::shared_ptr<MemoryFileData> data) : data_(std::move(data)) {}
  ~MemoryFile() override { Unmap(); }

  uint64_t Size() const override { return data_->size; }

  absl::Status Allocate(uint64_t size) override {
    if (size > data_->capacity) {
      if (data_->mapped) return absl::InternalError("memory file grown while mapped");
      Reserve(size);
    }
    if (size > data_->size) {
      std::memset(data_->bytes.get() + data_->size, 0, size - data_->size);
      data_->size = size;
    }
    return absl::OkStatus();
  }

  absl::Status Truncate(uint64_t size) override {
    if (size > data_->capacity) Reserve(size);
    if (size > data_->size) std::memset(data_->bytes.get() + data_->size, 0, size - data_->size);
    data_->size = size;
    return absl::OkStatus();
  }

  absl::Status Map(uint64_t length, bool writable, char** address) override {
    if (length > data_->capacity) return absl::InternalError("memory map past the allocation");
    data_->mapped = true;
    *address = data_->bytes.get();
    return absl::OkStatus();
  }

  absl::Status ProtectReadOnly() override { return absl::OkStatus(); }
  void Unmap() override { data_->mapped = false; }

  absl::Status Append(std::string_view data) override {
    if (data.empty()) return absl::OkStatus();  // a new file has no buffer to memcpy into
    if (data_->size + data.size() > data_->capacity) {
      if (data_->mapped) return absl::InternalError("memory file grown while mapped");
      Reserve(std::max<uint64_t>(data_->size + data.size(), data_->capacity * 2));
    }
    std::memcpy(data_->bytes.get() + data_->size, data.data(), data.size());
    data_->size += data.size();
    return absl::OkStatus();
  }

  absl::Status ReadAll(std::string* out) override {
    out->assign(data_->bytes.get(), data_->size);
    return absl::OkStatus();
  }

  absl::Status Sync() override { return absl::OkStatus(); }

 private:
  // New bytes read as zero, as they do in a file extended by fallocate.
  void Reserve(uint64_t capacity) {
    auto bytes = std::make_unique<char[]>(capacity);
    if (data_->size > 0) std::memcpy(bytes.get(), data_->bytes.get(), data_->size);
    std::memset(bytes.get() + data_->size, 0, capacity - data_->size);
    data_->bytes = std::move(bytes);
    data_->capacity = capacity;
  }

  std::shared_ptr<MemoryFileData> data_;
};

class MemoryEnv final : public Env {
 public:
  absl::Status OpenFile(const std::string& path, bool create,
                        std::unique_ptr<File>* file) override {
    auto it = files_.find(path);
    if (it == files_.end()) {
      if (!create) return absl::NotFoundError(absl::StrCat("open ", path, ": no such file"));
      it = files_.emplace(path, std::make_shared<MemoryFileData>()).first;
    }
    *file = std::make_unique<MemoryFile>(it->second);
    return absl::OkStatus();
  }

  bool FileExists(const std::string& path) override { return files_.count(path) > 0; }
  absl::Status CreateDirs(const std::string& path) override { return absl::OkStatus(); }

  absl::Status ListDir(const std::string& path, std::vector<std::string>* names) override {
    names->clear();
    const std::string prefix = path + "/";
    for (auto it = files_.lower_bound(prefix); it != files_.end(); ++it) {
      if (it->first.compare(0, prefix.size(), prefix) != 0) break;
      const std::string name = it->first.substr(prefix.size());
      if (name.find('/') == std::string::npos) names->push_back(name);
    }
    return absl::OkStatus();
  }

  absl::Status RemoveFile(const std::string& path) override {
    files_.erase(path);
    return absl::OkStatus();
  }

  absl::Status RenameFile(const std::string& from, const std::string& to) override {
    auto it = files_.find(from);
    if (it == files_.end()) return absl::NotFoundError(absl::StrCat("rename ", from));
    auto data = it->second;
    files_.erase(it);
    files_[to] = std::move(data);
    return absl::OkStatus();
  }

  absl::Status SyncDir(const std::string& path) override { return absl::OkStatus(); }

 private:
  std::map<std::string, std::shared_ptr<MemoryFileData>> files_;
};

}  // namespace

std::unique_ptr<Env> NewMemoryEnv() { return std::make_unique<MemoryEnv>(); }

}  // namespace tern::storage
