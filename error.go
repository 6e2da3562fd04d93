package tandem

import (
	"errors"
	"fmt"
)

// Error codes. The HTTP layer maps each to one status.
const (
	EInvalid = "invalid"
	// EUnprocessable is a well-formed request whose content breaks the rules, such as an
	// agreement that does not validate.
	EUnprocessable = "unprocessable"
	ENotFound      = "not_found"
	EConflict      = "conflict"
	EUnauthorized  = "unauthorized"
	EForbidden     = "forbidden"
	ETooLarge      = "too_large"
	EUnavailable   = "unavailable"
	EInternal      = "internal"
)

// Error is an application error whose message is safe to show to the caller.
type Error struct {
	Code    string
	Message string
	// Fields lists per-field problems of an invalid input, when there are several.
	Fields []FieldError
	// Document lists the problems of a submitted document, each at its line and column.
	Document []DocumentError
}

// FieldError says what is wrong with one part of an input and where.
type FieldError struct {
	Pointer string `json:"pointer"`
	Detail  string `json:"detail"`
}

// DocumentError is a problem at a place in a submitted document, such as a rule of an
// agreement that does not compile.
type DocumentError struct {
	Rule    string `json:"rule"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err if it is or wraps an *Error, and EInternal otherwise.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the message of err if it is or wraps an *Error; other errors are
// internal and are shown as "internal error".
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
