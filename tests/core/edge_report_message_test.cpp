// The report message an edge sends the primaries: it round-trips exactly, splits by size, carries
// each account and product id once, and reads back the same as the earlier JSON form; anything
// malformed, oversized or hostile in either form is a DecodeError, never a crash; what a later
// edge adds (sections, fields, outcomes) is skipped.
#include <gtest/gtest.h>

#include <optional>

#include "core/digest.h"
#include "core/edge_report.h"
#include "core/signing.h"

namespace le::core {
namespace {

Digest digest_of(int i) { return sha256("KEY-" + std::to_string(i)); }

UsageCount usage_entry(int i) {
  UsageCount c;
  c.account_id = "acc_" + std::to_string(i % 3);
  c.mode = i % 2 ? Mode::kTest : Mode::kLive;
  c.license_id = i % 5 == 0 ? "" : "lic_" + std::to_string(i);
  c.product_id = c.license_id.empty() ? "" : "prod_1";
  c.day = 20000 + i % 4;
  c.validations[static_cast<std::size_t>(UsageOutcome::kValid)] = static_cast<std::uint64_t>(i);
  c.validations[static_cast<std::size_t>(UsageOutcome::kDomainMismatch)] = 1;
  c.auths[static_cast<std::size_t>(TkiStatus::kMaxIps)] = 2;
  c.last_validated_ms = 1'700'000'000'000 + i;
  for (int m = 0; m < i % 7; ++m) c.machines.add("m" + std::to_string(m));
  c.ips.add("203.0.113." + std::to_string(i % 250));
  return c;
}

EdgeReport sample_report() {
  EdgeReport r;
  r.header = {"edge-1", 1'763'856'000'000, 7};
  r.failures = {{digest_of(1), 1, FailureReason::kSuspended, ""},
                {digest_of(2), kMaxFailureCount, FailureReason::kMachineNotActivated, "m \"1\"\n"}};
  for (int i = 1; i <= 5; ++i) r.usage.push_back(usage_entry(i));
  AuthAttempt a;
  a.at_ms = 1'763'856'000'123;
  a.account_id = "acc_1";
  a.license_id = "lic_1";
  a.product = "My App";
  a.version = "1.0";
  a.ip = "203.0.113.9";
  a.hwid = "HW-1";
  a.user_agent = "MyApp/1.0.0 (Läptop)";
  a.status = TkiStatus::kMaxHwids;
  r.auths.push_back(a);
  a.license_id.clear();
  a.hwid.clear();
  a.user_agent.clear();
  a.status = TkiStatus::kLicenseNotFound;
  r.auths.push_back(a);
  r.blacklist = {{"acc_1", "bl_1", 4, 1'763'856'000'999}};
  return r;
}

std::vector<std::string> encode_all(const EdgeReport& r, std::size_t max_bytes) {
  ReportEncoder enc(max_bytes);
  std::vector<std::string> out;
  std::uint64_t seq = r.header.seq;
  enc.begin({r.header.edge, r.header.boot, seq});
  auto add = [&](const auto& e) {
    if (!enc.add(e)) {
      out.emplace_back();
      enc.finish(out.back());
      enc.begin({r.header.edge, r.header.boot, ++seq});
      EXPECT_TRUE(enc.add(e));
    }
  };
  for (const auto& e : r.failures) add(e);
  for (const auto& e : r.usage) add(e);
  for (const auto& e : r.auths) add(e);
  for (const auto& e : r.blacklist) add(e);
  out.emplace_back();
  enc.finish(out.back());
  return out;
}

TEST(EdgeReport, RoundTripsExactly) {
  const EdgeReport r = sample_report();
  const auto messages = encode_all(r, kMaxReportBytes);
  ASSERT_EQ(messages.size(), 1u);
  auto d = decode_edge_report(messages[0]);
  ASSERT_TRUE(std::holds_alternative<EdgeReport>(d)) << std::get<DecodeError>(d).message;
  const auto& back = std::get<EdgeReport>(d);
  EXPECT_EQ(back.header, r.header);
  EXPECT_EQ(back.failures, r.failures);
  EXPECT_EQ(back.usage, r.usage);
  EXPECT_EQ(back.auths, r.auths);
  EXPECT_EQ(back.blacklist, r.blacklist);
  EXPECT_EQ(report_msg_id(r.header), "edge-1-1763856000000-7");
}

TEST(EdgeReport, LargeFlushesSplitIntoNumberedMessagesWithinTheBound) {
  EdgeReport r;
  r.header = {"edge-2", 5, 1};
  for (int i = 0; i < 20000; ++i) {
    r.failures.push_back({digest_of(i), static_cast<std::uint64_t>(i + 1), FailureReason::kExpired,
                          "machine-" + std::to_string(i)});
  }
  for (int i = 0; i < 3000; ++i) r.usage.push_back(usage_entry(i));
  UsageCount dense = usage_entry(1);  // three dense sketches: the largest entry there is
  for (int i = 0; i < 5000; ++i) {
    dense.machines.add("m" + std::to_string(i));
    dense.ips.add("i" + std::to_string(i));
    dense.hwids.add("h" + std::to_string(i));
  }
  r.usage.push_back(dense);
  const auto messages = encode_all(r, kMinReportBytes);
  EXPECT_GT(messages.size(), 10u);
  EdgeReport all;
  std::uint64_t seq = 0;
  for (const auto& m : messages) {
    EXPECT_LE(m.size(), kMinReportBytes);
    auto d = decode_edge_report(m);
    ASSERT_TRUE(std::holds_alternative<EdgeReport>(d)) << std::get<DecodeError>(d).message;
    auto& part = std::get<EdgeReport>(d);
    EXPECT_EQ(part.header.seq, ++seq);  // numbered in order
    for (auto& f : part.failures) all.failures.push_back(std::move(f));
    for (auto& u : part.usage) all.usage.push_back(std::move(u));
  }
  EXPECT_EQ(all.failures, r.failures);
  EXPECT_EQ(all.usage, r.usage);
}

// The earlier JSON form (core/edge_report_json.h), which a primary still reads.
TEST(EdgeReportJson, MalformedOversizedAndHostileInputIsADecodeError) {
  const std::string hex(64, 'a');
  const std::string head = R"({"edge":"e1","boot":1,"seq":2)";
  auto with = [&](const std::string& section, const std::string& fields) {
    return head + ",\"" + section + "\":[{" + fields + "}]}";
  };
  const std::string ok_failure = R"("license":")" + hex + R"(","count":3,"reason":"EXPIRED")";
  const std::string ok_usage = R"("account":"acc_1","mode":"live","day":20000)";
  const std::string ok_auth = R"("atMs":1,"account":"acc_1","mode":"test","outcome":"SUCCESS")";
  const std::string ok_hit = R"("account":"acc_1","entry":"bl_1","attempts":1,"lastMs":5)";
  for (const auto& ok : {with("failures", ok_failure), with("usage", ok_usage),
                         with("auths", ok_auth), with("blacklist", ok_hit), head + "}"}) {
    auto d = decode_edge_report(ok);
    ASSERT_TRUE(std::holds_alternative<EdgeReport>(d))
        << ok << ": " << std::get<DecodeError>(d).message;
  }
  std::string many = head + R"(,"failures":[)";
  for (std::size_t i = 0; many.size() <= kMaxReportBytes; ++i) {
    if (i) many.push_back(',');
    many += "{" + ok_failure + "}";
  }
  many += "]}";
  std::string dense_sketch;
  {
    Hll h;
    for (int i = 0; i < 5000; ++i) h.add(std::to_string(i));
    h.encode(dense_sketch);
  }
  const std::string b64_dense = base64(dense_sketch);
  const std::vector<std::string> bad = {
      "",
      "null",
      "[]",
      "{",
      "garbage",
      "\xff\xfe",
      std::string(5000, '[') + std::string(5000, ']'),
      "{}",
      R"({"boot":1,"seq":2})",
      R"({"edge":"e1","seq":2})",
      R"({"edge":"e1","boot":1})",
      R"({"edge":"","boot":1,"seq":2})",
      R"({"edge":"e 1","boot":1,"seq":2})",
      R"({"edge":")" + std::string(kMaxEdgeIdBytes + 1, 'e') + R"(","boot":1,"seq":2})",
      R"({"edge":"e1","boot":-1,"seq":2})",
      R"({"edge":"e1","boot":1,"seq":0})",
      R"({"edge":"e1","boot":1,"seq":2,"seq":3})",
      head + R"(,"failures":null})",
      head + R"(,"usage":{}})",
      head + R"(,"auths":[1]})",
      head + R"(,"blacklist":[[]]})",
      // failures
      with("failures", R"("count":3,"reason":"EXPIRED")"),
      with("failures", R"("license":"abc","count":3,"reason":"EXPIRED")"),
      with("failures", R"("license":")" + hex + R"(","count":0,"reason":"EXPIRED")"),
      with("failures", R"("license":")" + hex + R"(","count":9007199254740992,"reason":"EXPIRED")"),
      with("failures", R"("license":")" + hex + R"(","count":3,"reason":"VALID")"),
      with("failures", ok_failure + R"(,"machineId":"")"),
      with("failures", ok_failure + R"(,"count":4)"),
      // usage
      with("usage", R"("mode":"live","day":20000)"),
      with("usage", R"("account":"","mode":"live","day":20000)"),
      with("usage", R"("account":")" + std::string(kMaxUsageIdBytes + 1, 'a') +
                        R"(","mode":"live","day":20000)"),
      with("usage", R"("account":"acc_1","mode":"prod","day":20000)"),
      with("usage", R"("account":"acc_1","mode":"live","day":-1)"),
      with("usage", R"("account":"acc_1","mode":"live","day":99999999)"),
      with("usage", R"("account":"acc_1","mode":"live","day":"20000")"),
      with("usage", ok_usage + R"(,"validations":[1,2])"),
      with("usage", ok_usage + R"(,"validations":{"VALID":0})"),
      with("usage", ok_usage + R"(,"validations":{"VALID":-3})"),
      with("usage", ok_usage + R"(,"validations":{"VALID":9007199254740992})"),
      with("usage", ok_usage + R"(,"validations":{"VALID":1,"VALID":2})"),
      with("usage", ok_usage + R"(,"auths":{"SUCCESS":1.5})"),
      with("usage", ok_usage + R"(,"lastValidatedMs":-5)"),
      with("usage", ok_usage + R"(,"machines":"not base64!")"),
      with("usage", ok_usage + R"(,"machines":"eA==")"),  // "x": not a sketch
      with("usage", ok_usage + R"(,"ips":")" + b64_dense.substr(0, b64_dense.size() - 8) + "\""),
      with("usage", ok_usage + R"(,"hwids":7)"),
      with("usage", ok_usage + R"(,"license":")" + std::string(200, 'l') + "\""),
      // auths
      with("auths", R"("account":"acc_1","mode":"test","outcome":"SUCCESS")"),
      with("auths", R"("atMs":1,"account":"acc_1","mode":"test","outcome":"GREAT")"),
      with("auths", R"("atMs":1,"account":"acc_1","mode":"test","outcome":"SUCCESS","ip":")" +
                        std::string(kMaxAuthTextBytes + 1, '1') + "\""),
      with("auths", ok_auth + R"(,"userAgent":null)"),
      // blacklist hits
      with("blacklist", R"("account":"acc_1","entry":"bl_1","attempts":0,"lastMs":5)"),
      with("blacklist", R"("account":"acc_1","entry":"","attempts":1,"lastMs":5)"),
      with("blacklist", R"("account":"acc_1","entry":"bl_1","attempts":1)"),
      many,
      head + R"(,"usage":[)" + std::string(kMaxReportBytes, ' ') + "]}",
  };
  for (const auto& b : bad) {
    auto d = decode_edge_report(b);
    ASSERT_TRUE(std::holds_alternative<DecodeError>(d)) << b.substr(0, 200);
    EXPECT_FALSE(std::get<DecodeError>(d).message.empty());
  }
  // Unknown fields and outcomes are ignored: a later edge may say more.
  auto d = decode_edge_report(head + R"(,"x":[1],"usage":[{)" + ok_usage +
                              R"(,"validations":{"VALID":2,"LATER":1},"y":{}}]})");
  ASSERT_TRUE(std::holds_alternative<EdgeReport>(d)) << std::get<DecodeError>(d).message;
  EXPECT_EQ(std::get<EdgeReport>(d).usage.at(0).validations[0], 2u);
}

