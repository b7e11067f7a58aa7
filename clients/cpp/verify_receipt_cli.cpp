// Verifies receipts from the command line and prints the reason ("ok" when one verified).
//
//   verify_receipt_cli TOKEN_FILE JWKS_FILE NOW EXPECTED_JSON [ANCHOR_FILE]
//   verify_receipt_cli --batch < LINES   (each: the first four, tab-separated)
//
// NOW is Unix seconds, or "-" for the system clock. EXPECTED_JSON is an object with "account"
// and "product", and optionally "license", "machine" and "nonce". Without ANCHOR_FILE, and for
// each line of a batch, the last-seen time lives in memory for that one verification.
// Exit status: 0 ok (a batch: every line was read), 1 refused, 2 usage.
#include <charconv>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "license_receipt.h"

namespace {

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::optional<license_receipt::Expected> parse_expected(std::string_view text) {
  using license_receipt::detail::Json;
  std::optional<Json> json = license_receipt::detail::JsonReader::parse(text);
  if (!json || json->kind != Json::Kind::kObject) return std::nullopt;
  const std::string* account = json->string_member("account");
  const std::string* product = json->string_member("product");
  if (account == nullptr || product == nullptr) return std::nullopt;
  license_receipt::Expected expected{*account, *product, {}, {}, {}};
  auto optional_member = [&](const char* name) -> std::optional<std::string> {
    if (const std::string* value = json->string_member(name)) return *value;
    return std::nullopt;
  };
  expected.license = optional_member("license");
  expected.machine_id = optional_member("machine");
  expected.nonce = optional_member("nonce");
  return expected;
}

// The result of one verification, or nothing when the arguments cannot be read.
std::optional<license_receipt::Result> verify_files(const std::string& token_path,
                                                    const std::string& jwks_path,
                                                    std::string_view now_text,
                                                    std::string_view expected_text,
                                                    const char* anchor_path) {
  std::optional<std::string> token = read_file(token_path);
  std::optional<std::string> jwks = read_file(jwks_path);
  std::optional<license_receipt::Expected> expected = parse_expected(expected_text);
  if (!token || !jwks || !expected) return std::nullopt;
  std::optional<std::int64_t> now;
  if (now_text != "-") {
    std::int64_t value = 0;
    auto [end, error] = std::from_chars(now_text.data(), now_text.data() + now_text.size(), value);
    if (error != std::errc() || end != now_text.data() + now_text.size()) return std::nullopt;
    now = value;
  }
  if (anchor_path != nullptr) {
    license_receipt::FileAnchorStore store(anchor_path);
    return license_receipt::verify(*token, *jwks, *expected, store, now);
  }
  license_receipt::MemoryAnchorStore store;
  return license_receipt::verify(*token, *jwks, *expected, store, now);
}

int run_batch() {
  std::string line;
  while (std::getline(std::cin, line)) {
    std::vector<std::string> fields;
    std::size_t start = 0;
    for (std::size_t tab; (tab = line.find('\t', start)) != std::string::npos; start = tab + 1) {
      fields.push_back(line.substr(start, tab - start));
    }
    fields.push_back(line.substr(start));
    std::optional<license_receipt::Result> result =
        fields.size() == 4 ? verify_files(fields[0], fields[1], fields[2], fields[3], nullptr)
                           : std::nullopt;
    if (!result) {
      std::cerr << "cannot read the batch line: " << line << "\n";
      return 2;
    }
    std::cout << result->reason_text() << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string_view(argv[1]) == "--batch") return run_batch();
  if (argc != 5 && argc != 6) {
    std::cerr
        << "usage: verify_receipt_cli TOKEN_FILE JWKS_FILE NOW|- EXPECTED_JSON [ANCHOR_FILE]\n"
           "       verify_receipt_cli --batch < TOKEN_FILE<tab>JWKS_FILE<tab>NOW<tab>EXPECTED_JSON "
           "lines\n";
    return 2;
  }
  std::optional<license_receipt::Result> result =
      verify_files(argv[1], argv[2], argv[3], argv[4], argc == 6 ? argv[5] : nullptr);
  if (!result) {
    std::cerr << "cannot read the token file, the JWKS file, NOW or EXPECTED_JSON\n";
    return 2;
  }
  std::cout << result->reason_text() << "\n";
  return result->ok() ? 0 : 1;
}
