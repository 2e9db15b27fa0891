#include "delivery/http_sender.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <mutex>
#include <unordered_map>

#include <curl/curl.h>
#include <sys/socket.h>

namespace anchor_events::delivery {
namespace {

constexpr size_t kMaxResponseBytes = 64 * 1024;

struct Transfer {
  uint64_t token = 0;
  CURL* easy = nullptr;
  HttpRequest request;
  curl_slist* headers = nullptr;
  std::string location;
  std::string retry_after;
  size_t received = 0;
  bool truncated = false;
  std::string blocked;
  std::chrono::steady_clock::time_point start;
};

bool HeaderIs(std::string_view line, std::string_view name) {
  if (line.size() <= name.size() || line[name.size()] != ':') {
    return false;
  }
  return std::equal(name.begin(), name.end(), line.begin(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
  });
}

std::string HeaderValue(std::string_view line, size_t name_length) {
  std::string_view value = line.substr(name_length + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) {
    value.remove_suffix(1);
  }
  return std::string(value);
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  if (HeaderIs(line, "retry-after")) {
    transfer->retry_after = HeaderValue(line, 11);
  } else if (HeaderIs(line, "location")) {
    transfer->location = HeaderValue(line, 8);
  }
  return size * count;
}

size_t OnBody(char* /*data*/, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  transfer->received += size * count;
  if (transfer->received > kMaxResponseBytes) {
    transfer->truncated = true;
    return 0;  // aborts the transfer; the status line has already been read
  }
  return size * count;
}

curl_socket_t OnOpenSocket(void* user, curlsocktype /*purpose*/, curl_sockaddr* address) {
  auto* transfer = static_cast<Transfer*>(user);
  if (transfer->request.guard) {
    std::string_view blocked = transfer->request.guard->Check(&address->addr);
    if (!blocked.empty()) {
      transfer->blocked = std::string(blocked);
      return CURL_SOCKET_BAD;
    }
  }
  return socket(address->family, address->socktype, address->protocol);
}

// "host:port" of an http(s) URL, the host in lower case and the port explicit; empty when the
// URL has no host name (an IP literal in brackets never matches a pin anyway).
std::string AuthorityOf(std::string_view url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    return "";
  }
  std::string_view scheme = url.substr(0, scheme_end);
  std::string_view rest = url.substr(scheme_end + 3);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  if (authority.empty() || authority.front() == '[') {
    return "";
  }
  std::string_view host = authority;
  std::string_view port;
  if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (port.empty()) {
    port = scheme.size() == 5 && std::tolower(static_cast<unsigned char>(scheme[4])) == 's' ? "443"
                                                                                            : "80";
  }
  std::string out;
  out.reserve(host.size() + 1 + port.size());
  for (char c : host) out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  out.push_back(':');
  out.append(port);
  return out;
}

}  // namespace

size_t HttpResponse::StatusClassIndex() const {
  if (!blocked.empty()) return 0;
  if (status < 100 || status > 599) return 1;
  return 1 + static_cast<size_t>(status / 100);
}

std::string HttpResponse::StatusClass() const {
  static constexpr std::array<const char*, kStatusClasses> kLabels = {
      "blocked", "error", "1xx", "2xx", "3xx", "4xx", "5xx"};
  return kLabels[StatusClassIndex()];
}

AttemptResult ClassifyStatus(long status) {
  if (status >= 200 && status < 300) return AttemptResult::kDelivered;
  if (status >= 300 && status < 400) return AttemptResult::kRetryable;
  if (status == 408 || status == 425 || status == 429 || status >= 500) {
    return AttemptResult::kRetryable;
  }
  if (status >= 400) return AttemptResult::kRejected;
  return AttemptResult::kRetryable;
}

std::optional<std::chrono::milliseconds> ParseRetryAfter(
    std::string_view value, std::chrono::system_clock::time_point now) {
  if (value.empty()) {
    return std::nullopt;
  }
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (value.size() > 9) {
      return std::chrono::hours(24 * 365);
    }
    return std::chrono::seconds(std::stol(std::string(value)));
  }
  time_t date = curl_getdate(std::string(value).c_str(), nullptr);
  if (date < 0) {
    return std::nullopt;
  }
  auto delta = std::chrono::system_clock::from_time_t(date) - now;
  return std::max(std::chrono::milliseconds(0),
                  std::chrono::duration_cast<std::chrono::milliseconds>(delta));
}

