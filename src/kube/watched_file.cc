#include "kube/watched_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace anchor_events::kube {
namespace {

// A file whose stat did not change is still read again after this long, in case a rotation
// kept inode, size and mtime (client-go's token file cache uses the same period).
constexpr auto kRecheck = std::chrono::seconds(60);

}  // namespace

WatchedFile::WatchedFile(std::string path, std::string what)
    : path_(std::move(path)), what_(std::move(what)) {}

Result<std::string> WatchedFile::Content() {
  std::lock_guard<std::mutex> lock(mu_);
  struct stat now {};
  if (stat(path_.c_str(), &now) != 0) {
    return Failed(std::strerror(errno));
  }
  auto clock = std::chrono::steady_clock::now();
  if (loaded_ && SameFile(now) && clock - read_at_ < kRecheck) {
    return content_;
  }
  std::ifstream in(path_, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in || in.bad()) {
    return Failed("cannot be read");
  }
  content_ = text.str();
  seen_ = now;
  loaded_ = true;
  read_at_ = clock;
  return content_;
}

bool WatchedFile::SameFile(const struct stat& now) const {
  return now.st_dev == seen_.st_dev && now.st_ino == seen_.st_ino && now.st_size == seen_.st_size &&
         now.st_mtim.tv_sec == seen_.st_mtim.tv_sec && now.st_mtim.tv_nsec == seen_.st_mtim.tv_nsec;
}

// A file that vanished for a moment during a rotation keeps serving its last content.
Result<std::string> WatchedFile::Failed(const std::string& cause) {
  if (loaded_) {
    return content_;
  }
  return Error{"reading the " + what_ + " failed for " + path_ + ": " + cause};
}

}  // namespace anchor_events::kube
