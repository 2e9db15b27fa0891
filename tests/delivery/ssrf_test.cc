// The SSRF guard end to end (SPEC §8): public-looking names that resolve to blocked addresses,
// through the real sender and libcurl's resolver. This binary replaces getaddrinfo() with a
// table (so no DNS query leaves the host and an answer can change between lookups) and
// connect() with a recorder that passes loopback through and refuses everything else without
// sending a packet, so a guard that failed would show up as a recorded connect, never as
// traffic to a private or metadata address.
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "delivery/http_sender.h"
#include "support/test_receiver.h"

namespace {

struct Interposed {
  std::mutex mutex;
  std::map<std::string, std::deque<std::vector<std::string>>> answers;
  std::vector<std::string> connects;  // every address connect() was called with
  int lookups = 0;
};

Interposed& State() {
  static auto* state = new Interposed;
  return *state;
}

std::string AddressText(const sockaddr* address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(address)->sin_addr, text,
              sizeof(text));
  } else if (address->sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr, text,
              sizeof(text));
  }
  return text;
}

bool IsLoopback(const sockaddr* address) {
  if (address->sa_family == AF_INET) {
    uint32_t ip = ntohl(reinterpret_cast<const sockaddr_in*>(address)->sin_addr.s_addr);
    return (ip >> 24) == 127;
  }
  if (address->sa_family == AF_INET6) {
    const in6_addr& ip = reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(&ip) || (IN6_IS_ADDR_V4MAPPED(&ip) && ip.s6_addr[12] == 127);
  }
  return false;
}

using GetaddrinfoFn = int (*)(const char*, const char*, const addrinfo*, addrinfo**);
using ConnectFn = int (*)(int, const sockaddr*, socklen_t);

// Numeric answers only: the real resolver is never asked for a name.
int NumericLookup(const std::string& address, const char* service, const addrinfo* hints,
                  addrinfo** result) {
  static auto real = reinterpret_cast<GetaddrinfoFn>(dlsym(RTLD_NEXT, "getaddrinfo"));
  addrinfo numeric{};
  if (hints != nullptr) {
    numeric = *hints;
  }
  numeric.ai_flags |= AI_NUMERICHOST;
  return real(address.c_str(), service, &numeric, result);
}

}  // namespace

extern "C" int getaddrinfo(const char* __restrict name, const char* __restrict service,
                           const addrinfo* __restrict hints, addrinfo** __restrict result) {
  std::vector<std::string> answer;
  {
    Interposed& state = State();
    std::lock_guard<std::mutex> lock(state.mutex);
    ++state.lookups;
    auto found = name == nullptr ? state.answers.end() : state.answers.find(name);
    if (found != state.answers.end() && !found->second.empty()) {
      answer = found->second.front();
      if (found->second.size() > 1) {
        found->second.pop_front();  // the next lookup gets the next answer
      }
    }
  }
  if (answer.empty()) {
    return name == nullptr ? EAI_NONAME : NumericLookup(name, service, hints, result);
  }
  addrinfo* head = nullptr;
  addrinfo** tail = &head;
  for (const std::string& address : answer) {
    if (int error = NumericLookup(address, service, hints, tail); error != 0) {
      return error;
    }
    while (*tail != nullptr) tail = &(*tail)->ai_next;
  }
  *result = head;
  return 0;
}

extern "C" int connect(int fd, const sockaddr* address, socklen_t length) {
  static auto real = reinterpret_cast<ConnectFn>(dlsym(RTLD_NEXT, "connect"));
  {
    Interposed& state = State();
    std::lock_guard<std::mutex> lock(state.mutex);
    state.connects.push_back(AddressText(address));
  }
  if (!IsLoopback(address)) {
    errno = ENETUNREACH;
    return -1;
  }
  return real(fd, address, length);
}

