#include "delivery/http_sender.h"

#include <gtest/gtest.h>

#include "support/test_receiver.h"

namespace anchor_events::delivery {
namespace {

using std::chrono::milliseconds;
using testing::CannedResponse;
using testing::RecordedRequest;
using testing::TestReceiver;

class HttpSenderTest : public ::testing::Test {
 protected:
  void SetUp() override { receiver_.Start(); }

  // One request through `sender`, waited for.
  static HttpResponse Send(HttpSender& sender, HttpRequest request) {
    sender.Start(1, std::move(request));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
      sender.Wait(milliseconds(100), -1);
      auto done = sender.TakeCompleted();
      if (!done.empty()) {
        return done.front().second;
      }
    }
    ADD_FAILURE() << "no response";
    return {};
  }

  HttpResponse SendOne(HttpRequest request, SenderOptions options = {}) {
    HttpSender sender(std::move(options));
    return Send(sender, std::move(request));
  }

  HttpRequest Post(const std::string& path, std::string body = "{}") {
    HttpRequest request;
    request.url = receiver_.Url(path);
    request.headers = {"Content-Type: application/json; charset=utf-8", "X-Test: yes"};
    request.body = std::make_shared<const std::string>(std::move(body));
    return request;
  }

  void AnswerWith(CannedResponse canned) {
    receiver_.Respond([canned](const RecordedRequest&) { return canned; });
  }

  TestReceiver receiver_;
};

TEST_F(HttpSenderTest, SendsExactBodyAndHeaders) {
  std::string body = "{\"transaction\": {\"message\":\"Dep\xc3\xb3sito \xe2\x9c\x93\"}}";

  HttpResponse response = SendOne(Post("/cb?x=1", body));

  ASSERT_EQ(response.result, AttemptResult::kDelivered);
  auto requests = receiver_.Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].path, "/cb?x=1");
  EXPECT_EQ(requests[0].body, body);
  EXPECT_EQ(requests[0].headers["X-Test"], "yes");
  EXPECT_EQ(requests[0].headers["Content-Type"], "application/json; charset=utf-8");
}

TEST_F(HttpSenderTest, AnyTwoHundredIsDeliveredWhateverTheBody) {
  for (int status : {200, 201, 202, 204}) {
    AnswerWith({status, {}, status == 204 ? "" : "not-json"});

    EXPECT_EQ(SendOne(Post("/")).result, AttemptResult::kDelivered) << status;
  }
}

TEST_F(HttpSenderTest, LargeResponseIsCutButStillDelivered) {
  AnswerWith({200, {}, std::string(200 * 1024, 'x')});

  HttpResponse response = SendOne(Post("/"));

  EXPECT_EQ(response.result, AttemptResult::kDelivered);
  EXPECT_EQ(response.status, 200);
}

TEST_F(HttpSenderTest, RedirectIsNotFollowedAndCountsAsFailedAttempt) {
  AnswerWith({302, {{"Location", receiver_.Url("/elsewhere")}}, ""});

  HttpResponse response = SendOne(Post("/start"));

  EXPECT_EQ(response.result, AttemptResult::kRetryable);
  EXPECT_EQ(response.status, 302);
  EXPECT_EQ(response.location, receiver_.Url("/elsewhere"));
  ASSERT_EQ(receiver_.Requests().size(), 1u);
  EXPECT_EQ(receiver_.Requests()[0].path, "/start");
}

TEST_F(HttpSenderTest, ClassifiesStatusCodes) {
  const std::vector<std::pair<int, AttemptResult>> cases = {
      {400, AttemptResult::kRejected},  {401, AttemptResult::kRejected},
      {404, AttemptResult::kRejected},  {408, AttemptResult::kRetryable},
      {425, AttemptResult::kRetryable}, {429, AttemptResult::kRetryable},
      {500, AttemptResult::kRetryable}, {503, AttemptResult::kRetryable},
  };
  for (const auto& [status, expected] : cases) {
    AnswerWith({status, {}, ""});

    HttpResponse response = SendOne(Post("/"));

    EXPECT_EQ(response.result, expected) << status;
    EXPECT_EQ(response.StatusClass(), std::to_string(status / 100) + "xx");
  }
}

TEST_F(HttpSenderTest, ReadsRetryAfterSeconds) {
  AnswerWith({429, {{"Retry-After", "7"}}, ""});

  HttpResponse response = SendOne(Post("/"));

  ASSERT_TRUE(response.retry_after.has_value());
  EXPECT_EQ(*response.retry_after, std::chrono::seconds(7));
}

TEST_F(HttpSenderTest, DeadlineCoversAHungReceiver) {
  AnswerWith({200, {}, "", /*never_answer=*/true});
  HttpRequest request = Post("/");
  request.timeout = milliseconds(300);

  HttpResponse response = SendOne(request);

  EXPECT_EQ(response.result, AttemptResult::kRetryable);
  EXPECT_EQ(response.status, 0);
  EXPECT_FALSE(response.error.empty());
  EXPECT_LT(response.duration, std::chrono::seconds(5));
}

TEST_F(HttpSenderTest, ConnectionRefusedIsRetryable) {
  HttpRequest request = Post("/");
  receiver_.Stop();

  HttpResponse response = SendOne(request);

  EXPECT_EQ(response.result, AttemptResult::kRetryable);
  EXPECT_EQ(response.StatusClass(), "error");
}

TEST_F(HttpSenderTest, GuardRefusesLoopbackBeforeAnyByteIsSent) {
  HttpRequest request = Post("/");
  request.guard = std::make_shared<AddressGuard>(false, std::vector<Cidr>{});

  HttpResponse response = SendOne(request);

  EXPECT_EQ(response.result, AttemptResult::kRejected);
  EXPECT_EQ(response.blocked, "loopback");
  EXPECT_EQ(response.StatusClass(), "blocked");
  EXPECT_TRUE(receiver_.Requests().empty());
}

