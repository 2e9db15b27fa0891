// libcurl transfers to the API server: pooled easy handles for requests, a private multi handle
// per watch so that `stopping` is polled on a short interval even when no byte arrives.
#include "kube/client.h"

#include <algorithm>
#include <mutex>
#include <optional>
#include <vector>

#include <curl/curl.h>

#include "kube/watched_file.h"

namespace anchor_events::kube {
namespace {

constexpr size_t kMaxBodyBytes = 16 * 1024 * 1024;
constexpr size_t kMaxIdleHandles = 4;
constexpr int kStopPollMs = 50;

std::string TrimSpace(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  size_t begin = text.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) {
    return "";
  }
  return std::string(text.substr(begin, text.find_last_not_of(kSpace) - begin + 1));
}

// PEM text given inline or kept in a watched file.
class Material {
 public:
  Material(std::string pem, const std::string& file, std::string what) : pem_(std::move(pem)) {
    if (!file.empty()) {
      file_.emplace(file, std::move(what));
    }
  }

  bool empty() const { return pem_.empty() && !file_; }

  Result<std::string> Pem() {
    if (file_) {
      return file_->Content();
    }
    return pem_;
  }

 private:
  std::string pem_;
  std::optional<WatchedFile> file_;
};

struct Transfer {
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  char error[CURL_ERROR_SIZE] = {};
  long status = 0;
  std::string body;
  bool too_large = false;
  // Watches only.
  const std::function<void(std::string_view)>* on_line = nullptr;
  const std::function<bool()>* stopping = nullptr;
  std::string pending;
  bool stopped = false;

  ~Transfer() { curl_slist_free_all(headers); }
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t bytes = size * count;
  if (t->body.size() + bytes > kMaxBodyBytes) {
    t->too_large = true;
    return 0;
  }
  t->body.append(data, bytes);
  return bytes;
}

// Watch events are newline-terminated JSON objects; a chunk may hold several or part of one.
size_t OnWatchData(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  if (t->status == 0) {
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->status);
  }
  if (t->status != 200) {
    return OnBody(data, size, count, user);
  }
  size_t bytes = size * count;
  size_t scan = t->pending.size();
  t->pending.append(data, bytes);
  size_t start = 0;
  for (size_t end = t->pending.find('\n', scan); end != std::string::npos;
       end = t->pending.find('\n', start)) {
    std::string_view line(t->pending.data() + start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) (*t->on_line)(line);
    start = end + 1;
  }
  t->pending.erase(0, start);
  if (t->pending.size() > kMaxBodyBytes) {
    t->too_large = true;
    return 0;
  }
  return bytes;
}

int OnWatchProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if ((*t->stopping)()) {
    t->stopped = true;
    return 1;
  }
  return 0;
}

void SetBlob(CURL* easy, CURLoption option, const std::string& pem) {
  curl_blob blob{const_cast<char*>(pem.data()), pem.size(), CURL_BLOB_COPY};
  curl_easy_setopt(easy, option, &blob);
}

}  // namespace

struct Client::Impl {
  Impl(const ClusterAccess& access, ClientOptions client_options)
      : options(std::move(client_options)),
        ca(access.ca_pem, access.ca_file, "certificate authority"),
        cert(access.client_cert_pem, access.client_cert_file, "client certificate"),
        key(access.client_key_pem, access.client_key_file, "client key"),
        token(access.token, access.token_file, "bearer token") {}

  ~Impl() {
    for (CURL* easy : idle) curl_easy_cleanup(easy);
  }

  CURL* Take() {
    {
      std::lock_guard<std::mutex> lock(pool_mu);
      if (!idle.empty()) {
        CURL* easy = idle.back();
        idle.pop_back();
        curl_easy_reset(easy);  // keeps the live connection and TLS session for reuse
        return easy;
      }
    }
    return curl_easy_init();
  }

  void Give(CURL* easy) {
    std::lock_guard<std::mutex> lock(pool_mu);
    if (idle.size() < kMaxIdleHandles) {
      idle.push_back(easy);
    } else {
      curl_easy_cleanup(easy);
    }
  }

