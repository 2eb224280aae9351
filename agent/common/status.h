// Errors are values: every fallible function in rigwatch returns Status or
// Result<T>. Exceptions from third-party libraries are converted at the edge
// (one adapter per library), C error codes in their wrapper.
#ifndef RIGWATCH_AGENT_COMMON_STATUS_H_
#define RIGWATCH_AGENT_COMMON_STATUS_H_

#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace rigwatch {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kPermissionDenied,
  kFailedPrecondition,
  kUnavailable,
  kDeadlineExceeded,
  kDataLoss,
  kResourceExhausted,
  kInternal,
};

// Short lower-case name of a code ("invalid_argument"), stable for logs.
std::string_view StatusCodeName(StatusCode code);

// An outcome: ok, or a code plus a human message. Cheap to copy when ok.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message)
      : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns a copy whose message is "context: message". Add context once per
  // layer, e.g. WithContext("cgminer rig-17 (10.0.0.12:4028)"); see
  // docs/architecture.md "Errors".
  Status WithContext(std::string_view context) const;

  // "invalid_argument: message" or "ok".
  std::string ToString() const;

  // Marks a deliberate decision to drop this status; the reason is for the
  // reader of the call site.
  void IgnoreError(std::string_view /*reason*/) const {}

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgumentError(std::string m) {
  return Status(StatusCode::kInvalidArgument, std::move(m));
}
inline Status NotFoundError(std::string m) {
  return Status(StatusCode::kNotFound, std::move(m));
}
inline Status AlreadyExistsError(std::string m) {
  return Status(StatusCode::kAlreadyExists, std::move(m));
}
inline Status PermissionDeniedError(std::string m) {
  return Status(StatusCode::kPermissionDenied, std::move(m));
}
inline Status FailedPreconditionError(std::string m) {
  return Status(StatusCode::kFailedPrecondition, std::move(m));
}
inline Status UnavailableError(std::string m) {
  return Status(StatusCode::kUnavailable, std::move(m));
}
inline Status DeadlineExceededError(std::string m) {
  return Status(StatusCode::kDeadlineExceeded, std::move(m));
}
inline Status DataLossError(std::string m) {
  return Status(StatusCode::kDataLoss, std::move(m));
}
inline Status ResourceExhaustedError(std::string m) {
  return Status(StatusCode::kResourceExhausted, std::move(m));
}
inline Status InternalError(std::string m) {
  return Status(StatusCode::kInternal, std::move(m));
}

// Status from errno with the strerror text: "open /x: No such file".
Status ErrnoToStatus(int err, std::string_view what);

// A value or a non-ok Status. Accessing the value of an error aborts (a bug).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    if (std::get<Status>(v_).ok()) Abort("Result constructed from ok Status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & {
    if (!ok()) Abort(std::get<Status>(v_).ToString().c_str());
    return std::get<T>(v_);
  }
  const T& value() const& {
    if (!ok()) Abort(std::get<Status>(v_).ToString().c_str());
    return std::get<T>(v_);
  }
  T&& value() && {
    if (!ok()) Abort(std::get<Status>(v_).ToString().c_str());
    return std::get<T>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  [[noreturn]] static void Abort(const char* what);
  std::variant<T, Status> v_;
};

[[noreturn]] void AbortWithMessage(const char* prefix, const char* what);

template <typename T>
void Result<T>::Abort(const char* what) {
  AbortWithMessage("Result::value() on error: ", what);
}

}  // namespace rigwatch

#define RW_CONCAT_INNER_(a, b) a##b
#define RW_CONCAT_(a, b) RW_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function if it is not ok.
#define RW_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::rigwatch::Status rw_status_ = (expr);  \
    if (!rw_status_.ok()) return rw_status_; \
  } while (0)

// `RW_ASSIGN_OR_RETURN(auto x, F());` declares x from F()'s value or returns
// its error.
#define RW_ASSIGN_OR_RETURN(lhs, expr) \
  RW_ASSIGN_OR_RETURN_IMPL_(RW_CONCAT_(rw_result_, __LINE__), lhs, expr)
#define RW_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()

#endif  // RIGWATCH_AGENT_COMMON_STATUS_H_