namespace anchor_events::delivery {
namespace {

using std::chrono::milliseconds;
using testing::TestReceiver;

constexpr char kName[] = "hooks.wallet-example.com";

// A listener on 127.0.0.2 that only counts the connections the kernel completed for it.
class AcceptCounter {
 public:
  explicit AcceptCounter(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.2", &address.sin_addr);
    bound_ = bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
             listen(fd_, 16) == 0;
  }
  ~AcceptCounter() { close(fd_); }
  bool bound() const { return bound_; }
  int Accepted() {
    int count = 0;
    while (int client = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC)) {
      if (client < 0) break;
      close(client);
      ++count;
    }
    return count;
  }

 private:
  int fd_ = -1;
  bool bound_ = false;
};

class SsrfTest : public ::testing::Test {
 protected:
  void SetUp() override {
    receiver_.Start();
    counter_ = std::make_unique<AcceptCounter>(receiver_.port());
    ASSERT_TRUE(counter_->bound()) << "cannot listen on 127.0.0.2:" << receiver_.port();
    std::lock_guard<std::mutex> lock(State().mutex);
    State().answers.clear();
    State().connects.clear();
    State().lookups = 0;
  }

  static void Answer(std::deque<std::vector<std::string>> answers) {
    std::lock_guard<std::mutex> lock(State().mutex);
    State().answers[kName] = std::move(answers);
  }

  static std::vector<std::string> Connects() {
    std::lock_guard<std::mutex> lock(State().mutex);
    return State().connects;
  }

  std::string UrlOf(const std::string& host) const {
    return "http://" + host + ":" + std::to_string(receiver_.port()) + "/cb?token=s3cret";
  }

  HttpResponse Send(const std::string& url, std::vector<Cidr> allowed = {}) {
    HttpRequest request;
    request.url = url;
    request.body = std::make_shared<const std::string>("{}");
    request.timeout = milliseconds(3000);
    request.guard = std::make_shared<const AddressGuard>(false, std::move(allowed));
    HttpSender sender({});  // a fresh sender: its own DNS cache and connection pool
    sender.Start(1, std::move(request));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      sender.Wait(milliseconds(100), -1);
      auto done = sender.TakeCompleted();
      if (!done.empty()) {
        return done.front().second;
      }
    }
    ADD_FAILURE() << "no response for " << url;
    return {};
  }

  TestReceiver receiver_;
  std::unique_ptr<AcceptCounter> counter_;
};

TEST_F(SsrfTest, InterposedResolverAndConnectAreTheOnesLibcurlCalls) {
  Answer({{"127.0.0.1"}});

  HttpResponse response = Send(UrlOf(kName), {*ParseCidr("127.0.0.1/32")});

  EXPECT_EQ(response.result, AttemptResult::kDelivered);
  EXPECT_EQ(State().lookups, 1);
  EXPECT_EQ(Connects(), std::vector<std::string>{"127.0.0.1"});
  EXPECT_EQ(receiver_.Requests().size(), 1u);
}

TEST_F(SsrfTest, LoopbackIsRefusedInEveryForm) {
  for (const char* address : {"127.0.0.2", "::ffff:127.0.0.2", "::ffff:0:7f00:2", "::127.0.0.2",
                              "64:ff9b::7f00:2", "2002:7f00:2::1"}) {
    Answer({{address}});

    HttpResponse response = Send(UrlOf(kName));

    EXPECT_EQ(response.result, AttemptResult::kRejected) << address;
    EXPECT_EQ(response.blocked, "loopback") << address;
    EXPECT_EQ(response.error.find("s3cret"), std::string::npos);
    EXPECT_TRUE(Connects().empty()) << address;
    EXPECT_EQ(counter_->Accepted(), 0) << address;
  }
}

