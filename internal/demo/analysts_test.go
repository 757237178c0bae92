package demo

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"syncer/internal/dbtest"
	"syncer/internal/migrate"
)

// The analysts' guide: every ```sql block in it runs against the demo's
// data, and every column of its tables of the v_* views is one the view
// has. With -update-analysts the test writes each query's result, as
// psql prints it, into the ```text block that follows the query, and the
// date of the run into the sentence that gives it.
var updateAnalysts = flag.Bool("update-analysts", false, "rewrite the results in docs/analysts.md from this run of the demo")

const (
	analystsDoc = "../../docs/analysts.md"
	// analystsTimeZone is the views' time zone in the guide's examples.
	analystsTimeZone = "America/Sao_Paulo"
	// analystsMinQueries is how many example queries the guide promises.
	analystsMinQueries = 10
)

// analystsRunDate is the sentence of the guide that dates its results.
var analystsRunDate = regexp.MustCompile(`one run of the demo on \d{4}-\d{2}-\d{2}`)

func TestAnalystQueriesRunOnTheDemoData(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(analystsDoc)
	if err != nil {
		t.Fatal(err)
	}
	blocks := sqlBlocks(doc)
	if len(blocks) < analystsMinQueries {
		t.Fatalf("docs/analysts.md has %d ```sql blocks, want at least %d example queries", len(blocks), analystsMinQueries)
	}
	if !analystsRunDate.Match(doc) {
		t.Errorf("docs/analysts.md does not say when its results were taken (%q)", analystsRunDate)
	}

	db := dbtest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	m, err := migrate.New(db.Pool, db.Schema, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.ApplyTimeZone(ctx, analystsTimeZone); err != nil {
		t.Fatal(err)
	}
	if err := Run(ctx, Options{Pool: db.Pool, Out: io.Discard, Logger: slog.New(slog.DiscardHandler)}); err != nil {
		t.Fatal(err)
	}

	results := make([]string, len(blocks))
	for i, b := range blocks {
		out, n, err := runReadOnly(ctx, db.Pool, b.sql)
		switch {
		case err != nil:
			t.Errorf("%s (docs/analysts.md line %d): %v", b.heading, b.line, err)
		case n == 0:
			t.Errorf("%s (docs/analysts.md line %d): no rows on the demo data", b.heading, b.line)
		}
		results[i] = out
	}
	if *updateAnalysts && !t.Failed() {
		updated := writeResults(doc, blocks, results)
		updated = analystsRunDate.ReplaceAll(updated, []byte("one run of the demo on "+time.Now().In(mustLoad(t, analystsTimeZone)).Format(time.DateOnly)))
		if err := os.WriteFile(analystsDoc, updated, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAnalystViewColumnsAreDocumented(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(analystsDoc)
	if err != nil {
		t.Fatal(err)
	}
	documented := viewTables(doc)
	db := dbtest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rows, err := db.Pool.Query(ctx, `SELECT c.table_name, c.column_name, c.data_type
		FROM information_schema.columns c
		JOIN information_schema.views v ON v.table_schema = c.table_schema AND v.table_name = c.table_name
		WHERE c.table_schema = $1 AND c.table_name LIKE 'v\_%'
		ORDER BY c.table_name, c.ordinal_position`, db.Schema)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string][]docColumn{}
	var views []string
	for rows.Next() {
		var view, col, typ string
		if err := rows.Scan(&view, &col, &typ); err != nil {
			t.Fatal(err)
		}
		if _, ok := have[view]; !ok {
			views = append(views, view)
		}
		have[view] = append(have[view], docColumn{col, shortType(typ)})
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(views) == 0 {
		t.Fatal("the warehouse has no v_* view")
	}
	for _, view := range views {
		doc, ok := documented[view]
		if !ok {
			t.Errorf("docs/analysts.md has no section \"### %s\" with a table of its columns", view)
			continue
		}
		for _, problem := range columnDrift(doc, have[view]) {
			t.Errorf("docs/analysts.md, ### %s: %s", view, problem)
		}
	}
	for view := range documented {
		if _, ok := have[view]; !ok {
			t.Errorf("docs/analysts.md documents a view %s that the warehouse does not have", view)
		}
	}
}

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// sqlBlock is one ```sql block of the guide.
type sqlBlock struct {
	heading string // the nearest heading above it
	line    int    // of the opening fence, from 1
	end     int    // index in the doc's lines of the closing fence
	sql     string
}

func docLines(doc []byte) []string {
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(doc))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

func sqlBlocks(doc []byte) []sqlBlock {
	lines := docLines(doc)
	var out []sqlBlock
	heading := "(before any heading)"
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		switch {
		case strings.HasPrefix(l, "```sql"):
			b := sqlBlock{heading: heading, line: i + 1}
			var body []string
			for i++; i < len(lines) && !strings.HasPrefix(lines[i], "```"); i++ {
				body = append(body, lines[i])
			}
			b.end = i
			b.sql = strings.Join(body, "\n")
			out = append(out, b)
		case strings.HasPrefix(l, "```"):
			for i++; i < len(lines) && !strings.HasPrefix(lines[i], "```"); i++ {
			}
		case strings.HasPrefix(l, "#"):
			heading = strings.TrimSpace(strings.TrimLeft(l, "#"))
		}
	}
	return out
}

// writeResults puts each result in a ```text block right after its query,
// in place of the one there.
func writeResults(doc []byte, blocks []sqlBlock, results []string) []byte {
	lines := docLines(doc)
	var out []string
	next := 0
	for bi, b := range blocks {
		out = append(out, lines[next:b.end+1]...)
		next = b.end + 1
		j := next
		for j < len(lines) && strings.TrimSpace(lines[j]) == "" {
			j++
		}
		if j < len(lines) && strings.HasPrefix(lines[j], "```text") {
			k := j + 1
			for k < len(lines) && !strings.HasPrefix(lines[k], "```") {
				k++
			}
			next = k + 1
		}
		out = append(out, "", "```text")
		out = append(out, strings.Split(strings.TrimRight(results[bi], "\n"), "\n")...)
		out = append(out, "```")
	}
	out = append(out, lines[next:]...)
	return []byte(strings.Join(out, "\n") + "\n")
}

// runReadOnly runs one query in a read-only transaction and gives its
// result as psql's aligned format shows it, and how many rows it had.
func runReadOnly(ctx context.Context, db *pgxpool.Pool, query string) (string, int, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	tx, err := db.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return "", 0, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	// Times with a zone print in UTC, whatever the server's default.
	if _, err := tx.Exec(ctx, "SET LOCAL TimeZone = 'UTC'"); err != nil {
		return "", 0, err
	}
	rows, err := tx.Query(ctx, query, pgx.QueryResultFormats{pgx.TextFormatCode})
	if err != nil {
		return "", 0, err
	}
	defer rows.Close()
	fields := rows.FieldDescriptions()
	var cells [][]string
	for rows.Next() {
		raw := rows.RawValues()
		row := make([]string, len(raw))
		for i, v := range raw {
			row[i] = string(v) // NULL prints as nothing, as in psql
		}
		cells = append(cells, row)
	}
	if err := rows.Err(); err != nil {
		return "", 0, err
	}
	return psqlAligned(fields, cells), len(cells), nil
}

// psqlAligned formats a result as psql's default output does: headers
// centred, numbers right-aligned, a row count below (trailing blanks cut).
func psqlAligned(fields []pgconn.FieldDescription, cells [][]string) string {
	width := make([]int, len(fields))
	right := make([]bool, len(fields))
	for i, f := range fields {
		width[i] = utf8.RuneCountInString(f.Name)
		switch f.DataTypeOID {
		case pgtype.Int2OID, pgtype.Int4OID, pgtype.Int8OID, pgtype.NumericOID, pgtype.Float4OID, pgtype.Float8OID, pgtype.OIDOID:
			right[i] = true
		}
	}
	for _, row := range cells {
		for i, c := range row {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	var b strings.Builder
	line := func(parts []string) {
		b.WriteString(strings.TrimRight(" "+strings.Join(parts, " | "), " "))
		b.WriteByte('\n')
	}
	parts := make([]string, len(fields))
	for i, f := range fields {
		pad := width[i] - utf8.RuneCountInString(f.Name)
		parts[i] = strings.Repeat(" ", pad/2) + f.Name + strings.Repeat(" ", pad-pad/2)
	}
	line(parts)
	for i := range fields {
		parts[i] = strings.Repeat("-", width[i]+2)
	}
	b.WriteString(strings.Join(parts, "+") + "\n")
	for _, row := range cells {
		for i, c := range row {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if right[i] {
				parts[i] = pad + c
			} else {
				parts[i] = c + pad
			}
		}
		line(parts)
	}
	if len(cells) == 1 {
		b.WriteString("(1 row)\n")
	} else {
		fmt.Fprintf(&b, "(%d rows)\n", len(cells))
	}
	return b.String()
}

// columnDrift says how the documented columns differ from the view's:
// columns missing from either, types that differ, and the order.
func columnDrift(documented, view []docColumn) []string {
	var out []string
	types := map[string]string{}
	for _, c := range documented {
		types[c.name] = c.typ
	}
	inView := map[string]bool{}
	for _, c := range view {
		inView[c.name] = true
		typ, ok := types[c.name]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("column %s (%s) is not documented", c.name, c.typ))
		case typ != c.typ:
			out = append(out, fmt.Sprintf("column %s is documented as %s, the view has %s", c.name, typ, c.typ))
		}
	}
	for _, c := range documented {
		if !inView[c.name] {
			out = append(out, fmt.Sprintf("documents a column %s that the view does not have", c.name))
		}
	}
	if out == nil && !slices.Equal(documented, view) {
		out = append(out, fmt.Sprintf("the columns are documented in another order than the view's: %v", view))
	}
	return out
}

// docColumn is a column of a view: its name and type as the guide writes
// them.
type docColumn struct{ name, typ string }

func (c docColumn) String() string { return c.name + " " + c.typ }

// shortType writes information_schema's data_type as the guide does.
func shortType(t string) string {
	switch t {
	case "timestamp with time zone":
		return "timestamptz"
	case "timestamp without time zone":
		return "timestamp"
	}
	return t
}

// viewTables reads the guide's table of columns for each view: the first
// table under a heading that names the view alone ("### v_messages"),
// whose header row is "| column | type | meaning |".
func viewTables(doc []byte) map[string][]docColumn {
	lines := docLines(doc)
	out := map[string][]docColumn{}
	for i := 0; i < len(lines); i++ {
		h, ok := strings.CutPrefix(lines[i], "### ")
		h = strings.Trim(strings.TrimSpace(h), "`")
		if !ok || !strings.HasPrefix(h, "v_") || strings.ContainsAny(h, " `") {
			continue
		}
		j := i + 1
		for j < len(lines) && !strings.HasPrefix(lines[j], "|") && !strings.HasPrefix(lines[j], "#") {
			j++
		}
		if j >= len(lines) || !strings.HasPrefix(lines[j], "|") {
			out[h] = nil
			continue
		}
		header := tableCells(lines[j])
		if len(header) < 3 || header[0] != "column" || header[1] != "type" {
			out[h] = nil
			continue
		}
		cols := []docColumn{}
		for j += 2; j < len(lines) && strings.HasPrefix(lines[j], "|"); j++ {
			c := append(tableCells(lines[j]), "", "")
			cols = append(cols, docColumn{strings.Trim(c[0], "`"), strings.Trim(c[1], "`")})
		}
		out[h] = cols
		i = j
	}
	return out
}

func tableCells(row string) []string {
	row = strings.TrimSpace(row)
	row = strings.TrimPrefix(row, "|")
	row = strings.TrimSuffix(row, "|")
	parts := strings.Split(row, "|")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}
