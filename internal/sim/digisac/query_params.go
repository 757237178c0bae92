package digisacsim

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

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

const (
	defaultPerPage = 15
	maxPerPage     = 1000
)

// parseListQuery reads a list request's parameters against table t. The JSON
// `query` parameter and the qs-style brackets may be mixed: their where
// clauses must both hold, their includes add up, the JSON's order wins, and
// page/perPage inside the JSON win over the URL's. Keys Digisac accepts but
// the simulator does not honour (attributes, distinct, limit) are ignored:
// every field is always returned. Unknown includes are ignored too, where
// Sequelize would answer 400: being lenient there hides no bug a consumer
// could have, since the record comes back without the include either way.
func (d *Simulator) parseListQuery(t *dsTable, q url.Values) (dsListQuery, error) {
	lq := dsListQuery{page: 1, perPage: defaultPerPage, include: map[string]bool{}}
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
	if lq.perPage < 1 || lq.perPage > maxPerPage {
		return lq, badQuery("perPage must be between 1 and %d", maxPerPage)
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
