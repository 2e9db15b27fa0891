// A Python test helper (a local TLS receiver, a fake API server) in a child process: it gets a
// fresh temporary folder as its argument, announces itself with one line on stdout, and ends when
// its stdin closes. Header-only, for tests.
#pragma once

#include <filesystem>
#include <string>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace anchor_events::testing {

class PythonHelper {
 public:
  PythonHelper() = default;
  PythonHelper(const PythonHelper&) = delete;
  PythonHelper& operator=(const PythonHelper&) = delete;

  ~PythonHelper() {
    if (stdin_ >= 0) close(stdin_);
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    std::error_code ignored;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
  }

  // Starts `script` with a new folder named after `name`; returns its first stdout line (empty
  // when it did not start or said nothing within 30 s).
  std::string Start(const std::string& script, const std::string& name) {
    std::string pattern = (std::filesystem::temp_directory_path() / (name + ".XXXXXX")).string();
    if (mkdtemp(pattern.data()) == nullptr) return "";
    dir_ = pattern;
    int to_child[2];
    int from_child[2];
    if (pipe2(to_child, O_CLOEXEC) != 0 || pipe2(from_child, O_CLOEXEC) != 0) return "";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, to_child[0], 0);
    posix_spawn_file_actions_adddup2(&actions, from_child[1], 1);
    std::string path = script;
    std::string dir = dir_.string();
    char* argv[] = {const_cast<char*>("python3"), path.data(), dir.data(), nullptr};
    int spawned = posix_spawnp(&pid_, "python3", &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    close(to_child[0]);
    close(from_child[1]);
    stdin_ = to_child[1];
    std::string line;
    char c = 0;
    pollfd readable{from_child[0], POLLIN, 0};
    while (spawned == 0 && poll(&readable, 1, 30000) > 0 && read(from_child[0], &c, 1) == 1 &&
           c != '\n') {
      line += c;
    }
    close(from_child[0]);
    return line;
  }

  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  pid_t pid_ = -1;
  int stdin_ = -1;
};

}  // namespace anchor_events::testing
