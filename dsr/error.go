package dsr

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Error codes. Every error that crosses a package boundary carries one of
// these, so the HTTP layer can map it to a status in one place.
const (
	EINVALID      = "invalid"                 // bad input: 422 (with Fields) or 400
	ENOTFOUND     = "not_found"               // 404
	ECONFLICT     = "conflict"                // the state machine or the law forbids it: 409
	EUNAUTHORIZED = "unauthorized"            // 401
	EFORBIDDEN    = "forbidden"               // 403
	EGONE         = "gone"                    // used or expired token: 410
	ETOOLARGE     = "too_large"               // 413
	EUNSUPPORTED  = "unsupported"             // 415
	ERATELIMIT    = "rate_limited"            // 429
	EUNAVAILABLE  = "not_available"           // no rights offered where the requester lives: 422
	ETEMPORARY    = "temporarily_unavailable" // the database is unreachable: 503, try again
	EINTERNAL     = "internal"                // 500; the message is never shown to users
)

// Error is the one error type of the domain. Message is safe to show to
// the person who caused it; it never holds personal data of anyone else.
type Error struct {
	Code    string
	Message string
	// Fields maps an input field path (e.g. "subject.email") to what is
	// wrong with it. Only for EINVALID.
	Fields map[string]string
	// Rule names the legal or state-machine rule behind an ECONFLICT.
	Rule string
	// Err is the underlying cause, for logs only.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Code)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if len(e.Fields) > 0 {
		keys := make([]string, 0, len(e.Fields))
		for k := range e.Fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "; %s: %s", k, e.Fields[k])
		}
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-safe message of err: the Message of a
// *Error, or a generic text for internal errors.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != EINTERNAL {
		return e.Message
	}
	return "Internal error."
}

// FieldErrors collects per-field validation messages.
type FieldErrors map[string]string

// Add records msg for field unless the field already has a message.
func (f FieldErrors) Add(field, msg string) {
	if _, ok := f[field]; !ok {
		f[field] = msg
	}
}

// Err returns nil when there are no field errors, otherwise an EINVALID
// *Error holding them.
func (f FieldErrors) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Code: EINVALID, Message: MsgInvalidFields, Fields: f}
}

// Messages shared by many errors.
const (
	// MsgInvalidFields heads every EINVALID error that names fields.
	MsgInvalidFields = "Some fields are not valid."
	// MsgTemporary is the message of every ETEMPORARY error.
	MsgTemporary = "The service is briefly unavailable. Please try again in a minute."
)

// InvalidField returns the EINVALID error for one bad field, with msg
// saying what is wrong with it.
func InvalidField(field, msg string) *Error {
	return &Error{Code: EINVALID, Message: MsgInvalidFields, Fields: FieldErrors{field: msg}}
}

// Internal wraps err, which users never see, as an EINTERNAL error; nil
// stays nil.
func Internal(err error) error {
	if err == nil {
		return nil
	}
	return &Error{Code: EINTERNAL, Err: err}
}

// Internalf is Internal(fmt.Errorf(format, args...)): say what failed,
// and wrap the cause with %w.
func Internalf(format string, args ...any) *Error {
	return &Error{Code: EINTERNAL, Err: fmt.Errorf(format, args...)}
}

// Temporary wraps err, a database or network failure that may pass, as
// an ETEMPORARY error with MsgTemporary.
func Temporary(err error) *Error {
	return &Error{Code: ETEMPORARY, Message: MsgTemporary, Err: err}
}