  Status Configure(Transfer& t, const std::string& url, const std::string& content_type,
                   const std::string& server, bool insecure);
  Status ConfigureTls(CURL* e, bool insecure);
  Status AddAuthorization(Transfer& t);

  ClientOptions options;
  Material ca;
  Material cert;
  Material key;
  Material token;
  std::mutex pool_mu;
  std::vector<CURL*> idle;
};

Status Client::Impl::ConfigureTls(CURL* e, bool insecure) {
  curl_easy_setopt(e, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, insecure ? 0L : 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, insecure ? 0L : 2L);
  // A CA file is passed as a blob too: libcurl caches a CAINFO file's store in the handle for a
  // day, which would hide a rotated bundle from pooled handles.
  if (!ca.empty()) {
    Result<std::string> pem = ca.Pem();
    if (!pem.ok()) return pem.error();
    SetBlob(e, CURLOPT_CAINFO_BLOB, *pem);
  }
  if (!cert.empty()) {
    Result<std::string> pem = cert.Pem();
    if (!pem.ok()) return pem.error();
    SetBlob(e, CURLOPT_SSLCERT_BLOB, *pem);
    curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
  }
  if (!key.empty()) {
    Result<std::string> pem = key.Pem();
    if (!pem.ok()) return pem.error();
    SetBlob(e, CURLOPT_SSLKEY_BLOB, *pem);
    curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
  }
  return {};
}

Status Client::Impl::AddAuthorization(Transfer& t) {
  if (token.empty()) {
    return {};
  }
  Result<std::string> value = token.Pem();
  if (!value.ok()) return value.error();
  std::string bearer = TrimSpace(*value);
  if (!bearer.empty()) {
    t.headers = curl_slist_append(t.headers, ("Authorization: Bearer " + bearer).c_str());
  }
  return {};
}

Status Client::Impl::Configure(Transfer& t, const std::string& url, const std::string& content_type,
                               const std::string& server, bool insecure) {
  CURL* e = t.easy;
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https,http");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.error);
  curl_easy_setopt(e, CURLOPT_USERAGENT, options.user_agent.c_str());
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options.connect_timeout.count()));
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
  t.headers = curl_slist_append(t.headers, "Accept: application/json");
  t.headers = curl_slist_append(t.headers, "Expect:");
  if (!content_type.empty()) {
    t.headers = curl_slist_append(t.headers, ("Content-Type: " + content_type).c_str());
  }
  if (Status added = AddAuthorization(t); !added.ok()) {
    return Error{"kube API access failed for " + server + ": " + added.error().message};
  }
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.headers);
  if (Status tls = ConfigureTls(e, insecure); !tls.ok()) {
    return Error{"kube API access failed for " + server + ": " + tls.error().message};
  }
  return {};
}

namespace {

void SetMethod(CURL* e, std::string_view method, const std::string& body) {
  if (method == "GET") {
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    return;
  }
  if (method == "HEAD") {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    return;
  }
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, std::string(method).c_str());
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
}

