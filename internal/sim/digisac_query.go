package sim

// The Digisac simulator's query language: the filters, orders, includes and
// paging its list endpoints accept (Sequelize's, as Digisac exposes them), in
// both of the spellings Digisac takes: a JSON `query` parameter and qs-style
// brackets (where[field][$gte]=v). Records are kept as structs; a table
// exposes each filterable field through an accessor, where clauses compile to
// predicates over row numbers, and sorted orders are cached per order and
// repaired, not rebuilt, after a few records change.

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"slices"
	"sort"
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
func boolVal(b bool) val   { return val{k: vBool, b: b} }
func timeVal(ms int64) val { return val{k: vTime, t: ms} }
func nullVal() val         { return val{} }
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

// rowPred tells whether row i of a table matches; nil matches every row.
type rowPred func(i int32) bool

func andPreds(ps []rowPred) rowPred {
	ps = slices.DeleteFunc(ps, func(p rowPred) bool { return p == nil })
	switch len(ps) {
	case 0:
		return nil
	case 1:
		return ps[0]
	case 2:
		a, b := ps[0], ps[1]
		return func(i int32) bool { return a(i) && b(i) }
	}
	return func(i int32) bool {
		for _, p := range ps {
			if !p(i) {
				return false
			}
		}
		return true
	}
}

func orPreds(ps []rowPred) rowPred {
	if len(ps) == 0 {
		return func(int32) bool { return false } // Sequelize: {$or: []} is 0 = 1
	}
	for _, p := range ps {
		if p == nil {
			return nil
		}
	}
	if len(ps) == 1 {
		return ps[0]
	}
	return func(i int32) bool {
		for _, p := range ps {
			if p(i) {
				return true
			}
		}
		return false
	}
}

// dsTable is one resource as the query engine sees it: rows numbered from 0
// in creation order, typed field accessors and the resources an include can
// join.
type dsTable struct {
	name  string
	size  func() int
	alive func(i int32) bool // false once removed (Digisac.Remove)
	// removable: rows can be removed; when false, alive is always true.
	removable bool
	fields    map[string]func(i int32) val
	rels      map[string]dsRel // include name → joined table, for include-level where

	// changes lists every row created, edited or removed since the table was
	// built, in order; sorted indexes remember how much of it they include.
	// Appended under Digisac.mu (write).
	changes []int32
	// sorted caches a row order per order spec; under Digisac.idxMu.
	sorted map[string]dsSorted
}

// dsRel joins a row to a row of another table (-1: none).
type dsRel struct {
	to string
	fk func(i int32) int32
}

type dsSorted struct {
	rows []int32
	seen int // len(changes) when rows was built
}

// field looks a field accessor up; dotted names reach into JSON objects
// ("data.number").
func (t *dsTable) field(name string) (func(int32) val, bool) {
	f, ok := t.fields[name]
	return f, ok
}

// isPrefix reports whether name is the object part of a dotted field
// ("data" of "data.number").
func (t *dsTable) isPrefix(name string) bool {
	for f := range t.fields {
		if strings.HasPrefix(f, name+".") {
			return true
		}
	}
	return false
}

// dsBadRequest is a query the API answers 400 to.
type dsBadRequest struct{ msg string }

func (e *dsBadRequest) Error() string { return e.msg }

func badQuery(format string, args ...any) error {
	return &dsBadRequest{msg: fmt.Sprintf(format, args...)}
}

// compileWhere turns a where tree (a JSON object, or a list of them that must
// all hold) into a predicate over t's rows.
func (d *Digisac) compileWhere(t *dsTable, w any) (rowPred, error) {
	switch w := w.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		var ps []rowPred
		for _, k := range sortedKeys(w) {
			p, err := d.compileKey(t, k, w[k])
			if err != nil {
				return nil, err
			}
			ps = append(ps, p)
		}
		return andPreds(ps), nil
	case []any:
		return d.compileList(t, w, andPreds)
	}
	return nil, badQuery("Invalid where: %s is not an object", compactJSON(w))
}

