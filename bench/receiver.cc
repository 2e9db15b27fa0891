// bench_receiver: a small HTTP/1.1 keep-alive server for the benchmark (bench/run). It answers
// every request with 200 after a fixed delay without blocking other connections, and records
// per request its arrival time (CLOCK_REALTIME, microseconds, when the whole request has been
// read), the Host header and the X-Anchor-Event-Id header. The records are written to a file
// when the process receives SIGTERM or SIGINT. Loopback only.
//
//   bench_receiver --port-file F [--port 0] [--delay-ms 0] [--record FILE] [--threads 1]
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

namespace {

constexpr std::string_view kResponse = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
constexpr size_t kMaxRequestBytes = 4 << 20;

std::atomic<bool> g_stop{false};

struct Options {
  int port = 0;
  std::string port_file;
  std::string record;
  int64_t delay_us = 0;
  int threads = 1;
};

struct Arrival {
  int64_t at_us;
  std::string host;
  std::string event_id;
};

int64_t NowUs(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

// The value of header `name` (lower case) in the header block, or empty.
std::string_view HeaderValue(std::string_view head, std::string_view name) {
  size_t pos = head.find("\r\n");
  while (pos != std::string_view::npos && pos + 2 < head.size()) {
    size_t start = pos + 2;
    size_t end = head.find("\r\n", start);
    std::string_view line = head.substr(start, end == std::string_view::npos ? end : end - start);
    if (line.size() > name.size() && line[name.size()] == ':') {
      bool same = true;
      for (size_t i = 0; i < name.size() && same; ++i) same = Lower(line[i]) == name[i];
      if (same) {
        std::string_view value = line.substr(name.size() + 1);
        while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
        return value;
      }
    }
    pos = end;
  }
  return {};
}

struct Connection {
  int fd = -1;
  std::string in;
  std::string out;
  size_t pending = 0;  // responses waiting for their delay
  bool closing = false;
};

struct Due {
  int64_t at_us;  // CLOCK_MONOTONIC
  int fd;
  uint64_t generation;
};

class Worker {
 public:
  Worker(int listen_fd, const Options& options) : listen_fd_(listen_fd), options_(options) {}

  void Run() {
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = listen_fd_;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, listen_fd_, &ev);
    std::vector<epoll_event> events(512);
    while (!g_stop.load(std::memory_order_relaxed)) {
      int n = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), WaitMs());
      for (int i = 0; i < n; ++i) {
        int fd = events[i].data.fd;
        if (fd == listen_fd_) {
          Accept();
        } else {
          OnEvent(fd, events[i].events);
        }
      }
      FlushDue();
    }
  }

  std::vector<Arrival>& arrivals() { return arrivals_; }

 private:
  int WaitMs() const {
    if (due_.empty()) return 200;
    int64_t wait = due_.front().at_us - NowUs(CLOCK_MONOTONIC);
    return wait <= 0 ? 0 : static_cast<int>((wait + 999) / 1000);
  }

  void Accept() {
    while (true) {
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      auto conn = std::make_unique<Connection>();
      conn->fd = fd;
      generations_[fd] = ++generation_;
      connections_[fd] = std::move(conn);
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLRDHUP;
      ev.data.fd = fd;
      epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev);
    }
  }

  void OnEvent(int fd, uint32_t flags) {
    auto it = connections_.find(fd);
    if (it == connections_.end()) return;
    Connection& c = *it->second;
    if (flags & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
      char buffer[65536];
      while (true) {
        ssize_t r = read(fd, buffer, sizeof(buffer));
        if (r > 0) {
          c.in.append(buffer, static_cast<size_t>(r));
          continue;
        }
        if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) c.closing = true;
        break;
      }
      Parse(c);
    }
    if (flags & EPOLLOUT) Write(c);
    if (c.closing && c.out.empty() && c.pending == 0) Close(fd);
  }

  void Parse(Connection& c) {
    while (true) {
      size_t head_end = c.in.find("\r\n\r\n");
      if (head_end == std::string::npos) {
        if (c.in.size() > kMaxRequestBytes) c.closing = true;
        break;
      }
      std::string_view head(c.in.data(), head_end);
      std::string_view length_text = HeaderValue(head, "content-length");
      size_t length =
          length_text.empty() ? 0 : std::strtoull(std::string(length_text).c_str(), nullptr, 10);
      size_t total = head_end + 4 + length;
      if (length > kMaxRequestBytes) {
        c.closing = true;
        break;
      }
      if (c.in.size() < total) break;
      arrivals_.push_back({NowUs(CLOCK_REALTIME), std::string(HeaderValue(head, "host")),
                           std::string(HeaderValue(head, "x-anchor-event-id"))});
      c.in.erase(0, total);
      if (options_.delay_us > 0) {
        ++c.pending;
        due_.push_back({NowUs(CLOCK_MONOTONIC) + options_.delay_us, c.fd, generations_[c.fd]});
      } else {
        c.out.append(kResponse);
      }
    }
    if (!c.out.empty()) Write(c);
  }

  void FlushDue() {
    int64_t now = NowUs(CLOCK_MONOTONIC);
    std::vector<int> touched;
    while (!due_.empty() && due_.front().at_us <= now) {
      Due d = due_.front();
      due_.pop_front();
      auto it = connections_.find(d.fd);
      if (it == connections_.end() || generations_[d.fd] != d.generation) continue;
      Connection& c = *it->second;
      --c.pending;
      c.out.append(kResponse);
      touched.push_back(d.fd);
    }
    for (int fd : touched) {
      auto it = connections_.find(fd);
      if (it == connections_.end()) continue;
      Write(*it->second);
      if (it->second->closing && it->second->out.empty() && it->second->pending == 0) Close(fd);
    }
  }

  void Write(Connection& c) {
    while (!c.out.empty()) {
      ssize_t w = send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
      if (w > 0) {
        c.out.erase(0, static_cast<size_t>(w));
        continue;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      c.closing = true;
      c.out.clear();
      break;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | (c.out.empty() ? 0u : static_cast<uint32_t>(EPOLLOUT));
    ev.data.fd = c.fd;
    epoll_ctl(epoll_, EPOLL_CTL_MOD, c.fd, &ev);
  }

  void Close(int fd) {
    epoll_ctl(epoll_, EPOLL_CTL_DEL, fd, nullptr);
    close(fd);
    connections_.erase(fd);
    ++generations_[fd];
  }

  int listen_fd_;
  const Options& options_;
  int epoll_ = -1;
  std::unordered_map<int, std::unique_ptr<Connection>> connections_;
  std::unordered_map<int, uint64_t> generations_;
  uint64_t generation_ = 0;
  std::deque<Due> due_;  // the delay is constant, so due times are in order
  std::vector<Arrival> arrivals_;
};

bool ParseArgs(int argc, char** argv, Options* options) {
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view name = argv[i];
    const char* value = argv[i + 1];
    if (name == "--port") {
      options->port = std::atoi(value);
    } else if (name == "--port-file") {
      options->port_file = value;
    } else if (name == "--record") {
      options->record = value;
    } else if (name == "--delay-ms") {
      options->delay_us = static_cast<int64_t>(std::atof(value) * 1000);
    } else if (name == "--threads") {
      options->threads = std::max(1, std::atoi(value));
    } else {
      return false;
    }
  }
  return argc % 2 == 1;
}

