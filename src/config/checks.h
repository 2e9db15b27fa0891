// Pure validity checks for configuration values: Stellar strkeys, host names, CIDR blocks,
// HTTP header names and Kafka names. Each returns the cause of a problem, or "" when valid.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace anchor_events::config {

inline constexpr uint8_t kAccountIdVersion = 6 << 3;  // 'G...'
inline constexpr uint8_t kSeedVersion = 18 << 3;      // 'S...'

// A 56-character strkey (SEP-23) of `version`: upper-case base32, version byte and
// CRC16-XModem checksum. The cause never echoes the key.
std::string StrkeyProblem(std::string_view text, uint8_t version);

// A DNS host name (letters, digits and '-' in dot-separated labels of 1..63 characters).
std::string HostNameProblem(std::string_view host);

// A host name with an optional ":port", as a SEP-10 client domain may be written.
std::string DomainProblem(std::string_view domain);

// An IPv4 or IPv6 literal (IPv6 without brackets).
bool IsIpLiteral(std::string_view text);

// A CIDR block such as "10.0.0.0/8" or "fd00::/8", with no bits set after the prefix.
std::string CidrProblem(std::string_view text);

// A "host:port:address" pin, as curl's --resolve takes it.
std::string ResolveEntryProblem(std::string_view text);

// An RFC 7230 token, as an HTTP header name must be.
std::string HeaderNameProblem(std::string_view name);

// A Kafka topic or group-id part: [A-Za-z0-9._-], 1..max_length characters.
std::string KafkaNameProblem(std::string_view name, size_t max_length);

// A header value set in configuration: no CR, LF or other control character (it would end
// the header and start another), at most kMaxHeaderValueBytes. Never echoes the value.
inline constexpr size_t kMaxHeaderNameBytes = 256;
inline constexpr size_t kMaxHeaderValueBytes = 8192;
std::string HeaderValueProblem(std::string_view value);

// A Standard Webhooks secret: "whsec_" (optional) and standard base64 of 24 to 64 bytes. The
// cause never echoes the secret.
std::string WebhookSecretProblem(std::string_view secret);
// The secret as written in a file, without surrounding whitespace (a trailing newline).
std::string TrimWebhookSecret(std::string_view text);

// The digest a clients-file item's material_sha256 holds: SHA-256 (lower-case hex) over each
// present (field name, file content) pair, in the order client_cert_file, client_key_file,
// webhook_secret_file, webhook_secret_previous_file. `contents` maps field names to contents.
std::string MaterialDigest(const std::map<std::string, std::string>& contents);

// True when `text` holds a control character (CR, LF, NUL, ...).
bool HasControlCharacter(std::string_view text);

}  // namespace anchor_events::config