struct HttpSender::Impl {
  SenderOptions options;
  CURLM* multi = nullptr;
  // The pins of each "host:port". A transfer is given only its own host's pins: libcurl parses
  // every entry of CURLOPT_RESOLVE at the start of each transfer.
  std::unordered_map<std::string, curl_slist*> resolve;
  std::unordered_map<uint64_t, std::unique_ptr<Transfer>> transfers;
  // Finished handles, kept with their connection-level options (everything but the request's
  // own), so the next request with the same TLS settings sets only its own options.
  struct IdleHandle {
    CURL* easy = nullptr;
    std::string tls;  // TlsKey of the request it was configured for
  };
  std::vector<IdleHandle> idle;
  std::vector<std::pair<uint64_t, HttpResponse>> completed;

  static std::string TlsKey(const HttpRequest& r) {
    std::string key;
    key.reserve(r.ca_file.size() + r.client_cert_file.size() + r.client_key_file.size() + 4);
    key.append(r.verify_tls ? "1" : "0").append(1, '\0').append(r.ca_file).append(1, '\0');
    key.append(r.client_cert_file).append(1, '\0').append(r.client_key_file);
    return key;
  }

  // A handle for `t`, configured for it.
  void Prepare(Transfer* t, const std::string& tls) {
    if (!idle.empty()) {
      IdleHandle handle = std::move(idle.back());
      idle.pop_back();
      t->easy = handle.easy;
      if (handle.tls == tls) {
        ConfigureRequest(t);
        return;
      }
      curl_easy_reset(t->easy);
    } else {
      t->easy = curl_easy_init();
    }
    ConfigureConnection(t);
    ConfigureRequest(t);
  }

  void Release(Transfer* transfer) {
    curl_multi_remove_handle(multi, transfer->easy);
    // The handle's data pointers name this transfer until the next request sets them.
    curl_easy_setopt(transfer->easy, CURLOPT_PRIVATE, nullptr);
    idle.push_back({transfer->easy, TlsKey(transfer->request)});
    curl_slist_free_all(transfer->headers);
    transfers.erase(transfer->token);
  }

  // What a request sets for itself; every option here is set for every request.
  void ConfigureRequest(Transfer* t) {
    CURL* e = t->easy;
    const HttpRequest& r = t->request;
    for (const std::string& header : r.headers) {
      t->headers = curl_slist_append(t->headers, header.c_str());
    }
    t->headers = curl_slist_append(t->headers, "Expect:");
    curl_easy_setopt(e, CURLOPT_URL, r.url.c_str());
    static const std::string kNoBody;
    const std::string& body = r.body ? *r.body : kNoBody;
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(r.timeout.count()));
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, t);
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    curl_slist* pins = nullptr;
    if (!resolve.empty()) {
      if (auto found = resolve.find(AuthorityOf(r.url)); found != resolve.end()) {
        pins = found->second;
      }
    }
    curl_easy_setopt(e, CURLOPT_RESOLVE, pins);
  }

  // The same for every request with the same TLS settings (see TlsKey).
  void ConfigureConnection(Transfer* t) {
    CURL* e = t->easy;
    const HttpRequest& r = t->request;
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    // A proxy from the environment would connect on our behalf, past the SSRF guard.
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, options.user_agent.c_str());
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, OnOpenSocket);
    curl_easy_setopt(e, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, r.verify_tls ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, r.verify_tls ? 2L : 0L);
    if (!r.ca_file.empty()) {
      curl_easy_setopt(e, CURLOPT_CAINFO, r.ca_file.c_str());
      // libcurl otherwise keeps the parsed bundle for a day; a replaced CA file must count at
      // the next connection.
      curl_easy_setopt(e, CURLOPT_CA_CACHE_TIMEOUT, 0L);
    }
    if (!r.client_cert_file.empty()) {
      curl_easy_setopt(e, CURLOPT_SSLCERT, r.client_cert_file.c_str());
      curl_easy_setopt(e, CURLOPT_SSLKEY, r.client_key_file.c_str());
    }
  }

  HttpResponse Finish(Transfer* t, CURLcode code) {
    HttpResponse response;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &response.status);
    response.duration = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - t->start);
    long connects = 0;
    curl_easy_getinfo(t->easy, CURLINFO_NUM_CONNECTS, &connects);
    response.new_connection = connects > 0;
    response.location = t->location;
    response.retry_after = ParseRetryAfter(t->retry_after, std::chrono::system_clock::now());
    const bool answered = code == CURLE_OK || (t->truncated && response.status > 0);
    if (!t->blocked.empty() && !answered) {
      // A refused address ends the attempt only when no other address of the name answered.
      response.result = AttemptResult::kRejected;
      response.blocked = t->blocked;
      response.status = 0;
      response.error = "destination address refused by the SSRF guard (" + t->blocked + ")";
    } else if (answered) {
      response.result = ClassifyStatus(response.status);
      if (response.result != AttemptResult::kDelivered) {
        response.error = "HTTP status " + std::to_string(response.status);
      }
    } else {
      response.result = AttemptResult::kRetryable;
      response.status = 0;
      response.error = curl_easy_strerror(code);
    }
    return response;
  }
};

