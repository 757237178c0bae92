package digisacsim

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
