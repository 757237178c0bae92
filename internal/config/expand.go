package config

import (
	"errors"
	"strings"
)

// expansion is the outcome of expanding one scalar.
type expansion struct {
	value   string   // the text with every ${...} and $$ replaced
	fromEnv bool     // a ${...} was replaced, so value may hold an environment value
	missing []string // variables that are not set and have no default
}

var (
	errUnterminated = errors.New("a ${ is not closed by } (write $$ for a literal $)")
	errBadName      = errors.New("a ${...} does not hold a variable name: letters, digits and _, not starting with a digit (write $$ for a literal $)")
)

// expand replaces ${VAR} with the value lookup gives, ${VAR:-text} with the
// value or, when it is unset or empty, text, and $$ with $. A $ followed by
// anything else stays as it is. The result is never expanded again, so a
// value may hold "${" or "$$" literally. Errors never quote s, which may be a
// credential written into the file.
func expand(s string, lookup func(string) (string, bool)) (expansion, error) {
	if !strings.Contains(s, "$") {
		return expansion{value: s}, nil
	}
	var (
		b strings.Builder
		x expansion
	)
	for i := 0; i < len(s); {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			i++
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i += 2
		case '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return expansion{}, errUnterminated
			}
			inner := s[i+2 : i+2+end]
			i += 2 + end + 1
			name, def, hasDef := strings.Cut(inner, ":-")
			if !validVarName(name) {
				return expansion{}, errBadName
			}
			x.fromEnv = true
			v, ok := lookup(name)
			switch {
			case hasDef && v == "":
				b.WriteString(def)
			case !ok:
				x.missing = append(x.missing, name)
			default:
				b.WriteString(v)
			}
		default:
			b.WriteByte('$')
			i++
		}
	}
	x.value = b.String()
	return x, nil
}

func validVarName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