TEST_F(HttpSenderTest, GuardAppliesToPinnedNames) {
  HttpRequest request;
  request.url = "http://wallet.example:" + std::to_string(receiver_.port()) + "/cb";
  request.guard = std::make_shared<AddressGuard>(false, std::vector<Cidr>{});
  SenderOptions options;
  options.resolve = {"wallet.example:" + std::to_string(receiver_.port()) + ":127.0.0.1"};

  HttpResponse blocked = SendOne(request, options);
  request.guard =
      std::make_shared<AddressGuard>(false, std::vector<Cidr>{*ParseCidr("127.0.0.0/8")});
  HttpResponse allowed = SendOne(request, options);

  EXPECT_EQ(blocked.blocked, "loopback");
  EXPECT_EQ(allowed.result, AttemptResult::kDelivered);
  ASSERT_EQ(receiver_.Requests().size(), 1u);
  EXPECT_EQ(receiver_.Requests()[0].headers["Host"],
            "wallet.example:" + std::to_string(receiver_.port()));
}

TEST_F(HttpSenderTest, EachPinnedNameReachesItsOwnAddress) {
  const std::string port = std::to_string(receiver_.port());
  SenderOptions options;
  // The second name is pinned to an address nothing listens on: a request that took the
  // other name's pin (or every pin) would still arrive, one that takes its own fails.
  options.resolve = {"a.example:" + port + ":127.0.0.1", "b.example:" + port + ":127.0.0.2",
                     "c.example:1:127.0.0.1"};
  HttpRequest to_a;
  to_a.url = "http://A.Example:" + port + "/a";
  HttpRequest to_b;
  to_b.url = "http://b.example:" + port + "/b";
  to_b.timeout = milliseconds(2000);

  HttpResponse a = SendOne(to_a, options);
  HttpResponse b = SendOne(to_b, options);

  EXPECT_EQ(a.result, AttemptResult::kDelivered) << a.error;
  EXPECT_EQ(b.result, AttemptResult::kRetryable);
  ASSERT_EQ(receiver_.Requests().size(), 1u);
  EXPECT_EQ(receiver_.Requests()[0].path, "/a");
}

TEST_F(HttpSenderTest, AReusedHandleCarriesNothingOfTheRequestBefore) {
  const std::string port = std::to_string(receiver_.port());
  SenderOptions options;
  options.resolve = {"a.example:" + port + ":127.0.0.1", "b.example:" + port + ":127.0.0.2"};
  HttpSender sender(std::move(options));
  HttpRequest first = Post("/first", "{\"n\":1}");
  first.url = "http://a.example:" + port + "/first";
  first.headers = {"X-First: 1"};
  HttpRequest second;  // another host, its own pin (nothing listens there), no headers
  second.url = "http://b.example:" + port + "/second";
  second.timeout = milliseconds(2000);
  HttpRequest third = Post("/third", "{\"n\":3}");  // no pin: the receiver by address

  HttpResponse a = Send(sender, first);
  HttpResponse b = Send(sender, second);
  HttpResponse c = Send(sender, third);

  EXPECT_EQ(a.result, AttemptResult::kDelivered) << a.error;
  EXPECT_EQ(b.result, AttemptResult::kRetryable);
  EXPECT_EQ(c.result, AttemptResult::kDelivered) << c.error;
  auto requests = receiver_.Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].path, "/first");
  EXPECT_EQ(requests[0].body, "{\"n\":1}");
  EXPECT_EQ(requests[0].headers["X-First"], "1");
  EXPECT_EQ(requests[1].path, "/third");
  EXPECT_EQ(requests[1].body, "{\"n\":3}");
  EXPECT_EQ(requests[1].headers.count("X-First"), 0u);
  EXPECT_EQ(requests[1].headers["X-Test"], "yes");
}

TEST_F(HttpSenderTest, KeepsConnectionsAlive) {
  HttpSender sender({});
  std::vector<std::pair<uint64_t, HttpResponse>> done;
  for (uint64_t i = 0; i < 20; ++i) {
    sender.Start(i, Post("/"));
    while (sender.in_flight() > 0) {
      sender.Wait(milliseconds(50), -1);
    }
    for (auto& completed : sender.TakeCompleted()) done.push_back(completed);
  }

  ASSERT_EQ(done.size(), 20u);
  EXPECT_TRUE(done.front().second.new_connection);
  for (size_t i = 1; i < done.size(); ++i) {
    EXPECT_FALSE(done[i].second.new_connection) << i;
  }
  EXPECT_EQ(receiver_.Requests().size(), 20u);
}

TEST(RetryAfterTest, ParsesSecondsAndDates) {
  auto now = std::chrono::system_clock::from_time_t(1700000000);

  EXPECT_EQ(ParseRetryAfter("120", now), std::chrono::seconds(120));
  EXPECT_EQ(ParseRetryAfter("Tue, 14 Nov 2023 22:14:20 GMT", now), std::chrono::seconds(60));
  EXPECT_EQ(ParseRetryAfter("Tue, 14 Nov 2023 22:13:00 GMT", now), std::chrono::seconds(0));
  EXPECT_EQ(ParseRetryAfter("Tue, 14 Nov 2023 22:13:50 GMT", now), std::chrono::seconds(30));
  EXPECT_EQ(ParseRetryAfter("soon", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("", now), std::nullopt);
}

}  // namespace
}  // namespace anchor_events::delivery