// compileList compiles the operands of $and/$or: a list of where objects or
// one object whose keys are the operands.
func (d *Digisac) compileList(t *dsTable, v any, combine func([]rowPred) rowPred) (rowPred, error) {
	var ps []rowPred
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			p, err := d.compileWhere(t, e)
			if err != nil {
				return nil, err
			}
			if p == nil {
				p = func(int32) bool { return true }
			}
			ps = append(ps, p)
		}
	case map[string]any:
		for _, k := range sortedKeys(v) {
			p, err := d.compileKey(t, k, v[k])
			if err != nil {
				return nil, err
			}
			if p == nil {
				p = func(int32) bool { return true }
			}
			ps = append(ps, p)
		}
	default:
		return nil, badQuery("Invalid where: operands must be a list, got %s", compactJSON(v))
	}
	return combine(ps), nil
}

// compileKey compiles one key of a where object: $and, $or or a field.
func (d *Digisac) compileKey(t *dsTable, k string, v any) (rowPred, error) {
	switch {
	case k == "$and":
		return d.compileList(t, v, andPreds)
	case k == "$or":
		return d.compileList(t, v, orPreds)
	case strings.HasPrefix(k, "$"):
		return nil, badQuery("Invalid where: unknown operator %s", k)
	}
	acc, ok := t.field(k)
	if !ok {
		// {"data":{"number":"55..."}} reaches into a JSON column.
		if m, isMap := v.(map[string]any); isMap && len(m) > 0 && t.isPrefix(k) && !hasOperatorKey(m) {
			var ps []rowPred
			for _, sub := range sortedKeys(m) {
				p, err := d.compileKey(t, k+"."+sub, m[sub])
				if err != nil {
					return nil, err
				}
				ps = append(ps, p)
			}
			return andPreds(ps), nil
		}
		return nil, badQuery("Invalid where: unknown field %q of %s", k, t.name)
	}
	return compileField(acc, k, v)
}

func hasOperatorKey(m map[string]any) bool {
	for k := range m {
		if strings.HasPrefix(k, "$") {
			return true
		}
	}
	return false
}

// compileField compiles the condition on one field: an object of operators,
// a list (IN) or a plain value ($eq).
func compileField(acc func(int32) val, field string, v any) (rowPred, error) {
	switch v := v.(type) {
	case map[string]any:
		var ps []rowPred
		for _, op := range sortedKeys(v) {
			p, err := compileOp(acc, field, op, v[op])
			if err != nil {
				return nil, err
			}
			ps = append(ps, p)
		}
		return andPreds(ps), nil
	case []any:
		return compileOp(acc, field, "$in", v)
	}
	return compileOp(acc, field, "$eq", v)
}

