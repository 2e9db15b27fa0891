// A credential file (token, CA bundle, client certificate or key) that is read again when it
// changes on disk.
#pragma once

#include <chrono>
#include <mutex>
#include <string>

#include <sys/stat.h>

#include "base/result.h"

namespace anchor_events::kube {

// Serves a file's content, reading it again when its inode, size or mtime change (kubelet
// rotates service-account tokens and CA bundles by swapping a symlink) or at least every
// minute. Thread-safe.
class WatchedFile {
 public:
  // `what` names the file in errors ("bearer token").
  WatchedFile(std::string path, std::string what);

  // The current content. Once read, a file that is briefly missing or unreadable keeps serving
  // its last content; before that, the failure is an Error naming the path, never the content.
  Result<std::string> Content();

 private:
  bool SameFile(const struct stat& now) const;
  Result<std::string> Failed(const std::string& cause);

  std::mutex mu_;
  std::string path_;
  std::string what_;
  bool loaded_ = false;
  struct stat seen_ {};
  std::chrono::steady_clock::time_point read_at_;
  std::string content_;
};

}  // namespace anchor_events::kube
