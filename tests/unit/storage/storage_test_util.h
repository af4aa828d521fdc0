#pragma once
// Helpers for the storage tests: a scratch directory and an Env that injects faults.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>

#include "storage/env.h"

namespace tern::storage::testing {

// A fresh directory under $TMPDIR, removed with everything in it at destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "tern-storage-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void WriteFileBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Wraps the real file system and fails chosen operations: disk full after a byte budget
// of allocations and appends, or every sync failing with EIO.
class FaultEnv : public Env {
 public:
  int64_t space_left = INT64_MAX;  // bytes that Allocate/Append may still add
  bool fail_sync = false;

  absl::Status OpenFile(const std::string& path, bool create,
                        std::unique_ptr<File>* file) override {
    std::unique_ptr<File> real;
    absl::Status status = Env::Posix()->OpenFile(path, create, &real);
    if (status.ok()) *file = std::make_unique<FaultFile>(this, std::move(real));
    return status;
  }
  bool FileExists(const std::string& path) override { return Env::Posix()->FileExists(path); }
  absl::Status CreateDirs(const std::string& path) override {
    return Env::Posix()->CreateDirs(path);
  }
  absl::Status ListDir(const std::string& path, std::vector<std::string>* names) override {
    return Env::Posix()->ListDir(path, names);
  }
  absl::Status RemoveFile(const std::string& path) override {
    return Env::Posix()->RemoveFile(path);
  }
  absl::Status RenameFile(const std::string& from, const std::string& to) override {
    return Env::Posix()->RenameFile(from, to);
  }
  absl::Status SyncDir(const std::string& path) override {
    if (fail_sync) return ErrnoStatus(EIO, "fsync dir");
    return Env::Posix()->SyncDir(path);
  }

 private:
  class FaultFile : public File {
   public:
    FaultFile(FaultEnv* env, std::unique_ptr<File> real) : env_(env), real_(std::move(real)) {}
    uint64_t Size() const override { return real_->Size(); }
    absl::Status Allocate(uint64_t size) override {
      const uint64_t growth = size > real_->Size() ? size - real_->Size() : 0;
      if (!Spend(growth)) return ErrnoStatus(ENOSPC, "allocate");
      return real_->Allocate(size);
    }
    absl::Status Truncate(uint64_t size) override { return real_->Truncate(size); }
    absl::Status Map(uint64_t length, bool writable, char** address) override {
      return real_->Map(length, writable, address);
    }
    absl::Status ProtectReadOnly() override { return real_->ProtectReadOnly(); }
    void Unmap() override { real_->Unmap(); }
    absl::Status Append(std::string_view data) override {
      if (!Spend(data.size())) return ErrnoStatus(ENOSPC, "write");
      return real_->Append(data);
    }
    absl::Status ReadAll(std::string* out) override { return real_->ReadAll(out); }
    absl::Status Sync() override {
      if (env_->fail_sync) return ErrnoStatus(EIO, "fdatasync");
      return real_->Sync();
    }

   private:
    bool Spend(uint64_t bytes) {
      if (static_cast<int64_t>(bytes) > env_->space_left) return false;
      env_->space_left -= static_cast<int64_t>(bytes);
      return true;
    }
    FaultEnv* env_;
    std::unique_ptr<File> real_;
  };
};

}  // namespace tern::storage::testing
