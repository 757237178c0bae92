package digisacsim

import (
	"slices"
	"sort"
	"strings"
)

// dsSorted is a cached order of a table's rows, and how much of the table's
// changes log it has seen.
type dsSorted struct {
	rows []int32
	seen int // len(changes) when rows was built
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
func (d *Simulator) sortedRows(t *dsTable, keys []orderKey, key string) []int32 {
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