TEST_F(SsrfTest, EveryBlockedClassIsRefusedBeforeConnect) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"10.0.0.1", "private"},
      {"172.16.5.4", "private"},
      {"192.168.1.1", "private"},
      {"::ffff:10.0.0.1", "private"},
      {"::a00:1", "private"},
      {"64:ff9b::a00:1", "private"},
      {"2002:c0a8:101::1", "private"},
      {"169.254.169.254", "metadata"},
      {"fd00:ec2::254", "metadata"},
      {"2002:a9fe:a9fe::1", "metadata"},
      {"169.254.10.1", "link_local"},
      {"fe80::1", "link_local"},
      {"100.64.0.1", "cgnat"},
      {"0.0.0.0", "unspecified"},
      {"::", "unspecified"},
      {"192.0.0.1", "reserved"},
      {"198.18.0.1", "reserved"},
      {"240.0.0.1", "reserved"},
      {"255.255.255.255", "broadcast"},
      {"224.0.0.1", "multicast"},
      {"ff02::1", "multicast"},
      {"fc00::1", "unique_local"},
      {"fec0::1", "site_local"},
      {"64:ff9b:1::a00:1", "nat64_local"},
      {"2001:0:4136:e378:8000:63bf:3fff:fdd2", "teredo"},
      {"192.0.2.1", "documentation"},
      {"2001:db8::1", "documentation"},
  };
  for (const auto& [address, expected] : cases) {
    Answer({{address}});

    HttpResponse response = Send(UrlOf(kName));

    EXPECT_EQ(response.blocked, expected) << address;
    EXPECT_EQ(response.StatusClass(), "blocked") << address;
    EXPECT_TRUE(Connects().empty()) << address << " reached connect()";
  }
  EXPECT_EQ(counter_->Accepted(), 0);
}

TEST_F(SsrfTest, NumericHostSpellingsAreJudgedByTheAddressTheyMean) {
  // 127.0.0.2 written as one decimal number, in hexadecimal, in octal and in short form.
  for (const char* host : {"2130706434", "0x7f000002", "0177.0.0.2", "127.2"}) {
    HttpResponse response = Send(UrlOf(host));

    EXPECT_EQ(response.blocked, "loopback") << host;
    EXPECT_TRUE(Connects().empty()) << host;
    EXPECT_EQ(counter_->Accepted(), 0) << host;
  }
}

TEST_F(SsrfTest, NameThatChangesItsAnswerIsCheckedAgainAtTheNextConnect) {
  // DNS rebinding: the first lookup gives the allowed address, the next a blocked one.
  Answer({{"127.0.0.1"}, {"127.0.0.2"}});
  std::vector<Cidr> allowed = {*ParseCidr("127.0.0.1/32")};

  HttpResponse first = Send(UrlOf(kName), allowed);
  HttpResponse second = Send(UrlOf(kName), allowed);

  EXPECT_EQ(first.result, AttemptResult::kDelivered);
  EXPECT_EQ(second.result, AttemptResult::kRejected);
  EXPECT_EQ(second.blocked, "loopback");
  EXPECT_EQ(State().lookups, 2);
  EXPECT_EQ(Connects(), std::vector<std::string>{"127.0.0.1"});
  EXPECT_EQ(receiver_.Requests().size(), 1u);
  EXPECT_EQ(counter_->Accepted(), 0);
}

TEST_F(SsrfTest, BlockedAddressInAMixedAnswerIsSkipped) {
  Answer({{"127.0.0.2", "127.0.0.1"}});

  HttpResponse response = Send(UrlOf(kName), {*ParseCidr("127.0.0.1/32")});

  EXPECT_EQ(response.result, AttemptResult::kDelivered);
  EXPECT_EQ(response.blocked, "");
  EXPECT_EQ(Connects(), std::vector<std::string>{"127.0.0.1"});
  EXPECT_EQ(counter_->Accepted(), 0);
  EXPECT_EQ(receiver_.Requests().size(), 1u);
}

TEST_F(SsrfTest, ProxyFromTheEnvironmentIsNotUsed) {
  // A proxy would connect on the sender's behalf, past the guard.
  setenv("http_proxy", ("http://127.0.0.1:" + std::to_string(receiver_.port())).c_str(), 1);
  Answer({{"10.0.0.1"}});

  HttpResponse response = Send(UrlOf(kName));
  unsetenv("http_proxy");

  EXPECT_EQ(response.blocked, "private");
  EXPECT_TRUE(Connects().empty());
  EXPECT_TRUE(receiver_.Requests().empty());
}

}  // namespace
}  // namespace anchor_events::delivery
