package digisacsim

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"syncer/internal/sim/wire"
)

// vkind is the type of a record's field value.
type vkind uint8

const (
	vNull vkind = iota
	vStr
	vNum
	vBool
	vTime
)

// val is one field of one record, typed: times are unix milliseconds.
type val struct {
	k vkind
	b bool
	n float64
	t int64
	s string
}

func strVal(s string) val { return val{k: vStr, s: s} }

// nullStrVal is s, or null when s is empty (ids that are not set).
func nullStrVal(s string) val {
	if s == "" {
		return val{}
	}
	return val{k: vStr, s: s}
}

func numVal(n float64) val { return val{k: vNum, n: n} }

func boolVal(b bool) val { return val{k: vBool, b: b} }

func timeVal(ms int64) val { return val{k: vTime, t: ms} }

func nullVal() val { return val{} }

func nullTimeVal(ms int64) val {
	if ms == 0 {
		return val{}
	}
	return val{k: vTime, t: ms}
}

// String is the value as text, as the JSON shows it (times as the API
// writes them).
func (v val) String() string {
	switch v.k {
	case vStr:
		return v.s
	case vNum:
		return strconv.FormatFloat(v.n, 'f', -1, 64)
	case vBool:
		return strconv.FormatBool(v.b)
	case vTime:
		return wire.FormatMillis(v.t)
	}
	return "null"
}

// cmpVals orders two values of the same field: null last, then by kind.
func cmpVals(a, b val) int {
	switch {
	case a.k == vNull && b.k == vNull:
		return 0
	case a.k == vNull:
		return 1
	case b.k == vNull:
		return -1
	case a.k != b.k:
		return strings.Compare(a.String(), b.String())
	}
	switch a.k {
	case vNum:
		return cmp.Compare(a.n, b.n)
	case vBool:
		return cmpBool(a.b, b.b)
	case vTime:
		return cmp.Compare(a.t, b.t)
	}
	return strings.Compare(a.s, b.s)
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// lit is a value written in a query, with every reading it allows: "true"
// from a query string is a string and a boolean, "2024-01-15T10:00:00Z" a
// string and a time.
type lit struct {
	null    bool
	s       string
	isNum   bool
	n       float64
	jsonNum bool // written as a JSON number, not a string
	isTime  bool
	t       int64
	isBool  bool
	b       bool
}

// newLit reads a query value: a string (from either spelling), a JSON number,
// a boolean or null.
func newLit(x any) (lit, error) {
	switch x := x.(type) {
	case nil:
		return lit{null: true, s: "null"}, nil
	case bool:
		return lit{s: strconv.FormatBool(x), isBool: true, b: x}, nil
	case json.Number:
		n, err := x.Float64()
		if err != nil {
			return lit{}, fmt.Errorf("invalid number %s", x)
		}
		return lit{s: x.String(), isNum: true, n: n, jsonNum: true}, nil
	case float64:
		return lit{s: strconv.FormatFloat(x, 'f', -1, 64), isNum: true, n: x, jsonNum: true}, nil
	case string:
		l := lit{s: x}
		if t, ok := parseTimeMillis(x); ok {
			l.isTime, l.t = true, t
		}
		if n, err := strconv.ParseFloat(x, 64); err == nil && !math.IsInf(n, 0) && !math.IsNaN(n) {
			l.isNum, l.n = true, n
		}
		if x == "true" || x == "false" {
			l.isBool, l.b = true, x == "true"
		}
		return l, nil
	}
	return lit{}, fmt.Errorf("invalid value %s", compactJSON(x))
}

// parseTimeMillis reads an RFC 3339 instant as unix milliseconds.
func parseTimeMillis(s string) (int64, bool) {
	if len(s) < len("2006-01-02T15:04:05Z") || s[4] != '-' {
		return 0, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, false
	}
	return t.UnixMilli(), true
}

// cmpLit compares a record's value with a query's: as times when both read as
// times, as numbers when both are numbers, as booleans when both are, else as
// text. ok is false when either is null (SQL: the comparison is unknown).
func cmpLit(v val, l lit) (c int, ok bool) {
	if v.k == vNull || l.null {
		return 0, false
	}
	switch v.k {
	case vTime:
		if l.isTime {
			return cmp.Compare(v.t, l.t), true
		}
	case vNum:
		if l.isNum {
			return cmp.Compare(v.n, l.n), true
		}
	case vBool:
		if l.isBool {
			return cmpBool(v.b, l.b), true
		}
	case vStr:
		if l.isTime {
			if t, ok := parseTimeMillis(v.s); ok {
				return cmp.Compare(t, l.t), true
			}
		}
		if l.jsonNum {
			if n, err := strconv.ParseFloat(v.s, 64); err == nil {
				return cmp.Compare(n, l.n), true
			}
		}
	}
	return strings.Compare(v.String(), l.s), true
}