// Truncating a valid report anywhere, or adding to its end, never decodes into something else,
// nor crashes.
TEST(EdgeReport, TruncatedOrExtendedReportsAreRefused) {
  const auto messages = encode_all(sample_report(), kMaxReportBytes);
  const std::string& bytes = messages.at(0);
  ASSERT_TRUE(std::holds_alternative<EdgeReport>(decode_edge_report(bytes)));
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_TRUE(std::holds_alternative<DecodeError>(decode_edge_report(bytes.substr(0, n)))) << n;
  }
  for (const std::string& more : {std::string(1, '\0'), std::string("x"), bytes}) {
    EXPECT_TRUE(std::holds_alternative<DecodeError>(decode_edge_report(bytes + more)));
  }
}

// ---- the binary form, byte by byte --------------------------------------------------------------

// Builds messages by hand, as a hostile or later edge could.
struct Bytes {
  std::string s;
  Bytes& v(std::uint64_t x) {
    while (x >= 0x80) {
      s.push_back(static_cast<char>(x | 0x80));
      x >>= 7;
    }
    s.push_back(static_cast<char>(x));
    return *this;
  }
  Bytes& b(std::uint8_t x) {
    s.push_back(static_cast<char>(x));
    return *this;
  }
  Bytes& str(std::string_view x) {
    v(x.size());
    s.append(x);
    return *this;
  }
  Bytes& raw(std::string_view x) {
    s.append(x);
    return *this;
  }
  // An entry or a section: its length, then it.
  Bytes& part(const Bytes& x) { return v(x.s.size()).raw(x.s); }
};

