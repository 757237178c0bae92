package config

import (
	"bytes"
	"errors"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// maxAliasVisits bounds the values decoded through aliases: a few hundred
// bytes of anchors and aliases could otherwise stand for billions of values.
// Values written out in the file do not count.
const maxAliasVisits = 100_000

// decoder turns the YAML node tree into a Config. It does the decoding
// itself rather than through yaml's Decoder.KnownFields, for three reasons:
// ${VAR} has to be expanded on each scalar value before the value is
// converted (so "concurrency: ${N}" works and a value holding ": " cannot
// change the structure); presence has to be recorded (so defaults fill only
// the keys the file leaves out); and no message may quote a value that came
// from the environment, which yaml's type errors do. The struct tags remain
// the one list of known keys.
type decoder struct {
	lookup   func(string) (string, bool)
	meta     *meta
	problems []Problem
	inAlias  int // depth of aliases being decoded
	visits   int // nodes decoded through an alias
}

// overBudget reports whether decoding stopped early on a document too large.
func (d *decoder) overBudget() bool { return d.visits >= maxAliasVisits }

var (
	durationType = reflect.TypeFor[Duration]()
	timeType     = reflect.TypeFor[time.Time]()
	secretType   = reflect.TypeFor[Secret]()
)

// decode parses data into a Config. It returns a nil Config only when the
// YAML itself cannot be read; otherwise the Config holds whatever decoded
// and the problems say what did not.
func decode(data []byte, lookup func(string) (string, bool)) (*Config, *meta, []Problem) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	err := dec.Decode(&root)
	switch {
	case errors.Is(err, io.EOF):
		return &Config{}, newMeta(), nil // an empty file: all defaults
	case err != nil:
		return nil, nil, []Problem{yamlProblem(err)}
	}
	for { // what follows may only be empty documents ("---" at the end)
		var extra yaml.Node
		err := dec.Decode(&extra)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, []Problem{yamlProblem(err)}
		}
		if len(extra.Content) > 0 && !isNull(extra.Content[0]) {
			return nil, nil, []Problem{{Line: extra.Content[0].Line, Msg: "the file holds more than one YAML document; a config is one document"}}
		}
	}

	d := &decoder{lookup: lookup, meta: newMeta()}
	c := &Config{}
	top := &root
	if top.Kind == yaml.DocumentNode {
		if len(top.Content) == 0 {
			return c, d.meta, nil
		}
		top = top.Content[0]
	}
	top, done := d.resolve(top, "")
	defer done()
	if top == nil {
		return nil, nil, d.problems
	}
	if isNull(top) {
		return c, d.meta, nil
	}
	if top.Kind != yaml.MappingNode {
		d.add(Problem{Line: top.Line, Msg: "the top level must be a mapping of settings (database_url:, sources:, ...), not a " + kindName(top)})
		return c, d.meta, d.problems
	}
	d.value(top, reflect.ValueOf(c).Elem(), "")
	if d.overBudget() {
		return nil, nil, d.problems // half a config: nothing to validate
	}
	return c, d.meta, d.problems
}

// yamlProblem turns a yaml syntax error ("yaml: line 3: ...") into a Problem.
func yamlProblem(err error) Problem {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, after, ok := strings.Cut(rest, ": "); ok {
			if l, err := strconv.Atoi(n); err == nil {
				line, msg = l, after
			}
		}
	}
	return Problem{Line: line, Msg: "invalid YAML: " + msg}
}

func (d *decoder) add(p Problem) { d.problems = append(d.problems, p) }

// fail records a problem about the value at path, written on line; msg
// follows the field's name, as in "must be a list".
func (d *decoder) fail(line int, path, msg string) {
	subject, rest := d.meta.where(path)
	switch {
	case rest != "":
		msg = subject + rest + " " + msg
	case subject != "":
		msg = strings.TrimSuffix(subject, ": ") + " " + msg
	}
	d.add(Problem{Line: line, Field: path, Msg: msg})
}

// failKey records a problem about a key of the mapping at path; msg is a
// whole phrase, as in `unknown key "x"`, and hint ends the message.
func (d *decoder) failKey(line int, path, field, msg, hint string) {
	subject, rest := d.meta.where(path)
	if rest != "" {
		msg += " in " + rest
	}
	d.add(Problem{Line: line, Field: field, Msg: subject + msg + hint})
}

// resolve follows an alias to its anchored node and counts the visit. It
// returns nil when the document has used up its budget, and a func that
// ends the visit (the caller defers it).
func (d *decoder) resolve(n *yaml.Node, path string) (*yaml.Node, func()) {
	alias := n.Kind == yaml.AliasNode
	if alias || d.inAlias > 0 {
		d.visits++
		if d.visits == maxAliasVisits {
			d.add(Problem{Line: n.Line, Field: path, Msg: "the document is too large once its aliases are expanded"})
		}
		if d.visits >= maxAliasVisits {
			return nil, func() {}
		}
	}
	if !alias {
		return n, func() {}
	}
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	d.inAlias++
	return n, func() { d.inAlias-- }
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "single value"
	default:
		return "YAML node"
	}
}