// compileOp compiles one operator applied to a field.
func compileOp(acc func(int32) val, field, op string, arg any) (rowPred, error) {
	scalar := func() (lit, error) {
		l, err := newLit(arg)
		if err != nil {
			return lit{}, badQuery("Invalid where: %s %s: %v", field, op, err)
		}
		return l, nil
	}
	switch op {
	case "$and", "$or":
		var ps []rowPred
		list, ok := arg.([]any)
		if !ok {
			list = []any{arg}
		}
		for _, e := range list {
			p, err := compileField(acc, field, e)
			if err != nil {
				return nil, err
			}
			if p == nil {
				p = func(int32) bool { return true }
			}
			ps = append(ps, p)
		}
		if op == "$and" {
			return andPreds(ps), nil
		}
		return orPreds(ps), nil
	case "$eq", "$is", "$ne", "$not":
		l, err := scalar()
		if err != nil {
			return nil, err
		}
		neg := op == "$ne" || op == "$not"
		if l.null { // IS NULL / IS NOT NULL
			return func(i int32) bool { return (acc(i).k == vNull) != neg }, nil
		}
		return func(i int32) bool {
			v := acc(i)
			if v.k == vTime && l.isTime {
				return (v.t == l.t) != neg
			}
			c, ok := cmpLit(v, l)
			return ok && (c == 0) != neg
		}, nil
	case "$gt", "$gte", "$lt", "$lte":
		l, err := scalar()
		if err != nil {
			return nil, err
		}
		// want holds the signs of c that match: bit 0 for c<0, 1 for c==0, 2 for c>0.
		want := map[string]uint8{"$gt": 4, "$gte": 6, "$lt": 1, "$lte": 3}[op]
		return func(i int32) bool {
			v := acc(i)
			var c int
			if v.k == vTime && l.isTime { // the usual cursor filter, kept fast
				c = cmp.Compare(v.t, l.t)
			} else {
				var ok bool
				if c, ok = cmpLit(v, l); !ok {
					return false
				}
			}
			return want&(1<<(c+1)) != 0
		}, nil
	case "$in", "$notIn":
		list, ok := arg.([]any)
		if !ok {
			list = []any{arg} // where[id][$in]=x from a query string
		}
		lits := make([]lit, 0, len(list))
		for _, e := range list {
			l, err := newLit(e)
			if err != nil {
				return nil, badQuery("Invalid where: %s %s: %v", field, op, err)
			}
			lits = append(lits, l)
		}
		neg := op == "$notIn"
		return func(i int32) bool {
			v := acc(i)
			if v.k == vNull {
				return false
			}
			for _, l := range lits {
				if c, ok := cmpLit(v, l); ok && c == 0 {
					return !neg
				}
			}
			return neg
		}, nil
	case "$iLike", "$like", "$notILike", "$notLike":
		l, err := scalar()
		if err != nil {
			return nil, err
		}
		if l.null {
			return nil, badQuery("Invalid where: %s %s needs a pattern", field, op)
		}
		fold := op == "$iLike" || op == "$notILike"
		neg := op == "$notILike" || op == "$notLike"
		pat := l.s
		if fold {
			pat = strings.ToLower(pat)
		}
		toks := compileLike(pat)
		return func(i int32) bool {
			v := acc(i)
			if v.k == vNull {
				return false
			}
			s := v.String()
			if fold {
				s = strings.ToLower(s)
			}
			return likeMatch(toks, s) != neg
		}, nil
	}
	return nil, badQuery("Invalid where: unknown operator %s on %s", op, field)
}

// likeTok is one element of a LIKE pattern: a literal rune, _ (any one rune)
// or % (any run of runes).
type likeTok struct {
	r        rune
	one, any bool
}

// compileLike reads a SQL LIKE pattern; backslash escapes % _ and itself.
func compileLike(p string) []likeTok {
	var toks []likeTok
	esc := false
	for _, r := range p {
		switch {
		case esc:
			toks = append(toks, likeTok{r: r})
			esc = false
		case r == '\\':
			esc = true
		case r == '%':
			if n := len(toks); n == 0 || !toks[n-1].any {
				toks = append(toks, likeTok{any: true})
			}
		case r == '_':
			toks = append(toks, likeTok{one: true})
		default:
			toks = append(toks, likeTok{r: r})
		}
	}
	if esc {
		toks = append(toks, likeTok{r: '\\'})
	}
	return toks
}

