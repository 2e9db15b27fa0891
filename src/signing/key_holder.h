// The anchor's current signing key, replaceable while lanes sign with it: a rotated seed
// (a new Secret mounted) takes effect at the next attempt without restarting any lane.
#pragma once

#include <memory>
#include <mutex>
#include <optional>

#include "signing/signer.h"

namespace anchor_events::signing {

// Thread-safe.
class KeyHolder {
 public:
  explicit KeyHolder(SigningKey key) : key_(std::make_shared<const SigningKey>(std::move(key))) {}

  // The key to sign with now; callers keep the returned pointer for one signature.
  std::shared_ptr<const SigningKey> Current() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return key_;
  }
  void Replace(SigningKey key) {
    auto next = std::make_shared<const SigningKey>(std::move(key));
    std::lock_guard<std::mutex> lock(mutex_);
    key_ = std::move(next);
  }

  // During a rotation, the key being replaced (null otherwise): Standard Webhooks receivers
  // get a v1a signature with each key until it is unset.
  std::shared_ptr<const SigningKey> Previous() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return previous_;
  }
  void SetPrevious(std::optional<SigningKey> key) {
    auto previous = key ? std::make_shared<const SigningKey>(std::move(*key)) : nullptr;
    std::lock_guard<std::mutex> lock(mutex_);
    previous_ = std::move(previous);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const SigningKey> key_;
  std::shared_ptr<const SigningKey> previous_;
};

}  // namespace anchor_events::signing