void SetWatchOptions(Transfer& t, long idle_seconds) {
  curl_easy_setopt(t.easy, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(t.easy, CURLOPT_WRITEFUNCTION, OnWatchData);
  curl_easy_setopt(t.easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(t.easy, CURLOPT_LOW_SPEED_TIME, idle_seconds);
  curl_easy_setopt(t.easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(t.easy, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(t.easy, CURLOPT_XFERINFOFUNCTION, OnWatchProgress);
  curl_easy_setopt(t.easy, CURLOPT_XFERINFODATA, &t);
}

// Runs the transfer until it completes (its result) or `stopping` says so (t.stopped). libcurl's
// own loop calls the progress function only once a second when idle; polling the multi handle
// on a short interval keeps the promised stop latency.
CURLcode Drive(CURLM* multi, Transfer& t) {
  for (;;) {
    int running = 0;
    curl_multi_perform(multi, &running);
    int queued = 0;
    CURLMsg* message = curl_multi_info_read(multi, &queued);
    if (message != nullptr && message->msg == CURLMSG_DONE) {
      return message->data.result;
    }
    if (t.stopped || (*t.stopping)()) {
      t.stopped = true;
      return CURLE_ABORTED_BY_CALLBACK;
    }
    curl_multi_poll(multi, nullptr, 0, kStopPollMs, nullptr);
  }
}

std::string Cause(const Transfer& t, CURLcode code) {
  if (t.too_large) {
    return "response body over 16 MiB";
  }
  return t.error[0] != '\0' ? std::string(t.error) : std::string(curl_easy_strerror(code));
}

}  // namespace

Client::Client(ClusterAccess access, ClientOptions options)
    : access_(std::move(access)), impl_(std::make_unique<Impl>(access_, std::move(options))) {
  static std::once_flag init;
  std::call_once(init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

Client::~Client() = default;

Result<Response> Client::Request(std::string_view method, const std::string& path,
                                 const std::string& body, const std::string& content_type) {
  std::string what = "kube API request failed for " + std::string(method) + " " + path;
  Transfer t;
  t.easy = impl_->Take();
  if (t.easy == nullptr) {
    return Error{what + ": cannot create a libcurl handle"};
  }
  std::string url = access_.server + path;
  Status configured = impl_->Configure(t, url, body.empty() ? "" : content_type, access_.server,
                                       access_.insecure_skip_tls_verify);
  CURLcode code = CURLE_OK;
  if (configured.ok()) {
    SetMethod(t.easy, method, body);
    curl_easy_setopt(t.easy, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(impl_->options.request_timeout.count()));
    code = curl_easy_perform(t.easy);
    curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &t.status);
  }
  impl_->Give(t.easy);
  if (!configured.ok()) {
    return configured.error();
  }
  if (code != CURLE_OK) {
    return Error{what + " at " + access_.server + ": " + Cause(t, code)};
  }
  return Response{t.status, std::move(t.body)};
}

Result<Response> Client::Watch(const std::string& path,
                               const std::function<void(std::string_view)>& on_line,
                               const std::function<bool()>& stopping,
                               std::chrono::milliseconds idle_timeout) {
  std::string what = "kube API watch failed for " + path;
  Transfer t;
  t.on_line = &on_line;
  t.stopping = &stopping;
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> easy(curl_easy_init(), curl_easy_cleanup);
  std::unique_ptr<CURLM, decltype(&curl_multi_cleanup)> multi(curl_multi_init(),
                                                              curl_multi_cleanup);
  if (!easy || !multi) {
    return Error{what + ": cannot create a libcurl handle"};
  }
  t.easy = easy.get();
  std::string url = access_.server + path;
  if (Status configured =
          impl_->Configure(t, url, "", access_.server, access_.insecure_skip_tls_verify);
      !configured.ok()) {
    return configured.error();
  }
  long idle_seconds = std::max<long>(1, static_cast<long>((idle_timeout.count() + 999) / 1000));
  SetWatchOptions(t, idle_seconds);
  curl_multi_add_handle(multi.get(), t.easy);
  CURLcode code = Drive(multi.get(), t);
  curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &t.status);
  curl_multi_remove_handle(multi.get(), t.easy);

  if (t.stopped) {
    return Response{0, ""};
  }
  curl_off_t connected_us = 0;
  curl_easy_getinfo(t.easy, CURLINFO_CONNECT_TIME_T, &connected_us);
  if (code == CURLE_OPERATION_TIMEDOUT && connected_us > 0) {
    return Error{what + " at " + access_.server + ": no data for " + std::to_string(idle_seconds) +
                 " s (idle timeout)"};
  }
  if (code != CURLE_OK) {
    return Error{what + " at " + access_.server + ": " + Cause(t, code)};
  }
  if (t.status == 200) {
    return Response{200, ""};
  }
  return Response{t.status, std::move(t.body)};
}

}  // namespace anchor_events::kube