// "LER" 1, the header (edge "e1", boot 1, seq 2 unless given), the sections (tag, entries), the
// end.
std::string message(const std::vector<std::pair<std::uint8_t, std::vector<Bytes>>>& sections,
                    const Bytes& header = Bytes().str("e1").v(1).v(2)) {
  Bytes m;
  m.raw(std::string_view("LER\x01", 4)).raw(header.s);
  for (const auto& [tag, entries] : sections) {
    Bytes body;
    for (const auto& e : entries) body.part(e);
    m.b(tag).part(body);
  }
  return m.b(0).s;
}

// Ids 0: acc_1, 1: prod_1.
std::vector<Bytes> two_ids() { return {Bytes().raw("acc_1"), Bytes().raw("prod_1")}; }
// Account acc_1, live, day 20000, lic_1, product prod_1, VALID 3, no auths, last 5, no sketches.
Bytes usage_fields() {
  return Bytes().v(0).b(0).v(20000).str("lic_1").v(2).v(1).v(3).v(0).v(5).b(0).b(0).b(0);
}
Bytes failure_fields() { return Bytes().raw(std::string(32, 'k')).v(3).b(0).str("m1"); }
// At 1, acc_1, test, SUCCESS, lic_1, then product, version, IP, HWID, User-Agent.
Bytes auth_fields(const std::string& user_agent = "UA/1") {
  return Bytes()
      .v(1)
      .v(0)
      .b(1)
      .b(0)
      .str("lic_1")
      .str("App")
      .str("1.0")
      .str("203.0.113.9")
      .str("HW")
      .str(user_agent);
}
Bytes hit_fields() { return Bytes().v(0).str("bl_1").v(1).v(5); }

