// The earlier form of an edge's report: one JSON object. Edges now send the binary form
// (core/edge_report.h); a primary still reads this one, so reports an edge of an earlier release
// left in the stream, or sends during a rolling upgrade, still count. decode_edge_report()
// chooses by the message's first bytes.
//
//   {"edge":"edge-1","boot":1763856000000,"seq":7,
//    "failures":[{"license":"<hex>","count":2,"reason":"EXPIRED","machineId":"m1"},…],
//    "usage":[{"account":"acc_…","mode":"live","license":"lic_…","product":"prod_…",
//              "day":20415,"validations":{"VALID":3,"EXPIRED":1},"auths":{"SUCCESS":1},
//              "lastValidatedMs":1763856001000,"machines":"<base64 sketch>","ips":"…",
//              "hwids":"…"},…],
//    "auths":[{"atMs":…,"account":"acc_…","mode":"live","license":"lic_…","product":"App",
//              "version":"1.0","ip":"203.0.113.9","hwid":"…","userAgent":"MyApp/1.0",
//              "outcome":"SUCCESS"},…],
//    "blacklist":[{"account":"acc_…","entry":"bl_…","attempts":4,"lastMs":…},…]}
//
// The same bounds hold as for the binary form; fields it does not know are ignored.
#pragma once

#include <string_view>
#include <variant>

#include "core/edge_report.h"

namespace le::core {

// The caller has checked the size (kMaxReportBytes).
std::variant<EdgeReport, DecodeError> decode_edge_report_json(std::string_view json);

}  // namespace le::core