// likeMatch matches s against a compiled pattern (greedy with backtracking to
// the last %).
func likeMatch(p []likeTok, s string) bool {
	rs := []rune(s)
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(rs) {
		switch {
		case pi < len(p) && p[pi].any:
			star, mark = pi, si
			pi++
		case pi < len(p) && (p[pi].one || p[pi].r == rs[si]):
			pi++
			si++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi].any {
		pi++
	}
	return pi == len(p)
}

// orderKey is one [field, direction] pair of an order.
type orderKey struct {
	field string
	acc   func(int32) val
	desc  bool
}

// parseOrder reads an order: a list of [field, "ASC"|"DESC"] pairs (a bare
// field name means ASC). id ASC is always appended as the last tie-breaker,
// so every order is total and pages never overlap. It returns the keys and
// a cache key naming the order.
func parseOrder(t *dsTable, o any) ([]orderKey, string, error) {
	var items []any
	switch o := o.(type) {
	case nil:
	case []any:
		items = o
	case string:
		items = []any{o}
	default:
		return nil, "", badQuery("Invalid order: %s", compactJSON(o))
	}
	var keys []orderKey
	for _, it := range items {
		field, dir := "", "ASC"
		switch it := it.(type) {
		case string:
			field = it
		case []any:
			if len(it) < 1 || len(it) > 2 {
				return nil, "", badQuery("Invalid order: %s", compactJSON(it))
			}
			f, ok := it[0].(string)
			if !ok {
				return nil, "", badQuery("Invalid order: %s", compactJSON(it))
			}
			field = f
			if len(it) == 2 {
				d, ok := it[1].(string)
				if !ok {
					return nil, "", badQuery("Invalid order: %s", compactJSON(it))
				}
				dir = strings.ToUpper(strings.TrimSpace(d))
			}
		default:
			return nil, "", badQuery("Invalid order: %s", compactJSON(it))
		}
		if dir != "ASC" && dir != "DESC" {
			return nil, "", badQuery("Invalid order direction %q", dir)
		}
		acc, ok := t.field(field)
		if !ok {
			return nil, "", badQuery("Invalid order: unknown field %q of %s", field, t.name)
		}
		keys = append(keys, orderKey{field: field, acc: acc, desc: dir == "DESC"})
	}
	if !slices.ContainsFunc(keys, func(k orderKey) bool { return k.field == "id" }) {
		acc, _ := t.field("id")
		keys = append(keys, orderKey{field: "id", acc: acc})
	}
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k.field)
		if k.desc {
			b.WriteString(" DESC,")
		} else {
			b.WriteString(" ASC,")
		}
	}
	return keys, b.String(), nil
}