std::optional<std::string> error_of(const std::string& m) {
  auto d = decode_edge_report(m);
  if (auto* e = std::get_if<DecodeError>(&d)) return e->message;
  return std::nullopt;
}

TEST(EdgeReport, HandBuiltMessagesOfEverySectionDecode) {
  auto d = decode_edge_report(message({{1, two_ids()},
                                       {2, {failure_fields()}},
                                       {3, {usage_fields()}},
                                       {4, {auth_fields()}},
                                       {5, {hit_fields()}}}));
  ASSERT_TRUE(std::holds_alternative<EdgeReport>(d)) << std::get<DecodeError>(d).message;
  const auto& r = std::get<EdgeReport>(d);
  EXPECT_EQ(r.header, (ReportHeader{"e1", 1, 2}));
  ASSERT_EQ(r.usage.size(), 1u);
  EXPECT_EQ(r.usage[0].account_id, "acc_1");
  EXPECT_EQ(r.usage[0].product_id, "prod_1");
  EXPECT_EQ(r.usage[0].validations[0], 3u);
  ASSERT_EQ(r.auths.size(), 1u);
  EXPECT_EQ(r.auths[0].mode, Mode::kTest);
  EXPECT_EQ(r.auths[0].user_agent, "UA/1");
  ASSERT_EQ(r.failures.size(), 1u);
  EXPECT_EQ(r.failures[0].machine_id, "m1");
  ASSERT_EQ(r.blacklist.size(), 1u);
  EXPECT_EQ(r.blacklist[0].entry_id, "bl_1");
}