// value decodes n into v, whose field path is path. A null leaves v as it is.
func (d *decoder) value(n *yaml.Node, v reflect.Value, path string) {
	n, done := d.resolve(n, path)
	defer done()
	if n == nil || isNull(n) {
		return
	}
	switch {
	case v.Type() == timeType || v.Type() == durationType:
		d.scalarValue(n, v, path)
	case v.Kind() == reflect.Struct:
		d.mapping(n, v, path)
	case v.Kind() == reflect.Slice:
		d.sequence(n, v, path)
	case v.Kind() == reflect.Map:
		d.stringMap(n, v, path)
	default:
		d.scalarValue(n, v, path)
	}
}

// mapping decodes a YAML mapping into the struct v, refusing keys that no
// field's yaml tag names, and following merge keys (<<: *anchor).
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n.Line, path, "must be a mapping of keys, not a "+kindName(n))
		return
	}
	fields := tagFields(v.Type())
	if _, ok := d.meta.labels[path]; !ok && parentPath(path) == "sources" {
		d.meta.labels[path] = path + sourceLabel(n, 0)
	}
	// Merged mappings first, so that the mapping's own keys win; among
	// merged mappings the first wins, so apply them last to first.
	for i := 0; i+1 < len(n.Content); i += 2 {
		if isMergeKey(n.Content[i]) {
			if !d.merge(n.Content[i], n.Content[i+1], v, path) {
				return
			}
		}
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if isMergeKey(k) {
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.failKey(k.Line, path, path, "a key must be a plain name, not a "+kindName(k), "")
			continue
		}
		key := k.Value
		if first, dup := seen[key]; dup {
			d.failKey(k.Line, path, joinPath(path, key), "key "+quoteShort(key)+" is given twice", " (first on line "+strconv.Itoa(first)+")")
			continue
		}
		seen[key] = k.Line
		idx, ok := fields[key]
		if !ok {
			d.unknownKey(k, path, fields)
			continue
		}
		fp := joinPath(path, key)
		d.meta.lines[fp] = k.Line
		d.value(val, v.Field(idx), fp)
	}
}

// merge decodes the mapping (or list of mappings) of a merge key into v.
// It reports false when the document has used up its budget.
func (d *decoder) merge(key, val *yaml.Node, v reflect.Value, path string) bool {
	merged, done := d.resolve(val, path)
	defer done()
	if merged == nil {
		return false
	}
	switch merged.Kind {
	case yaml.MappingNode:
		d.mapping(merged, v, path)
	case yaml.SequenceNode:
		for j := len(merged.Content) - 1; j >= 0; j-- {
			m, done := d.resolve(merged.Content[j], path)
			if m == nil {
				done()
				return false
			}
			if m.Kind != yaml.MappingNode {
				d.failKey(key.Line, path, path, "a merge key (<<) takes a mapping or a list of mappings", "")
			} else {
				d.mapping(m, v, path)
			}
			done()
		}
	default:
		d.failKey(key.Line, path, path, "a merge key (<<) takes a mapping or a list of mappings", "")
	}
	return true
}

func isMergeKey(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge"
}

// sourceLabel gives ` "name"` from a source mapping's name key as written
// (never expanded, so it cannot show an environment value), looking into
// merged mappings too, or "".
func sourceLabel(n *yaml.Node, depth int) string {
	if depth > 8 {
		return ""
	}
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.SequenceNode: // a list of merged mappings
		for _, m := range n.Content {
			if l := sourceLabel(m, depth+1); l != "" {
				return l
			}
		}
		return ""
	case yaml.MappingNode:
	default:
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k, v := n.Content[i], n.Content[i+1]; k.Value == "name" && v.Kind == yaml.ScalarNode && !isNull(v) {
			if name := strings.TrimSpace(v.Value); name != "" {
				return " " + quoteShort(name)
			}
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if isMergeKey(n.Content[i]) {
			if l := sourceLabel(n.Content[i+1], depth+1); l != "" {
				return l
			}
		}
	}
	return ""
}

func (d *decoder) unknownKey(k *yaml.Node, path string, fields map[string]int) {
	hint := ""
	if s := closest(k.Value, fields); s != "" {
		hint = " (did you mean " + strconv.Quote(s) + "?)"
	}
	d.failKey(k.Line, path, joinPath(path, k.Value), "unknown key "+quoteShort(k.Value), hint)
}

