package digisacsim

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

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

// dsBadRequest is a query the API answers 400 to.
type dsBadRequest struct{ msg string }

func (e *dsBadRequest) Error() string { return e.msg }

func badQuery(format string, args ...any) error {
	return &dsBadRequest{msg: fmt.Sprintf(format, args...)}
}

// compileWhere turns a where tree (a JSON object, or a list of them that must
// all hold) into a predicate over t's rows.
func (d *Simulator) compileWhere(t *dsTable, w any) (rowPred, error) {
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
func (d *Simulator) compileList(t *dsTable, v any, combine func([]rowPred) rowPred) (rowPred, error) {
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
func (d *Simulator) compileKey(t *dsTable, k string, v any) (rowPred, error) {
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

// compileIncludeWhere filters t's rows by a where on an included model they
// belong to (tickets whose contact is visible, messages of an open ticket).
// Includes that are not such a join, or say required:false, filter nothing.
func (d *Simulator) compileIncludeWhere(t *dsTable, inc dsInclude) (rowPred, error) {
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