TEST(EdgeReport, MalformedOversizedAndHostileBinaryInputIsADecodeError) {
  const std::string over_id(kMaxUsageIdBytes + 1, 'a');
  std::string dense;
  {
    Hll h;
    for (int i = 0; i < 5000; ++i) h.add(std::to_string(i));
    h.encode(dense);
  }
  auto usage = [](const Bytes& fields) { return message({{1, two_ids()}, {3, {fields}}}); };
  auto u = [] { return Bytes().v(0).b(0).v(20000); };  // account, mode, day
  const Bytes no_counts = Bytes().v(0).v(0).v(0);      // validations, auths, last validated
  const std::string hex_key(32, 'k');
  const std::string many_failures =
      message({{2, std::vector<Bytes>(kMaxReportBytes / 30, failure_fields())}});
  const std::string empty = message({});
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"header: empty edge", message({}, Bytes().str("").v(1).v(2))},
      {"header: edge with a space", message({}, Bytes().str("e 1").v(1).v(2))},
      {"header: edge too long",
       message({}, Bytes().str(std::string(kMaxEdgeIdBytes + 1, 'e')).v(1).v(2))},
      {"header: seq 0", message({}, Bytes().str("e1").v(1).v(0))},
      {"header: an 11-byte varint",
       message({}, Bytes().str("e1").raw(std::string(10, '\xff')).b(1).v(2))},
      {"header: a varint over 64 bits",
       message({}, Bytes().str("e1").raw(std::string(9, '\xff')).b(2).v(2))},
      {"no end", empty.substr(0, empty.size() - 1)},
      {"a section longer than the message",
       std::string("LER\x01", 4) + Bytes().str("e1").v(1).v(2).b(3).v(1000).b(0).s},
      {"a section twice", message({{2, {failure_fields()}}, {2, {failure_fields()}}})},
      {"ids after entries", message({{2, {failure_fields()}}, {1, two_ids()}})},
      {"an entry longer than its section",
       std::string("LER\x01", 4) + Bytes().str("e1").v(1).v(2).b(2).v(2).v(40).b(0).b(0).s},
      {"ids: empty", message({{1, {Bytes()}}})},
      {"ids: too long", message({{1, {Bytes().raw(over_id)}}})},
      {"ids: not UTF-8", message({{1, {Bytes().raw("acc\xff")}}})},
      {"usage: no ids", message({{3, {usage_fields()}}})},
      {"usage: account out of range",
       usage(Bytes().v(2).b(0).v(20000).str("").v(0).raw(no_counts.s).b(0).b(0).b(0))},
      {"usage: mode 2",
       usage(Bytes().v(0).b(2).v(20000).str("").v(0).raw(no_counts.s).b(0).b(0).b(0))},
      {"usage: day past 9999",
       usage(Bytes().v(0).b(0).v(2'932'897).str("").v(0).raw(no_counts.s).b(0).b(0).b(0))},
      {"usage: license too long", usage(u().str(over_id).v(0).raw(no_counts.s).b(0).b(0).b(0))},
      {"usage: license not UTF-8", usage(u().str("lic\xc3").v(0).raw(no_counts.s).b(0).b(0).b(0))},
      {"usage: product out of range", usage(u().str("l").v(3).raw(no_counts.s).b(0).b(0).b(0))},
      {"usage: a count of 0", usage(u().str("l").v(0).v(1).v(0).v(0).v(0).b(0).b(0).b(0))},
      {"usage: a count over 2^53-1",
       usage(u().str("l").v(0).v(1).v(kMaxUsageCount + 1).v(0).v(0).b(0).b(0).b(0))},
      {"usage: a mask without its counts", usage(u().str("l").v(0).v(3).v(1))},
      {"usage: last validated past int64",
       usage(u().str("l").v(0).v(0).v(0).v(std::uint64_t{1} << 63).b(0).b(0).b(0))},
      {"usage: a sketch that is not one",
       usage(u().str("l").v(0).raw(no_counts.s).str("x").b(0).b(0))},
      {"usage: a dense sketch cut short",
       usage(u().str("l").v(0).raw(no_counts.s).str(dense.substr(0, 100)).b(0).b(0))},
      {"usage: a sketch over its bound",
       usage(u().str("l").v(0).raw(no_counts.s).str(dense + "x").b(0).b(0))},
      {"usage: fields missing", usage(u().str("l"))},
      {"failures: a short digest", message({{2, {Bytes().raw(hex_key.substr(1))}}})},
      {"failures: count 0", message({{2, {Bytes().raw(hex_key).v(0).b(0).str("")}}})},
      {"failures: reason 6", message({{2, {Bytes().raw(hex_key).v(1).b(6).str("")}}})},
      {"failures: machine id too long", message({{2,
                                                  {Bytes().raw(hex_key).v(1).b(0).str(std::string(
                                                      kMaxFailureMachineIdBytes + 1, 'm'))}}})},
      {"auths: outcome past the last", message({{1, two_ids()},
                                                {4,
                                                 {Bytes()
                                                      .v(1)
                                                      .v(0)
                                                      .b(0)
                                                      .b(kTkiOutcomeCount)
                                                      .str("")
                                                      .str("")
                                                      .str("")
                                                      .str("")
                                                      .str("")
                                                      .str("")}}})},
      {"auths: a User-Agent too long",
       message({{1, two_ids()}, {4, {auth_fields(std::string(kMaxAuthTextBytes + 1, 'u'))}}})},
      {"auths: a User-Agent not UTF-8", message({{1, two_ids()}, {4, {auth_fields("UA\xff")}}})},
      {"auths: at ms past int64", message({{1, two_ids()},
                                           {4,
                                            {Bytes()
                                                 .v(~std::uint64_t{0})
                                                 .v(0)
                                                 .b(0)
                                                 .b(0)
                                                 .str("")
                                                 .str("")
                                                 .str("")
                                                 .str("")
                                                 .str("")
                                                 .str("")}}})},
      {"blacklist: no entry id", message({{1, two_ids()}, {5, {Bytes().v(0).str("").v(1).v(5)}}})},
      {"blacklist: 0 attempts", message({{1, two_ids()}, {5, {Bytes().v(0).str("bl").v(0).v(5)}}})},
      {"over 1 MiB", many_failures},
      {"another magic", std::string("LER\x02", 4) + empty.substr(4)},
  };
  ASSERT_GT(many_failures.size(), kMaxReportBytes);
  for (const auto& [what, m] : bad) {
    const auto error = error_of(m);
    ASSERT_TRUE(error) << what;
    EXPECT_FALSE(error->empty()) << what;
  }
}