HttpSender::HttpSender(SenderOptions options) : impl_(std::make_unique<Impl>()) {
  static std::once_flag init;
  std::call_once(init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  impl_->options = std::move(options);
  impl_->multi = curl_multi_init();
  curl_multi_setopt(impl_->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                    impl_->options.max_host_connections);
  for (const std::string& entry : impl_->options.resolve) {
    // Entries are "host:port:address" (checked when the configuration is loaded).
    size_t second = entry.find(':', entry.find(':') + 1);
    std::string authority = entry.substr(0, second);
    std::transform(authority.begin(), authority.end(), authority.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    curl_slist*& pins = impl_->resolve[authority];
    pins = curl_slist_append(pins, entry.c_str());
  }
}

HttpSender::~HttpSender() {
  while (!impl_->transfers.empty()) {
    impl_->Release(impl_->transfers.begin()->second.get());
  }
  for (Impl::IdleHandle& handle : impl_->idle) {
    curl_easy_cleanup(handle.easy);
  }
  curl_multi_cleanup(impl_->multi);
  for (auto& [authority, pins] : impl_->resolve) {
    curl_slist_free_all(pins);
  }
}

void HttpSender::Start(uint64_t token, HttpRequest request) {
  auto transfer = std::make_unique<Transfer>();
  Transfer* t = transfer.get();
  t->token = token;
  t->request = std::move(request);
  t->start = std::chrono::steady_clock::now();
  impl_->Prepare(t, Impl::TlsKey(t->request));
  impl_->transfers[token] = std::move(transfer);
  curl_multi_add_handle(impl_->multi, t->easy);
}

void HttpSender::Cancel(uint64_t token) {
  auto it = impl_->transfers.find(token);
  if (it != impl_->transfers.end()) {
    impl_->Release(it->second.get());
  }
}

void HttpSender::Wait(std::chrono::milliseconds timeout, int extra_fd) {
  curl_waitfd extra{};
  extra.fd = extra_fd;
  extra.events = CURL_WAIT_POLLIN;
  int ready = 0;
  curl_multi_poll(impl_->multi, extra_fd >= 0 ? &extra : nullptr, extra_fd >= 0 ? 1u : 0u,
                  static_cast<int>(std::max<int64_t>(0, timeout.count())), &ready);
  int running = 0;
  curl_multi_perform(impl_->multi, &running);
  int queued = 0;
  while (CURLMsg* message = curl_multi_info_read(impl_->multi, &queued)) {
    if (message->msg != CURLMSG_DONE) {
      continue;
    }
    Transfer* t = nullptr;
    curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &t);
    if (t == nullptr) {
      continue;
    }
    impl_->completed.emplace_back(t->token, impl_->Finish(t, message->data.result));
    impl_->Release(t);
  }
}

void HttpSender::Wakeup() { curl_multi_wakeup(impl_->multi); }

std::vector<std::pair<uint64_t, HttpResponse>> HttpSender::TakeCompleted() {
  std::vector<std::pair<uint64_t, HttpResponse>> out;
  out.swap(impl_->completed);
  return out;
}

size_t HttpSender::in_flight() const { return impl_->transfers.size(); }

}  // namespace anchor_events::delivery
