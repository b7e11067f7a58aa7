// Edge → primary writes (DESIGN §4): activate, deactivate and TKI first-use bindings, sent by an
// edge over NATS request/reply to the queue group of primaries.
//
// A command names its license and caller by SHA-256 digest (no plaintext secret leaves the
// edge). A reply carries the outcome (or the refusal the client gets) and the license's state
// after the write, as a change event the edge applies through its version check.
//
//   request  {"op":"activate","apiKey":"<hex>"|null,"mode":"live","license":"<hex>",
//             "machineId":"…","label":"…","ip":"…","hwid":"…"}
//   reply    {"result":"activated"|…|null,"error":{"status":403,"code":"…","message":"…"}|null,
//             "tki":<TkiStatus>|null,"retryAfter":0,"license":<change event>|null}
//
// Lease extensions (floating seats, core/lease.h) travel in batches on their own subject,
// "licw.extend": an edge answers heartbeats of live leases itself and sends what it extended
// about once a second; the primary applies a batch in one transaction.
//
//   request  {"edge":"…","extensions":[{"license":"<hex>","machineId":"…","at":<unix s>},…]}
//   reply    {"extended":<n>,"refused":<n>}
//
// Decoders validate every field and never throw. Thread-safety: per-thread parser state only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/activation.h"
#include "core/api_error.h"
#include "core/change_event.h"
#include "core/digest.h"
#include "core/model.h"
#include "core/tki.h"

namespace le::core {

enum class WriteOp : std::uint8_t { kActivate, kDeactivate, kBind, kHeartbeat };
inline constexpr std::size_t kWriteOpCount = 4;

// "activate", "deactivate", "bind", "heartbeat": also the last token of the request subject.
std::string_view to_string(WriteOp op);
std::optional<WriteOp> write_op_from_string(std::string_view s);

struct WriteCommand {
  WriteOp op = WriteOp::kActivate;
  // The caller's API key: optional for activate/deactivate (else the license key is the
  // credential), required for bind (the TKI key). `mode` is the mode its prefix names.
  std::optional<Digest> api_key;
  Mode mode = Mode::kLive;
  Digest license{};
  std::string machine_id;  // activate / deactivate / heartbeat
  std::string label;       // activate
  std::string ip;          // bind: the IP to bind, empty for none
  std::string hwid;        // bind: the HWID to bind, empty for none
};

std::string encode_write_command(const WriteCommand& c);
std::variant<WriteCommand, DecodeError> decode_write_command(std::string_view json);

enum class BindResult : std::uint8_t { kBound, kAlreadyBound };

struct WriteReply {
  std::optional<ActivationResult> activation;  // activate / deactivate done
  std::optional<BindResult> bind;              // bind done
  std::optional<ApiError> error;               // refused (Traffic Orchestrator answer)
  std::optional<TkiStatus> tki;                // bind refused (TKI answer)
  std::uint32_t retry_after_s = 0;             // with a RATE_LIMITED error
  std::optional<ChangeEvent> license;          // the license after the write, where known

  bool ok() const { return activation.has_value() || bind.has_value(); }
};

std::string encode_write_reply(const WriteReply& r);

// The HTTP answer to POST /api/v1/activate or /deactivate for the primary's outcome `r`, the
// same wherever it is answered (edge or primary): the status, the body (written into `body`)
// and, for the activation-change limit (429) and a full pool of floating seats (403, with
// "retryAfter" in the body), the Retry-After seconds (0: no header). A reply
// with neither an error nor the activation and the license is a server fault (500).
struct WriteAnswer {
  unsigned status = 200;
  std::uint32_t retry_after_s = 0;
};
WriteAnswer write_activation_answer(std::string& body, const WriteReply& r,
                                    std::string_view machine_id, std::int64_t now);
std::variant<WriteReply, DecodeError> decode_write_reply(std::string_view json);

// ---- lease extensions
inline constexpr std::string_view kExtendSubjectToken = "extend";
inline constexpr std::size_t kMaxLeaseExtensions = 4096;  // per batch

struct LeaseExtension {
  Digest license{};
  std::string machine_id;
  std::int64_t at = 0;  // when the edge answered the heartbeat (unix seconds)
  bool operator==(const LeaseExtension&) const = default;
};
struct LeaseExtensions {
  std::string edge;  // the sending edge's id (logs)
  std::vector<LeaseExtension> items;
};
struct ExtendReply {
  std::uint32_t extended = 0;
  std::uint32_t refused = 0;  // the lease had lapsed, or the machine, license or seat is gone
};

std::string encode_lease_extensions(const LeaseExtensions& b);
std::variant<LeaseExtensions, DecodeError> decode_lease_extensions(std::string_view json);
std::string encode_extend_reply(const ExtendReply& r);
std::variant<ExtendReply, DecodeError> decode_extend_reply(std::string_view json);

}  // namespace le::core
