// Package redact owns hiding secrets in text: every whole occurrence of a
// known secret, as is or in the forms URLs, JSON and base64 give it, and the
// password of any scheme://user:password@ in a URL, becomes "[REDACTED]".
// It must not log anything, and must not decide what is secret: callers
// hand it the credentials.
package redact

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Placeholder is what a secret is replaced with.
const Placeholder = "[REDACTED]"

// Redactor replaces secrets in text. A secret is replaced only where it
// stands as a whole: an end of it that is an ASCII letter or digit must not
// touch another one (a letter or digit that ends a %XX or \-escape does not
// count), so that a secret inside a longer word is left alone and no word
// is garbled. It is
// also matched URL-encoded (query and path forms, either case of hex),
// JSON-escaped and base64-encoded; the longest form wins where several
// start at one place.
//
// A Redactor is safe for concurrent use. The zero value, and a nil
// *Redactor, hide only userinfo passwords; Add needs a non-nil one.
type Redactor struct {
	mu      sync.Mutex // serialises Add
	secrets []string   // guarded by mu
	m       atomic.Pointer[matcher]
}

// New returns a Redactor for secrets; empty strings are ignored.
func New(secrets ...string) *Redactor {
	r := &Redactor{}
	r.Add(secrets...)
	return r
}

// Add adds secrets learned at run time, such as an access token obtained
// with a password grant; empty strings are ignored. Text redacted after
// Add returns hides them.
func (r *Redactor) Add(secrets ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(r.secrets)
	for _, s := range secrets {
		if s != "" && !slices.Contains(r.secrets, s) {
			r.secrets = append(r.secrets, s)
		}
	}
	if len(r.secrets) != n {
		r.m.Store(newMatcher(r.secrets))
	}
}

// String returns s with every secret and userinfo password replaced by
// Placeholder.
func (r *Redactor) String(s string) string {
	if r != nil {
		if m := r.m.Load(); m != nil {
			s = m.replace(s)
		}
	}
	if strings.Contains(s, "://") {
		s = userinfoPassword.ReplaceAllString(s, "${1}"+Placeholder+"@")
	}
	return s
}

// Error returns err with its text redacted; errors.Is and errors.As still
// reach err and what it wraps. An error with nothing to hide comes back
// as is, and nil stays nil.
func (r *Redactor) Error(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := r.String(msg)
	if clean == msg {
		return err
	}
	return &redactedError{msg: clean, err: err}
}

// redactedError is an error whose text had secrets taken out.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// userinfoPassword matches the password of a URL's userinfo:
// scheme://user:PASSWORD@.
var userinfoPassword = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.\-]*://[^/?#@\s:]*:)[^/?#@\s]*@`)

// matcher is the compiled form of a list of secrets; it is never changed
// once built.
type matcher struct {
	// byFirst lists the forms by their first byte, longest first.
	byFirst [256][]string
}

func newMatcher(secrets []string) *matcher {
	var forms []string
	for _, s := range secrets {
		forms = append(forms, encodings(s)...)
	}
	forms = slices.DeleteFunc(forms, func(f string) bool { return f == "" })
	slices.SortFunc(forms, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	forms = slices.Compact(forms)
	m := &matcher{}
	for _, f := range forms {
		m.byFirst[f[0]] = append(m.byFirst[f[0]], f)
	}
	return m
}

// encodings gives s and the forms it takes in URLs, JSON and base64.
func encodings(s string) []string {
	out := []string{s, url.QueryEscape(s), url.PathEscape(s)}
	for _, f := range out[1:] {
		if strings.Contains(f, "%") {
			out = append(out, lowerHexEscapes(f))
		}
	}
	if b, err := json.Marshal(s); err == nil {
		out = append(out, string(b[1:len(b)-1]))
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if enc.Encode(s) == nil {
		j := strings.TrimSuffix(b.String(), "\n")
		out = append(out, j[1:len(j)-1])
	}
	for _, e := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		out = append(out, e.EncodeToString([]byte(s)))
	}
	return out
}

// lowerHexEscapes writes the hex digits of every %XX in s in lower case, as
// some servers echo them.
func lowerHexEscapes(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1], b[i+2] = toLower(b[i+1]), toLower(b[i+2])
			i += 2
		}
	}
	return string(b)
}

func toLower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// replace replaces every whole occurrence of a form, scanning left to
// right, longest form first at each place. Only an end of a form that is a
// letter or digit needs a boundary next to it: a form that starts or ends
// with punctuation cannot be the middle of a word there.
func (m *matcher) replace(s string) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); i++ {
		forms := m.byFirst[s[i]]
		if len(forms) == 0 || isAlnum(s[i]) && !startsWhole(s, i) {
			continue
		}
		for _, f := range forms {
			end := i + len(f)
			if strings.HasPrefix(s[i:], f) && (end == len(s) || !isAlnum(s[end]) || !isAlnum(f[len(f)-1])) {
				if b.Len() == 0 {
					b.Grow(len(s))
				}
				b.WriteString(s[last:i])
				b.WriteString(Placeholder)
				last = end
				i = end - 1
				break
			}
		}
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// startsWhole reports whether a word may start at s[i]: at the start of s,
// after a byte that is no ASCII letter or digit, or right after an escape
// (%XX, \uXXXX, \n, \r, \t, \b, \f) whose last byte is one.
func startsWhole(s string, i int) bool {
	switch {
	case i == 0 || !isAlnum(s[i-1]):
		return true
	case i >= 3 && s[i-3] == '%' && isHex(s[i-2]) && isHex(s[i-1]):
		return true
	case i >= 6 && s[i-6] == '\\' && s[i-5] == 'u' && isHex(s[i-4]) && isHex(s[i-3]) && isHex(s[i-2]) && isHex(s[i-1]):
		return true
	case i >= 2 && s[i-2] == '\\' && strings.IndexByte("nrtbf", s[i-1]) >= 0:
		return true
	}
	return false
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
