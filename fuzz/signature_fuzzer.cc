// Fuzzes the Signature header verifier with input "<header>\n<host>\n<body>", checked against the
// account of RFC 8032's first test key (testdata/signing-vectors.json) at t=1700000000, so the
// corpus's real headers reach the signature check. A header this key signs always verifies.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "signing/signer.h"

namespace {

constexpr std::string_view kSeed = "SCOWDMM5576VUYF2QRFPJEXMFTCEISOFNF5TE2IZOA52YAY4VZ7WBQNO";
constexpr int64_t kNow = 1700000000;

std::string_view NextLine(std::string_view* input) {
  size_t newline = input->find('\n');
  std::string_view line = input->substr(0, newline);
  input->remove_prefix(newline == std::string_view::npos ? input->size() : newline + 1);
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto key = anchor_events::signing::SigningKey::FromSeed(kSeed);
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view header = NextLine(&input);
  std::string_view host = NextLine(&input);
  std::string_view body = input;

  (void)anchor_events::signing::VerifySignatureHeader(header, key->AccountId(), host, body, kNow);

  std::string signed_header = anchor_events::signing::SignatureHeaderValue(*key, kNow, host, body);
  if (!anchor_events::signing::VerifySignatureHeader(signed_header, key->AccountId(), host, body,
                                                     kNow)) {
    std::abort();
  }
  return 0;
}