// A later edge may add sections, fields at an entry's end and outcomes: this reader skips them and
// reads the rest as before.
TEST(EdgeReport, WhatALaterEdgeAddsIsSkipped) {
  Bytes usage_more = usage_fields();
  usage_more.raw("later fields");
  // VALID 3 and an outcome at bit 40 counted 7.
  const Bytes later_outcome = Bytes()
                                  .v(0)
                                  .b(0)
                                  .v(20000)
                                  .str("lic_1")
                                  .v(2)
                                  .v((std::uint64_t{1} << 40) | 1)
                                  .v(3)
                                  .v(7)
                                  .v(0)
                                  .v(5)
                                  .b(0)
                                  .b(0)
                                  .b(0);
  auto d = decode_edge_report(message({{1, two_ids()},
                                       {9, {Bytes().raw("a section of later things")}},
                                       {3, {usage_fields(), usage_more, later_outcome}},
                                       {200, {}}}));
  ASSERT_TRUE(std::holds_alternative<EdgeReport>(d)) << std::get<DecodeError>(d).message;
  const auto& usage = std::get<EdgeReport>(d).usage;
  ASSERT_EQ(usage.size(), 3u);
  EXPECT_EQ(usage[1], usage[0]);
  EXPECT_EQ(usage[2], usage[0]);
  EXPECT_EQ(usage[0].validations[0], 3u);
  EXPECT_EQ(usage[0].last_validated_ms, 5);
}

