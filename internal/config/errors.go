package config

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Problem is one thing wrong with a config.
type Problem struct {
	Line  int    // line in the file, 1-based; 0 when unknown
	Field string // path of the field, such as "sources[1].api_key"; "" for the whole document
	Msg   string // what is wrong, naming the field and the source; never holds a secret
}

// String gives "line 7: msg", or msg when the line is unknown.
func (p Problem) String() string {
	if p.Line > 0 {
		return "line " + strconv.Itoa(p.Line) + ": " + p.Msg
	}
	return p.Msg
}

// ValidationError is every problem found in one config, all at once. Load
// and Parse return it for anything wrong with the file's content (YAML
// syntax, unknown keys, unset environment variables, invalid values); the
// CLI maps it to exit code 2.
type ValidationError struct {
	File     string // the file, when it came from Load
	Problems []Problem
}

// Error gives one problem a line: "config: line 7: ..." or, from Load,
// "config syncer.yaml: line 7: ...".
func (e *ValidationError) Error() string {
	prefix := "config: "
	if e.File != "" {
		prefix = "config " + e.File + ": "
	}
	if len(e.Problems) == 0 {
		return strings.TrimSuffix(prefix, " ") + " invalid"
	}
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(prefix)
		b.WriteString(p.String())
	}
	return b.String()
}

// meta is what decoding learned about the document and validation uses to
// point at it. A nil *meta is valid: it knows nothing (a Config built in Go).
type meta struct {
	lines  map[string]int    // field path → line of its key or list item
	raw    map[string]string // field path → text as written, for values that went through ${...}
	set    map[string]bool   // field paths given a non-null value
	labels map[string]string // "sources[1]" → `sources[1] "acme-ogmma"`
}

func newMeta() *meta {
	return &meta{
		lines:  map[string]int{},
		raw:    map[string]string{},
		set:    map[string]bool{},
		labels: map[string]string{},
	}
}

// line gives the line of path, or of its closest ancestor the file holds.
func (m *meta) line(path string) int {
	if m == nil {
		return 0
	}
	for path != "" {
		if l, ok := m.lines[path]; ok {
			return l
		}
		path = parentPath(path)
	}
	return 0
}

// show quotes value for a message. A value that came from the environment
// is shown as written in the file ("${NAME}") instead, so that an error
// never repeats what a variable holds.
func (m *meta) show(path, value string) string {
	if m != nil {
		if raw, ok := m.raw[path]; ok {
			return quoteShort(raw)
		}
	}
	return quoteShort(value)
}

// where gives the subject of a message about path: `sources[1] "acme": `
// for a field of a source, "" for a top-level field.
func (m *meta) where(path string) (subject, rest string) {
	prefix, rest := splitSource(path)
	if prefix == "" {
		return "", path
	}
	if m != nil {
		if l, ok := m.labels[prefix]; ok {
			return l + ": ", rest
		}
	}
	return prefix + ": ", rest
}

// problem builds a Problem about path; msg names the field itself, as in
// "api_key is required for platform ogmma".
func (m *meta) problem(path string, msg string) Problem {
	subject, _ := m.where(path)
	return Problem{Line: m.line(path), Field: path, Msg: subject + msg}
}

// splitSource splits "sources[1].channels[0].id" into "sources[1]" and
// "channels[0].id". Paths outside sources give "" and the path.
func splitSource(path string) (prefix, rest string) {
	if !strings.HasPrefix(path, "sources[") {
		return "", path
	}
	end := strings.IndexByte(path, ']')
	if end < 0 {
		return "", path
	}
	prefix, rest = path[:end+1], path[end+1:]
	return prefix, strings.TrimPrefix(rest, ".")
}

// parentPath drops the last element of a path: "a.b[2]" → "a.b" → "a" → "".
func parentPath(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func indexPath(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// quoteShort quotes s, cut to a length that keeps a message readable.
func quoteShort(s string) string {
	const max = 64
	if utf8.RuneCountInString(s) > max {
		r := []rune(s)
		s = string(r[:max]) + "…"
	}
	return strconv.Quote(s)
}

// maxProblems is how many problems one error lists; a file that is wrong
// everywhere needs only the first screenful.
const maxProblems = 100

// collect turns decode and validation problems into one error, or nil.
// A validation problem about a field that already failed to decode is
// dropped: it would only repeat the first one.
func collect(file string, decoded, validated []Problem) error {
	all := slices.Clone(decoded)
	for _, v := range validated {
		if !slices.ContainsFunc(decoded, func(d Problem) bool { return within(v.Field, d.Field) }) {
			all = append(all, v)
		}
	}
	if len(all) == 0 {
		return nil
	}
	slices.SortStableFunc(all, func(a, b Problem) int { return cmp.Compare(a.Line, b.Line) })
	all = slices.Compact(all)
	if len(all) > maxProblems {
		more := len(all) - maxProblems
		all = append(all[:maxProblems], Problem{Msg: "and " + strconv.Itoa(more) + " more problems"})
	}
	return &ValidationError{File: file, Problems: all}
}

// within reports whether path is field or lies under it.
func within(path, field string) bool {
	if field == "" || !strings.HasPrefix(path, field) {
		return false
	}
	rest := path[len(field):]
	return rest == "" || rest[0] == '.' || rest[0] == '['
}
