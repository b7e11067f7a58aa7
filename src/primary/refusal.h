// How the primary refuses a request. Every check on every route — in the HTTP handlers and in
// the domain transactions (ledger.h) — throws Refusal carrying the answer the client gets, and
// one place per entry point turns it into that answer: the route guard (handlers.h) for HTTP,
// Ledger::execute() for the writes edges forward. A store failure is logged with its cause and
// refused as 500 INTERNAL_ERROR. A Tx left by a refusal is dropped: nothing it staged is written.
#pragma once

#include <exception>
#include <utility>

#include "core/api_error.h"
#include "store/record_store.h"

namespace le::primary {

class Refusal : public std::exception {
 public:
  explicit Refusal(core::ApiError error) : error_(std::move(error)) {}
  const core::ApiError& error() const noexcept { return error_; }
  const char* what() const noexcept override { return error_.message.c_str(); }

 private:
  core::ApiError error_;
};

[[noreturn]] inline void refuse(core::ApiError e) { throw Refusal(std::move(e)); }

// Logs the store's error and refuses with 500 INTERNAL_ERROR (its text is not shown to clients).
[[noreturn]] void refuse_store_failure(const store::StoreError& e);

// The value of a store read or write, or the 500 refusal.
template <typename T>
T must(store::Result<T> r) {
  if (!r) refuse_store_failure(r.error());
  return std::move(*r);
}
inline void must(const store::Result<void>& r) {
  if (!r) refuse_store_failure(r.error());
}

}  // namespace le::primary
