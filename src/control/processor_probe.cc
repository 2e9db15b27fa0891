#include "control/processor_probe.h"

#include <memory>

#include <curl/curl.h>

#include "control/json_util.h"

namespace anchor_events::control {
namespace {

constexpr size_t kMaxStatusBytes = 4 << 20;

size_t Append(char* data, size_t size, size_t count, void* target) {
  auto* body = static_cast<std::string*>(target);
  size_t bytes = size * count;
  if (body->size() + bytes > kMaxStatusBytes) {
    return 0;  // aborts the transfer
  }
  body->append(data, bytes);
  return bytes;
}

}  // namespace

Result<ProcessorState> FetchProcessorState(const std::string& base_url,
                                           std::chrono::milliseconds timeout) {
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) {
    return Error{"reading /status failed for " + base_url + ": libcurl did not start"};
  }
  std::string url = base_url + "/status";
  std::string body;
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl.get(), CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &body);
  CURLcode code = curl_easy_perform(curl.get());
  if (code != CURLE_OK) {
    return Error{"reading /status failed for " + base_url + ": " + curl_easy_strerror(code)};
  }
  long status = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) {
    return Error{"reading /status failed for " + base_url + ": HTTP " + std::to_string(status)};
  }
  Result<rapidjson::Document> document = ParseJson(body, base_url + "/status");
  if (!document.ok()) {
    return document.error();
  }
  ProcessorState state;
  state.base_url = base_url;
  std::string revision = StringMember(*document, "clients_revision");
  if (!revision.empty()) {
    char* end = nullptr;
    long long parsed = std::strtoll(revision.c_str(), &end, 10);
    if (*end == '\0') {
      state.revision = parsed;
    }
  }
  if (const rapidjson::Value* reload = Member(*document, "last_reload")) {
    if (StringMember(*reload, "result") == "failed") {
      state.reload_error = StringMember(*reload, "error");
    }
  }
  if (const rapidjson::Value* lanes = Member(*document, "lanes"); lanes && lanes->IsArray()) {
    for (const auto& lane : lanes->GetArray()) {
      state.consumer_groups[StringMember(lane, "name")] = StringMember(lane, "group_id");
    }
  }
  return state;
}

Result<std::vector<std::string>> ProcessorUrls(kube::Client* client, const Settings& settings) {
  if (!settings.processor_urls.empty()) {
    return settings.processor_urls;
  }
  std::string path = "/apis/discovery.k8s.io/v1/namespaces/" + kube::QueryEscape(settings.ns) +
                     "/endpointslices?labelSelector=" +
                     kube::QueryEscape("kubernetes.io/service-name=" + settings.processor_service);
  Result<kube::Response> response = client->Request("GET", path);
  if (!response.ok()) {
    return response.error();
  }
  if (response->status != 200) {
    return Error{"listing the processor's EndpointSlices failed for Service " +
                 settings.processor_service + ": HTTP " + std::to_string(response->status)};
  }
  Result<rapidjson::Document> list = ParseJson(response->body, "EndpointSlices");
  if (!list.ok()) {
    return list.error();
  }
  std::vector<std::string> urls;
  const rapidjson::Value* items = Member(*list, "items");
  if (!items || !items->IsArray()) {
    return urls;
  }
  for (const auto& slice : items->GetArray()) {
    bool ipv6 = StringMember(slice, "addressType") == "IPv6";
    const rapidjson::Value* endpoints = Member(slice, "endpoints");
    if (!endpoints || !endpoints->IsArray()) {
      continue;
    }
    for (const auto& endpoint : endpoints->GetArray()) {
      const rapidjson::Value* conditions = Member(endpoint, "conditions");
      const rapidjson::Value* ready = conditions ? Member(*conditions, "ready") : nullptr;
      if (ready && ready->IsBool() && !ready->GetBool()) {
        continue;  // absent means ready
      }
      const rapidjson::Value* addresses = Member(endpoint, "addresses");
      if (!addresses || !addresses->IsArray() || addresses->Empty() ||
          !(*addresses)[0].IsString()) {
        continue;
      }
      std::string address = (*addresses)[0].GetString();
      urls.push_back("http://" + (ipv6 ? "[" + address + "]" : address) + ":" +
                     std::to_string(settings.processor_port));
    }
  }
  return urls;
}

}  // namespace anchor_events::control
