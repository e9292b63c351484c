package config

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Error is one problem in a configuration file, located by line and column (1-based;
// 0 when unknown, e.g. for a file that cannot be read).
type Error struct {
	// File is the file name as the caller gave it.
	File string
	// Line and Column locate the offending YAML node.
	Line, Column int
	// Path is the field path of the offending node, e.g. build.artifacts[0].image;
	// empty for the whole document.
	Path string
	// Msg is the complete human message, including what is expected.
	Msg string
	// Err is an underlying cause, if any (e.g. a file system error).
	Err error
}

// Error formats the error as file:line:column: message.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// ErrorList is every problem found in one file, sorted by position. errors.As finds its
// first *Error.
type ErrorList []*Error

// Error formats one error per line.
func (l ErrorList) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Unwrap returns the errors of the list, for errors.As and errors.Is.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// sorted returns the list ordered by line and column, keeping insertion order for ties.
func (l ErrorList) sorted() ErrorList {
	out := slices.Clone(l)
	slices.SortStableFunc(out, func(a, b *Error) int {
		if c := cmp.Compare(a.Line, b.Line); c != 0 {
			return c
		}
		return cmp.Compare(a.Column, b.Column)
	})
	return out
}