// The same report in the earlier JSON form and in the binary form reads back the same.
TEST(EdgeReport, TheJsonFormReadsAsTheBinaryForm) {
  EdgeReport r;
  r.header = {"edge-1", 1'763'856'000'000, 7};
  r.failures = {{digest_of(1), 2, FailureReason::kSuspended, "m1"}};
  UsageCount c;
  c.account_id = "acc_1";
  c.mode = Mode::kTest;
  c.license_id = "lic_1";
  c.product_id = "prod_1";
  c.day = 20415;
  c.validations[static_cast<std::size_t>(UsageOutcome::kValid)] = 3;
  c.validations[static_cast<std::size_t>(UsageOutcome::kExpired)] = 1;
  c.auths[static_cast<std::size_t>(TkiStatus::kSuccess)] = 1;
  c.last_validated_ms = 1'763'856'001'000;
  c.machines.add("m1");
  r.usage = {c};
  AuthAttempt a;
  a.at_ms = 5;
  a.account_id = "acc_1";
  a.license_id = "lic_1";
  a.product = "App";
  a.version = "1.0";
  a.ip = "203.0.113.9";
  a.hwid = "HW";
  a.user_agent = "MyApp/1.0";
  a.status = TkiStatus::kMaxIps;
  r.auths = {a};
  r.blacklist = {{"acc_1", "bl_1", 4, 9}};
  std::string sketch;
  c.machines.encode(sketch);
  HexDigest hex;
  const std::string json =
      R"({"edge":"edge-1","boot":1763856000000,"seq":7,"failures":[{"license":")" +
      std::string(to_hex(digest_of(1), hex)) +
      R"(","count":2,"reason":"SUSPENDED","machineId":"m1"}],"usage":[{"account":"acc_1",)"
      R"("mode":"test","license":"lic_1","product":"prod_1","day":20415,)"
      R"("validations":{"VALID":3,"EXPIRED":1},"auths":{"SUCCESS":1},)"
      R"("lastValidatedMs":1763856001000,"machines":")" +
      base64(sketch) +
      R"("}],"auths":[{"atMs":5,"account":"acc_1","mode":"live","license":"lic_1",)"
      R"("product":"App","version":"1.0","ip":"203.0.113.9","hwid":"HW",)"
      R"("userAgent":"MyApp/1.0","outcome":"MAX_IPS"}],)"
      R"("blacklist":[{"account":"acc_1","entry":"bl_1","attempts":4,"lastMs":9}]})";
  const auto binary = encode_all(r, kMaxReportBytes);
  ASSERT_EQ(binary.size(), 1u);
  auto from_json = decode_edge_report(json);
  auto from_binary = decode_edge_report(binary[0]);
  ASSERT_TRUE(std::holds_alternative<EdgeReport>(from_json))
      << std::get<DecodeError>(from_json).message;
  ASSERT_TRUE(std::holds_alternative<EdgeReport>(from_binary));
  for (const auto* d : {&std::get<EdgeReport>(from_json), &std::get<EdgeReport>(from_binary)}) {
    EXPECT_EQ(d->header, r.header);
    EXPECT_EQ(d->failures, r.failures);
    EXPECT_EQ(d->usage, r.usage);
    EXPECT_EQ(d->auths, r.auths);
    EXPECT_EQ(d->blacklist, r.blacklist);
  }
  EXPECT_LT(binary[0].size() * 2, json.size());
}

// Each account and product id is in a message once, and an entry that did not fit takes the ids
// it added with it: every account is in exactly one message of a split flush.
TEST(EdgeReport, EachIdTravelsOncePerMessage) {
  EdgeReport r;
  r.header = {"edge-3", 1, 1};
  for (int i = 0; i < 4000; ++i) {
    UsageCount c = usage_entry(i + 1);
    c.account_id = "account-" + std::to_string(i) + "-";  // its own
    c.license_id = "lic_" + std::to_string(i);
    c.product_id = "product-" + std::to_string(i % 3) + "-";
    r.usage.push_back(c);
  }
  const auto messages = encode_all(r, kMinReportBytes);
  ASSERT_GT(messages.size(), 2u);
  std::vector<UsageCount> all;
  for (const auto& m : messages) {
    auto d = decode_edge_report(m);
    ASSERT_TRUE(std::holds_alternative<EdgeReport>(d)) << std::get<DecodeError>(d).message;
    for (auto& u : std::get<EdgeReport>(d).usage) all.push_back(std::move(u));
    for (int p = 0; p < 3; ++p) {
      const std::string product = "product-" + std::to_string(p) + "-";
      EXPECT_EQ(m.find(product), m.rfind(product)) << product;  // at most once
    }
  }
  EXPECT_EQ(all, r.usage);
  for (int i = 0; i < 4000; ++i) {
    const std::string account = "account-" + std::to_string(i) + "-";
    int in = 0;
    for (const auto& m : messages) in += m.find(account) != std::string::npos;
    ASSERT_EQ(in, 1) << account;
  }
}

}  // namespace
}  // namespace le::core
