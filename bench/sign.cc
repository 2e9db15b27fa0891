// bench_sign: what one callback signature costs on this machine, for bench/run's signing share.
// Signs "<t>.<host>.<body>" for every body of FILE (one per line) with the product's own
// SignatureHeaderValue, repeatedly for about a second, and prints {"sign_us": ...}: CPU time
// of this thread per signature. Reads the seed from SEED_FILE; prints no key or signature.
//
//   bench_sign --bodies FILE --seed-file SEED_FILE
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <time.h>

#include "signing/signer.h"

namespace {

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  std::string bodies_file;
  std::string seed_file;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view name = argv[i];
    if (name == "--bodies") bodies_file = argv[i + 1];
    if (name == "--seed-file") seed_file = argv[i + 1];
  }
  std::vector<std::string> bodies;
  std::ifstream in(bodies_file);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) bodies.push_back(std::move(line));
  }
  std::ifstream seed_in(seed_file);
  std::stringstream seed;
  seed << seed_in.rdbuf();
  std::string seed_text = seed.str();
  while (!seed_text.empty() && (seed_text.back() == '\n' || seed_text.back() == '\r')) {
    seed_text.pop_back();
  }
  auto key = anchor_events::signing::SigningKey::FromSeed(seed_text);
  if (bodies.empty() || !key.ok()) {
    std::fprintf(stderr, "usage: bench_sign --bodies FILE --seed-file SEED_FILE (%s)\n",
                 bodies.empty() ? "no bodies" : "invalid seed");
    return 2;
  }
  size_t signatures = 0;
  size_t bytes = 0;
  const double start = ThreadCpuSeconds();
  double elapsed = 0;
  do {
    for (const std::string& body : bodies) {
      bytes += anchor_events::signing::SignatureHeaderValue(*key, 1764892800 + signatures,
                                                            "wallet-000.example", body)
                   .size();
      ++signatures;
    }
    elapsed = ThreadCpuSeconds() - start;
  } while (elapsed < 1.0);
  std::printf("{\"signatures\": %zu, \"sign_us\": %.2f}\n", signatures,
              elapsed * 1e6 / static_cast<double>(signatures));
  return bytes > 0 ? 0 : 1;
}