int Listen(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      listen(fd, 4096) != 0) {
    std::perror("bench_receiver: bind/listen");
    std::exit(1);
  }
  return fd;
}

int BoundPort(int fd) {
  sockaddr_in address{};
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  return ntohs(address.sin_port);
}

void WriteRecords(const std::string& path, std::vector<std::unique_ptr<Worker>>& workers) {
  FILE* f = std::fopen((path + ".tmp").c_str(), "w");
  if (f == nullptr) return;
  for (auto& w : workers) {
    for (const Arrival& a : w->arrivals()) {
      std::fprintf(f, "%lld\t%s\t%s\n", static_cast<long long>(a.at_us), a.host.c_str(),
                   a.event_id.c_str());
    }
  }
  std::fclose(f);
  std::rename((path + ".tmp").c_str(), path.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!ParseArgs(argc, argv, &options) || options.port_file.empty()) {
    std::fprintf(stderr,
                 "usage: bench_receiver --port-file F [--port 0] [--delay-ms 0] [--record FILE] "
                 "[--threads 1]\n");
    return 2;
  }
  struct sigaction action {};
  action.sa_handler = [](int) { g_stop.store(true); };
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);

  int listen_fd = Listen(options.port);
  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < options.threads; ++i) {
    workers.push_back(std::make_unique<Worker>(listen_fd, options));
  }
  FILE* pf = std::fopen((options.port_file + ".tmp").c_str(), "w");
  std::fprintf(pf, "%d\n", BoundPort(listen_fd));
  std::fclose(pf);
  std::rename((options.port_file + ".tmp").c_str(), options.port_file.c_str());

  std::vector<std::thread> threads;
  for (auto& w : workers) threads.emplace_back([&w] { w->Run(); });
  for (auto& t : threads) t.join();
  if (!options.record.empty()) WriteRecords(options.record, workers);
  return 0;
}