// closest gives the known key nearest to key when it is near enough to be
// a typo, else "".
func closest(key string, fields map[string]int) string {
	lower := strings.ToLower(key)
	limit := 2 // edits allowed
	if len(lower) <= 4 {
		limit = 1
	}
	best, bestDist := "", limit+1
	for f := range fields {
		if dist := editDistance(lower, f); dist < bestDist || dist == bestDist && f < best {
			best, bestDist = f, dist
		}
	}
	return best
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// tagFields maps each yaml tag name of struct type t to its field index.
func tagFields(t reflect.Type) map[string]int {
	out := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			out[name] = i
		}
	}
	return out
}

// sequence decodes a YAML list into the slice v.
func (d *decoder) sequence(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.fail(n.Line, path, "must be a list, not a "+kindName(n)+" (write [a, b] or one \"- item\" a line)")
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		ip := indexPath(path, i)
		d.meta.lines[ip] = item.Line
		d.value(item, s.Index(i), ip)
	}
	v.Set(s)
	d.meta.set[path] = true
}

// stringMap decodes a YAML mapping of names to single values into the
// map v (a map[string]string, such as a source's schedules).
func (d *decoder) stringMap(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n.Line, path, "must be a mapping of names to values, not a "+kindName(n))
		return
	}
	out := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || isMergeKey(k) {
			d.failKey(k.Line, path, path, "a key must be a plain name, not a "+kindName(k), "")
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.failKey(k.Line, path, joinPath(path, k.Value), "key "+quoteShort(k.Value)+" is given twice", " (first on line "+strconv.Itoa(first)+")")
			continue
		}
		seen[k.Value] = k.Line
		fp := joinPath(path, k.Value)
		d.meta.lines[fp] = k.Line
		elem := reflect.New(v.Type().Elem()).Elem()
		d.value(val, elem, fp)
		out.SetMapIndex(reflect.ValueOf(k.Value), elem)
	}
	v.Set(out)
	d.meta.set[path] = true
}

// scalarValue expands and converts one scalar into v.
func (d *decoder) scalarValue(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n.Line, path, "must be a single value, not a "+kindName(n))
		return
	}
	switch tag := n.ShortTag(); tag {
	case "!!str", "!!int", "!!float", "!!bool", "!!timestamp":
	default:
		d.fail(n.Line, path, "has the YAML tag "+quoteShort(tag)+", which a config does not use")
		return
	}
	x, err := expand(n.Value, d.lookup)
	if err != nil {
		d.fail(n.Line, path, "is not valid: "+err.Error())
		return
	}
	for _, name := range x.missing {
		d.add(Problem{Line: n.Line, Field: path, Msg: "environment variable " + name + " is not set (used by " + path + ")"})
	}
	if len(x.missing) > 0 {
		return
	}
	if x.fromEnv {
		d.meta.raw[path] = strings.TrimSpace(n.Value)
	}
	s := strings.TrimSpace(x.value)
	secret := v.Type() == secretType
	show := func() string {
		if secret {
			return ""
		}
		return ", not " + d.meta.show(path, s)
	}
	switch {
	case v.Type() == durationType:
		var dur Duration
		if err := dur.UnmarshalText([]byte(s)); err != nil {
			d.fail(n.Line, path, "must be a duration such as 30s, 2m, 1h30m or 90d"+show())
			return
		}
		v.SetInt(int64(dur))
	case v.Type() == timeType:
		t, err := parseTime(s)
		if err != nil {
			d.fail(n.Line, path, "must be an RFC 3339 time such as 2024-01-01T00:00:00Z"+show())
			return
		}
		v.Set(reflect.ValueOf(t))
	case v.Kind() == reflect.String:
		v.SetString(s)
	case v.Kind() == reflect.Int:
		i, err := strconv.ParseInt(s, 10, 0)
		if err != nil {
			d.fail(n.Line, path, "must be a whole number"+show())
			return
		}
		v.SetInt(i)
	case v.Kind() == reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			d.fail(n.Line, path, "must be a number"+show())
			return
		}
		v.SetFloat(f)
	case v.Kind() == reflect.Bool:
		b, ok := parseBool(s)
		if !ok {
			d.fail(n.Line, path, "must be true or false"+show())
			return
		}
		v.SetBool(b)
	default:
		d.fail(n.Line, path, "has a type the decoder does not know") // a new field type; caught by the tests
		return
	}
	d.meta.set[path] = true
}

// parseTime accepts RFC 3339 (2024-01-01T00:00:00Z, with any offset and
// fraction) and, as a shorthand for midnight UTC, a date (2024-01-01).
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Parse(time.DateOnly, s)
}

func parseBool(s string) (v, ok bool) {
	switch strings.ToLower(s) {
	case "true", "yes", "on":
		return true, true
	case "false", "no", "off":
		return false, true
	}
	return false, false
}