// cmpRows orders two rows by keys. NULLs sort last ascending and first
// descending, as in PostgreSQL.
func cmpRows(keys []orderKey, a, b int32) int {
	for _, k := range keys {
		c := cmpVals(k.acc(a), k.acc(b))
		if k.desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

// sortedRows returns every row of t (removed ones included) in the order
// keys give. The order is cached; when few rows changed since it was built it
// is repaired by taking them out and merging them back in, so a list request
// after each small edit (ChurnPerList) does not pay for a full sort. The
// caller holds d.mu (read or write); the result must not be modified.
func (d *Digisac) sortedRows(t *dsTable, keys []orderKey, key string) []int32 {
	d.idxMu.Lock()
	defer d.idxMu.Unlock()
	n := t.size()
	cached, ok := t.sorted[key]
	if ok && cached.seen == len(t.changes) {
		return cached.rows
	}
	less := func(a, b int32) int { return cmpRows(keys, a, b) }
	var rows []int32
	if !ok || len(t.changes)-cached.seen > n/8+32 {
		rows = make([]int32, n)
		for i := range rows {
			rows[i] = int32(i)
		}
		slices.SortFunc(rows, less)
	} else {
		dirty := make([]bool, n)
		var add []int32
		for _, i := range t.changes[cached.seen:] {
			if !dirty[i] {
				dirty[i] = true
				add = append(add, i)
			}
		}
		slices.SortFunc(add, less)
		rows = make([]int32, 0, n)
		j := 0
		for _, i := range cached.rows {
			if dirty[i] {
				continue
			}
			for j < len(add) && less(add[j], i) < 0 {
				rows = append(rows, add[j])
				j++
			}
			rows = append(rows, i)
		}
		rows = append(rows, add[j:]...)
	}
	if len(t.sorted) >= 64 { // many one-off orders: start over
		clear(t.sorted)
	}
	t.sorted[key] = dsSorted{rows: rows, seen: len(t.changes)}
	return rows
}

// scanPage walks rows in order and returns how many match and those of the
// page [skip, skip+limit). alive and pred may be nil (every row).
func scanPage(rows []int32, alive func(int32) bool, pred rowPred, skip, limit int) (int, []int32) {
	if alive == nil && pred == nil {
		lo, hi := min(skip, len(rows)), min(skip+limit, len(rows))
		return len(rows), rows[lo:hi]
	}
	total := 0
	var page []int32
	for _, i := range rows {
		if (alive != nil && !alive(i)) || (pred != nil && !pred(i)) {
			continue
		}
		if total >= skip && total < skip+limit {
			page = append(page, i)
		}
		total++
	}
	return total, page
}

// dsInclude is one entry of an include list: a model name, and optionally a
// where on the included model (which, as in Sequelize, also filters the
// parent rows unless required is false).
type dsInclude struct {
	model    string
	where    any
	required *bool
}

// dsListQuery is a list request's filters, order, includes and page.
type dsListQuery struct {
	pred     rowPred
	order    []orderKey
	orderKey string
	include  map[string]bool
	page     int
	perPage  int
	// from, when hasFrom, is a time every matching row's first order key
	// reaches (the where implies it, and that key sorts ascending): rows
	// sorted before it cannot match, so a keyset query (updatedAt > T ...)
	// skips them by binary search instead of testing every row.
	from    int64
	hasFrom bool
}

// start returns where in rows, sorted by q.order, a scan for q can begin.
func (q *dsListQuery) start(rows []int32) int {
	if !q.hasFrom {
		return 0
	}
	acc := q.order[0].acc
	return sort.Search(len(rows), func(k int) bool {
		v := acc(rows[k])
		return v.k != vTime || v.t >= q.from
	})
}

// timeLowerBound finds a time T such that every row matching where w has
// field >= T, when w implies one: field $gt/$gte/$eq/$in a time, directly or
// through $and, or through $or when every branch implies one.
func timeLowerBound(w any, field string) (int64, bool) {
	switch w := w.(type) {
	case map[string]any:
		best, ok := int64(0), false
		for k, v := range w {
			var t int64
			var has bool
			switch k {
			case "$and":
				t, has = listBound(v, func(e any) (int64, bool) { return timeLowerBound(e, field) }, true)
			case "$or":
				t, has = listBound(v, func(e any) (int64, bool) { return timeLowerBound(e, field) }, false)
			case field:
				t, has = fieldLowerBound(v)
			}
			if has && (!ok || t > best) {
				best, ok = t, true
			}
		}
		return best, ok
	case []any:
		return listBound(w, func(e any) (int64, bool) { return timeLowerBound(e, field) }, true)
	}
	return 0, false
}

// listBound combines the bounds of the operands of $and (the highest) or
// $or (the lowest, and only if every operand has one).
func listBound(v any, bound func(any) (int64, bool), and bool) (int64, bool) {
	var items []any
	switch v := v.(type) {
	case []any:
		items = v
	case map[string]any:
		for k, e := range v {
			items = append(items, map[string]any{k: e})
		}
	}
	best, ok := int64(0), false
	for _, e := range items {
		t, has := bound(e)
		switch {
		case !has && !and:
			return 0, false
		case !has:
		case !ok, and && t > best, !and && t < best:
			best, ok = t, true
		}
	}
	return best, ok
}

// fieldLowerBound is timeLowerBound for the condition on the field itself.
func fieldLowerBound(v any) (int64, bool) {
	litTime := func(x any) (int64, bool) {
		l, err := newLit(x)
		return l.t, err == nil && l.isTime
	}
	switch v := v.(type) {
	case map[string]any:
		best, ok := int64(0), false
		for op, arg := range v {
			var t int64
			var has bool
			switch op {
			case "$gt", "$gte", "$eq":
				t, has = litTime(arg)
			case "$in":
				t, has = listBound(arg, litTime, false)
			case "$and":
				t, has = listBound(arg, fieldLowerBound, true)
			case "$or":
				t, has = listBound(arg, fieldLowerBound, false)
			}
			if has && (!ok || t > best) {
				best, ok = t, true
			}
		}
		return best, ok
	case []any:
		return listBound(v, litTime, false)
	}
	return litTime(v)
}

const (
	digisacDefaultPerPage = 15
	digisacMaxPerPage     = 1000
)

// parseListQuery reads a list request's parameters against table t. The JSON
// `query` parameter and the qs-style brackets may be mixed: their where
// clauses must both hold, their includes add up, the JSON's order wins, and
// page/perPage inside the JSON win over the URL's. Keys Digisac accepts but
// the simulator does not honour (attributes, distinct, limit) are ignored:
// every field is always returned. Unknown includes are ignored too, where
// Sequelize would answer 400: being lenient there hides no bug a consumer
// could have, since the record comes back without the include either way.
func (d *Digisac) parseListQuery(t *dsTable, q url.Values) (dsListQuery, error) {
	lq := dsListQuery{page: 1, perPage: digisacDefaultPerPage, include: map[string]bool{}}
	var err error
	if s, ok := firstValue(q, "page"); ok {
		if lq.page, err = wholeNumber("page", s); err != nil {
			return lq, err
		}
	}
	if s, ok := firstValue(q, "perPage"); ok {
		if lq.perPage, err = wholeNumber("perPage", s); err != nil {
			return lq, err
		}
	}
	var wheres []any
	var order any
	var includes []any
	if s, ok := firstValue(q, "query"); ok && s != "" {
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		var jq map[string]any
		if err := dec.Decode(&jq); err != nil {
			return lq, badQuery("Invalid query: %v", err)
		}
		if dec.More() {
			return lq, badQuery("Invalid query: data after the JSON object")
		}
		if w, ok := jq["where"]; ok {
			wheres = append(wheres, w)
		}
		order = jq["order"]
		if inc, ok := jq["include"]; ok {
			includes = append(includes, inc)
		}
		if v, ok := jq["page"]; ok {
			if lq.page, err = wholeNumber("page", v); err != nil {
				return lq, err
			}
		}
		if v, ok := jq["perPage"]; ok {
			if lq.perPage, err = wholeNumber("perPage", v); err != nil {
				return lq, err
			}
		}
	}
	br, err := bracketParams(q, "where", "order", "include")
	if err != nil {
		return lq, err
	}
	if w, ok := br["where"]; ok {
		wheres = append(wheres, w)
	}
	if o, ok := br["order"]; ok && order == nil {
		order = o
	}
	if inc, ok := br["include"]; ok {
		includes = append(includes, inc)
	}
	if lq.page < 1 {
		return lq, badQuery("page must be 1 or more")
	}
	if lq.perPage < 1 || lq.perPage > digisacMaxPerPage {
		return lq, badQuery("perPage must be between 1 and %d", digisacMaxPerPage)
	}
	var preds []rowPred
	for _, w := range wheres {
		p, err := d.compileWhere(t, w)
		if err != nil {
			return lq, err
		}
		preds = append(preds, p)
	}
	for _, inc := range flattenIncludes(includes) {
		lq.include[inc.model] = true
		p, err := d.compileIncludeWhere(t, inc)
		if err != nil {
			return lq, err
		}
		preds = append(preds, p)
	}
	lq.pred = andPreds(preds)
	if lq.order, lq.orderKey, err = parseOrder(t, order); err != nil {
		return lq, err
	}
	if first := lq.order[0]; !first.desc {
		for _, w := range wheres {
			if from, ok := timeLowerBound(w, first.field); ok && (!lq.hasFrom || from > lq.from) {
				lq.from, lq.hasFrom = from, true
			}
		}
	}
	return lq, nil
}

// compileIncludeWhere filters t's rows by a where on an included model they
// belong to (tickets whose contact is visible, messages of an open ticket).
// Includes that are not such a join, or say required:false, filter nothing.
func (d *Digisac) compileIncludeWhere(t *dsTable, inc dsInclude) (rowPred, error) {
	if inc.where == nil && (inc.required == nil || !*inc.required) {
		return nil, nil
	}
	if inc.required != nil && !*inc.required {
		return nil, nil
	}
	rel, ok := t.rels[inc.model]
	if !ok {
		return nil, nil
	}
	to := d.tables[rel.to]
	p, err := d.compileWhere(to, inc.where)
	if err != nil {
		return nil, err
	}
	fk := rel.fk
	return func(i int32) bool {
		j := fk(i)
		return j >= 0 && to.alive(j) && (p == nil || p(j))
	}, nil
}

// flattenIncludes reads include values: a name, {"model":name,...}, or lists
// of those. Anything else is skipped.
func flattenIncludes(vs []any) []dsInclude {
	var out []dsInclude
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			if v != "" {
				out = append(out, dsInclude{model: v})
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			name, _ := v["model"].(string)
			if name == "" {
				name, _ = v["association"].(string)
			}
			if name == "" {
				return
			}
			inc := dsInclude{model: name, where: v["where"]}
			switch r := v["required"].(type) {
			case bool:
				inc.required = &r
			case string: // "true" in the Postman collection, or from a query string
				b := r == "true"
				inc.required = &b
			}
			out = append(out, inc)
		}
	}
	for _, v := range vs {
		walk(v)
	}
	return out
}

// wholeNumber reads page or perPage: a JSON number or a string of digits.
func wholeNumber(name string, v any) (int, error) {
	var s string
	switch v := v.(type) {
	case string:
		s = v
	case json.Number:
		s = v.String()
	default:
		return 0, badQuery("%s must be a whole number", name)
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, badQuery("%s must be a whole number", name)
	}
	return n, nil
}

func firstValue(q url.Values, key string) (string, bool) {
	vs, ok := q[key]
	if !ok || len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

// bracketParams turns qs-style parameters whose base is one of bases
// (where[a][$gte]=1, order[0][0]=x, include[0][model]=file, include=file)
// into the JSON-like tree the query parameter would hold: objects whose keys
// are all indexes become lists, values stay strings.
func bracketParams(q url.Values, bases ...string) (map[string]any, error) {
	root := map[string]any{}
	for _, key := range sortedKeys(q) {
		base, segs, ok := splitBrackets(key)
		if !ok || !slices.Contains(bases, base) {
			continue
		}
		vals := q[key]
		var leaf any = vals[len(vals)-1]
		if len(vals) > 1 {
			list := make([]any, len(vals))
			for i, v := range vals {
				list[i] = v
			}
			leaf = list
		}
		path := append([]string{base}, segs...)
		node := root
		for k, seg := range path {
			if seg == "" { // a[]=x appends
				seg = strconv.Itoa(len(node))
			}
			if k == len(path)-1 {
				if old, exists := node[seg]; exists {
					if _, isMap := old.(map[string]any); isMap {
						return nil, badQuery("Invalid parameter %s", key)
					}
				}
				node[seg] = leaf
				break
			}
			child, exists := node[seg]
			if !exists {
				m := map[string]any{}
				node[seg] = m
				node = m
				continue
			}
			m, isMap := child.(map[string]any)
			if !isMap {
				return nil, badQuery("Invalid parameter %s", key)
			}
			node = m
		}
	}
	for k, v := range root {
		root[k] = listify(v)
	}
	return root, nil
}

// splitBrackets splits "where[a][b]" into "where" and ["a","b"].
func splitBrackets(key string) (string, []string, bool) {
	i := strings.IndexByte(key, '[')
	if i < 0 {
		return key, nil, true
	}
	base, rest := key[:i], key[i:]
	var segs []string
	for rest != "" {
		if rest[0] != '[' {
			return "", nil, false
		}
		j := strings.IndexByte(rest, ']')
		if j < 0 {
			return "", nil, false
		}
		segs = append(segs, rest[1:j])
		rest = rest[j+1:]
	}
	return base, segs, true
}

// listify turns objects whose keys are all non-negative integers into lists
// ordered by those integers, recursively.
func listify(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	for k, e := range m {
		m[k] = listify(e)
	}
	if len(m) == 0 {
		return m
	}
	idx := make([]int, 0, len(m))
	for k := range m {
		n, err := strconv.Atoi(k)
		if err != nil || n < 0 || strconv.Itoa(n) != k {
			return m
		}
		idx = append(idx, n)
	}
	slices.Sort(idx)
	list := make([]any, len(idx))
	for i, n := range idx {
		list[i] = m[strconv.Itoa(n)]
	}
	return list
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// compactJSON shows a query fragment in an error message.
func compactJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
