// Micro-benchmarks of the hot path's pure parts: request parse, digest, decision, response.
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include "bench_data.h"
#include "core/api_version.h"
#include "core/receipt.h"
#include "core/signing.h"
#include "core/tki.h"
#include "core/validate.h"
#include "net/http.h"

namespace le::bench {
namespace {

const std::string kBody = R"({"key": "BNCH-0000-0012-3456", "domain": "example.com"})";

void BM_ParseValidateRequest(benchmark::State& state) {
  for (auto _ : state) {
    auto r = core::parse_validate_request(kBody);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_ParseValidateRequest);

// The router's share of a validation, with API versions (a header read, the version named in
// the answer) and without: arg 1 / 0. The client sends no X-API-Version, as most do, or one
// (arg 2).
void BM_RouterDispatch(benchmark::State& state) {
  net::Router router;
  router.add(net::http::verb::post, "/api/v1/validate",
             [](const net::Request&, net::Response& res) { res.status = 200; });
  router.add(net::http::verb::post, "/api/v1/activate", [](const net::Request&, net::Response&) {});
  if (state.range(0) != 0) {
    router.set_versioning(
        {core::kApiVersionHeader, core::kCurrentApiVersion, &core::select_api_version});
  }
  net::http::fields fields;
  fields.set(net::http::field::host, "edge.example.com");
  fields.set(net::http::field::content_type, "application/json");
  fields.set(net::http::field::user_agent, "MyApp/1.0");
  if (state.range(0) == 2) fields.set("X-API-Version", "2026-01-01");
  net::Request req;
  req.method = net::http::verb::post;
  req.path = "/api/v1/validate";
  req.fields = net::HeaderFields(&fields);
  std::string body;
  for (auto _ : state) {
    net::Response res(body);
    benchmark::DoNotOptimize(router.dispatch(req, res));
    benchmark::DoNotOptimize(res.extra_headers().size());
  }
}
BENCHMARK(BM_RouterDispatch)->Arg(0)->Arg(1)->Arg(2);

void BM_ParseTkiRequest(benchmark::State& state) {
  const std::string body =
      R"({"data":{"product":"MyProduct","version":"1.0.0","licensekey":"TKI-XXXXX-XXXXX","ip":"192.168.1.1","hwid":"unique-hardware-id"}})";
  for (auto _ : state) {
    auto r = core::parse_tki_request(body);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_ParseTkiRequest);

void BM_Sha256(benchmark::State& state) {
  const std::string key(static_cast<std::size_t>(state.range(0)), 'K');
  for (auto _ : state) {
    auto d = core::sha256(key);
    benchmark::DoNotOptimize(d);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Sha256)->ArgName("key_bytes")->Arg(19)->Arg(64)->Arg(256);

void BM_DecideValidate(benchmark::State& state) {
  const core::LicenseRecord lic = bench_license(123456);
  core::ValidateRequest req;
  req.license_key = "BNCH-0000-0012-3456";
  req.machine_id = "machine-123456";
  for (auto _ : state) {
    auto d = core::decide_validate(req, nullptr, &lic, 1700000000);
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(BM_DecideValidate);

void BM_WriteValidateResponse(benchmark::State& state) {
  const core::LicenseRecord lic = bench_license(123456);
  std::string out;
  for (auto _ : state) {
    core::write_validate_response(out, {core::ValidationCode::kValid, &lic}, "BNCH-0000-0012-3456",
                                  1700000000);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_WriteValidateResponse);

}  // namespace
}  // namespace le::bench

namespace le::bench {
namespace {
// Full validation (DOM) of the same body, for comparison with the On-Demand parse.
void BM_DomValidateBody(benchmark::State& state) {
  simdjson::dom::parser parser;
  simdjson::padded_string body(kBody);
  for (auto _ : state) {
    auto r = parser.parse(body);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_DomValidateBody);
}  // namespace
}  // namespace le::bench

namespace le::bench {
namespace {

// An offline receipt as the edge signs it: claims to JSON, base64url, one Ed25519 signature.
void BM_SignReceipt(benchmark::State& state) {
  const auto root = core::Ed25519Key::generate().value();
  const auto edge = core::Ed25519Key::generate().value();
  const std::string header = core::receipt_header(core::issue_certificate(
      root, "root_1", edge.public_raw(), "edge-a", 1'700'000'000, 1'700'172'800));
  core::ReceiptClaims c;
  c.account = "acme";
  c.product = "prod_0123456789abcdef";
  c.license = "lic_0123456789abcdef";
  c.status = "active";
  c.type = "subscription";
  c.expires_at = 1'800'000'000;
  c.machine_id = "laptop-7f3a";
  c.iat = 1'700'000'100;
  c.valid_until = 1'700'259'300;
  c.nonce = "client-nonce-1234";
  c.replica_seq = 123456;
  for (auto _ : state) benchmark::DoNotOptimize(core::sign_receipt(edge, header, c));
}
BENCHMARK(BM_SignReceipt);

// What a verifier pays for the signature alone.
void BM_VerifyEd25519(benchmark::State& state) {
  const auto key = core::Ed25519Key::generate().value();
  const std::string data(300, 'x');
  const std::string sig = key.sign(data);
  for (auto _ : state) benchmark::DoNotOptimize(key.verify(data, sig));
}
BENCHMARK(BM_VerifyEd25519);

}  // namespace
}  // namespace le::bench
