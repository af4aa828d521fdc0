#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "storage/env.h"

namespace tern::storage {
namespace {

class PosixFile final : public File {
 public:
  PosixFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int native_handle() const override { return fd_; }
  ~PosixFile() override {
    Unmap();
    ::close(fd_);
  }

  uint64_t Size() const override {
    struct stat st;
    return ::fstat(fd_, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  }

  absl::Status Allocate(uint64_t size) override {
    if (size <= Size()) return absl::OkStatus();
    const int rc = ::posix_fallocate(fd_, 0, static_cast<off_t>(size));
    if (rc != 0) return ErrnoStatus(rc, absl::StrCat("allocate ", path_));
    return absl::OkStatus();
  }

  absl::Status Truncate(uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) {
      return ErrnoStatus(errno, absl::StrCat("truncate ", path_));
    }
    return absl::OkStatus();
  }

  absl::Status Map(uint64_t length, bool writable, char** address) override {
    Unmap();
    if (length == 0) {
      *address = nullptr;
      return absl::OkStatus();
    }
    void* p =
        ::mmap(nullptr, length, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd_, 0);
    if (p == MAP_FAILED) return ErrnoStatus(errno, absl::StrCat("mmap ", path_));
    map_ = static_cast<char*>(p);
    map_length_ = length;
    *address = map_;
    return absl::OkStatus();
  }

  absl::Status ProtectReadOnly() override {
    if (map_ != nullptr && ::mprotect(map_, map_length_, PROT_READ) != 0) {
      return ErrnoStatus(errno, absl::StrCat("mprotect ", path_));
    }
    return absl::OkStatus();
  }

  void Unmap() override {
    if (map_ != nullptr) ::munmap(map_, map_length_);
    map_ = nullptr;
    map_length_ = 0;
  }

  absl::Status Append(std::string_view data) override {
    const off_t end = static_cast<off_t>(Size());
    std::size_t done = 0;
    while (done < data.size()) {
      const ssize_t n =
          ::pwrite(fd_, data.data() + done, data.size() - done, end + static_cast<off_t>(done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const int error = n < 0 ? errno : EIO;
        (void)::ftruncate(fd_, end);  // leave no partial entry behind
        return ErrnoStatus(error, absl::StrCat("write ", path_));
      }
      done += static_cast<std::size_t>(n);
    }
    return absl::OkStatus();
  }

  absl::Status ReadAll(std::string* out) override {
    out->resize(Size());
    std::size_t done = 0;
    while (done < out->size()) {
      const ssize_t n =
          ::pread(fd_, out->data() + done, out->size() - done, static_cast<off_t>(done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoStatus(errno, absl::StrCat("read ", path_));
      if (n == 0) break;
      done += static_cast<std::size_t>(n);
    }
    out->resize(done);
    return absl::OkStatus();
  }

  absl::Status Sync() override {
    if (::fdatasync(fd_) != 0) return ErrnoStatus(errno, absl::StrCat("fdatasync ", path_));
    return absl::OkStatus();
  }

 private:
  int fd_;
  std::string path_;
  char* map_ = nullptr;
  uint64_t map_length_ = 0;
};

class PosixEnv final : public Env {
 public:
  absl::Status OpenFile(const std::string& path, bool create,
                        std::unique_ptr<File>* file) override {
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0644);
    if (fd < 0) return ErrnoStatus(errno, absl::StrCat("open ", path));
    *file = std::make_unique<PosixFile>(fd, path);
    return absl::OkStatus();
  }

  bool FileExists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }

  absl::Status CreateDirs(const std::string& path) override {
    for (std::size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
      const std::string prefix = path.substr(0, slash);
      if (!prefix.empty() && ::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
        return ErrnoStatus(errno, absl::StrCat("mkdir ", prefix));
      }
      if (slash == std::string::npos) break;
    }
    return absl::OkStatus();
  }

  absl::Status ListDir(const std::string& path, std::vector<std::string>* names) override {
    names->clear();
    DIR* dir = ::opendir(path.c_str());
    if (dir == nullptr) return ErrnoStatus(errno, absl::StrCat("opendir ", path));
    while (const dirent* entry = ::readdir(dir)) {
      const std::string_view name = entry->d_name;
      if (name != "." && name != "..") names->emplace_back(name);
    }
    ::closedir(dir);
    return absl::OkStatus();
  }

  absl::Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return ErrnoStatus(errno, absl::StrCat("unlink ", path));
    }
    return absl::OkStatus();
  }

  absl::Status RenameFile(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return ErrnoStatus(errno, absl::StrCat("rename ", from, " to ", to));
    }
    return absl::OkStatus();
  }

  absl::Status SyncDir(const std::string& path) override {
    const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus(errno, absl::StrCat("open dir ", path));
    const int rc = ::fsync(fd);
    const int error = errno;
    ::close(fd);
    if (rc != 0) return ErrnoStatus(error, absl::StrCat("fsync dir ", path));
    return absl::OkStatus();
  }
};

}  // namespace

Env* Env::Posix() {
  static PosixEnv* env = new PosixEnv();
  return env;
}

absl::Status ErrnoStatus(int error, std::string_view what) {
  const std::string message = std::string(what) + ": " + std::strerror(error);
  if (error == ENOSPC || error == EDQUOT) return absl::ResourceExhaustedError(message);
  if (error == ENOENT) return absl::NotFoundError(message);
  return absl::InternalError(message);
}

absl::Status Env::WriteFileAtomically(const std::string& path, std::string_view data) {
  return WriteFileReplacing(path, data, true);
}

absl::Status Env::WriteFileReplacing(const std::string& path, std::string_view data, bool durable) {
  const std::string temp = path + ".tmp";
  std::unique_ptr<File> file;
  absl::Status status = OpenFile(temp, true, &file);
  if (status.ok()) status = file->Truncate(0);
  if (status.ok()) status = file->Append(data);
  if (status.ok() && durable) status = file->Sync();
  file.reset();
  if (status.ok()) status = RenameFile(temp, path);
  if (!status.ok()) {
    (void)RemoveFile(temp);
    return status;
  }
  if (!durable) return absl::OkStatus();
  const std::size_t slash = path.rfind('/');
  return SyncDir(slash == std::string::npos ? "." : path.substr(0, slash));
}

}  // namespace tern::storage
